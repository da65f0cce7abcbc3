/**
 * Helpers for the real-tool checks: find a tool, run it, make temp dirs.
 *
 * Under CI=true a missing tool fails the test (the pipeline must install it: .ci/run); elsewhere the
 * test is skipped with the reason shown, so a laptop without nginx can still run the suite.
 */
import { spawn, spawnSync, type SpawnSyncOptions } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestContext } from 'vitest';

// nginx, runuser and systemd's tools live in /usr/sbin, which a non-root CI user's PATH may lack.
for (const dir of ['/usr/sbin', '/sbin']) {
  if (!(process.env.PATH ?? '').split(':').includes(dir)) process.env.PATH = `${process.env.PATH ?? '/usr/bin:/bin'}:${dir}`;
}

/** Debian's Python: a pyenv python3 may come first on PATH without Debian's gunicorn and cloud-init. */
export const PYTHON = '/usr/bin/python3';

/** Debian packages these checks need, by the tool they provide. */
export const TOOL_PACKAGES: Readonly<Record<string, string>> = {
  'cloud-init': 'cloud-init',
  nginx: 'nginx',
  'systemd-analyze': 'systemd',
  [PYTHON]: 'python3',
  '/usr/bin/gunicorn': 'gunicorn python3-gevent',
  '/usr/lib/postgresql/15/bin/postgres': 'postgresql-15',
  'redis-server': 'redis-server',
  '/usr/sbin/logrotate': 'logrotate',
};

function available(tool: string): boolean {
  if (tool.startsWith('/')) return existsSync(tool);
  return spawnSync('sh', ['-c', `command -v "$1"`, 'sh', tool], { stdio: 'ignore' }).status === 0;
}

/** Skip (or under CI=true fail) the test unless every tool is installed. */
export function requireTools(ctx: TestContext, ...tools: string[]): void {
  const missing = tools.filter((t) => !available(t));
  if (missing.length === 0) return;
  const packages = missing.map((t) => TOOL_PACKAGES[t] ?? t).join(' ');
  const reason = `${missing.join(', ')} not installed (apt-get install ${packages})`;
  if (process.env.CI === 'true') throw new Error(`${reason}: CI must install it (.ci/run)`);
  ctx.skip(reason);
}

/** Whether Python imports a module (e.g. gevent for Gunicorn's worker class). */
export function pythonHas(module: string): boolean {
  return spawnSync(PYTHON, ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0;
}

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a command to completion, capturing its output. */
export function run(command: string, args: readonly string[], options: SpawnSyncOptions = {}): RunResult {
  const r = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000, ...options });
  if (r.error) throw r.error;
  return { status: r.status, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const made: string[] = [];

/** A fresh temp directory, removed by `removeTempDirs` (call it in afterAll). */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `${prefix}-`));
  made.push(dir);
  return dir;
}

/** Remove the temp directories this test file made. */
export function removeTempDirs(): void {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Replace `from` with `to` exactly once, or fail: a rewrite that silently matches nothing hides a change. */
export function rewriteOnce(text: string, from: string, to: string): string {
  const at = text.indexOf(from);
  if (at < 0 || text.indexOf(from, at + 1) >= 0) throw new Error(`expected ${JSON.stringify(from)} exactly once`);
  return text.slice(0, at) + to + text.slice(at + from.length);
}

/** Write an executable stand-in for a command (e.g. `cloud-init`, `systemctl`) into `dir`; returns `dir`. */
export function fakeCommand(dir: string, name: string, script: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
  return dir;
}

/** Replace the value of a `NAME=...` line of a rendered shell script, exactly once. */
export function setShellVariable(script: string, name: string, value: string): string {
  const pattern = new RegExp(`^${name}=.*$`, 'm');
  const match = pattern.exec(script);
  if (!match || script.indexOf(match[0], match.index + 1) >= 0) throw new Error(`expected one ${name}= line`);
  return script.replace(pattern, `${name}='${value.replace(/'/g, `'\\''`)}'`);
}

/** What `runAsync` returns: `run`'s result and how long the command took. */
export interface TimedResult extends RunResult {
  readonly ms: number;
}

/** Run a command without blocking the event loop (a server in this process may have to answer it). */
export function runAsync(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<TimedResult> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const child = spawn(command, args, { env: options.env ?? process.env, cwd: options.cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr, ms: Date.now() - started });
    });
  });
}
