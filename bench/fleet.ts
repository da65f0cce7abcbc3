/**
 * Day-2 changes of a live fleet under load (`npm run fleet`): boots the fleet box (box/fleet/: droplets from
 * the same rendered user data behind HAProxy playing DigitalOcean's LB), then runs each change the way
 * Terraform runs it with create_before_destroy and the rollout gate, under steady wrk load through the LB,
 * and reports requests, failed requests, p99 and the time the change took, with the event log that shows
 * each old droplet stopped only after its replacement passed the gate. Writes bench/results/fleet.{md,json}.
 *
 *   npx tsx bench/fleet.ts [--concurrency 2000] [--boot-delay 10] [--only scale-out,release,...] [--timeout-minutes 45]
 *   npx tsx bench/fleet.ts --smoke     one release of 2 droplets under light load (CI), no results written
 *
 * Changes (in this order; each starts from the fleet the one before left):
 *   scale-out     one droplet more (count + 1): created, gated
 *   scale-in      one droplet less (count - 1): the newest, gracefully stopped (it drains)
 *   replace-all   every droplet replaced by one with new user data (a setting: the cache TTL), gated, in batches
 *   release       a new app release (demo app: the user data's app.env RELEASE marker v1 -> v2), gated
 *   rollback      back to the user data before the release (byte-identical), gated
 *   hard-kill     SIGKILL of one droplet's container; then a gated replacement restores the count (not timed)
 *   broken        a new droplet that never becomes healthy (its app cannot load): the gate fails, the apply
 *                 stops, the old droplets keep serving
 *   ungated       replace-all again with the gate switched off (negative control: must show failures)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootFleet, type FleetBox } from '../box/fleet/boot.js';
import type { FleetDroplet } from '../box/fleet/fleet.js';
import { breakUserData, releaseOf, variantB, variantRelease2 } from '../box/fleet/variants.js';
import { sleep } from '../box/lib/proc.js';
import { log, Run, TargetMissed } from '../box/lib/stages.js';
import { SteadyLoad, type LoadResult } from './fleet-load.js';
import { machineFacts } from './stats.js';

const RESULTS_DIR = join(import.meta.dirname, 'results');

interface Options {
  concurrency: number;
  ioSeconds?: number;
  postEvery: number;
  bootDelaySeconds: number;
  gateIntervalSeconds?: number;
  /** Gate timeout of the broken-droplet change (the plan's 15 minutes are for real cloud-init times). */
  brokenGateTimeoutSeconds: number;
  only?: string[];
  timeoutMinutes: number;
  smoke: boolean;
  count?: number;
}

interface Outcome {
  readonly note: string;
  /** Whether the change did what it must (gate failed where it must, user data as expected, ...). */
  readonly ok: boolean;
  /** For hard-kill: seconds from the kill to the LB marking the droplet DOWN. */
  readonly lbDownSeconds?: number;
  readonly inFlightOnVictim?: number;
  readonly killEpochSecond?: number;
}

interface Change {
  readonly name: string;
  readonly what: string;
  /** planned: 0 failed requests; control: failures expected; kill: at most the victim's in-flight requests. */
  readonly kind: 'planned' | 'control' | 'kill' | 'broken';
  readonly run: (fb: FleetBox, o: Options) => Promise<Outcome>;
  /** Put the fleet back after the measured window (not timed). */
  readonly restore?: (fb: FleetBox, o: Options) => Promise<void>;
}

const gatedReplace = async (fb: FleetBox, userData: string, label: string, gated = true): Promise<{ ok: boolean; created: FleetDroplet[]; failedGate?: string }> =>
  fb.fleet.replace(fb.fleet.serving(), userData, label, { gated, batchSize: fb.env.plan.rollout.batchSize });

const CHANGES: Change[] = [
  {
    name: 'scale-out', what: 'scale out by one (count + 1)', kind: 'planned',
    run: async (fb) => {
      const d = await fb.fleet.create(fb.render(), 'v1');
      const ok = await fb.fleet.gate(d);
      return { ok, note: `droplet ${d.id} created and gated; ${fb.fleet.serving().length} droplets` };
    },
  },
  {
    name: 'scale-in', what: 'scale in by one (count - 1, graceful)', kind: 'planned',
    run: async (fb) => {
      const newest = fb.fleet.serving().at(-1)!;
      const r = await fb.fleet.destroy(newest, 'count - 1: Terraform destroys the highest index');
      return { ok: r.graceful, note: `droplet ${newest.id} drained and off in ${r.seconds.toFixed(1)} s; ${fb.fleet.serving().length} droplets` };
    },
  },
  {
    name: 'replace-all', what: 'replace every droplet (new user data: cache TTL)', kind: 'planned',
    run: async (fb) => {
      const r = await gatedReplace(fb, fb.render(variantB), 'B');
      return { ok: r.ok, note: `${r.created.length} droplets replaced: ${r.created.map((d) => d.id).join(', ')}` };
    },
  },
  {
    name: 'release', what: 'release a new app version (v2)', kind: 'planned',
    run: async (fb) => {
      const r = await gatedReplace(fb, fb.render(variantRelease2), 'release v2');
      const releases = fb.fleet.serving().map(releaseOf);
      return { ok: r.ok && releases.every((x) => x === 'v2'), note: `fleet runs RELEASE ${[...new Set(releases)].join(', ')} (app.env on each droplet)` };
    },
  },
  {
    name: 'rollback', what: 'roll the release back (v1)', kind: 'planned',
    run: async (fb) => {
      const userData = fb.render(variantB);
      const r = await gatedReplace(fb, userData, 'B (rollback)');
      const releases = fb.fleet.serving().map(releaseOf);
      return { ok: r.ok && releases.every((x) => x === 'v1'), note: `fleet runs RELEASE ${[...new Set(releases)].join(', ')}; user data byte-identical to the one before the release` };
    },
  },
  {
    name: 'hard-kill', what: 'kill one droplet hard (SIGKILL)', kind: 'kill',
    run: async (fb, o) => {
      const serving = fb.fleet.serving();
      const victim = serving[0]!;
      const inFlight = Math.round(o.concurrency / serving.length);
      const before = fb.fleet.events.length;
      const t = fb.fleet.now();
      const killEpochSecond = Math.floor(Date.now() / 1000);
      await fb.fleet.kill(victim);
      const hc = fb.env.config.loadBalancer.healthCheck;
      const windowSeconds = hc.checkIntervalSeconds * hc.unhealthyThreshold + hc.responseTimeoutSeconds;
      // Keep the load on past the LB's window, then a few seconds more to see the failures stop.
      let down: number | undefined;
      const until = Date.now() + (windowSeconds + 15) * 1000;
      while (Date.now() < until && down === undefined) {
        const e = fb.fleet.events.slice(before).find((x) => x.what.startsWith(`LB: droplet ${victim.id} is DOWN`));
        if (e) down = e.t - t;
        await sleep(200);
      }
      await sleep(5000);
      return {
        ok: down !== undefined && down <= windowSeconds + 1,
        lbDownSeconds: down,
        inFlightOnVictim: inFlight,
        killEpochSecond,
        note: `droplet ${victim.id} killed; LB marked it DOWN after ${down === undefined ? 'never (within the window)' : `${down.toFixed(1)} s`} (window: ${hc.checkIntervalSeconds} s x ${hc.unhealthyThreshold} + ${hc.responseTimeoutSeconds} s = ${windowSeconds} s); ~${inFlight} requests were in flight on it`,
      };
    },
    restore: async (fb) => {
      const dead = fb.fleet.all().filter((d) => d.leaving && !d.droplet.running);
      for (const d of dead) await fb.fleet.forget(d);
      const d = await fb.fleet.create(fb.render(variantB), 'B');
      if (!(await fb.fleet.gate(d))) throw new Error(`the droplet replacing the killed one (${d.id}) did not pass its gate`);
    },
  },
  {
    name: 'broken', what: 'a new droplet that never becomes healthy', kind: 'broken',
    run: async (fb, o) => {
      const broken = breakUserData(fb.render(variantRelease2));
      const old = fb.fleet.serving();
      const d = await fb.fleet.create(broken, 'broken');
      const passed = await fb.fleet.gate(d, o.brokenGateTimeoutSeconds);
      fb.fleet.event(passed ? `gate ${d.id} PASSED for a broken droplet` : `apply fails: droplet ${d.id} tainted; old droplets ${old.map((x) => x.id).join(', ')} untouched`);
      const stats = await fb.fleet.lb.stats();
      const up = old.filter((x) => stats.find((s) => s.name === `d${x.id}`)?.status === 'UP').length;
      return { ok: !passed && up === old.length, note: `gate ${passed ? 'PASSED (wrong)' : 'failed after its timeout'}; ${up} of ${old.length} old droplets UP in the LB and serving` };
    },
    restore: async (fb) => {
      // The next apply destroys the tainted droplet (and would try its replacement again).
      for (const d of fb.fleet.all().filter((x) => x.label === 'broken')) await fb.fleet.destroy(d, 'tainted: the next apply destroys it');
    },
  },
  {
    name: 'ungated', what: 'replace every droplet, gate OFF (negative control)', kind: 'control',
    run: async (fb) => {
      const r = await gatedReplace(fb, fb.render(), 'A (no gate)', false);
      // The change is over when the fleet serves again: every new droplet UP in the LB.
      await fb.fleet.waitUp(r.created, 300_000);
      return { ok: true, note: `old droplets destroyed as soon as their replacements' containers ran; ${r.created.length} new droplets UP afterwards` };
    },
  },
];

interface ChangeResult {
  readonly name: string;
  readonly what: string;
  readonly kind: Change['kind'];
  readonly concurrency: number;
  readonly requests: number;
  readonly failed: number;
  readonly errors: LoadResult['errors'];
  readonly statuses: Record<string, number>;
  readonly p50Seconds: number;
  readonly p99Seconds: number;
  readonly maxSeconds: number;
  readonly changeSeconds: number;
  readonly loadSeconds: number;
  readonly outcome: Outcome;
  readonly target: string;
  readonly met: boolean;
  readonly events: { t: number; at: string; what: string }[];
  /** Seconds (from the change's start) with failed responses: when the failures happened. */
  readonly failedSeconds: { second: number; ok: number; failed: number }[];
  /** Failed requests in the LB's log, by droplet (server), status, termination state and request. */
  readonly lbFailures: Record<string, number>;
  /** Old droplets stopped before their replacement passed the gate (from the event log); must be empty. */
  readonly shutdownsBeforeGate: string[];
  /** Hard kill: requests lost in flight (read errors, timeouts, 502), refused (503) before the LB marked it DOWN, failed after. */
  readonly killBreakdown?: { inFlightLost: number; refusedBeforeDown: number; failedAfterDown: number };
}

/**
 * Old droplets whose shutdown began before their replacement passed the gate, read from the event log (the
 * gate's own "passed" line, and the shutdown line naming the replacement).
 */
export function orderViolations(events: readonly { what: string }[]): string[] {
  const passed = new Set<string>();
  const violations: string[] = [];
  for (const e of events) {
    const g = /^gate (\d+): droplet \1 passed/.exec(e.what);
    if (g) passed.add(g[1]!);
    const s = /^droplet (\d+) \([^)]*\): shutdown begins \(its replacement (\d+) passed the gate\)/.exec(e.what);
    if (s && !passed.has(s[2]!)) violations.push(`droplet ${s[1]} began its shutdown before its replacement ${s[2]} passed the gate`);
  }
  return violations;
}

function judge(c: Change, load: LoadResult, out: Outcome, events: readonly { what: string }[]): { target: string; met: boolean } {
  switch (c.kind) {
    case 'planned':
      return { target: '0 failed', met: load.failed === 0 && out.ok && orderViolations(events).length === 0 };
    case 'control':
      return { target: 'failures expected', met: load.failed > 0 };
    case 'broken':
      return { target: 'gate fails, 0 failed', met: load.failed === 0 && out.ok };
    case 'kill': {
      // What a crash costs behind an LB without retries: the requests in flight on the droplet die with it
      // (read errors, 502), and requests the LB still sends it until its checks mark it down are refused (503).
      // Nothing may fail after the LB marked it down. In flight on it: its round-robin share, +20% for the
      // unevenness of that share.
      const down = out.lbDownSeconds ?? Infinity;
      const lateFailures = load.timeline.filter((x) => x.failed > 0 && x.second - (out.killEpochSecond ?? 0) > down + 1).reduce((a, x) => a + x.failed, 0);
      const inFlightLost = load.errors.read + load.errors.timeout + (load.statuses['502'] ?? 0);
      const share = out.inFlightOnVictim ?? 0;
      return {
        target: `in-flight losses <= its share (${int(share)}) +20%; refused only until the LB marks it DOWN (within its window), none after`,
        met: out.ok && inFlightLost <= share * 1.2 && lateFailures === 0,
      };
    }
  }
}

/** Loads running now: teardown (Ctrl-C, timeout) kills them. */
const activeLoads = new Set<SteadyLoad>();

async function runChange(fb: FleetBox, c: Change, o: Options, ioSeconds: number): Promise<ChangeResult> {
  const load = new SteadyLoad({ concurrency: o.concurrency, ioSeconds, postEvery: o.postEvery, maxSeconds: 900, scratchDir: fb.runDir, label: c.name });
  activeLoads.add(load);
  const firstEvent = fb.fleet.events.length;
  log(`  ${c.name}: ${o.concurrency.toLocaleString('en-US')} connections through the LB, /io?seconds=${ioSeconds} with every ${o.postEvery}th request a POST /items`);
  const loadStartedAt = Date.now();
  await load.start();
  let outcome: Outcome;
  let changeSeconds: number;
  let t0: number;
  try {
    // Warm: every connection has a request in flight before the change begins.
    await sleep((ioSeconds + 3) * 1000);
    fb.fleet.event(`change ${c.name} begins`);
    t0 = Date.now();
    outcome = await c.run(fb, o);
    changeSeconds = (Date.now() - t0) / 1000;
    fb.fleet.event(`change ${c.name} complete after ${changeSeconds.toFixed(1)} s`);
    // A tail under load: failures right after the change are the change's.
    await sleep((ioSeconds + 3) * 1000);
  } catch (err) {
    load.kill();
    throw err;
  }
  const lbFailuresFrom = loadStartedAt;
  const res = await load.stop();
  activeLoads.delete(load);
  // Who answered the failed requests, from the LB's log: droplet (or <NOSRV>), status, termination state.
  const lbFailures: Record<string, number> = {};
  for (const f of fb.fleet.lbFailures.filter((x) => x.at >= lbFailuresFrom)) {
    const k = `${f.server} ${f.status} ${f.termination} ${f.request.replace(/\?.*/, '')}`;
    lbFailures[k] = (lbFailures[k] ?? 0) + 1;
  }
  if (Object.keys(lbFailures).length) log(`    LB log of failed requests: ${Object.entries(lbFailures).map(([k, v]) => `${k} x${v}`).join('; ')}`);
  const events = fb.fleet.events.slice(firstEvent);
  const { target, met } = judge(c, res, outcome, events);
  const violations = orderViolations(events);
  if (violations.length) log(`    ORDER: ${violations.join('; ')}`);
  const startSecond = Math.floor(t0 / 1000);
  const result: ChangeResult = {
    name: c.name, what: c.what, kind: c.kind, concurrency: o.concurrency, requests: res.requests, failed: res.failed, errors: res.errors, statuses: res.statuses,
    p50Seconds: res.latencySeconds.p50, p99Seconds: res.latencySeconds.p99, maxSeconds: res.latencySeconds.max,
    changeSeconds, loadSeconds: res.seconds, outcome, target, met,
    events,
    shutdownsBeforeGate: violations,
    lbFailures,
    failedSeconds: res.timeline.filter((x) => x.failed > 0).map((x) => ({ ...x, second: x.second - startSecond })),
    ...(c.kind === 'kill' ? {
      killBreakdown: {
        inFlightLost: res.errors.read + res.errors.timeout + (res.statuses['502'] ?? 0),
        refusedBeforeDown: res.statuses['503'] ?? 0,
        failedAfterDown: res.timeline.filter((x) => x.second - (outcome.killEpochSecond ?? 0) > (outcome.lbDownSeconds ?? Infinity) + 1).reduce((a, x) => a + x.failed, 0),
      },
    } : {}),
  };
  log(`    ${c.name}: ${res.requests.toLocaleString('en-US')} requests, ${fmtErrors(result)} failed, p99 ${res.latencySeconds.p99.toFixed(2)} s, change ${changeSeconds.toFixed(1)} s; ${outcome.note}; target ${target}: ${met ? 'met' : 'MISSED'}`);
  if (c.restore) await c.restore(fb, o);
  return result;
}

const int = (x: number) => Math.round(x).toLocaleString('en-US');
const fmtErrors = (r: ChangeResult) => r.failed === 0 ? '0' : `${int(r.failed)} (${[...Object.entries(r.errors).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${int(v)}`), ...Object.entries(r.statuses).filter(([k]) => !k.startsWith('2')).map(([k, v]) => `HTTP ${k}: ${int(v)}`)].join(', ')})`;

export function table(results: readonly ChangeResult[]): string {
  const lines = ['| change | requests | failed | p99 | time to complete | target |', '|---|---:|---|---:|---:|---|'];
  for (const r of results) lines.push(`| ${r.what} | ${int(r.requests)} | ${fmtErrors(r)} | ${r.p99Seconds.toFixed(2)} s | ${r.changeSeconds.toFixed(1)} s | ${r.target}: ${r.met ? 'met' : '**missed**'} |`);
  return lines.join('\n');
}

function markdown(command: string, fb: FleetBox, o: Options, ioSeconds: number, results: ChangeResult[], machine: ReturnType<typeof machineFacts>): string {
  const hc = fb.env.config.loadBalancer.healthCheck;
  const p = fb.env.plan;
  const lines = [
    '# Day-2 changes of a live fleet under load', '', `Command: \`${command}\``, '',
    `Machine: ${machine.cores} cores (${machine.cpuModel}), ${machine.memoryGib} GiB, open files per process ${machine.openFilesHardLimit}, kernel ${machine.kernel}, ${machine.wrk}, ${machine.date}.`,
    `Environment \`fleet\` (box/fleet.yaml): ${p.fleet.kind === 'droplets' ? p.fleet.count : '?'} droplets ${p.droplet.sizeSlug}, each planned for ${int(p.tuning.concurrentRequests)} requests (Gunicorn ${p.tuning.gunicorn.workers} x ${p.tuning.gunicorn.workerConnections}); LB check GET ${hc.path} every ${hc.checkIntervalSeconds} s, timeout ${hc.responseTimeoutSeconds} s, healthy ${hc.healthyThreshold}, unhealthy ${hc.unhealthyThreshold} (HAProxy, round robin, no retries/redispatch/observe); drain ${p.tuning.drain.lbDetectSeconds} s LB + ${p.tuning.drain.requestSeconds} s requests; rollout batch ${p.rollout.batchSize}, gate ${p.rollout.gatePasses} passes every ${o.gateIntervalSeconds ?? p.rollout.gateIntervalSeconds} s; delete timeout ${p.rollout.deleteTimeoutSeconds} s; cloud-init's final stage delayed ${o.bootDelaySeconds} s in every new droplet.`,
    `Load: wrk from the load namespace through the LB, ${int(o.concurrency)} keepalive connections, GET /io?seconds=${ioSeconds} (the plan's p95) with every ${o.postEvery}th request a POST /items; from ${ioSeconds + 3} s before each change until ${ioSeconds + 3} s after it. "Failed" counts every error wrk sees (connect, read, write, timeout > ${Math.max(10, ioSeconds * 5)} s, non-2xx). A release is a change of the demo app's user data (its app.env RELEASE marker), the same path a git release takes (a new user data, gated replacement).`,
    '', table(results), '',
  ];
  for (const r of results) {
    lines.push(`## ${r.what}`, '', `${r.outcome.note}. Requests ${int(r.requests)}, failed ${fmtErrors(r)}, p50 ${r.p50Seconds.toFixed(2)} s, p99 ${r.p99Seconds.toFixed(2)} s, max ${r.maxSeconds.toFixed(2)} s; change ${r.changeSeconds.toFixed(1)} s.`);
    if (r.failedSeconds.length) lines.push('', `Seconds (from the change's start) with failed responses: ${r.failedSeconds.map((x) => `${x.second} s: ${x.failed}`).join(', ')}.`);
    const gated = r.events.filter((e) => /shutdown begins \(its replacement \d+ passed the gate\)/.test(e.what)).length;
    if (gated) lines.push('', r.shutdownsBeforeGate.length ? `**Order violated**: ${r.shutdownsBeforeGate.join('; ')}.` : `Order (checked from the log below): each of the ${gated} old droplets began its shutdown only after its replacement's gate passed.`);
    if (Object.keys(r.lbFailures ?? {}).length) lines.push('', `The LB's log of failed requests (droplet, status, HAProxy termination state, request): ${Object.entries(r.lbFailures).map(([k, v]) => `\`${k}\` x${v}`).join(', ')}.`);
    if (r.killBreakdown) lines.push('', `Of the failed: ${int(r.killBreakdown.inFlightLost)} were in flight on the droplet when it died (read errors, timeouts, 502); ${int(r.killBreakdown.refusedBeforeDown)} were refused (503) because the LB still sent to it until its checks marked it DOWN (wrk's connections send again at once after a fast 503, so this count grows with the detection time, not with the load); ${int(r.killBreakdown.failedAfterDown)} failed after that.`);
    lines.push('', '```', ...r.events.map((e) => `${e.at.slice(11, 23)}  +${e.t.toFixed(1).padStart(6)} s  ${e.what}`), '```', '');
  }
  return lines.join('\n');
}

function parse(argv: string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const smoke = argv.includes('--smoke');
  const num = (name: string, dflt: number | undefined) => {
    const v = get(name);
    if (v === undefined) return dflt;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a number >= 0, got ${JSON.stringify(v)}`);
    return n;
  };
  return {
    smoke,
    concurrency: num('concurrency', smoke ? 200 : 2000)!,
    ioSeconds: num('io-seconds', undefined),
    postEvery: num('post-every', 10)!,
    bootDelaySeconds: num('boot-delay', smoke ? 5 : 10)!,
    gateIntervalSeconds: num('gate-interval', undefined),
    brokenGateTimeoutSeconds: num('broken-gate-timeout', 60)!,
    only: smoke ? ['release'] : get('only')?.split(','),
    timeoutMinutes: num('timeout-minutes', smoke ? 8 : 45)!,
    count: num('count', smoke ? 2 : undefined),
  };
}

async function main(argv: string[]): Promise<number> {
  let o: Options;
  try {
    o = parse(argv);
  } catch (err) {
    process.stderr.write(`fleet: ${(err as Error).message}\n`);
    return 2;
  }
  const unknown = o.only?.filter((n) => !CHANGES.some((c) => c.name === n)) ?? [];
  if (unknown.length) {
    process.stderr.write(`fleet: unknown change ${unknown.join(', ')}; known: ${CHANGES.map((c) => c.name).join(', ')}\n`);
    return 2;
  }
  const command = `npx tsx bench/fleet.ts${argv.length ? ` ${argv.join(' ')}` : ''}`;
  const r = new Run(o.smoke ? 'fleet smoke' : 'fleet');
  r.boundBy(o.timeoutMinutes);
  let failedTargets = 0;
  const code = await r.execute(o.smoke ? 'fleet smoke' : 'fleet', async () => {
    r.onTeardown('load (wrk)', async () => activeLoads.forEach((l) => l.kill()));
    const fb = await bootFleet(r, 'fleet', { count: o.count, bootDelaySeconds: o.bootDelaySeconds, gateIntervalSeconds: o.gateIntervalSeconds });
    // Every variant rendered now, before any change: templates edited on disk during the run change nothing.
    await r.stage('user data variants (A, B, release v2, broken)', async () => {
      for (const v of [undefined, variantB, variantRelease2]) fb.render(v);
      breakUserData(fb.render(variantRelease2));
    }, { timeoutMs: 30_000 });
    const ioSeconds = o.ioSeconds ?? fb.env.config.capacity.p95RequestSeconds;
    const results: ChangeResult[] = [];
    const hc = fb.env.config.loadBalancer.healthCheck;
    const selected = CHANGES.filter((x) => !o.only || o.only.includes(x.name));
    for (const c of selected) {
      // Generous bound: a replacement of the whole fleet under load, the broken gate's timeout, the restores.
      const bound = (20 * 60 + o.brokenGateTimeoutSeconds + 10 * hc.checkIntervalSeconds) * 1000;
      results.push(await r.stage(`change ${c.name}`, () => runChange(fb, c, o, ioSeconds), {
        timeoutMs: bound,
        logs: async () => (await Promise.all(fb.fleet.all().map(async (d) => `### droplet ${d.id}\n${await d.droplet.logs()}`))).join('\n\n'),
      }));
      // After every change: a run that fails later keeps what it measured (marked incomplete until the end).
      if (!o.smoke) save(results, results.length < selected.length);
    }
    failedTargets = results.filter((x) => !x.met).length;
    process.stdout.write(`\n${table(results)}\n\n`);
    if (!o.smoke) log(`results: ${join(RESULTS_DIR, 'fleet.md')} and fleet.json`);

    function save(done: ChangeResult[], incomplete: boolean): void {
      const machine = machineFacts();
      const md = markdown(command, fb, o, ioSeconds, done, machine).replace('\n\n', incomplete ? `\n\n**Incomplete run**: ${done.length} of ${selected.length} changes.\n\n` : '\n\n');
      mkdirSync(RESULTS_DIR, { recursive: true });
      writeFileSync(join(RESULTS_DIR, 'fleet.json'), `${JSON.stringify({ command, incomplete, machine, options: { ...o, ioSeconds }, plan: { rollout: fb.env.plan.rollout, drain: fb.env.plan.tuning.drain, healthCheck: hc }, results: done }, null, 2)}\n`);
      writeFileSync(join(RESULTS_DIR, 'fleet.md'), md);
    }
    if (failedTargets > 0) throw new TargetMissed(`${failedTargets} change(s) missed their target (see the table)`);
  });
  return code;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
