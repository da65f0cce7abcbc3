/**
 * Load through the box's Nginx with wrk, from the box's load namespace.
 *
 * One step = `concurrency` connections held open for `durationSeconds`, each sending GET /io?seconds=H
 * back to back. The connections are spread over several wrk processes (each at most 10,000: the machine
 * caps a process at 20,000 open files) and over the droplet's load-side addresses (one per process), so
 * no process and no address/port space runs short. Each wrk writes a JSON report (bench/wrk-report.lua);
 * the reports are merged here: sums for counts, a mixture of the processes' quantiles for latency.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { NET } from '../box/network.js';
import { waitExit, killGroup, sleep } from '../box/lib/proc.js';

export const WRK_SCRIPT = join(import.meta.dirname, 'wrk-report.lua');
export const CONNECTIONS_PER_WRK = 10_000;
/** Connections per wrk process when a step ramps: smaller groups make a smoother ramp. */
export const RAMP_GROUP_CONNECTIONS = 2_500;

export interface WrkReport {
  durationUs: number;
  requests: number;
  bytes: number;
  errors: { connect: number; read: number; write: number; timeout: number; status: number };
  statuses: Record<string, number>;
  /** Responses per wall-clock second (epoch seconds): [2xx, other]. */
  timeline?: Record<string, [number, number]>;
  latencyUs: { min: number; max: number; mean: number; stdev: number; quantiles: [string, number][] };
}

export interface StepResult {
  readonly concurrency: number;
  readonly wrkProcesses: number;
  readonly durationSeconds: number;
  readonly requests: number;
  readonly requestsPerSecond: number;
  /** Requests/s if every connection were busy with the handler all the time (Little's law). */
  readonly offeredRequestsPerSecond: number;
  readonly errors: { connect: number; read: number; write: number; timeout: number; non2xx: number; total: number };
  readonly statuses: Record<string, number>;
  /** Responses per wall-clock second (epoch seconds) over all processes: [2xx, other]. */
  readonly timeline: Record<string, [number, number]>;
  readonly latencySeconds: { p50: number; p90: number; p99: number; max: number };
  /** Share of both cores busy during the step (all processes of the machine, wrk included). */
  readonly cpuBusy: number;
  /** Cores used by the droplet's processes during the step, by command (nginx, gunicorn, ...); wrk excluded. */
  readonly dropletCores: Record<string, number>;
  /** Zero errors of any kind and p99 within 1.5x the handler time. */
  readonly held: boolean;
  /** wrk processes that did not report (crashed or were killed). */
  readonly missingReports: number;
}

export interface StepOptions {
  readonly concurrency: number;
  readonly durationSeconds: number;
  readonly handlerSeconds: number;
  readonly path: string;
  /** Where the per-process reports go (removed after merging). */
  readonly scratchDir: string;
  /**
   * Start the wrk processes evenly over this many seconds (each then runs `durationSeconds`). wrk opens all
   * its connections at once; started together, N connections send N requests in the same millisecond and
   * every handler period after, a burst rather than the steady N / handler requests/s that N in flight means.
   * @default 0 (all at once)
   */
  readonly rampSeconds?: number;
  /** Host PID of the droplet's PID 1: its processes' CPU is reported apart from the load generator's. */
  readonly dropletPid?: number;
  /** A response slower than this counts as a timeout. @default 3 x handlerSeconds, at least 5 s */
  readonly timeoutSeconds?: number;
}

const CLK_TCK = 100;

/** CPU ticks of every process in the PID namespace of `pid1`, summed by command name. */
export function namespaceCpuTicks(pid1: number): Map<string, number> {
  const out = new Map<string, number>();
  let ns: string;
  try {
    ns = readlinkSync(`/proc/${pid1}/ns/pid`);
  } catch {
    return out;
  }
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/ns/pid`) !== ns) continue;
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const close = stat.lastIndexOf(')');
      const comm = stat.slice(stat.indexOf('(') + 1, close);
      const f = stat.slice(close + 2).split(' ');
      // Fields 14 and 15 (utime, stime), counted from the state field (3) after the command.
      const ticks = Number(f[11]) + Number(f[12]);
      out.set(comm, (out.get(comm) ?? 0) + ticks);
    } catch {
      /* gone */
    }
  }
  return out;
}

function cpuTicks(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = f[3]! + f[4]!;
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** Quantile of a mixture: each process's quantile points weighted by its share of the requests. */
export function mergedQuantile(reports: readonly WrkReport[], p: number): number {
  const pts: { v: number; w: number }[] = [];
  for (const r of reports) {
    let prev = 0;
    for (const [ps, v] of r.latencyUs.quantiles) {
      const pct = Number(ps);
      pts.push({ v, w: r.requests * (pct - prev) });
      prev = pct;
    }
  }
  pts.sort((a, b) => a.v - b.v);
  const total = pts.reduce((a, b) => a + b.w, 0);
  if (total === 0) return 0;
  let acc = 0;
  for (const pt of pts) {
    acc += pt.w;
    if (acc >= (p / 100) * total) return pt.v;
  }
  return pts[pts.length - 1]!.v;
}

export async function runStep(opts: StepOptions): Promise<StepResult> {
  const ramp = opts.rampSeconds ?? 0;
  const perProcess = ramp > 0 ? RAMP_GROUP_CONNECTIONS : CONNECTIONS_PER_WRK;
  const procs = Math.max(1, Math.ceil(opts.concurrency / perProcess));
  const addresses = NET.dropletLoadAddresses;
  const cpu0 = cpuTicks();
  const t0 = Date.now();
  const drop0 = opts.dropletPid ? namespaceCpuTicks(opts.dropletPid) : new Map<string, number>();
  const children = [];
  for (let i = 0; i < procs; i++) {
    if (i > 0 && ramp > 0) await sleep((ramp * 1000) / procs);
    const conns = Math.floor(opts.concurrency / procs) + (i < opts.concurrency % procs ? 1 : 0);
    const report = join(opts.scratchDir, `wrk-${opts.concurrency}-${i}.json`);
    rmSync(report, { force: true });
    const url = `http://${addresses[i % addresses.length]}${opts.path}`;
    const args = ['netns', 'exec', NET.loadNs, 'wrk', '-t', '1', '-c', String(conns), '-d', `${opts.durationSeconds}s`,
      '--timeout', `${opts.timeoutSeconds ?? Math.max(5, Math.ceil(opts.handlerSeconds * 3))}s`, '-s', WRK_SCRIPT, url];
    const child = spawn('ip', args, { env: { ...process.env, WRK_REPORT: report }, stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    children.push({ child, report });
  }
  // wrk stops itself after the duration; the bound here covers a wrk that hangs.
  const bound = (opts.durationSeconds + 60) * 1000;
  await Promise.all(children.map(async ({ child }) => {
    if (!(await waitExit(child, bound))) {
      killGroup(child, 'SIGKILL');
      await waitExit(child, 5000);
    }
  }));
  const cpu1 = cpuTicks();
  const elapsed = (Date.now() - t0) / 1000;
  const drop1 = opts.dropletPid ? namespaceCpuTicks(opts.dropletPid) : new Map<string, number>();
  const dropletCores: Record<string, number> = {};
  let dropletTotal = 0;
  for (const [comm, t] of drop1) {
    const cores = Math.max(0, t - (drop0.get(comm) ?? 0)) / CLK_TCK / elapsed;
    dropletTotal += cores;
    if (cores >= 0.005) dropletCores[comm] = Number(cores.toFixed(3));
  }
  if (opts.dropletPid) dropletCores.total = Number(dropletTotal.toFixed(3));
  const { reports, missing } = readWrkReports(children.map((c) => c.report));
  const sum = (f: (r: WrkReport) => number) => reports.reduce((a, r) => a + f(r), 0);
  const requests = sum((r) => r.requests);
  const durationSeconds = reports.length ? Math.max(...reports.map((r) => r.durationUs)) / 1e6 : opts.durationSeconds;
  const statuses: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
  const timeline: Record<string, [number, number]> = {};
  for (const r of reports) {
    for (const [sec, [ok, bad]] of Object.entries(r.timeline ?? {})) {
      const t = (timeline[sec] ??= [0, 0]);
      t[0] += ok;
      t[1] += bad;
    }
  }
  // wrk's "status" error counts responses >= 400; 1xx/3xx would pass it, so count every non-2xx ourselves.
  const non2xx = Object.entries(statuses).filter(([k]) => !k.startsWith('2')).reduce((a, [, v]) => a + v, 0);
  const errors = {
    connect: sum((r) => r.errors.connect),
    read: sum((r) => r.errors.read),
    write: sum((r) => r.errors.write),
    timeout: sum((r) => r.errors.timeout),
    non2xx,
    total: 0,
  };
  errors.total = errors.connect + errors.read + errors.write + errors.timeout + errors.non2xx + missing;
  const q = (p: number) => mergedQuantile(reports, p) / 1e6;
  const latencySeconds = { p50: q(50), p90: q(90), p99: q(99), max: reports.length ? Math.max(...reports.map((r) => r.latencyUs.max)) / 1e6 : 0 };
  return {
    concurrency: opts.concurrency,
    wrkProcesses: procs,
    durationSeconds,
    requests,
    requestsPerSecond: requests / durationSeconds,
    offeredRequestsPerSecond: opts.concurrency / opts.handlerSeconds,
    errors,
    statuses,
    timeline,
    latencySeconds,
    cpuBusy: (cpu1.busy - cpu0.busy) / Math.max(1, cpu1.total - cpu0.total),
    dropletCores,
    held: errors.total === 0 && requests > 0 && latencySeconds.p99 <= 1.5 * opts.handlerSeconds,
    missingReports: missing,
  };
}

/** The JSON reports the wrk processes wrote (each file removed once read); a process that wrote none counts as missing. */
export function readWrkReports(files: readonly string[]): { reports: WrkReport[]; missing: number } {
  const reports: WrkReport[] = [];
  let missing = 0;
  for (const file of files) {
    try {
      reports.push(JSON.parse(readFileSync(file, 'utf8')) as WrkReport);
      rmSync(file, { force: true });
    } catch {
      missing += 1;
    }
  }
  return { reports, missing };
}
