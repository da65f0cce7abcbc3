/**
 * Logs rotating within their budget in the droplet box (`npm run logs [-- [target] [--rate N]]`, default
 * the box's own droplet, box/box.yaml, whose design rate makes logrotate check every 2 minutes). Boots the
 * droplet from its rendered user data, then loads it (wrk, requests of one second; `--rate`, default the
 * design rate) for two check periods of logrotate.timer, sampling the log files and journald's disk use
 * every 5 s. Once the load runs, its disk is given the logs of a droplet that has served for a day at the
 * limit of its budget: the live access log at the plan's maxsize and the plan's count of rotated files
 * (gzip). A run of minutes cannot write a day of logs; everything after that is the droplet's own doing.
 *
 * Reports, and exits 1 unless all hold: the timer rotated the live log at its maxsize within one check
 * period; rotated files never exceeded the plan's count (the oldest went); Nginx kept writing to the new
 * file (it reopened it) and no request failed across the rotation; the access log grew at or below the
 * plan's rate for sampled successes at the load reached; Nginx's logs plus journald stayed within the
 * disk budget at every sample. Writes bench/results/logs.{md,json}.
 */
import { appendFileSync, chownSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { bootBox, type Box } from '../box/box.js';
import { sleep } from '../box/lib/proc.js';
import { log, Run, TargetMissed } from '../box/lib/stages.js';
import { DROPLET_CONSTANTS } from '../config/plan/droplet.js';
import { runStep } from './load.js';
import { machineFacts } from './stats.js';

const RESULTS_DIR = join(import.meta.dirname, 'results');
const LOG_DIR = 'var/log/nginx';
const MIB = 1024 * 1024;
/** The day of logs goes in once the load's ramp is over. */
const PREFILL_AFTER_SECONDS = 15;
/** One access-log line as the droplet writes them (templates/nginx/nginx.conf's JSON format). */
const LINE = '{"time":"2026-12-01T03:00:00+00:00","client":"203.0.113.7","method":"GET","uri":"/io?seconds=1","status":200,"bytes":15,"rt":1.001,"urt":"1.001","ua":"prefill","id":"0123456789abcdef0123456789abcdef"}\n';

interface Sample {
  readonly t: number;
  readonly liveBytes: number;
  readonly rotated: string[];
  readonly nginxBytes: number;
  readonly journalBytes: number;
}

function sampleFiles(box: Box): Omit<Sample, 'journalBytes' | 't'> {
  const dir = box.droplet.hostPath(LOG_DIR);
  const files = readdirSync(dir);
  const size = (f: string) => statSync(join(dir, f)).size;
  return {
    liveBytes: files.includes('access.log') ? size('access.log') : 0,
    rotated: files.filter((f) => /^access\.log\.\d+(\.gz)?$/.test(f)).sort((a, b) => Number(a.split('.')[2]) - Number(b.split('.')[2])),
    nginxBytes: files.reduce((a, f) => a + size(f), 0),
  };
}

async function journalBytes(box: Box): Promise<number> {
  // "Archived and active journals take up 8.0M in the file system."
  const r = await box.droplet.exec(['journalctl', '--disk-usage'], 15_000, true);
  const m = /take up ([\d.]+)([BKMGT])/.exec(r.stdout);
  if (!m) return 0;
  return Number(m[1]) * 1024 ** 'BKMGT'.indexOf(m[2]!);
}

/** A day of logs at the budget's limit: the live file at maxsize, the plan's count of rotated ones. */
function prefill(box: Box): void {
  const { rotateMaxMib, rotateKeep } = box.env.plan.tuning.logs;
  const dir = box.droplet.hostPath(LOG_DIR);
  const live = join(dir, 'access.log');
  const { uid, gid } = statSync(live);
  const chunk = LINE.repeat(Math.floor(MIB / LINE.length));
  while (statSync(live).size < rotateMaxMib * MIB) appendFileSync(live, chunk);
  const rotatedContent = gzipSync(LINE.repeat(Math.floor((4 * MIB) / LINE.length)));
  for (let i = 1; i <= rotateKeep; i++) {
    const f = join(dir, `access.log.${i}.gz`);
    writeFileSync(f, rotatedContent, { mode: 0o640 });
    chownSync(f, uid, gid);
  }
}

async function main(argv: string[]): Promise<number> {
  let args;
  try {
    args = parseArgs({ args: argv, options: { rate: { type: 'string' } }, allowPositionals: true });
  } catch (err) {
    process.stderr.write(`logs: ${(err as Error).message}\n`);
    return 2;
  }
  const rateArg = args.values.rate === undefined ? undefined : Number(args.values.rate);
  if (rateArg !== undefined && !(Number.isInteger(rateArg) && rateArg > 0)) {
    process.stderr.write(`logs: --rate must be a whole number of requests/s, got ${JSON.stringify(args.values.rate)}\n`);
    return 2;
  }
  const target = args.positionals[0] ?? 'box';
  const command = `npm run logs${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  const r = new Run('logs');
  return r.execute('logs', async () => {
    const box = await bootBox(r, target);
    const logs = box.env.plan.tuning.logs;
    const designRequestsPerSecond = Math.round(logs.designRequestsPerSecond);
    const rate = rateArg ?? designRequestsPerSecond;
    const checkSeconds = logs.rotateCheckMinutes * 60;
    const loadSeconds = PREFILL_AFTER_SECONDS + 2 * checkSeconds + 30;
    const scratchDir = join(box.runDir, 'logs');
    mkdirSync(scratchDir, { recursive: true });
    const events: string[] = [];
    const event = (what: string) => {
      events.push(`+${((Date.now() - t0) / 1000).toFixed(0).padStart(4)} s  ${what}`);
      log(`  ${what}`);
    };
    let t0 = Date.now();

    const timer = await box.droplet.exec(['systemctl', 'show', '-p', 'TimersCalendar', '--value', 'logrotate.timer']);
    const samples: Sample[] = [];
    const result = await r.stage(`load (${rate.toLocaleString('en-US')} requests/s; design ${designRequestsPerSecond.toLocaleString('en-US')}) for ${loadSeconds} s, logrotate every ${logs.rotateCheckMinutes} min`, async () => {
      t0 = Date.now();
      event(`logrotate.timer: ${timer.stdout.trim()}`);
      const running = runStep({
        concurrency: rate, durationSeconds: loadSeconds, handlerSeconds: 1, path: '/io?seconds=1', scratchDir, rampSeconds: 5,
        dropletPid: box.droplet.pid(),
      });
      // Once the load runs: Nginx keeps appending while the day of logs goes in (whole lines, O_APPEND).
      await sleep(PREFILL_AFTER_SECONDS * 1000);
      prefill(box);
      event(`a day of logs at the budget's limit given to the disk: access.log at ${logs.rotateMaxMib} MiB, ${logs.rotateKeep} rotated files`);
      let sampling = true;
      const sampler = (async () => {
        let last: Sample | undefined;
        while (sampling) {
          const s: Sample = { t: (Date.now() - t0) / 1000, ...sampleFiles(box), journalBytes: await journalBytes(box) };
          if (last && s.liveBytes < last.liveBytes) event(`access.log rotated: ${(last.liveBytes / MIB).toFixed(0)} MiB -> ${(s.liveBytes / MIB).toFixed(1)} MiB; rotated files ${s.rotated.join(' ')}`);
          samples.push(s);
          last = s;
          await sleep(5000);
        }
      })();
      const step = await running;
      await sleep(6000);
      sampling = false;
      await sampler;
      return step;
    }, { timeoutMs: (loadSeconds + 180) * 1000, logs: () => box.droplet.logs() });

    const journal = await box.droplet.exec(['journalctl', '-u', 'logrotate.service', '--no-pager', '-o', 'short-iso'], 15_000, true);
    const rotations = journal.stdout.split('\n').filter((l) => /Finished logrotate|Started logrotate|logrotate\.service: Deactivated/.test(l)).length;
    const budgetBytes = logs.diskBudgetMib * MIB;
    const worst = samples.reduce((a, s) => (s.nginxBytes + s.journalBytes > a.nginxBytes + a.journalBytes ? s : a), samples[0]!);
    const firstRotation = samples.findIndex((s, i) => i > 0 && s.liveBytes < samples[i - 1]!.liveBytes);
    const afterRotation = firstRotation >= 0 ? samples.slice(firstRotation) : [];
    // Growth of the new live file: what the load wrote (the prefill is gone with the rotation).
    const growth = afterRotation.length > 1 ? (afterRotation.at(-1)!.liveBytes - afterRotation[0]!.liveBytes) / (afterRotation.at(-1)!.t - afterRotation[0]!.t) : 0;
    const achievedRate = result.requestsPerSecond;
    const plannedGrowth = achievedRate * DROPLET_CONSTANTS.accessLogLineBytes * logs.sampleShare;
    const checks = {
      rotatedWithinOneCheck: firstRotation >= 0 && samples[firstRotation]!.t - PREFILL_AFTER_SECONDS <= checkSeconds + 10,
      // At rest the plan's count; while logrotate works, the file being compressed and the one about to go
      // are there too (the plan's growth slot covers them).
      rotatedCountWithinPlan: samples.every((s) => s.rotated.length <= logs.rotateKeep + (s.rotated.some((f) => !f.endsWith('.gz')) ? 2 : 0)),
      nginxReopenedAndWrote: afterRotation.length > 1 && afterRotation.at(-1)!.liveBytes > afterRotation[0]!.liveBytes,
      noRequestFailed: result.errors.total === 0,
      growthWithinPlan: growth <= plannedGrowth * 1.5,
      withinBudget: samples.every((s) => s.nginxBytes + s.journalBytes <= budgetBytes),
    };
    const failedSeconds = Object.entries(result.timeline).filter(([, [, bad]]) => bad > 0).map(([sec, [, bad]]) => `${Number(sec) - Math.floor(t0 / 1000)} s: ${bad}`);
    const e = result.errors;
    const failures = `${e.total} failed${e.total ? ` (connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}, non-2xx ${e.non2xx}; in seconds ${failedSeconds.join(', ')})` : ''}`;
    const line = `rotation ${firstRotation >= 0 ? `${(samples[firstRotation]!.t - PREFILL_AFTER_SECONDS).toFixed(0)} s after the log reached its maxsize` : 'never'} (checks every ${checkSeconds} s); rotated files at most ${Math.max(...samples.map((s) => s.rotated.length))} (plan ${logs.rotateKeep}); ` +
      `${result.requests.toLocaleString('en-US')} requests at ${achievedRate.toFixed(0)}/s, ${failures}; new access.log grew ${(growth / 1024).toFixed(1)} KiB/s (plan at this rate: ${(plannedGrowth / 1024).toFixed(1)} KiB/s, ${(logs.sampleShare * 100).toFixed(1)}% of successes); ` +
      `largest Nginx logs + journal ${((worst.nginxBytes + worst.journalBytes) / MIB).toFixed(0)} MiB of the ${logs.diskBudgetMib} MiB budget; logrotate runs in the journal: ${rotations}`;
    log(`  ${line}`);
    const m = machineFacts();
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'logs.json'), `${JSON.stringify({ command, machine: m, plan: logs, designRequestsPerSecond, achievedRequestsPerSecond: achievedRate, checks, events, samples }, null, 2)}\n`);
    writeFileSync(join(RESULTS_DIR, 'logs.md'), [
      '# Logs rotating within their budget', '', `Command: \`${command}\``, '',
      `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGib} GiB, kernel ${m.kernel}, ${m.date}.`,
      `Droplet: ${box.env.plan.droplet.sizeSlug} (${box.env.plan.droplet.diskGib} GiB disk), design ${designRequestsPerSecond.toLocaleString('en-US')} requests/s. Plan: logs ${logs.diskBudgetMib} MiB; Nginx logs rotated at ${logs.rotateMaxMib} MiB or daily, ${logs.rotateKeep} kept, logrotate.timer every ${logs.rotateCheckMinutes} min; journald ${logs.journalMaxMib} MiB; ${(logs.sampleShare * 100).toFixed(1)}% of successes logged.`,
      `Run: wrk at ${rate.toLocaleString('en-US')} requests/s (/io?seconds=1, as many connections) for ${loadSeconds} s; ${PREFILL_AFTER_SECONDS} s in, the disk is given a day of logs at the budget's limit (the live access log at ${logs.rotateMaxMib} MiB, ${logs.rotateKeep} rotated files); files sampled every 5 s.`,
      '', `Result: ${line}.`, '',
      '| check | held |', '|---|---|', ...Object.entries(checks).map(([k, v]) => `| ${k} | ${v ? 'yes' : '**no**'} |`), '',
      '```', ...events, '```', '',
    ].join('\n'));
    log(`results: ${join(RESULTS_DIR, 'logs.md')} and logs.json`);
    const missed = Object.entries(checks).filter(([, v]) => !v).map(([k]) => k);
    if (missed.length) throw new TargetMissed(`missed: ${missed.join(', ')}`);
  });
}

main(process.argv.slice(2)).then((code) => process.exit(code));
