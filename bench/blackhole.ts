/**
 * Black-holed dependencies in the droplet box (`npx tsx bench/blackhole.ts [env]`, default dev): boots the
 * droplet, then for the cache and for the whole database tier in turn drops the droplet's packets to them
 * (nftables in the droplet's network namespace: dropped, not refused) for a window while requests keep
 * coming, and reports per phase: statuses, p50/p99/max latency, the worker PIDs before and after, and any
 * `WORKER TIMEOUT` in app.service's journal. Recovery: the same requests succeed once the rule is gone.
 *
 * Expected: no worker replaced and no WORKER TIMEOUT; a request that meets a black hole costs its timeouts
 * (cache 0.25 s; database a pre-ping or query 5 s (tcp_user_timeout) and a connect 3 s per engine), never a
 * worker; everything answers 200 again within seconds of the rule's removal.
 */
import { bootBox, type Box } from '../box/box.js';
import { httpRequest } from '../box/http.js';
import { run, sleep } from '../box/lib/proc.js';
import { log, Run } from '../box/lib/stages.js';
import { NET } from '../box/network.js';
import { PORTS } from '../box/services.js';

const TABLE = 'blackhole';
const nft = (...args: string[]) => run('ip', ['netns', 'exec', NET.dropletNs, 'nft', ...args], { timeoutMs: 10_000 });

async function blackHole(ports: number[]): Promise<void> {
  await nft('add', 'table', 'inet', TABLE);
  await nft('add', 'chain', 'inet', TABLE, 'out', '{ type filter hook output priority 0 ; policy accept ; }');
  await nft('add', 'rule', 'inet', TABLE, 'out', 'ip', 'daddr', NET.hostAddress, 'tcp', 'dport', `{ ${ports.join(', ')} }`, 'counter', 'drop');
}

/** Packets the rule dropped: evidence the black hole was in the path. */
async function dropped(): Promise<string> {
  const r = await nft('list', 'table', 'inet', TABLE);
  return /counter packets (\d+)/.exec(r.stdout)?.[1] ?? '?';
}

async function restore(): Promise<void> {
  await run('ip', ['netns', 'exec', NET.dropletNs, 'nft', 'delete', 'table', 'inet', TABLE], { timeoutMs: 10_000, allowFailure: true });
}

async function workerPids(box: Box): Promise<string> {
  const main = (await box.droplet.exec(['systemctl', 'show', '-p', 'MainPID', '--value', 'app.service'])).stdout.trim();
  const children = await box.droplet.exec(['ps', '-o', 'pid=', '--ppid', main], 10_000, true);
  return `${main}: ${children.stdout.trim().split(/\s+/).sort().join(' ')}`;
}

interface Phase { name: string; statuses: Record<string, number>; p50: number; p99: number; max: number }

/** `waves` waves of `concurrency` GETs of `path`, one wave after another; latencies in seconds. */
async function load(box: Box, name: string, path: string, concurrency: number, waves: number): Promise<Phase> {
  const times: number[] = [];
  const statuses: Record<string, number> = {};
  for (let w = 0; w < waves; w++) {
    await Promise.all(Array.from({ length: concurrency }, async () => {
      const started = Date.now();
      const r = await httpRequest('GET', `${box.urls[w % box.urls.length]}${path}`, 120_000).catch((e: Error) => ({ status: `error ${e.message}`, headers: {} as Record<string, string> }));
      times.push((Date.now() - started) / 1000);
      const key = `${r.status}${r.headers['x-cache'] ? ` ${r.headers['x-cache']}` : ''}`;
      statuses[key] = (statuses[key] ?? 0) + 1;
    }));
  }
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(times.length * q))]!;
  const phase = { name, statuses, p50: at(0.5), p99: at(0.99), max: times.at(-1)! };
  log(`  ${name}: ${JSON.stringify(statuses)}; p50 ${phase.p50.toFixed(2)} s, p99 ${phase.p99.toFixed(2)} s, max ${phase.max.toFixed(2)} s`);
  return phase;
}

async function main(target: string): Promise<number> {
  const r = new Run(`black holes ${target}`);
  return r.execute('blackhole', async () => {
    const box = await bootBox(r, target);
    r.onTeardown('nftables rule', restore);
    const created = await httpRequest('POST', `${box.urls[0]}/items`, 15_000, JSON.stringify({ body: 'black hole' }));
    const id = (JSON.parse(created.body) as { id: number }).id;
    await r.stage('black holes under load', async () => {
      const before = await workerPids(box);
      log(`  workers before: ${before}`);
      // Latencies include a curl process per request from the load namespace (about 0.25 s here).
      await load(box, 'baseline /cached', `/cached/${id}`, 50, 2);
      await load(box, 'baseline /items', `/items/${id}`, 50, 2);
      // The cache through /cached (a miss or bypass reads the database); the database through /items.
      for (const [name, ports, path] of [['cache', [PORTS.redis], `/cached/${id}`], ['database (primary and replica)', [PORTS.primary, PORTS.replica], `/items/${id}`]] as const) {
        await blackHole([...ports]);
        await load(box, `${name} black-holed`, path, 50, 3);
        log(`  packets dropped: ${await dropped()}`);
        await restore();
        // The app skips a failed backend for BACKEND_RETRY_AFTER_SECONDS (5 s), then tries it again.
        await sleep(6000);
        await load(box, `${name} restored`, path, 50, 2);
      }
      const after = await workerPids(box);
      log(`  workers after: ${after} (${after === before ? 'the same' : 'CHANGED'})`);
      const journal = await box.droplet.exec(['journalctl', '-u', 'app.service', '--no-pager', '-o', 'cat'], 20_000, true);
      const timeouts = journal.stdout.split('\n').filter((l) => l.includes('WORKER TIMEOUT'));
      log(`  WORKER TIMEOUT lines in app.service's journal: ${timeouts.length}`);
      if (after !== before || timeouts.length > 0) throw new Error('a worker was replaced or timed out');
    }, { timeoutMs: 900_000, logs: () => box.droplet.logs() });
  });
}

main(process.argv[2] ?? 'dev').then((code) => process.exit(code));
