/**
 * Per-vCPU PostgreSQL throughput for the capacity plan's data tier: a local estimate.
 *
 * Starts its own PostgreSQL 15 cluster in a temporary directory on a free port (never 5432), pinned to ONE
 * core with `taskset`, loads the demo app's `items` table, and runs pgbench from the other core with the
 * demo app's own queries: the replica read (`SELECT id, body FROM items WHERE id = ?`), the primary write
 * (`INSERT INTO items (body) VALUES (?) RETURNING id`), and a connect-per-transaction read (`-C`: new
 * connections/s). Throughput per vCPU = transactions / CPU seconds the server's processes used (the
 * postmaster, its live children and its reaped children, from /proc), so the load generator and anything
 * else on the machine are left out. Writes commit with fsync on, as a managed node does.
 *
 * A managed DigitalOcean node differs (TLS, network round trips, its disks, its own tuning): the plan labels
 * these figures a local estimate, and `capacity.*QueriesPerSecondPerVcpu` lets you replace them with yours.
 *
 *   npx tsx bench/pgbench.ts [--seconds 15] [--rows 1000000] [--clients 16] [--runs 3] [--timeout-minutes 10]
 *
 * Writes bench/results/pgbench.{md,json}. Bounded: a global timeout stops the server; so do Ctrl-C and
 * every failure. Needs root (the server runs as the `postgres` user), PostgreSQL 15, pgbench, taskset,
 * redis-server and redis-benchmark (the cache row).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import path from 'node:path';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const RESULTS = path.join(path.dirname(new URL(import.meta.url).pathname), 'results');

interface Options {
  seconds: number;
  rows: number;
  clients: number;
  runs: number;
  timeoutMinutes: number;
}

function options(argv: readonly string[]): Options {
  const get = (name: string) => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    seconds: Number(get('seconds') ?? 15),
    rows: Number(get('rows') ?? 1_000_000),
    clients: Number(get('clients') ?? 16),
    runs: Number(get('runs') ?? 3),
    timeoutMinutes: Number(get('timeout-minutes') ?? 10),
  };
}

/** A TCP port nothing listens on, above the well-known ones and never PostgreSQL's default 5432. */
async function freePort(): Promise<number> {
  for (let port = 55432; port < 55532; port++) {
    const free = await new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });
    if (free) return port;
  }
  throw new Error('no free port in 55432-55531');
}

/** CPU seconds of a process, its live descendants and its reaped children (utime+stime+cutime+cstime). */
function treeCpuSeconds(rootPid: number): number {
  const tick = 100; // USER_HZ on Linux
  const stat = (pid: number) => {
    try {
      const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return text.slice(text.lastIndexOf(')') + 2).split(' ');
    } catch {
      return undefined; // exited meanwhile: its time is in its parent's cutime once reaped
    }
  };
  let total = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    const f = stat(pid);
    if (!f) continue;
    // Fields after the command: state(0) ppid(1) ... utime(11) stime(12) cutime(13) cstime(14).
    const isRoot = pid === rootPid;
    if (!isRoot && Number(f[1]) !== rootPid) continue;
    total += Number(f[11]) + Number(f[12]) + (isRoot ? Number(f[13]) + Number(f[14]) : 0);
  }
  return total / tick;
}

/** Busy share of one core over an interval, from /proc/stat. */
function coreTimes(core: number): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${core} `)) ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

interface RunResult {
  readonly run: number;
  readonly name: string;
  readonly what: string;
  readonly clients: number;
  readonly transactions: number;
  readonly seconds: number;
  readonly tps: number;
  readonly serverCpuSeconds: number;
  readonly perVcpu: number;
  readonly serverCoreBusy: number;
  readonly latencyMs: number;
}

function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  if (process.getuid?.() !== 0) throw new Error('run as root: the server runs as the postgres user (runuser)');
  for (const tool of [`${PG_BIN}/postgres`, '/usr/bin/pgbench', '/usr/bin/taskset']) {
    if (!existsSync(tool)) throw new Error(`${tool} not found: apt-get install postgresql-15 util-linux`);
  }
  if (cpus().length < 2) throw new Error('needs 2 cores: one for the server, one for pgbench');
  const serverCore = 1;
  const clientCore = 0;
  const dir = mkdtempSync(path.join(tmpdir(), 'pgbench-'));
  let server: ChildProcess | undefined;
  let postmaster = 0;
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  // Signal the postmaster itself (runuser does not pass signals on), wait for it, then remove the directory.
  const cleanup = () => {
    for (const [signal, waitSeconds] of [['SIGINT', 10], ['SIGKILL', 2]] as const) {
      if (postmaster && alive(postmaster)) {
        process.kill(postmaster, signal);
        for (let i = 0; i < waitSeconds * 10 && alive(postmaster); i++) spawnSync('sleep', ['0.1']);
      }
    }
    if (server?.pid && alive(server.pid)) process.kill(server.pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  const timer = setTimeout(() => {
    console.error(`pgbench: the ${o.timeoutMinutes}-minute bound passed; stopping the server`);
    cleanup();
    process.exit(1);
  }, o.timeoutMinutes * 60_000);
  process.on('SIGINT', () => {
    cleanup();
    process.exit(130);
  });

  return (async () => {
    try {
      const port = await freePort();
      const data = path.join(dir, 'data');
      chownSync(dir, uidOf('postgres'), gidOf('postgres'));
      const asPostgres = (cmd: string, args: string[], input?: string) =>
        execFileSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });
      asPostgres(`${PG_BIN}/initdb`, ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-instructions']);
      // Settings a managed node of this class would have in spirit: fsync and synchronous commit on,
      // shared_buffers large enough that the table is in memory (reads measure CPU, not the disk).
      server = spawn('taskset', ['-c', String(serverCore), 'runuser', '-u', 'postgres', '--', `${PG_BIN}/postgres`, '-D', data,
        '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'shared_buffers=512MB',
        '-c', 'max_connections=200', '-c', 'fsync=on', '-c', 'synchronous_commit=on', '-c', 'logging_collector=off'], { stdio: ['ignore', 'ignore', 'pipe'] });
      let serverLog = '';
      server.stderr?.on('data', (d: Buffer) => { serverLog += d.toString(); });
      const psql = (sql: string) => execFileSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      for (let i = 0; ; i++) {
        try {
          psql('SELECT 1');
          break;
        } catch {
          if (i > 60) throw new Error(`the server did not start:\n${serverLog.slice(-2000)}`);
          spawnSync('sleep', ['0.5']);
        }
      }
      // The postmaster: runuser's child (taskset execs runuser, runuser forks the server).
      postmaster = Number(readFileSync(path.join(data, 'postmaster.pid'), 'utf8').split('\n')[0]);
      console.log(`pgbench: PostgreSQL 15 on 127.0.0.1:${port}, postmaster ${postmaster} pinned to core ${serverCore}; pgbench on core ${clientCore}`);
      psql('CREATE TABLE items (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now())');
      psql(`INSERT INTO items (body) SELECT md5(g::text) FROM generate_series(1, ${o.rows}) g`);
      psql('VACUUM ANALYZE items');
      psql('CREATE EXTENSION pg_prewarm');
      psql("SELECT pg_prewarm('items'), pg_prewarm('items_pkey')");

      const scripts = {
        read: `\\set id random(1, ${o.rows})\nSELECT id, body FROM items WHERE id = :id;\n`,
        write: "INSERT INTO items (body) VALUES ('0123456789abcdef0123456789abcdef') RETURNING id;\n",
      };
      for (const [name, text] of Object.entries(scripts)) writeFileSync(path.join(dir, `${name}.sql`), text);

      let round = 0;
      const run = (name: string, what: string, script: string, clients: number, extra: string[] = []): RunResult => {
        const cpuBefore = treeCpuSeconds(postmaster);
        const coreBefore = coreTimes(serverCore);
        const out = execFileSync('taskset', ['-c', String(clientCore), 'pgbench', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres',
          '-n', '-M', 'simple', '-f', path.join(dir, script), '-c', String(clients), '-j', '1', '-T', String(o.seconds), ...extra, 'postgres'],
        { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        spawnSync('sleep', ['1']); // the backends exit and are reaped into the postmaster's cutime
        const cpu = treeCpuSeconds(postmaster) - cpuBefore;
        const coreAfter = coreTimes(serverCore);
        const transactions = Number(/number of transactions actually processed: (\d+)/.exec(out)?.[1] ?? NaN);
        const tps = Number(/tps = ([\d.]+)/.exec(out)?.[1] ?? NaN);
        const latencyMs = Number(/latency average = ([\d.]+) ms/.exec(out)?.[1] ?? NaN);
        const result: RunResult = {
          run: round, name, what, clients, transactions, seconds: o.seconds, tps: Math.round(tps), serverCpuSeconds: Math.round(cpu * 100) / 100,
          perVcpu: Math.round(transactions / cpu), serverCoreBusy: Math.round(((coreAfter.busy - coreBefore.busy) / (coreAfter.total - coreBefore.total)) * 100) / 100,
          latencyMs,
        };
        console.log(`pgbench: ${name}: ${result.tps} tps, ${result.perVcpu} per server CPU second, core ${serverCore} busy ${Math.round(result.serverCoreBusy * 100)}%`);
        return result;
      };
      const results: RunResult[] = [];
      // Several rounds: the machine is shared, so one round's figure may be low; the plan takes the median.
      for (round = 1; round <= o.runs; round++) {
        results.push(
          run('read', 'replica read: SELECT id, body FROM items WHERE id = random', 'read.sql', o.clients),
          run('write', 'primary write: INSERT INTO items (body) VALUES (32 chars) RETURNING id, fsync on', 'write.sql', o.clients),
          run('connect', 'one new connection per read (-C): new connections/s, no TLS', 'read.sql', 4, ['-C']),
          await cacheRun(serverCore, clientCore, round),
        );
      }
      const version = psql('SHOW server_version').trim();
      writeResults(o, version, results);
    } finally {
      clearTimeout(timer);
      cleanup();
    }
  })();
}

/**
 * The cache's per-core figure: a Redis-protocol server (Valkey's ancestor, the one Debian 12 ships) pinned to
 * one core, redis-benchmark GET and SET with 200-byte values from the other core. Its command loop is one
 * thread, so one core is what a node of any size gives it.
 */
async function cacheRun(serverCore: number, clientCore: number, round: number): Promise<RunResult> {
  const port = await freePort();
  const redis = spawn('taskset', ['-c', String(serverCore), 'redis-server', '--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  try {
    for (let i = 0; i < 50 && spawnSync('redis-cli', ['-p', String(port), 'ping'], { encoding: 'utf8' }).stdout?.trim() !== 'PONG'; i++) spawnSync('sleep', ['0.1']);
    const pid = redis.pid!;
    const cpu = () => {
      const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const v = f.slice(f.lastIndexOf(')') + 2).split(' ');
      return (Number(v[11]) + Number(v[12])) / 100;
    };
    const before = cpu();
    const started = Date.now();
    const out = execFileSync('taskset', ['-c', String(clientCore), 'redis-benchmark', '-p', String(port), '-t', 'get,set', '-c', '50', '-n', '300000', '-d', '200', '-r', '100000', '--csv'], { encoding: 'utf8' });
    const used = cpu() - before;
    const seconds = (Date.now() - started) / 1000;
    const version = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).split(' ')[2] ?? '';
    const rps = [...out.matchAll(/^"(SET|GET)","([\d.]+)"/gm)].map((m) => Number(m[2]));
    const ops = 2 * 300_000;
    const r: RunResult = {
      run: round, name: 'cache', what: `cache GET + SET, 200-byte values, 50 clients (redis-server ${version.replace('v=', '')})`, clients: 50, transactions: ops,
      seconds: Math.round(seconds), tps: Math.round(rps.reduce((a, b) => a + b, 0) / Math.max(1, rps.length)), serverCpuSeconds: Math.round(used * 100) / 100,
      perVcpu: Math.round(ops / used), serverCoreBusy: NaN, latencyMs: NaN,
    };
    console.log(`pgbench: cache: ${r.tps} ops/s, ${r.perVcpu} per server CPU second`);
    return r;
  } finally {
    redis.kill('SIGKILL');
  }
}

function uidOf(user: string): number {
  return Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
}

function gidOf(user: string): number {
  return Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
}

function writeResults(o: Options, version: string, results: readonly RunResult[]): void {
  const date = new Date().toISOString();
  const cpu = cpus()[0]?.model ?? 'unknown';
  const kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  const n = (v: number) => v.toLocaleString('en-US');
  writeFileSync(path.join(RESULTS, 'pgbench.json'), `${JSON.stringify({ date, cpu, kernel, version, options: o, results }, null, 2)}\n`);
  const pct = (v: number) => (Number.isNaN(v) ? '-' : `${Math.round(v * 100)}%`);
  const rows = results.map((r) => `| ${r.run} | ${r.name} | ${r.what} | ${r.clients} | ${n(r.tps)} | ${Number.isNaN(r.latencyMs) ? '-' : r.latencyMs} | ${r.serverCpuSeconds} | ${pct(r.serverCoreBusy)} | **${n(r.perVcpu)}** |`);
  writeFileSync(path.join(RESULTS, 'pgbench.md'), [
    '# PostgreSQL per-vCPU throughput (local estimate)',
    '',
    `Command: \`npx tsx bench/pgbench.ts --seconds ${o.seconds} --rows ${o.rows} --clients ${o.clients} --runs ${o.runs}\``,
    '',
    `Machine: ${cpus().length} cores (${cpu}), kernel ${kernel}, PostgreSQL ${version}, ${date}.`,
    '',
    'Method: a PostgreSQL 15 cluster of its own (temporary directory, free port, `fsync` and `synchronous_commit` on,',
    `\`shared_buffers\` 512MB so the ${n(o.rows)}-row \`items\` table is in memory) pinned to one core with \`taskset -c 1\`;`,
    'pgbench on the other core (`taskset -c 0`, simple query protocol, one thread) runs the demo app\'s own queries',
    `for ${o.seconds} s each. "Per vCPU" = transactions / CPU seconds of the server's processes (postmaster, backends,`,
    'background processes, from /proc), so the load generator and other work on the machine are left out.',
    '',
    '| round | run | what | clients | tps | latency ms | server CPU s | server core busy | per vCPU (per CPU second) |',
    '|---:|---|---|---:|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `## Per vCPU over ${o.runs} rounds`,
    '',
    '| run | lowest | median | highest |',
    '|---|---:|---:|---:|',
    ...['read', 'write', 'connect', 'cache'].map((name) => {
      const v = results.filter((r) => r.name === name).map((r) => r.perVcpu).sort((a, b) => a - b);
      const median = v.length % 2 ? v[(v.length - 1) / 2]! : Math.round((v[v.length / 2 - 1]! + v[v.length / 2]!) / 2);
      return `| ${name} | ${n(v[0]!)} | **${n(median)}** | ${n(v[v.length - 1]!)} |`;
    }),
    '',
    'What the plan uses: the median of each, rounded down, as the defaults of',
    '`capacity.readQueriesPerSecondPerVcpu`, `capacity.writeQueriesPerSecondPerVcpu` and `capacity.cacheOpsPerSecondPerVcpu`',
    '(config/schema.ts) and of new connections/s per vCPU (config/plan/database.ts). A managed node adds TLS, a',
    'network round trip per query, PgBouncer and its own disks; it differs, so the plan calls them a local estimate.',
    'Measure yours and set the keys. The cache row is a Redis-protocol server on one core (its command loop is one',
    'thread); the plan lets a Valkey 8 node use up to three cores\' worth through its I/O threads (config/plan/cache.ts).',
    '',
  ].join('\n'));
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(`pgbench: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
