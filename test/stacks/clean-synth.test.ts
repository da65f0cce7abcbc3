/**
 * A clean synth prints no "[ERROR]" line: cdktf-cli shows everything on the stderr of `terraform version`
 * and of the app as "[ERROR]", and logs a failed telemetry lookup (checkpoint-api.hashicorp.com, offline)
 * the same way, so a newcomer reads a successful synth as a failure. `npm run synth` configures both away
 * (package.json: CHECKPOINT_DISABLE, DISABLE_VERSION_CHECK, TF_CLI_CONFIG_FILE=tools/synth.tfrc).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { requireTools } from '../tools/tools.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** PATH without any directory that holds a `terraform` executable (node and npm stay). */
function pathWithoutTerraform(): string {
  return (process.env.PATH ?? '').split(':').filter((dir) => dir && !existsSync(path.join(dir, 'terraform'))).join(':');
}

/** The environment of a fresh shell: none of the switches the npm script sets. */
function freshEnv(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const env = { ...process.env, ...overrides };
  for (const key of ['CHECKPOINT_DISABLE', 'DISABLE_VERSION_CHECK', 'CDKTF_OUTDIR', 'CDKTF_LOG_LEVEL']) delete env[key];
  return env;
}

function synth(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string; outdir: string }> {
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

// A CLI configuration file that does not exist: what made Terraform warn on the machine this was found on.
const MISSING_CLI_CONFIG = path.join(tmpdir(), 'no-such-dir', '.terraformrc');

describe('GIVEN a fresh shell WHEN `npm run synth` runs', () => {
  it('with terraform on the PATH (and a TF_CLI_CONFIG_FILE that does not exist) THEN it succeeds with no [ERROR] line', async (ctx) => {
    requireTools(ctx, 'terraform');
    const { code, output, outdir } = await synth('npm', ['run', 'synth', '--'], freshEnv({ TF_CLI_CONFIG_FILE: MISSING_CLI_CONFIG }));
    expect(code, output).toBe(0);
    expect(output).toContain('Generated Terraform code for the stacks: web-dev, web-production, web-staging');
    expect(output).not.toMatch(/\[ERROR\]/);
    expect(existsSync(path.join(outdir, 'stacks/web-production/cdk.tf.json'))).toBe(true);
  }, 120_000);

  it('without terraform on the PATH THEN it succeeds with no [ERROR] line, and shows the examples\' placeholder warnings, located', async () => {
    const { code, output } = await synth('npm', ['run', 'synth', '--'], freshEnv({ PATH: pathWithoutTerraform() }));
    expect(code, output).toBe(0);
    expect(output).toContain('Generated Terraform code for the stacks');
    expect(output).toMatch(/config\/production\.yaml:\d+:\d+ domain: warning: example\.com is a documentation name/);
    expect(output).not.toMatch(/\[ERROR\]/);
  }, 120_000);
});

describe('GIVEN the same shell WHEN cdktf synth runs without the npm script\'s settings', () => {
  it('with a TF_CLI_CONFIG_FILE that does not exist THEN cdktf-cli prints Terraform\'s warning as [ERROR] (what the script prevents)', async (ctx) => {
    requireTools(ctx, 'terraform');
    const { code, output } = await synth('npx', ['cdktf', 'synth'], freshEnv({ TF_CLI_CONFIG_FILE: MISSING_CLI_CONFIG, CHECKPOINT_DISABLE: '1' }));
    expect(code, output).toBe(0);
    expect(output).toMatch(/\[ERROR\][\s\S]*problems with the CLI configuration/);
  }, 120_000);
});
