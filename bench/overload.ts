/**
 * Overload in the droplet box (`npx tsx bench/overload.ts [target]`, default the fleet box's droplet,
 * box/fleet.yaml: planned for 2,100 requests in flight). Two causes of overload, each at 1.5x and 2x the
 * droplet's design load (the plan's in-flight requests, where Nginx starts shedding), while the load
 * balancer's health check is polled every second as DigitalOcean's LB polls it (GET through Nginx, with the
 * config's response timeout):
 *
 *   slow app        every request waits twice the typical request time in the app (/io)
 *   slow database   every request reads a row (GET /items/<id>, the replica then the primary) while
 *                   PostgreSQL spends `--db-delay` seconds (default 0.5) in pg_sleep on every row it
 *                   returns: a row-security policy the box adds to `items` on the primary, which the
 *                   replica replays. The database pools fill and requests wait their pool timeout.
 *
 * Reports per step: served (200), shed by Nginx (503 with Retry-After, no upstream: its access log), refused
 * by the app (503 after a pool or statement timeout), failed (connect, read, write, timeout after the LB's
 * idle timeout, any other status), latencies, and the health checks' answers. Writes
 * bench/results/overload.{md,json}; exits 1 if a health check failed or a request failed by anything but a
 * 503.
 */
import { createReadStream, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { bootBox, type Box } from '../box/box.js';
import { DROPLET_CONSTANTS } from '../config/plan/droplet.js';
import { httpRequest } from '../box/http.js';
import { sleep } from '../box/lib/proc.js';
import { log, Run, TargetMissed } from '../box/lib/stages.js';
import { runStep, type StepResult } from './load.js';
import { machineFacts } from './stats.js';

const RESULTS_DIR = join(import.meta.dirname, 'results');
const DEFAULT_TARGET = join(import.meta.dirname, '../box/fleet.yaml');
const ACCESS_LOG = 'var/log/nginx/access.log';
/** Nginx writes its access log in 32 KiB buffers flushed at least every 5 s (templates/nginx/nginx.conf). */
const ACCESS_LOG_FLUSH_SECONDS = 5;
const STEP_SECONDS = 30;
const FACTORS = [1.5, 2] as const;

interface Health { readonly statuses: Record<string, number>; readonly maxSeconds: number }

interface StepReport {
  readonly cause: string;
  readonly factor: number;
  readonly connections: number;
  readonly requests: number;
  readonly served: number;
  readonly shedByNginx: number;
  /** Of those, logged (the plan's shed share). */
  readonly loggedSheds: number;
  readonly refusedByApp: number;
  /** What the step wrote to the access log, against the plan's worst case the log rotation is checked for. */
  readonly accessLogBytesPerSecond: number;
  readonly worstPlannedBytesPerSecond: number;
  readonly failed: number;
  readonly failures: Record<string, number>;
  readonly p50Seconds: number;
  readonly p99Seconds: number;
  readonly health: Health;
  readonly ok: boolean;
}

interface Cause {
  readonly name: string;
  readonly path: string;
  /** Seconds one request takes when nothing waits for a slot (the step's handler time). */
  readonly handlerSeconds: number;
  readonly before?: () => Promise<void>;
  readonly after?: () => Promise<void>;
}

/** Poll the health check like the LB: one GET a second, the config's response timeout. */
function pollHealth(box: Box): { stop: () => Promise<Health> } {
  const hc = box.env.config.loadBalancer.healthCheck;
  const statuses: Record<string, number> = {};
  let maxSeconds = 0;
  let polling = true;
  const loop = (async () => {
    while (polling) {
      const t0 = Date.now();
      const h = await httpRequest('GET', `${box.urls[0]}${hc.path}`, hc.responseTimeoutSeconds * 1000).catch((e: Error) => ({ status: `error: ${e.message}` }));
      const seconds = (Date.now() - t0) / 1000;
      maxSeconds = Math.max(maxSeconds, seconds);
      statuses[String(h.status)] = (statuses[String(h.status)] ?? 0) + 1;
      await sleep(Math.max(0, 1000 - seconds * 1000));
    }
  })();
  return { stop: async () => { polling = false; await loop; return { statuses, maxSeconds }; } };
}

const accessLogBytes = (box: Box) => {
  try {
    return statSync(box.droplet.hostPath(ACCESS_LOG)).size;
  } catch {
    return 0;
  }
};

/**
 * The access log past `offset`: its lines (what the step wrote), and its 503s, Nginx's own (no upstream
 * answered; logged at the plan's shed share) and the app's (every 5xx is logged).
 */
async function readAccessLog(box: Box, offset: number): Promise<{ bytes: number; loggedSheds: number; refusedByApp: number }> {
  let bytes = 0;
  let loggedSheds = 0;
  let refusedByApp = 0;
  const lines = createInterface({ input: createReadStream(box.droplet.hostPath(ACCESS_LOG), { start: offset }), crlfDelay: Infinity });
  for await (const line of lines) {
    bytes += Buffer.byteLength(line) + 1;
    if (!line.startsWith('{')) continue;
    const e = JSON.parse(line) as { status: number; urt: string };
    if (e.status !== 503) continue;
    if (e.urt === '') loggedSheds++;
    else refusedByApp++;
  }
  return { bytes, loggedSheds, refusedByApp };
}

async function runCause(box: Box, cause: Cause, factor: number, scratchDir: string): Promise<StepReport> {
  const limit = box.env.plan.tuning.nginx.shedAboveRequests;
  const connections = Math.round(limit * factor);
  const offset = accessLogBytes(box);
  const health = pollHealth(box);
  const step: StepResult = await runStep({
    concurrency: connections, durationSeconds: STEP_SECONDS, handlerSeconds: cause.handlerSeconds, path: cause.path, scratchDir, rampSeconds: 2,
    dropletPid: box.droplet.pid(),
    // A client behind DigitalOcean's LB waits at most the LB's idle timeout: a slower answer is a failure.
    timeoutSeconds: box.env.config.loadBalancer.httpIdleTimeoutSeconds,
  });
  const h = await health.stop();
  await sleep((ACCESS_LOG_FLUSH_SECONDS + 1) * 1000);
  const accessLog = await readAccessLog(box, offset);
  const { refusedByApp } = accessLog;
  const e = step.errors;
  const failures: Record<string, number> = {};
  for (const [k, v] of Object.entries({ connect: e.connect, read: e.read, write: e.write, timeout: e.timeout, 'missing wrk reports': step.missingReports })) if (v > 0) failures[k] = v;
  for (const [status, v] of Object.entries(step.statuses)) if (status !== '200' && status !== '503') failures[`HTTP ${status}`] = v;
  const failed = Object.values(failures).reduce((a, b) => a + b, 0);
  const served = step.statuses['200'] ?? 0;
  // Every 503 the app did not send was Nginx's shed (the log holds only the plan's share of those).
  const shedByNginx = Math.max(0, (step.statuses['503'] ?? 0) - refusedByApp);
  const logs = box.env.plan.tuning.logs;
  const accessLogBytesPerSecond = accessLog.bytes / step.durationSeconds;
  const healthOk = Object.keys(h.statuses).every((s) => s === '200');
  const report: StepReport = {
    cause: cause.name, factor, connections, requests: step.requests, served, shedByNginx, loggedSheds: accessLog.loggedSheds, refusedByApp, failed, failures,
    accessLogBytesPerSecond, worstPlannedBytesPerSecond: logs.worstBytesPerSecond,
    p50Seconds: step.latencySeconds.p50, p99Seconds: step.latencySeconds.p99, health: h,
    ok: failed === 0 && healthOk && accessLogBytesPerSecond <= logs.worstBytesPerSecond,
  };
  log(`  ${cause.name} at ${factor}x (${connections.toLocaleString('en-US')} connections): ${fmt(report)}`);
  return report;
}

const int = (x: number) => Math.round(x).toLocaleString('en-US');
const kib = (bytesPerSecond: number) => `${int(bytesPerSecond / 1024)} KiB/s`;
const fmt = (r: StepReport) =>
  `served ${int(r.served)}, shed by Nginx ${int(r.shedByNginx)} (${int(r.loggedSheds)} logged), refused by the app ${int(r.refusedByApp)}, failed ${int(r.failed)}${r.failed ? ` (${JSON.stringify(r.failures)})` : ''}; ` +
  `p50 ${r.p50Seconds.toFixed(2)} s, p99 ${r.p99Seconds.toFixed(2)} s; health checks ${JSON.stringify(r.health.statuses)} (slowest ${r.health.maxSeconds.toFixed(2)} s); ` +
  `access log ${kib(r.accessLogBytesPerSecond)} (plan's worst case ${kib(r.worstPlannedBytesPerSecond)})`;

function markdown(command: string, box: Box, dbDelaySeconds: number, reports: readonly StepReport[]): string {
  const t = box.env.plan.tuning;
  const hc = box.env.config.loadBalancer.healthCheck;
  const m = machineFacts();
  return [
    '# Overload of one droplet: shed, never ejected', '', `Command: \`${command}\``, '',
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGib} GiB, open files per process ${m.openFilesHardLimit}, kernel ${m.kernel}, ${m.wrk}, ${m.date}.`,
    `Droplet: ${box.env.plan.droplet.sizeSlug} planned for ${int(t.concurrentRequests)} requests in flight (Gunicorn ${t.gunicorn.workers} x ${t.gunicorn.workerConnections}); Nginx sheds above ${int(t.nginx.shedAboveRequests)} with 503 and Retry-After ${t.nginx.shedRetryAfterSeconds} s; per process ${t.database.primaryPoolSize}+${t.database.primaryMaxOverflow} primary and ${t.database.replicaPoolSize}+${t.database.replicaMaxOverflow} replica connections, pool timeout ${t.database.poolTimeoutSeconds} s, statement timeout ${t.database.statementTimeoutSeconds} s.`,
    `Load: wrk from the load namespace, ${STEP_SECONDS} s per step, connections opened over 2 s and kept alive; a request slower than the LB's idle timeout (${box.env.config.loadBalancer.httpIdleTimeoutSeconds} s) counts as failed. Health check GET ${hc.path} every second, timeout ${hc.responseTimeoutSeconds} s.`,
    `Slow database: every row PostgreSQL returns from \`items\` costs pg_sleep(${dbDelaySeconds}) (a row-security policy, on the primary and, replayed, on the replica).`,
    '',
    '| cause | load | connections | served (200) | shed by Nginx (503) | refused by the app (503) | failed | p99 | health checks | access log |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---|---:|',
    ...reports.map((r) => `| ${r.cause} | ${r.factor}x | ${int(r.connections)} | ${int(r.served)} | ${int(r.shedByNginx)} (${int(r.loggedSheds)} logged) | ${int(r.refusedByApp)} | ${r.failed ? `**${int(r.failed)}** ${JSON.stringify(r.failures)}` : '0'} | ${r.p99Seconds.toFixed(2)} s | ${Object.entries(r.health.statuses).map(([k, v]) => `${k} x${v}`).join(', ')} (slowest ${r.health.maxSeconds.toFixed(2)} s) | ${kib(r.accessLogBytesPerSecond)} |`),
    '',
    `wrk resends at once after a fast 503 (it ignores Retry-After), so the shed counts measure how fast Nginx refuses (one Nginx worker here), not how many clients were turned away. Sheds are logged at ${(t.logs.shedSampleShare * 100).toFixed(2)}% (the plan's share), so the access log stays within the plan's worst case of ${kib(t.logs.worstBytesPerSecond)} (twice the design rate of ${int(t.logs.designRequestsPerSecond)} requests/s all logged, ${DROPLET_CONSTANTS.accessLogLineBytes} B a line), the rate its rotation is checked for every ${t.logs.rotateCheckMinutes} min.`,
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, options: { 'db-delay': { type: 'string', default: '0.5' } }, allowPositionals: true });
  } catch (err) {
    process.stderr.write(`overload: ${(err as Error).message}\n`);
    return 2;
  }
  const dbDelaySeconds = Number(args.values['db-delay']);
  if (!(dbDelaySeconds > 0 && dbDelaySeconds < 10)) {
    process.stderr.write(`overload: --db-delay must be a number of seconds between 0 and 10, got ${JSON.stringify(args.values['db-delay'])}\n`);
    return 2;
  }
  const target = args.positionals[0] ?? DEFAULT_TARGET;
  const command = `npx tsx bench/overload.ts${argv.length ? ` ${argv.join(' ')}` : ''}`;
  const r = new Run('overload');
  return r.execute('overload', async () => {
    const box = await bootBox(r, target);
    const scratchDir = join(box.runDir, 'overload');
    mkdirSync(scratchDir, { recursive: true });
    const created = await httpRequest('POST', `${box.urls[0]}/items`, 15_000, JSON.stringify({ body: 'overload' }));
    const id = (JSON.parse(created.body) as { id: number }).id;
    const db = (sql: string) => box.services.psql('primary', sql, box.env.config.postgres.databaseName);
    const slowReads = [
      `CREATE OR REPLACE FUNCTION public.box_slow_row() RETURNS boolean LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(${dbDelaySeconds}); RETURN true; END $$`,
      'CREATE POLICY box_slow_reads ON items FOR SELECT USING (public.box_slow_row())',
      'CREATE POLICY box_writes ON items FOR INSERT WITH CHECK (true)',
      // The app's role owns the table (its release step made it): FORCE applies the policy to the owner too.
      'ALTER TABLE items ENABLE ROW LEVEL SECURITY', 'ALTER TABLE items FORCE ROW LEVEL SECURITY',
    ];
    const typical = box.env.config.capacity.typicalRequestSeconds;
    const causes: Cause[] = [
      { name: 'slow app', path: `/io?seconds=${2 * typical}`, handlerSeconds: 2 * typical },
      {
        name: 'slow database', path: `/items/${id}`, handlerSeconds: dbDelaySeconds,
        before: async () => {
          for (const sql of slowReads) await db(sql);
        },
        after: async () => {
          await db('ALTER TABLE items NO FORCE ROW LEVEL SECURITY');
          await db('ALTER TABLE items DISABLE ROW LEVEL SECURITY');
        },
      },
    ];
    const reports: StepReport[] = [];
    for (const cause of causes) {
      await r.stage(`${cause.name}: ${FACTORS.map((f) => `${f}x`).join(' and ')} of ${box.env.plan.tuning.nginx.shedAboveRequests.toLocaleString('en-US')} in flight`, async () => {
        await cause.before?.();
        for (const factor of FACTORS) {
          reports.push(await runCause(box, cause, factor, scratchDir));
          // The next step starts from a droplet at rest: in-flight requests finish, Nginx's counters drain.
          await sleep(5000);
        }
        await cause.after?.();
      }, { timeoutMs: 600_000, logs: () => box.droplet.logs() });
    }
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'overload.md'), markdown(command, box, dbDelaySeconds, reports));
    writeFileSync(join(RESULTS_DIR, 'overload.json'), `${JSON.stringify({ command, machine: machineFacts(), dbDelaySeconds, reports }, null, 2)}\n`);
    log(`results: ${join(RESULTS_DIR, 'overload.md')} and overload.json`);
    const missed = reports.filter((x) => !x.ok);
    if (missed.length) throw new TargetMissed(`${missed.length} step(s) had a failed health check, a request failed by something other than a 503, or an access log past the plan's worst case`);
  });
}

main(process.argv.slice(2)).then((code) => process.exit(code));
