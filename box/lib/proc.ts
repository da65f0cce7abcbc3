/**
 * Child processes with a bound on every wait: each command has a timeout, and a long-lived process is
 * registered for teardown by whoever starts it. Output is captured (and optionally teed to a log file).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { appendFileSync } from 'node:fs';

export interface RunOptions {
  /** Kill the command (SIGTERM, then SIGKILL after 3 s) after this long. @default 60 s */
  readonly timeoutMs?: number;
  readonly input?: string;
  readonly env?: NodeJS.ProcessEnv;
  readonly cwd?: string;
  /** Resolve with a non-zero exit code instead of throwing. @default false */
  readonly allowFailure?: boolean;
  /** Append stdout and stderr to this file as they arrive. */
  readonly logFile?: string;
  /** Called with each chunk of output (progress display). */
  readonly onOutput?: (chunk: string) => void;
}

export interface RunResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
}

export class CommandError extends Error {
  constructor(readonly command: string, readonly result: RunResult) {
    const why = result.timedOut ? 'timed out' : `exited ${result.code}`;
    const tail = (result.stderr.trim() || result.stdout.trim()).split('\n').slice(-15).join('\n');
    super(`${command} ${why}${tail ? `:\n${tail}` : ''}`);
  }
}

export function quote(cmd: string, args: readonly string[]): string {
  return [cmd, ...args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/** Run a command to completion, bounded by `timeoutMs`. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return new Promise((resolve, reject) => {
    const spawnOpts: SpawnOptions = { env: opts.env ?? process.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true };
    const child = spawn(cmd, args, spawnOpts);
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    const onData = (which: 'out' | 'err') => (buf: Buffer) => {
      const s = buf.toString();
      if (which === 'out') stdout += s;
      else stderr += s;
      if (opts.logFile) appendFileSync(opts.logFile, s);
      opts.onOutput?.(s);
    };
    child.stdout!.on('data', onData('out'));
    child.stderr!.on('data', onData('err'));
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGTERM');
      setTimeout(() => killGroup(child, 'SIGKILL'), 3000).unref();
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${quote(cmd, args)}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result = { code: code ?? (signal ? 128 : 1), stdout, stderr, timedOut };
      if ((result.code !== 0 || timedOut) && !opts.allowFailure) reject(new CommandError(quote(cmd, args), result));
      else resolve(result);
    });
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(opts.input ?? '');
  });
}

/** Signal a child's whole process group (children are started detached, so each leads its own group). */
export function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

/** Wait for a child to exit, at most `timeoutMs`; true if it exited. */
export function waitExit(child: ChildProcess, timeoutMs: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** Stop a long-lived child: `signal`, then SIGKILL to its group after `graceMs`. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  killGroup(child, signal);
  if (!(await waitExit(child, graceMs))) {
    killGroup(child, 'SIGKILL');
    await waitExit(child, 5000);
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Poll `probe` until it returns a value other than undefined, at most `timeoutMs`. `describe` names what
 * is awaited for the error; the last probe error (if any) is appended.
 */
export async function waitFor<T>(describe: string, probe: () => Promise<T | undefined>, timeoutMs: number, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message.split('\n')[0]}` : '';
      throw new Error(`timed out after ${Math.round(timeoutMs / 1000)} s waiting for ${describe}${why}`);
    }
    await sleep(intervalMs);
  }
}
