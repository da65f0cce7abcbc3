/**
 * The demo app for real: the rendered demo_app.py under Gunicorn's gevent worker with the rendered
 * gunicorn.conf.py and env file, against a PostgreSQL and a redis-server started here on loopback.
 *
 * Two app instances: `up` sees every backend; `degraded` has a replica and a cache that refuse
 * connections, so its reads must fall back to the primary and skip the cache.
 * Path rewriting in gunicorn.conf.py: bind, chdir and worker_tmp_dir point into a temp dir (/run/app and
 * /opt/app exist only on the droplet).
 *
 * The release step runs first, as on a droplet before app.service: the rendered app-release script with the
 * rendered release command (its `cd` into the temp dir holding demo_app.py) creates the schema; the app
 * itself creates none. Further cases run app-release with a stand-in step that logs each run, to show it
 * runs once per release id: twice in a row, two at once, and after a failure. PostgreSQL runs as the `postgres` user when the test runs as root
 * (it refuses to run as root). The real replica, nginx and systemd are the box's job (box/).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { dropletFiles } from '../../templates/droplet.js';
import { dropletInput } from '../templates/fixtures.js';
import { pythonHas, removeTempDirs, requireTools, run, runAsync, tempDir } from './tools.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';
const TOOLS = [`${PG_BIN}/postgres`, 'redis-server', '/usr/bin/gunicorn', 'runuser'];
const MODULES = ['gevent', 'sqlalchemy', 'psycopg2', 'psycogreen', 'redis', 'prometheus_client'];

const ready = () => TOOLS.every((t) => (t.startsWith('/') ? existsSync(t) : run('sh', ['-c', `command -v ${t}`]).status === 0)) && MODULES.every(pythonHas);

function requireStack(ctx: TestContext): void {
  requireTools(ctx, ...TOOLS);
  const missing = MODULES.filter((m) => !pythonHas(m));
  if (missing.length > 0) {
    const reason = `Python modules ${missing.join(', ')} missing (apt-get install python3-gevent python3-sqlalchemy python3-psycopg2 python3-psycogreen python3-redis python3-prometheus-client)`;
    if (process.env.CI === 'true') throw new Error(`${reason}: CI must install them (.ci/run)`);
    ctx.skip(reason);
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

interface Reply { status: number; headers: http.IncomingHttpHeaders; body: string }

function request(socketPath: string, method: string, urlPath: string, body?: string): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request({ socketPath, method, path: urlPath, headers: body ? { 'Content-Type': 'application/json' } : {} }, (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (chunk: string) => (text += chunk)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
    });
    req.on('error', reject).end(body);
  });
}

async function until<T>(what: string, attempt: () => Promise<T | undefined>, seconds = 20): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await attempt().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} not ready after ${seconds} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The env file as systemd reads our subset of it: KEY=value, double quotes with \-escapes. */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_][A-Z0-9_]*)=(?:"((?:[^"\\]|\\.)*)"|(.*))$/.exec(line);
    if (m) env[m[1]!] = m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]!;
  }
  return env;
}

const children: ChildProcess[] = [];
/** Gunicorn master pid of each app instance, by name. */
const masters: Record<string, number> = {};
/** Run a PostgreSQL binary as the postgres user when we are root (postgres refuses to run as root). */
function runAsPostgres(cmd: string, args: string[]) {
  return process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args);
}
let pgData = '';
let pgAdmin: ((sql: string, database?: string) => string) | undefined;
let sockets: { up: string; degraded: string; unreleased: string } | undefined;
let primaryUrl = '';
/** The database's URL for a user: `app` (default grants) or `doadmin` (owns the databases, no superuser). */
let urlFor: (user: 'app' | 'doadmin', database: string) => string = () => '';
/** The rendered dev droplet files by base name, with the test's database. */
let devFiles: Record<string, string> = {};

/**
 * Run the rendered app-release script as app-release.service does: the env file's variables, the release id
 * file, and a step command (the rendered demo step moved to `workDir`, or a stand-in script).
 */
async function releaseStep(releaseId: string, command: { workDir: string } | { script: string } | 'none', databaseUrl = primaryUrl) {
  const dir = tempDir('release');
  writeFileSync(path.join(dir, 'app-release'), devFiles['app-release']!);
  writeFileSync(path.join(dir, 'release-id'), `# the release\n${releaseId}\n`);
  const commandFile = path.join(dir, 'release-command');
  if (command !== 'none') {
    const text = 'workDir' in command
      ? devFiles['release-command']!.replace("cd '/opt/app/demo'", `cd '${command.workDir}'`)
      : `#!/bin/sh\n${command.script}\n`;
    writeFileSync(commandFile, text, { mode: 0o755 });
  }
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...parseEnvFile(devFiles['app.env']!), DATABASE_URL: databaseUrl, DATABASE_DIRECT_URL: databaseUrl };
  const args = [path.join(dir, 'app-release'), '--release-id-file', path.join(dir, 'release-id'), ...(command === 'none' ? [] : ['--command', commandFile])];
  return runAsync('/usr/bin/python3', args, { env, cwd: dir, timeoutMs: 30_000 });
}

/** Run the rendered app-grant script as app-grant.service does: the admin's URL and the app's direct URL. */
async function grantStep(database: string, adminUrl = urlFor('doadmin', database)) {
  const dir = tempDir('grant');
  writeFileSync(path.join(dir, 'app-grant'), devFiles['app-grant']!);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', DATABASE_ADMIN_URL: adminUrl, DATABASE_DIRECT_URL: urlFor('app', database) };
  return runAsync('/usr/bin/python3', [path.join(dir, 'app-grant')], { env, cwd: dir, timeoutMs: 30_000 });
}

/** Start one app instance from the dev environment's rendered files; returns its socket path. */
async function startApp(name: string, connections: { databaseUrl: string; databaseReplicaUrls: string; redisUrl: string }, logs: string[], release = false): Promise<string> {
  const dir = tempDir(`demo-${name}`);
  mkdirSync(path.join(dir, 'metrics'));
  const files = Object.fromEntries(dropletFiles(dropletInput('dev'), { ...connections, databaseDirectUrl: connections.databaseUrl, databaseAdminUrl: '' }).map((f) => [path.basename(f.path), f.content]));
  writeFileSync(path.join(dir, 'demo_app.py'), files['demo_app.py']!);
  if (release) {
    // As on the droplet: app-release.service runs the demo's step before app.service starts.
    const r = await releaseStep(files['release-id']!.trim().split('\n').pop()!, { workDir: dir }, connections.databaseUrl);
    if (r.status !== 0) throw new Error(`the demo's release step failed:\n${r.stdout}${r.stderr}`);
  }
  const socket = path.join(dir, 'gunicorn.sock');
  const conf = files['gunicorn.conf.py']!
    .replace(/^bind = .*$/m, `bind = ["unix:${socket}"]`)
    .replace(/^chdir = .*$/m, `chdir = "${dir}"`)
    .replace(/^worker_tmp_dir = .*$/m, `worker_tmp_dir = "${dir}"`);
  writeFileSync(path.join(dir, 'gunicorn.conf.py'), conf);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...parseEnvFile(files['app.env']!), PROMETHEUS_MULTIPROC_DIR: path.join(dir, 'metrics') };
  const child = spawn('/usr/bin/gunicorn', ['--config', path.join(dir, 'gunicorn.conf.py')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
  child.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
  children.push(child);
  masters[name] = child.pid!;
  await until(`gunicorn (${name}); its log:\n${logs.join('')}`, async () => ((await request(socket, 'GET', '/healthz')).status === 200 ? true : undefined));
  return socket;
}

beforeAll(async () => {
  if (!ready()) return;
  const pgDir = tempDir('demo-pg');
  pgData = path.join(pgDir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(run('id', ['-u', 'postgres']).stdout);
    const gid = Number(run('id', ['-g', 'postgres']).stdout);
    chownSync(pgDir, uid, gid);
  }
  const [pgPort, redisPort, deadPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const initdb = runAsPostgres(`${PG_BIN}/initdb`, ['-D', pgData, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions']);
  if (initdb.status !== 0) throw new Error(`initdb failed: ${initdb.stderr}`);
  const pgOptions = `-p ${pgPort} -c listen_addresses=127.0.0.1 -c unix_socket_directories=${pgDir} -c fsync=off`;
  const start = runAsPostgres(`${PG_BIN}/pg_ctl`, ['-D', pgData, '-o', pgOptions, '-l', path.join(pgDir, 'log'), '-w', 'start']);
  if (start.status !== 0) throw new Error(`postgres failed to start: ${start.stdout}${start.stderr}${readFileSync(path.join(pgDir, 'log'), 'utf8')}`);
  const redis = spawn('redis-server', ['--port', String(redisPort), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  children.push(redis);
  urlFor = (user, database) => `postgresql://${user}@127.0.0.1:${pgPort}/${database}`;
  const db = urlFor('app', 'app');
  primaryUrl = db;
  pgAdmin = (sql, database = 'postgres') => {
    const r = runAsPostgres(`${PG_BIN}/psql`, ['-h', pgDir, '-p', String(pgPort), '-d', database, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql]);
    if (r.status !== 0) throw new Error(`psql: ${r.stderr}`);
    return r.stdout.trim();
  };
  // As DigitalOcean makes them: the admin is no superuser and owns the databases; app has default grants.
  pgAdmin('CREATE ROLE doadmin LOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS');
  pgAdmin('CREATE ROLE app LOGIN');
  pgAdmin('CREATE DATABASE app OWNER doadmin');
  // A second database that no release step ever ran on: the deep check must fail there.
  pgAdmin('CREATE DATABASE unreleased OWNER doadmin');
  devFiles = Object.fromEntries(dropletFiles(dropletInput('dev'), { databaseUrl: db, databaseDirectUrl: db, databaseReplicaUrls: '', redisUrl: '', databaseAdminUrl: urlFor('doadmin', 'app') }).map((f) => [path.basename(f.path), f.content]));
  const logs: string[] = [];
  // As app-grant.service before the first release step on a droplet.
  const granted = await grantStep('app');
  if (granted.status !== 0) throw new Error(`app-grant failed:\n${granted.stdout}${granted.stderr}`);
  const unreleasedDb = urlFor('app', 'unreleased');
  const up = await startApp('up', { databaseUrl: db, databaseReplicaUrls: db, redisUrl: `redis://127.0.0.1:${redisPort}/0` }, logs, true);
  const [degraded, unreleased] = await Promise.all([
    startApp('degraded', { databaseUrl: db, databaseReplicaUrls: `postgresql://app@127.0.0.1:${deadPort}/app`, redisUrl: `redis://127.0.0.1:${deadPort}/0` }, []),
    startApp('unreleased', { databaseUrl: unreleasedDb, databaseReplicaUrls: '', redisUrl: '' }, []),
  ]);
  sockets = { up, degraded, unreleased };
}, 60_000);

afterAll(() => {
  for (const child of children) child.kill('SIGTERM');
  if (pgData) runAsPostgres(`${PG_BIN}/pg_ctl`, ['-D', pgData, '-m', 'immediate', 'stop']);
  removeTempDirs();
});

function stack(ctx: TestContext): { up: string; degraded: string; unreleased: string } {
  requireStack(ctx);
  if (!sockets) throw new Error('the demo stack did not start (see beforeAll)');
  return sockets;
}

describe('demo app under gunicorn (gevent)', () => {
  it('answers /healthz with psycopg2 made cooperative by the post_fork hook', async (ctx) => {
    const reply = await request(stack(ctx).up, 'GET', '/healthz');
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toMatchObject({ status: 'ok', greenPsycopg: true });
    // The health path is public through the load balancer: no process ids.
    expect(JSON.parse(reply.body)).not.toHaveProperty('pid');
  });

  it('writes on the primary and reads the item back through the replica engine', async (ctx) => {
    const { up } = stack(ctx);
    const created = await request(up, 'POST', '/items', JSON.stringify({ body: 'hello' }));
    expect(created.status).toBe(201);
    const { id } = JSON.parse(created.body) as { id: number };
    expect(created.headers.location).toBe(`/items/${id}`);
    const read = await request(up, 'GET', `/items/${id}`);
    expect(read.status).toBe(200);
    expect(JSON.parse(read.body)).toEqual({ id, body: 'hello' });
    expect((await request(up, 'GET', '/items/999999999')).status).toBe(404);
  });

  it('serves cache-aside: a miss fills the cache, the next read is a hit', async (ctx) => {
    const { up } = stack(ctx);
    const { id } = JSON.parse((await request(up, 'POST', '/items', JSON.stringify({ body: 'cached' }))).body) as { id: number };
    const first = await request(up, 'GET', `/cached/${id}`);
    const second = await request(up, 'GET', `/cached/${id}`);
    expect([first.status, first.headers['x-cache']]).toEqual([200, 'miss']);
    expect([second.status, second.headers['x-cache']]).toEqual([200, 'hit']);
    expect(JSON.parse(second.body)).toEqual({ id, body: 'cached' });
  });

  it('falls back to the primary when the replica is down, and to the database when the cache is down', async (ctx) => {
    const { degraded } = stack(ctx);
    const { id } = JSON.parse((await request(degraded, 'POST', '/items', JSON.stringify({ body: 'degraded' }))).body) as { id: number };
    const read = await request(degraded, 'GET', `/items/${id}`);
    expect([read.status, JSON.parse(read.body)]).toEqual([200, { id, body: 'degraded' }]);
    const cached = await request(degraded, 'GET', `/cached/${id}`);
    expect([cached.status, cached.headers['x-cache']]).toEqual([200, 'bypass']);
    const metrics = await request(degraded, 'GET', '/metrics');
    expect(metrics.body).toMatch(/app_fallbacks_total\{backend="replica"\} [1-9]/);
    expect(metrics.body).toMatch(/app_fallbacks_total\{backend="cache"\} [1-9]/);
  });

  it('waits in gevent: 40 concurrent /io requests of 0.5 s on 2 workers take about 0.5 s, not 10 s', async (ctx) => {
    const { up } = stack(ctx);
    const started = Date.now();
    const replies = await Promise.all(Array.from({ length: 40 }, () => request(up, 'GET', '/io?seconds=0.5')));
    expect(replies.map((r) => r.status)).toEqual(Array(40).fill(200));
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('refuses an /io wait above IO_MAX_SECONDS, and a malformed write', async (ctx) => {
    const { up } = stack(ctx);
    expect((await request(up, 'GET', '/io?seconds=100000')).status).toBe(400);
    expect((await request(up, 'POST', '/items', '{"nobody": 1}')).status).toBe(400);
  });

  it('exposes Prometheus metrics summed over the workers', async (ctx) => {
    const reply = await request(stack(ctx).up, 'GET', '/metrics');
    expect(reply.status).toBe(200);
    expect(reply.body).toMatch(/app_requests_total\{route="healthz",status="200"\} [1-9]/);
    // Every /io request so far, whichever worker served it.
    const ioCount = Number(/^app_request_seconds_count\{route="io"\} ([\d.]+)$/m.exec(reply.body)?.[1]);
    expect(ioCount).toBeGreaterThanOrEqual(40);
  });
});

describe('deep check (/readyz)', () => {
  it('answers 200 once the release step has made the schema', async (ctx) => {
    const reply = await request(stack(ctx).up, 'GET', '/readyz');
    expect([reply.status, JSON.parse(reply.body)]).toEqual([200, { status: 'ready' }]);
  });

  it('answers 503 where no release step ran, while the shallow /healthz still answers 200', async (ctx) => {
    const { unreleased } = stack(ctx);
    expect((await request(unreleased, 'GET', '/readyz')).status).toBe(503);
    expect((await request(unreleased, 'GET', '/healthz')).status).toBe(200);
  });
});

describe('release step (app-release) against PostgreSQL', () => {
  /** A stand-in step that logs each run to `log` and takes `seconds`; `exit` sets its status. */
  const step = (log: string, seconds = 0, exit = 0) => ({ script: `echo "run $APP_RELEASE_ID" >>'${log}'\nsleep ${seconds}\nexit ${exit}` });
  const runs = (log: string) => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n').filter(Boolean) : []);

  it('recorded the demo release (its step made the items table before the app started)', (ctx) => {
    stack(ctx);
    const id = devFiles['release-id']!.trim().split('\n').pop()!;
    expect(pgAdmin!(`SELECT count(*) FROM platform_releases WHERE release_id = '${id}'`, 'app')).toBe('1');
    expect(pgAdmin!("SELECT to_regclass('items') IS NOT NULL", 'app')).toBe('t');
    // Made by the app user, who owns what it creates: later releases may alter them without the admin.
    expect(pgAdmin!("SELECT tableowner FROM pg_tables WHERE tablename IN ('items', 'platform_releases') GROUP BY 1", 'app')).toBe('app');
  });

  it('runs the step once for two boots of the same release, one after the other', async (ctx) => {
    stack(ctx);
    const log = path.join(tempDir('release-twice'), 'runs.log');
    const first = await releaseStep('release-twice', step(log));
    const second = await releaseStep('release-twice', step(log));
    expect([first.status, second.status]).toEqual([0, 0]);
    expect(runs(log)).toEqual(['run release-twice']);
    expect(first.stdout).toContain('app-release: release release-twice: step done in');
    expect(second.stdout).toMatch(/app-release: release release-twice: step already ran on \S+ at .*; skipping/);
  });

  it('runs the step once for two droplets booting the same release at the same time', async (ctx) => {
    stack(ctx);
    const log = path.join(tempDir('release-race'), 'runs.log');
    // The step takes 2 s: the second droplet waits on the lock, then finds the release recorded.
    const [a, b] = await Promise.all([releaseStep('release-race', step(log, 2)), releaseStep('release-race', step(log, 2))]);
    expect([a.status, b.status]).toEqual([0, 0]);
    expect(runs(log)).toEqual(['run release-race']);
    expect([a.stdout, b.stdout].filter((o) => o.includes('skipping'))).toHaveLength(1);
    expect(Math.max(a.ms, b.ms)).toBeGreaterThanOrEqual(2000);
  });

  it('fails, recording nothing, when the step fails; the next boot runs it again', async (ctx) => {
    stack(ctx);
    const log = path.join(tempDir('release-fail'), 'runs.log');
    const failed = await releaseStep('release-fail', step(log, 0, 3));
    expect(failed.status).toBe(1);
    expect(failed.stdout).toContain('app-release: release release-fail: step failed (exit 3)');
    expect(pgAdmin!("SELECT count(*) FROM platform_releases WHERE release_id = 'release-fail'", 'app')).toBe('0');
    const retried = await releaseStep('release-fail', step(log));
    expect(retried.status).toBe(0);
    expect(runs(log)).toEqual(['run release-fail', 'run release-fail']);
  });

  it('fails with one clear line when the primary cannot be reached', async (ctx) => {
    stack(ctx);
    const r = await releaseStep('release-nodb', step('/dev/null'), 'postgresql://app@127.0.0.1:1/app');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^app-release: cannot connect to the primary: .*(refused|could not connect)/m);
    expect(r.stderr).toBe('');
  });
});

describe('statement timeout on the role (PgBouncer refuses the options startup parameter)', () => {
  it('the release step set the plan\'s statement_timeout on the app role: a new session as app starts with it', (ctx) => {
    stack(ctx);
    const ms = Number(parseEnvFile(devFiles['app.env']!).DB_STATEMENT_TIMEOUT_SECONDS) * 1000;
    expect(pgAdmin!("SELECT array_to_string(setconfig, ',') FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE s.setrole = 'app'::regrole AND d.datname = 'app'")).toBe(`statement_timeout=${ms}ms`);
    const r = runAsPostgres(`${PG_BIN}/psql`, ['-h', path.dirname(pgData), '-p', new URL(primaryUrl).port, '-U', 'app', '-d', 'app', '-XAtq', '-c', 'SHOW statement_timeout']);
    expect(r.stdout.trim()).toBe(ms % 1000 === 0 ? `${ms / 1000}s` : `${ms}ms`);
  });
});

describe('an app without a release command (a git app with no releaseCommand)', () => {
  it('still gets the plan\'s statement_timeout on its role, and nothing is run or recorded', async (ctx) => {
    stack(ctx);
    pgAdmin!('CREATE DATABASE plain OWNER doadmin');
    const setting = () => pgAdmin!("SELECT coalesce(array_to_string(setconfig, ','), '') FROM pg_db_role_setting s JOIN pg_database d ON d.oid = s.setdatabase WHERE s.setrole = 'app'::regrole AND d.datname = 'plain'");
    expect(setting()).toBe('');
    const r = await releaseStep('release-plain', 'none', urlFor('app', 'plain'));
    expect([r.status, r.stdout]).toEqual([0, expect.stringContaining('app-release: release release-plain: this app has no release command; nothing else to do')]);
    const ms = Number(parseEnvFile(devFiles['app.env']!).DB_STATEMENT_TIMEOUT_SECONDS) * 1000;
    expect(setting()).toBe(`statement_timeout=${ms}ms`);
    expect(pgAdmin!("SELECT count(*) FROM pg_tables WHERE tablename = 'platform_releases'", 'plain')).toBe('0');
  });
});

describe('database roles as DigitalOcean makes them (app-grant)', () => {
  it('the release step cannot create its tables until app-grant ran; after it, it can', async (ctx) => {
    stack(ctx);
    pgAdmin!('CREATE DATABASE fresh OWNER doadmin');
    const dir = tempDir('grant-fresh');
    writeFileSync(path.join(dir, 'demo_app.py'), devFiles['demo_app.py']!);
    const before = await releaseStep('release-fresh', { workDir: dir }, urlFor('app', 'fresh'));
    expect(before.status).toBe(1);
    expect(before.stdout).toMatch(/app-release: release release-fresh: database error: permission denied for schema public/);
    const granted = await grantStep('fresh');
    expect([granted.status, granted.stdout.trim()]).toEqual([0, 'app-grant: app may use and create in schema public of fresh']);
    const after = await releaseStep('release-fresh', { workDir: dir }, urlFor('app', 'fresh'));
    expect([after.status, after.stdout]).toEqual([0, expect.stringContaining('table items ready')]);
  });

  it('grants exactly USAGE and CREATE on schema public: no superuser, no CREATE on the database, no other database', (ctx) => {
    stack(ctx);
    expect(pgAdmin!("SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = 'app'")).toBe('f|f|f');
    expect(pgAdmin!("SELECT has_schema_privilege('app', 'public', 'USAGE,CREATE')", 'app')).toBe('t');
    expect(pgAdmin!("SELECT has_database_privilege('app', 'app', 'CREATE')")).toBe('f');
    expect(pgAdmin!("SELECT has_schema_privilege('app', 'public', 'CREATE')", 'unreleased')).toBe('f');
  });

  it('running app-grant again changes nothing', async (ctx) => {
    stack(ctx);
    const acl = () => pgAdmin!("SELECT nspacl::text FROM pg_namespace WHERE nspname = 'public'", 'app');
    const before = acl();
    expect((await grantStep('app')).status).toBe(0);
    expect(acl()).toBe(before);
  });

  it('fails with one clear line when given the app user instead of the admin, or no reachable primary', async (ctx) => {
    stack(ctx);
    const self = await grantStep('app', urlFor('app', 'app'));
    expect([self.status, self.stdout.trim()]).toEqual([1, "app-grant: the admin URL logs in as the app user app: give the cluster's admin URL"]);
    const down = await grantStep('app', 'postgresql://doadmin@127.0.0.1:1/app');
    expect(down.status).toBe(1);
    expect(down.stdout).toMatch(/^app-grant: cannot connect to the primary as the admin: /m);
    expect(down.stderr).toBe('');
  });
});

/** A TCP listener that accepts and never answers: a PgBouncer or Valkey that hangs. Counts connections. */
async function silentServer(): Promise<{ port: number; connections: () => number; close: () => void }> {
  const sockets: net.Socket[] = [];
  const server = net.createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', 511, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => sockets.length,
    close: () => { for (const socket of sockets) socket.destroy(); server.close(); },
  };
}

/** The worker pids under a Gunicorn master. */
function workerPids(master: number): number[] {
  return run('ps', ['-o', 'pid=', '--ppid', String(master)]).stdout.trim().split(/\s+/).filter(Boolean).map(Number).sort();
}

describe('bounded dependencies: a database and a cache that accept connections and never answer', () => {
  it('boots (no database work at import), answers 503 within the timeouts, holds at most its pools, keeps its workers', async (ctx) => {
    stack(ctx);
    const [db, cache] = await Promise.all([silentServer(), silentServer()]);
    const logs: string[] = [];
    const hung = `postgresql://app@127.0.0.1:${db.port}/app`;
    const socket = await startApp('silent', { databaseUrl: hung, databaseReplicaUrls: hung, redisUrl: `redis://127.0.0.1:${cache.port}/0` }, logs);
    expect(db.connections()).toBe(0);
    const env = parseEnvFile(devFiles['app.env']!);
    const n = (name: string) => Number(env[name]);
    const workers = workerPids(masters.silent!);
    expect(workers.length).toBeGreaterThan(0);
    // The app's side of the connections, sampled while the requests run: established sockets to each port.
    const open = (port: number) => run('ss', ['-Htn', 'state', 'established', 'dst', `127.0.0.1:${port}`]).stdout.split('\n').filter(Boolean).length;
    const most = { db: 0, cache: 0 };
    const sampler = setInterval(() => {
      most.db = Math.max(most.db, open(db.port));
      most.cache = Math.max(most.cache, open(cache.port));
    }, 100);
    const times: number[] = [];
    const replies = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
      const started = Date.now();
      const reply = await request(socket, 'GET', `/cached/${i + 1}`);
      times.push((Date.now() - started) / 1000);
      return reply;
    }));
    clearInterval(sampler);
    db.close();
    cache.close();
    times.sort((a, b) => a - b);
    const p99 = times[Math.floor(times.length * 0.99) - 1]!;
    console.log(`silent dependencies: 200 requests, p50 ${times[99]!.toFixed(2)} s, p99 ${p99.toFixed(2)} s, max ${times.at(-1)!.toFixed(2)} s; ` +
      `at most ${most.db} database and ${most.cache} cache connections open at once (${workers.length} workers)`);
    expect(new Set(replies.map((r) => `${r.status} ${r.body}`))).toEqual(new Set(['503 {"error": "database unavailable"}']));
    // The cache (one timeout), then the replica and the primary: a pool wait and a connect each.
    const budget = n('CACHE_TIMEOUT_SECONDS') + 2 * (n('DB_POOL_TIMEOUT_SECONDS') + n('DB_CONNECT_TIMEOUT_SECONDS'));
    expect(times.at(-1)!).toBeLessThan(budget + 1);
    expect(most.cache).toBeLessThanOrEqual(workers.length * n('CACHE_MAX_CONNECTIONS'));
    const dbPools = n('DB_PRIMARY_POOL_SIZE') + n('DB_PRIMARY_MAX_OVERFLOW') + n('DB_REPLICA_POOL_SIZE') + n('DB_REPLICA_MAX_OVERFLOW');
    expect(most.db).toBeLessThanOrEqual(workers.length * dbPools);
    expect(workerPids(masters.silent!)).toEqual(workers);
    expect(logs.join('')).not.toMatch(/WORKER TIMEOUT/);
  }, 60_000);
});
