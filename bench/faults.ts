/**
 * Faults under load (`npm run faults`): boots the box once, then runs each scenario under steady wrk load
 * through Nginx and reports the requests that failed (of those in flight and of the total) and the time
 * to recover. Writes bench/results/faults.{json,md}. Bounded by a global timeout; tears down on exit/Ctrl-C.
 *
 *   worker kill -9      one Gunicorn worker killed; target: < 0.5% of the requests in flight fail
 *   nginx reload        `nginx -s reload`; target: none fail
 *   replica stop        /items/<id> reads fall back to the primary
 *   cache stop          /cached/<id> served from the database
 *   app restart         `systemctl restart app`
 *   droplet reboot      `systemctl reboot` of the container; the box boots it again on the same disk
 *
 * Each scenario: load for `--before` seconds, the fault, load until the end of the window. Recovery is read
 * from wrk's per-second response counts (bench/wrk-report.lua): the time from the fault until the first
 * second from which every second has no failed response and at least 80% of the pre-fault rate.
 *
 *   npx tsx bench/faults.ts [--concurrency 2000] [--handler 1] [--only worker-kill,nginx-reload] [--timeout-minutes 15]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootBox, type Box } from '../box/box.js';
import { httpRequest } from '../box/http.js';
import { sleep, waitFor } from '../box/lib/proc.js';
import { log, Run } from '../box/lib/stages.js';
import { runStep, type StepResult } from './load.js';
import { machineFacts } from './stats.js';

const RESULTS_DIR = join(import.meta.dirname, 'results');

interface Scenario {
  readonly name: string;
  readonly what: string;
  /** Path the load drives (the item id is filled in). */
  readonly path: (o: Options, itemId: number) => string;
  readonly concurrency: (o: Options) => number;
  readonly windowSeconds: number;
  readonly beforeSeconds: number;
  /** Inject the fault; returns a note for the report. */
  readonly inject: (box: Box) => Promise<string>;
  /** Put things back after the window (a stopped service restarted). */
  readonly restore?: (box: Box) => Promise<void>;
  /** Share of the requests in flight that may fail; undefined: no target. */
  readonly targetFailedShareOfInFlight?: number;
}

interface Options {
  concurrency: number;
  handlerSeconds: number;
  only?: string[];
  timeoutMinutes: number;
}

async function appPids(box: Box): Promise<{ master: number; workers: number[] }> {
  const master = Number((await box.droplet.exec(['systemctl', 'show', '-p', 'MainPID', '--value', 'app.service'])).stdout.trim());
  const workers = (await box.droplet.exec(['pgrep', '-P', String(master)], 10_000, true)).stdout.trim().split(/\s+/).filter(Boolean).map(Number);
  return { master, workers };
}

const io = (o: Options) => `/io?seconds=${o.handlerSeconds}`;
/** Database-backed paths take fewer connections: each request holds a pooled connection for its query. */
const dbConcurrency = (o: Options) => Math.min(o.concurrency, 500);

const SCENARIOS: Scenario[] = [
  {
    name: 'worker-kill', what: 'kill -9 of one Gunicorn worker', path: io, concurrency: (o) => o.concurrency, windowSeconds: 25, beforeSeconds: 8,
    targetFailedShareOfInFlight: 0.005,
    inject: async (box) => {
      const { workers } = await appPids(box);
      const victim = workers[0]!;
      await box.droplet.exec(['kill', '-9', String(victim)]);
      return `killed worker pid ${victim} (of ${workers.length})`;
    },
  },
  {
    name: 'nginx-reload', what: '`nginx -s reload`', path: io, concurrency: (o) => o.concurrency, windowSeconds: 25, beforeSeconds: 8,
    targetFailedShareOfInFlight: 0,
    inject: async (box) => {
      await box.droplet.exec(['nginx', '-s', 'reload']);
      return 'reload signalled';
    },
  },
  {
    name: 'replica-stop', what: 'PostgreSQL replica stopped (reads fall back to the primary)', path: (_o, id) => `/items/${id}`, concurrency: dbConcurrency,
    windowSeconds: 25, beforeSeconds: 8,
    inject: async (box) => {
      await box.services.stopReplica();
      return 'replica stopped (fast shutdown)';
    },
    restore: (box) => box.services.startReplica(),
  },
  {
    name: 'cache-stop', what: 'Redis stopped (/cached served from the database)', path: (_o, id) => `/cached/${id}`, concurrency: dbConcurrency,
    windowSeconds: 25, beforeSeconds: 8,
    inject: async (box) => {
      await box.services.stopRedis();
      return 'redis stopped';
    },
    restore: (box) => box.services.startRedis(),
  },
  {
    name: 'app-restart', what: '`systemctl restart app`', path: io, concurrency: (o) => o.concurrency, windowSeconds: 30, beforeSeconds: 8,
    inject: async (box) => {
      const t0 = Date.now();
      await box.droplet.exec(['systemctl', 'restart', 'app.service'], 180_000);
      return `systemctl restart returned after ${((Date.now() - t0) / 1000).toFixed(1)} s`;
    },
  },
  {
    name: 'droplet-reboot', what: 'reboot of the droplet container', path: io, concurrency: (o) => o.concurrency, windowSeconds: 60, beforeSeconds: 8,
    inject: async (box) => {
      const t0 = Date.now();
      await box.droplet.reboot(120_000);
      await box.droplet.waitSystemd(120_000);
      return `container back, systemd running after ${((Date.now() - t0) / 1000).toFixed(1)} s`;
    },
  },
];

interface ScenarioResult {
  readonly name: string;
  readonly what: string;
  readonly note: string;
  readonly path: string;
  readonly concurrency: number;
  readonly windowSeconds: number;
  readonly requests: number;
  readonly failed: number;
  readonly errors: StepResult['errors'];
  readonly failedShareOfInFlight: number;
  readonly failedShareOfTotal: number;
  readonly preFaultRequestsPerSecond: number;
  /** Seconds from the fault until every later second had no failed response; null if not within the window. */
  readonly recoverySeconds: number | null;
  /** Seconds from the fault until every later second also had >= 80% of the pre-fault rate; null if not within the window. */
  readonly rateRecoverySeconds: number | null;
  readonly target?: string;
  readonly met?: boolean;
  readonly timeline: { second: number; ok: number; failed: number }[];
}

function recovery(timeline: { second: number; ok: number; failed: number }[], faultSecond: number, lastSecond: number): { pre: number; recoverySeconds: number | null; rateSeconds: number | null } {
  const pre = timeline.filter((t) => t.second < faultSecond && t.second >= faultSecond - 5);
  const preRate = pre.length ? pre.reduce((a, t) => a + t.ok, 0) / pre.length : 0;
  // The last second of the window is partial (wrk stops inside it): leave it out.
  const after = timeline.filter((t) => t.second >= faultSecond && t.second < lastSecond);
  const from = (good: (t: { ok: number; failed: number }) => boolean) => {
    for (let i = 0; i < after.length; i++) if (after.slice(i).every(good)) return after[i]!.second - faultSecond;
    return null;
  };
  return {
    pre: preRate,
    // Failures stop: every later second answers with no failed response (and answers at all).
    recoverySeconds: from((t) => t.failed === 0 && t.ok > 0),
    // Rate back: at least 80% of the pre-fault rate (a degraded mode, e.g. reads without the cache, may stay lower).
    rateSeconds: from((t) => t.failed === 0 && t.ok >= 0.8 * preRate),
  };
}

async function runScenario(box: Box, s: Scenario, o: Options, itemId: number): Promise<ScenarioResult> {
  const concurrency = s.concurrency(o);
  const path = s.path(o, itemId);
  log(`  ${s.name}: ${concurrency.toLocaleString('en-US')} connections on ${path}, fault after ${s.beforeSeconds} s of ${s.windowSeconds} s`);
  let note = '';
  let faultSecond = 0;
  const fault = (async () => {
    await sleep(s.beforeSeconds * 1000);
    faultSecond = Math.floor(Date.now() / 1000);
    note = await s.inject(box);
    log(`    ${note}`);
  })();
  const step = await runStep({
    concurrency, durationSeconds: s.windowSeconds, handlerSeconds: o.handlerSeconds, path, scratchDir: box.runDir,
  });
  await fault;
  const timeline = Object.entries(step.timeline).map(([sec, [ok, failed]]) => ({ second: Number(sec), ok, failed })).sort((a, b) => a.second - b.second);
  const lastSecond = timeline.at(-1)?.second ?? faultSecond;
  const { pre, recoverySeconds, rateSeconds } = recovery(timeline, faultSecond, lastSecond);
  const failed = step.errors.total;
  const result: ScenarioResult = {
    name: s.name, what: s.what, note, path, concurrency, windowSeconds: s.windowSeconds, requests: step.requests, failed, errors: step.errors,
    failedShareOfInFlight: failed / concurrency, failedShareOfTotal: failed / Math.max(1, step.requests + failed),
    preFaultRequestsPerSecond: Math.round(pre), recoverySeconds, rateRecoverySeconds: rateSeconds,
    ...(s.targetFailedShareOfInFlight !== undefined
      ? { target: s.targetFailedShareOfInFlight === 0 ? 'none fail' : `< ${s.targetFailedShareOfInFlight * 100}% of in flight`, met: s.targetFailedShareOfInFlight === 0 ? failed === 0 : failed / concurrency < s.targetFailedShareOfInFlight }
      : {}),
    timeline: timeline.map((t) => ({ ...t, second: t.second - faultSecond })),
  };
  log(`    ${fmt(result)}`);
  if (s.restore) await s.restore(box);
  // Back to a healthy droplet before the next scenario: /healthz answers and the in-flight handlers drained.
  await waitFor('/healthz after the scenario', async () => ((await httpRequest('GET', `${box.urls[0]}/healthz`, 5000)).status === 200 ? true : undefined), 180_000, 1000);
  await sleep((o.handlerSeconds + 3) * 1000);
  return result;
}

const pct = (x: number) => `${(x * 100).toFixed(x > 0 && x < 0.01 ? 3 : 1)}%`;
const int = (x: number) => Math.round(x).toLocaleString('en-US');
const fmtErrors = (e: StepResult['errors']) =>
  e.total === 0 ? '0' : `${int(e.total)} (${Object.entries(e).filter(([k, v]) => k !== 'total' && v > 0).map(([k, v]) => `${k} ${int(v)}`).join(', ')})`;
function fmt(r: ScenarioResult): string {
  return `failed ${fmtErrors(r.errors)} = ${pct(r.failedShareOfInFlight)} of ${int(r.concurrency)} in flight, ${pct(r.failedShareOfTotal)} of ${int(r.requests + r.failed)}; no failures from ${r.recoverySeconds === null ? 'never (within the window)' : `${r.recoverySeconds} s`}, rate back from ${r.rateRecoverySeconds === null ? 'never (within the window)' : `${r.rateRecoverySeconds} s`}${r.target ? `; target ${r.target}: ${r.met ? 'met' : 'MISSED'}` : ''}`;
}

function markdown(command: string, machine: ReturnType<typeof machineFacts>, o: Options, results: ScenarioResult[]): string {
  const lines = [
    '# Faults under load', '', `Command: \`${command}\``, '',
    `Machine: ${machine.cores} cores, open files per process ${machine.openFilesHardLimit}, kernel ${machine.kernel}, ${machine.date}. Environment \`box\` (box/box.yaml).`,
    `Load: wrk through Nginx, ${int(o.concurrency)} keepalive connections on /io?seconds=${o.handlerSeconds} (database paths: ${int(Math.min(o.concurrency, 500))}); the fault ${SCENARIOS[0]!.beforeSeconds} s into each window. "Failed" counts every error wrk sees (connect, read, write, timeout, non-2xx). Recovery (1 s resolution, from wrk's per-second counts): seconds from the fault until every later second has no failed response, and until it also has at least 80% of the pre-fault rate. A request that fails fast is retried at once by its wrk connection, so a fault that makes Nginx answer 502 at once counts many failures per connection.`, '',
    '| scenario | path | in flight | requests | failed | of in flight | of total | no failures after | rate >= 80% after | target |', '|---|---|---:|---:|---|---:|---:|---:|---:|---|',
  ];
  for (const r of results) {
    lines.push(`| ${r.what} | \`${r.path}\` | ${int(r.concurrency)} | ${int(r.requests)} | ${fmtErrors(r.errors)} | ${pct(r.failedShareOfInFlight)} | ${pct(r.failedShareOfTotal)} | ${r.recoverySeconds === null ? 'not within window' : `${r.recoverySeconds} s`} | ${r.rateRecoverySeconds === null ? 'not within window' : `${r.rateRecoverySeconds} s`} | ${r.target ? `${r.target}: ${r.met ? 'met' : '**missed**'}` : ''} |`);
  }
  lines.push('', 'Notes:', ...results.map((r) => `- ${r.name}: ${r.note}; ${int(r.preFaultRequestsPerSecond)} req/s before the fault.`), '');
  return lines.join('\n');
}

async function main(argv: string[]): Promise<number> {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const o: Options = {
    concurrency: Number(get('concurrency') ?? 2000),
    handlerSeconds: Number(get('handler') ?? 1),
    only: get('only')?.split(','),
    timeoutMinutes: Number(get('timeout-minutes') ?? 15),
  };
  const command = `npx tsx bench/faults.ts${argv.length ? ` ${argv.join(' ')}` : ''}`;
  const r = new Run('faults');
  r.boundBy(o.timeoutMinutes);
  return r.execute('faults', async () => {
    const box = await bootBox(r, 'box');
    const created = await httpRequest('POST', `${box.urls[0]}/items`, 15_000, JSON.stringify({ body: 'faults' }));
    const itemId = (JSON.parse(created.body || '{}') as { id?: number }).id;
    if (created.status !== 201 || typeof itemId !== 'number') throw new Error(`could not create the item the reads use: ${created.status} ${created.body}`);
    const results: ScenarioResult[] = [];
    for (const s of SCENARIOS.filter((x) => !o.only || o.only.includes(x.name))) {
      results.push(await r.stage(`scenario ${s.name}`, () => runScenario(box, s, o, itemId), { timeoutMs: (s.windowSeconds + 300) * 1000, logs: () => box.droplet.logs() }));
    }
    const md = markdown(command, machineFacts(), o, results);
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'faults.json'), `${JSON.stringify({ command, machine: machineFacts(), options: o, results }, null, 2)}\n`);
    writeFileSync(join(RESULTS_DIR, 'faults.md'), md);
    process.stdout.write(`\n${md}\n`);
    if (results.some((x) => x.met === false)) log('a fault target was missed (see the table)');
  });
}

main(process.argv.slice(2)).then((code) => process.exit(code));
