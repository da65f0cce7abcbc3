/** Run the cdktf CLI as a newcomer's shell would, for the synth-output checks. */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

export const ROOT = path.resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** PATH without any directory that holds a `terraform` executable (node and npm stay). */
export function pathWithoutTerraform(): string {
  return (process.env.PATH ?? '').split(':').filter((dir) => dir && !existsSync(path.join(dir, 'terraform'))).join(':');
}

/** The environment of a fresh shell: none of the switches the npm script sets. */
export function freshEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...overrides };
  for (const key of ['CHECKPOINT_DISABLE', 'DISABLE_VERSION_CHECK', 'CDKTF_OUTDIR', 'CDKTF_LOG_LEVEL']) delete env[key];
  return env;
}

/** Run a synth command into a fresh output directory; stdout and stderr together. */
export function synth(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string; outdir: string }> {
  const outdir = mkdtempSync(path.join(tmpdir(), 'clean-synth-'));
  dirs.push(outdir);
  return new Promise((resolve) => {
    const child = spawn(command, [...args, '--output', outdir], { cwd: ROOT, env });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('close', (code) => resolve({ code, output, outdir }));
  });
}

/** A CLI configuration file that does not exist: what made Terraform warn on the machine this was found on. */
export const MISSING_CLI_CONFIG = path.join(tmpdir(), 'no-such-dir', '.terraformrc');
