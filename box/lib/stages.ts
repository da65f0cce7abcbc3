/**
 * Stages with their time, and teardown of everything started, also on failure, SIGINT or SIGTERM.
 *
 * A stage prints `▶ name` when it starts and `✓ name  12.3 s` (or `✗`) when it ends; it is bounded by its
 * own timeout. On failure the stage's `logs` callback is asked for the logs that explain it (cloud-init
 * output, journal, nginx error log), which are printed before teardown runs. Teardown steps run last-in
 * first-out, each bounded, and every one runs even if another fails.
 */

export interface StageOptions {
  readonly timeoutMs: number;
  /** Logs that explain a failure of this stage, printed when it fails. */
  readonly logs?: () => Promise<string>;
}

type Teardown = { name: string; fn: () => Promise<void>; timeoutMs: number };

export class StageFailed extends Error {
  constructor(readonly stage: string, cause: unknown) {
    super(`stage "${stage}" failed: ${cause instanceof Error ? cause.message : String(cause)}`);
  }
}

/** A run that worked but missed what it measures for: its message is the report, not a stack. */
export class TargetMissed extends Error {}

const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} took longer than ${secs(ms)}`)), ms);
    }),
  ]);
}

export class Run {
  private readonly teardowns: Teardown[] = [];
  private readonly started = Date.now();
  readonly timings: { stage: string; seconds: number; ok: boolean }[] = [];
  private tearingDown: Promise<void> | undefined;
  private interrupted = false;
  /** The stage running now (stages run one at a time): what a global timeout reports. */
  private running: { name: string; opts: StageOptions; t0: number } | undefined;

  constructor(readonly title: string) {
    const onSignal = (sig: NodeJS.Signals) => {
      if (this.interrupted) return;
      this.interrupted = true;
      process.stderr.write(`\n${sig}: tearing down\n`);
      void this.teardown().finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }

  /**
   * Run `body`, always tear down, print the stage summary and `<label>: ok|FAILED`; the exit code.
   * A failed stage has already printed its logs; anything else prints its stack.
   */
  async execute(label: string, body: () => Promise<void>): Promise<number> {
    let code = 0;
    try {
      await body();
    } catch (err) {
      code = 1;
      if (err instanceof TargetMissed) process.stderr.write(`${err.message}\n`);
      else if (!(err instanceof StageFailed)) process.stderr.write(`${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    } finally {
      await this.teardown();
    }
    // A signal or the global timeout interrupted the run: its handler prints and exits with its own code.
    if (this.interrupted) return new Promise<number>(() => undefined);
    process.stdout.write(`${this.summary()}\n${code === 0 ? `${label}: ok` : `${label}: FAILED`}\n`);
    return code;
  }

  /**
   * Bound the whole run: whatever hangs, after `minutes` the run prints the running stage's logs (before
   * anything is torn down), tears down, prints the stage summary and exits 124.
   */
  boundBy(minutes: number): void {
    const bound = setTimeout(() => {
      const running = this.running;
      process.stderr.write(`\n${this.title}: global timeout of ${minutes} minutes reached${running ? ` in stage "${running.name}" (running for ${secs(Date.now() - running.t0)})` : ''}: tearing down\n`);
      this.interrupted = true;
      void (async () => {
        if (running?.opts.logs) await this.printLogs(running.name, running.opts.logs);
        await this.teardown();
        // A stage the teardown made fail has recorded itself; one still hanging is recorded here.
        if (running && this.running === running) this.timings.push({ stage: running.name, seconds: (Date.now() - running.t0) / 1000, ok: false });
        process.stdout.write(`${this.summary()}\n${this.title}: FAILED (global timeout)\n`);
      })().finally(() => process.exit(124));
    }, minutes * 60_000);
    bound.unref();
  }

  private async printLogs(name: string, logs: () => Promise<string>): Promise<void> {
    try {
      const text = await withTimeout(logs(), 30_000, 'collecting logs');
      if (text.trim()) process.stderr.write(`\n----- logs for "${name}" -----\n${text.trimEnd()}\n----- end of logs -----\n`);
    } catch (logErr) {
      process.stderr.write(`(could not collect logs: ${logErr instanceof Error ? logErr.message : String(logErr)})\n`);
    }
  }

  /** Register a cleanup; it runs at teardown, newest first. */
  onTeardown(name: string, fn: () => Promise<void>, timeoutMs = 30_000): void {
    this.teardowns.push({ name, fn, timeoutMs });
  }

  async stage<T>(name: string, fn: () => Promise<T>, opts: StageOptions): Promise<T> {
    if (this.interrupted) throw new StageFailed(name, new Error('interrupted'));
    const t0 = Date.now();
    log(`▶ ${name}`);
    this.running = { name, opts, t0 };
    try {
      const v = await withTimeout(fn(), opts.timeoutMs, name);
      this.timings.push({ stage: name, seconds: (Date.now() - t0) / 1000, ok: true });
      log(`✓ ${name}  ${secs(Date.now() - t0)}`);
      return v;
    } catch (err) {
      this.timings.push({ stage: name, seconds: (Date.now() - t0) / 1000, ok: false });
      log(`✗ ${name}  ${secs(Date.now() - t0)}`);
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      if (opts.logs && !this.interrupted) await this.printLogs(name, opts.logs);
      throw new StageFailed(name, err);
    } finally {
      if (this.running?.t0 === t0 && this.running.name === name) this.running = undefined;
    }
  }

  teardown(): Promise<void> {
    this.tearingDown ??= (async () => {
      const t0 = Date.now();
      while (this.teardowns.length > 0) {
        const t = this.teardowns.pop()!;
        try {
          await withTimeout(t.fn(), t.timeoutMs, `teardown: ${t.name}`);
        } catch (err) {
          process.stderr.write(`teardown "${t.name}" failed: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      }
      log(`✓ teardown  ${secs(Date.now() - t0)}`);
    })();
    return this.tearingDown;
  }

  summary(): string {
    const rows = this.timings.map((t) => `  ${t.ok ? '✓' : '✗'} ${t.stage.padEnd(34)} ${t.seconds.toFixed(1).padStart(7)} s`);
    return `${this.title}: ${secs(Date.now() - this.started)} in all\n${rows.join('\n')}`;
  }
}

export function log(line: string): void {
  const t = new Date().toISOString().slice(11, 19);
  process.stdout.write(`[${t}] ${line}\n`);
}

/** A one-line progress display for slow steps: rewrites itself on a TTY, prints every 10 s otherwise. */
export function progress(prefix: string): (text: string) => void {
  let lastPrint = 0;
  return (text: string) => {
    const line = `  … ${prefix}: ${text}`.slice(0, 118);
    if (process.stdout.isTTY) process.stdout.write(`\r\x1b[K${line}`);
    else if (Date.now() - lastPrint > 10_000) {
      lastPrint = Date.now();
      process.stdout.write(`${line}\n`);
    }
  };
}
