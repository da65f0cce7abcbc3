/**
 * The benchmark (`npm run bench`): boots the box once (box/box.yaml: our rendered configuration, planned
 * for 50,000 requests in flight at 10 s each), then in the same invocation:
 *
 *   1. throughput  /io?seconds=0 with 1,000 keepalive connections: requests/s per core the droplet uses
 *   2. ours        stepped concurrency on /io?seconds=H; per step req/s, errors by kind, p50/p99, CPU, memory
 *   3. baseline    the reference recipe's files (bench/baseline/) in the same box, the same steps (plus a
 *                  few smaller ones to find where it still holds); a series stops once it collapses
 *
 * and writes bench/results/bench.{json,md}. Bounded: a global timeout tears everything down; so do Ctrl-C
 * and any failure.
 *
 *   npx tsx bench/bench.ts [--steps 1000,5000,10000,20000,35000,50000] [--handler 10] [--duration 45]
 *                          [--ramp <s>] [--baseline-steps 100,250,500] [--no-baseline] [--timeout-minutes 20]
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bootBox, type Box } from '../box/box.js';
import { sleep } from '../box/lib/proc.js';
import { log, Run } from '../box/lib/stages.js';
import { applyBaseline } from './baseline.js';
import { RAMP_GROUP_CONNECTIONS, runStep, type StepResult } from './load.js';
import { machineFacts, memoryPerRequestKib, round1, sampleMemory, type MemorySample } from './stats.js';

const RESULTS_DIR = join(import.meta.dirname, 'results');

interface Options {
  steps: number[];
  baselineSteps: number[];
  handlerSeconds: number;
  durationSeconds: number;
  rampSeconds: number;
  baseline: boolean;
  timeoutMinutes: number;
}

function parseArgs(argv: string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = (s: string) => s.split(',').map((x) => Number(x.trim())).filter((n) => Number.isFinite(n) && n > 0);
  const handlerSeconds = Number(get('handler') ?? 10);
  if (!(handlerSeconds > 0 && handlerSeconds <= 10)) throw new Error(`--handler must be in (0, 10] seconds, got ${get('handler')}`);
  return {
    steps: list(get('steps') ?? '1000,5000,10000,20000,35000,50000'),
    baselineSteps: list(get('baseline-steps') ?? '100,250,500'),
    handlerSeconds,
    durationSeconds: Number(get('duration') ?? 45),
    // By default connections open over one handler period: the steady rate N / H that N in flight means.
    rampSeconds: Number(get('ramp') ?? handlerSeconds),
    baseline: !argv.includes('--no-baseline'),
    timeoutMinutes: Number(get('timeout-minutes') ?? 20),
  };
}

interface Step extends StepResult {
  /** Memory per request in flight over the idle droplet, KiB (sampled mid-step). */
  readonly memoryPerRequestKib?: { processes: number; tcp: number; total: number };
  readonly memory?: MemorySample;
}

/** A series stops after a step this bad: more than a tenth of the attempts failed, or nothing was served. */
const collapsed = (s: StepResult) => s.requests === 0 || s.errors.total > 0.1 * (s.requests + s.errors.total);

async function series(name: string, box: Box, steps: number[], o: Options): Promise<{ steps: Step[]; idle: MemorySample }> {
  const pid1 = box.droplet.pid()!;
  const idle = sampleMemory(pid1);
  const out: Step[] = [];
  for (const c of steps) {
    log(`  ${name}: ${c.toLocaleString('en-US')} connections, /io?seconds=${o.handlerSeconds}, ${o.durationSeconds} s`);
    // Memory mid-step: every connection open (after the ramp) and a full handler period in.
    let memory: MemorySample | undefined;
    const sampler = (async () => {
      await sleep((o.rampSeconds + Math.min(o.durationSeconds / 2, 2 * o.handlerSeconds)) * 1000);
      memory = sampleMemory(box.droplet.pid() ?? pid1);
    })();
    const r = await runStep({
      concurrency: c, durationSeconds: o.durationSeconds, handlerSeconds: o.handlerSeconds, path: `/io?seconds=${o.handlerSeconds}`,
      scratchDir: box.runDir, rampSeconds: o.rampSeconds, dropletPid: pid1,
    });
    await sampler;
    const step: Step = { ...r, memory, memoryPerRequestKib: memory ? memoryPerRequestKib(idle, memory, c) : undefined };
    out.push(step);
    log(`    ${fmtStep(step)}`);
    if (collapsed(r)) {
      log(`  ${name}: collapsed at ${c.toLocaleString('en-US')}; later steps skipped`);
      break;
    }
    // Let the in-flight handlers of the closed connections finish before the next step.
    await sleep((o.handlerSeconds + 5) * 1000);
  }
  return { steps: out, idle };
}

const pct = (x: number) => `${Math.round(x * 100)}%`;
const int = (x: number) => Math.round(x).toLocaleString('en-US');
const fmtErrors = (e: StepResult['errors']) =>
  e.total === 0 ? '0' : `${int(e.total)} (${Object.entries(e).filter(([k, v]) => k !== 'total' && v > 0).map(([k, v]) => `${k} ${int(v)}`).join(', ')})`;
function fmtStep(s: Step): string {
  return `${int(s.requestsPerSecond)} req/s (offered ${int(s.offeredRequestsPerSecond)}), errors ${fmtErrors(s.errors)}, p50 ${s.latencySeconds.p50.toFixed(2)} s, p99 ${s.latencySeconds.p99.toFixed(2)} s, CPU ${pct(s.cpuBusy)} (droplet ${s.dropletCores.total ?? '?'} cores)${s.memoryPerRequestKib ? `, ${s.memoryPerRequestKib.total} KiB/request` : ''} -> ${s.held ? 'held' : 'NOT held'}`;
}

const highestHeld = (steps: Step[]) => steps.filter((s) => s.held).reduce((a, s) => Math.max(a, s.concurrency), 0);

function markdown(result: BenchResult): string {
  const m = result.machine;
  const lines = [
    `# Benchmark: our rendered droplet vs the reference recipe`, '',
    `Command: \`${result.command}\``, '',
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGib} GiB, open files per process ${m.openFilesHardLimit}, kernel ${m.kernel}, ${m.wrk}, ${m.date}.`,
    `Environment \`box\` (box/box.yaml): plan ${result.plan}.`,
    `Load: wrk from the box's load namespace to Nginx on five droplet addresses, at most ${RAMP_GROUP_CONNECTIONS.toLocaleString('en-US')} connections per wrk process, processes started evenly over ${result.options.rampSeconds} s; each step runs ${result.options.durationSeconds} s per process; handler /io?seconds=${result.options.handlerSeconds}. "Held" = zero errors of any kind and p99 <= 1.5 x handler (${1.5 * result.options.handlerSeconds} s).`, '',
  ];
  if (result.throughput) {
    const t = result.throughput;
    lines.push(`## Throughput (ours, /io?seconds=0, 1,000 keepalive connections, ${t.durationSeconds.toFixed(0)} s)`, '',
      `${int(t.requestsPerSecond)} req/s, errors ${fmtErrors(t.errors)}, machine CPU ${pct(t.cpuBusy)}; droplet processes used ${t.dropletCores.total} cores (${Object.entries(t.dropletCores).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${v}`).join(', ')}).`,
      `**Per vCPU: ${int(result.perVcpu!.dropletOnly)} req/s per core the droplet used** (${int(result.perVcpu!.wholeMachine)} per core of the whole machine, load generator included).`, '');
  }
  const table = (title: string, steps: Step[]) => {
    lines.push(`## ${title}`, '', '| connections | req/s | offered req/s | errors | p50 s | p99 s | max s | CPU (machine) | droplet cores | KiB / request | held |', '|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|:-:|');
    for (const s of steps) {
      lines.push(`| ${int(s.concurrency)} | ${int(s.requestsPerSecond)} | ${int(s.offeredRequestsPerSecond)} | ${fmtErrors(s.errors)} | ${s.latencySeconds.p50.toFixed(2)} | ${s.latencySeconds.p99.toFixed(2)} | ${s.latencySeconds.max.toFixed(2)} | ${pct(s.cpuBusy)} | ${s.dropletCores.total ?? ''} | ${s.memoryPerRequestKib?.total ?? ''} | ${s.held ? 'yes' : 'no'} |`);
    }
    lines.push('');
  };
  table('Ours (rendered from the plan)', result.ours.steps);
  if (result.baseline) table('Baseline (reference recipe, bench/baseline/)', result.baseline.steps);
  lines.push('## Summary', '', `Highest concurrency held: ours ${int(result.summary.oursHeld)}${result.baseline ? `, baseline ${int(result.summary.baselineHeld)}; ours / baseline = ${result.summary.ratio === null ? 'n/a (baseline held none)' : `${result.summary.ratio.toFixed(1)}x`}` : ''}.`);
  const top = result.ours.steps.find((s) => s.concurrency === result.summary.oursHeld) ?? result.ours.steps.at(-1);
  if (top?.memory) {
    lines.push(`Memory at ${int(top.concurrency)} in flight: ${top.memoryPerRequestKib!.total} KiB per request over idle (processes ${top.memoryPerRequestKib!.processes} KiB PSS: ${Object.entries(top.memory.pssKib).map(([k, v]) => `${k} ${int(v / 1024)} MiB in ${top.memory!.processes[k]} processes`).join(', ')}; kernel TCP buffers ${top.memoryPerRequestKib!.tcp} KiB).`);
  }
  lines.push('');
  return lines.join('\n');
}

interface BenchResult {
  command: string;
  machine: ReturnType<typeof machineFacts>;
  plan: string;
  options: Options;
  throughput?: StepResult;
  perVcpu?: { dropletOnly: number; wholeMachine: number };
  ours: { steps: Step[]; idle: MemorySample };
  baseline?: { steps: Step[]; idle: MemorySample; sysctlApplied: string[] };
  summary: { oursHeld: number; baselineHeld: number; ratio: number | null };
}

async function main(argv: string[]): Promise<number> {
  const o = parseArgs(argv);
  const command = `npx tsx bench/bench.ts${argv.length ? ` ${argv.join(' ')}` : ''}`;
  const r = new Run('bench');
  r.boundBy(o.timeoutMinutes);
  return r.execute('bench', async () => {
    const box = await bootBox(r, 'box');
    const t = box.env.plan.tuning;
    const plan = `${box.env.plan.droplet.sizeSlug} (${box.env.plan.droplet.vcpus} vCPU), ${int(t.concurrentRequests)} requests/droplet, Gunicorn ${t.gunicorn.workers} x ${t.gunicorn.workerConnections} (backlog ${t.gunicorn.backlog}), Nginx ${t.nginx.workerProcesses} x ${t.nginx.workerConnections} (backlog ${t.nginx.listenBacklog}, upstream keepalive ${t.nginx.upstreamKeepalive})`;
    const machine = machineFacts();
    const pid1 = box.droplet.pid()!;
    const throughput = await r.stage('throughput: /io?seconds=0, 1,000 keepalive connections', async () => {
      const s = await runStep({ concurrency: 1000, durationSeconds: 20, handlerSeconds: 0, path: '/io?seconds=0', scratchDir: box.runDir, dropletPid: pid1 });
      log(`  ${int(s.requestsPerSecond)} req/s, errors ${fmtErrors(s.errors)}, CPU ${pct(s.cpuBusy)}, droplet ${JSON.stringify(s.dropletCores)}`);
      return s;
    }, { timeoutMs: 120_000 });
    await sleep(3000);
    const perVcpu = {
      dropletOnly: Math.round(throughput.requestsPerSecond / Math.max(0.01, throughput.dropletCores.total ?? 0)),
      wholeMachine: Math.round(throughput.requestsPerSecond / (machine.cores * Math.max(0.01, throughput.cpuBusy))),
    };
    const stepBudget = (n: number) => n * (o.durationSeconds + o.rampSeconds + o.handlerSeconds + 90) * 1000;
    const ours = await r.stage('ours: stepped concurrency', () => series('ours', box, o.steps, o), { timeoutMs: stepBudget(o.steps.length) });
    let baseline: BenchResult['baseline'];
    if (o.baseline) {
      const sysctlApplied = await r.stage('baseline: the recipe\'s files in the same box', () => applyBaseline(box), { timeoutMs: 5 * 60_000, logs: () => box.droplet.logs() });
      const steps = [...new Set([...o.baselineSteps, ...o.steps])].sort((a, b) => a - b);
      const s = await r.stage('baseline: stepped concurrency', () => series('baseline', box, steps, o), { timeoutMs: stepBudget(steps.length) });
      baseline = { ...s, sysctlApplied };
    }
    const oursHeld = highestHeld(ours.steps);
    const baselineHeld = baseline ? highestHeld(baseline.steps) : 0;
    const result: BenchResult = {
      command, machine: { ...machine }, plan, options: o, throughput, perVcpu, ours, baseline,
      summary: { oursHeld, baselineHeld, ratio: baselineHeld > 0 ? round1(oursHeld / baselineHeld) : null },
    };
    mkdirSync(RESULTS_DIR, { recursive: true });
    writeFileSync(join(RESULTS_DIR, 'bench.json'), `${JSON.stringify(result, null, 2)}\n`);
    const md = markdown(result);
    writeFileSync(join(RESULTS_DIR, 'bench.md'), md);
    process.stdout.write(`\n${md}\n`);
    log(`results: ${join(RESULTS_DIR, 'bench.md')} and bench.json`);
  });
}

main(process.argv.slice(2)).then((code) => process.exit(code));
