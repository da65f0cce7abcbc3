/**
 * Steady load for the fleet run: wrk processes in the load namespace against the LB's frontend, each with
 * the mix of bench/fleet-mix.lua (GET /io at the plan's p95 time, every n-th request a POST /items), started
 * evenly over one handler period (a steady rate, not a burst) and stopped with SIGINT when the change is
 * over: wrk then writes its report (bench/wrk-report.lua) as at the end of a timed run.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { FLEET_NET } from '../box/fleet/network.js';
import { killGroup, sleep, waitExit } from '../box/lib/proc.js';
import { mergedQuantile, readWrkReports, WRK_SCRIPT, type WrkReport } from './load.js';

const MIX_SCRIPT = join(import.meta.dirname, 'fleet-mix.lua');
/** Connections per wrk process: a smooth start and far below the 20,000 open files of a process. */
const CONNECTIONS_PER_WRK = 500;

export interface LoadOptions {
  readonly concurrency: number;
  readonly ioSeconds: number;
  /** Every n-th request of a connection is a POST /items (0: none). */
  readonly postEvery: number;
  /** Upper bound of the load's life: wrk stops by itself after this even if nobody stops it. */
  readonly maxSeconds: number;
  readonly scratchDir: string;
  readonly label: string;
}

export interface LoadResult {
  readonly requests: number;
  readonly failed: number;
  readonly errors: { connect: number; read: number; write: number; timeout: number; non2xx: number; missingReports: number };
  readonly statuses: Record<string, number>;
  readonly latencySeconds: { p50: number; p99: number; max: number };
  readonly seconds: number;
  /** Responses per wall-clock second (epoch seconds): ok, failed. */
  readonly timeline: { second: number; ok: number; failed: number }[];
}

/** Load running until `stop()`. */
export class SteadyLoad {
  private readonly children: { child: ChildProcess; report: string }[] = [];
  private t0 = 0;

  constructor(private readonly o: LoadOptions) {}

  async start(): Promise<void> {
    const procs = Math.max(1, Math.ceil(this.o.concurrency / CONNECTIONS_PER_WRK));
    const addresses = FLEET_NET.lbFrontendAddresses;
    this.t0 = Date.now();
    for (let i = 0; i < procs; i++) {
      if (i > 0) await sleep((this.o.ioSeconds * 1000) / procs);
      const conns = Math.floor(this.o.concurrency / procs) + (i < this.o.concurrency % procs ? 1 : 0);
      const report = join(this.o.scratchDir, `wrk-${this.o.label}-${i}.json`);
      rmSync(report, { force: true });
      const args = ['netns', 'exec', FLEET_NET.loadNs, 'wrk', '-t', '1', '-c', String(conns), '-d', `${this.o.maxSeconds}s`,
        // A request slower than this counts as failed: five times the handler, at least 10 s.
        '--timeout', `${Math.max(10, this.o.ioSeconds * 5)}s`, '-s', MIX_SCRIPT, `http://${addresses[i % addresses.length]}/`];
      const env = { ...process.env, WRK_REPORT: report, WRK_REPORT_SCRIPT: WRK_SCRIPT, FLEET_IO_PATH: `/io?seconds=${this.o.ioSeconds}`, FLEET_POST_EVERY: String(this.o.postEvery) };
      // `ip netns exec` execs wrk itself, so the child's pid is wrk's: SIGINT reaches it.
      const child = spawn('ip', args, { env, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
      this.children.push({ child, report });
    }
  }

  /** Stop every wrk (SIGINT: it reports), merge the reports. */
  async stop(): Promise<LoadResult> {
    for (const { child } of this.children) {
      if (child.exitCode === null && child.pid !== undefined) {
        try {
          process.kill(child.pid, 'SIGINT');
        } catch {
          /* gone */
        }
      }
    }
    await Promise.all(this.children.map(async ({ child }) => {
      if (!(await waitExit(child, 20_000))) {
        killGroup(child, 'SIGKILL');
        await waitExit(child, 5000);
      }
    }));
    const seconds = (Date.now() - this.t0) / 1000;
    const { reports, missing } = readWrkReports(this.children.map((c) => c.report));
    const sum = (f: (r: WrkReport) => number) => reports.reduce((a, r) => a + f(r), 0);
    const statuses: Record<string, number> = {};
    for (const r of reports) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    const tl = new Map<number, { ok: number; failed: number }>();
    for (const r of reports) {
      for (const [sec, [ok, bad]] of Object.entries(r.timeline ?? {})) {
        const t = tl.get(Number(sec)) ?? { ok: 0, failed: 0 };
        t.ok += ok;
        t.failed += bad;
        tl.set(Number(sec), t);
      }
    }
    const non2xx = Object.entries(statuses).filter(([k]) => !k.startsWith('2')).reduce((a, [, v]) => a + v, 0);
    const errors = { connect: sum((r) => r.errors.connect), read: sum((r) => r.errors.read), write: sum((r) => r.errors.write), timeout: sum((r) => r.errors.timeout), non2xx, missingReports: missing };
    const failed = errors.connect + errors.read + errors.write + errors.timeout + errors.non2xx + missing;
    const q = (p: number) => mergedQuantile(reports, p) / 1e6;
    return {
      requests: sum((r) => r.requests),
      failed,
      errors,
      statuses,
      latencySeconds: { p50: q(50), p99: q(99), max: reports.length ? Math.max(...reports.map((r) => r.latencyUs.max)) / 1e6 : 0 },
      seconds,
      timeline: [...tl].map(([second, v]) => ({ second, ...v })).sort((a, b) => a.second - b.second),
    };
  }

  /** Teardown: whatever still runs. */
  kill(): void {
    for (const { child } of this.children) killGroup(child, 'SIGKILL');
  }
}
