/**
 * The smoke test of a booted box, through Nginx as the load balancer reaches it: /healthz, a write on
 * the primary, a read served by the replica, a cache miss then a hit; then the readiness contract (the
 * ready file, X-Droplet-Id = the seeded instance id, the release recorded once) and last a poweroff that
 * must drain in order: draining, the LB detection wait, the app stopped, Nginx stopped.
 */
import { run, sleep, waitFor } from './lib/proc.js';
import type { Box } from './box.js';
import { httpGet, httpRequest } from './http.js';
import { log } from './lib/stages.js';
import { PORTS } from './services.js';

export interface Check {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export async function smoke(box: Box): Promise<Check[]> {
  const checks: Check[] = [];
  const check = (name: string, ok: boolean, detail: string) => {
    checks.push({ name, ok, detail });
    log(`  ${ok ? 'PASS' : 'FAIL'} ${name}: ${detail}`);
    if (!ok) throw new Error(`${name}: ${detail}`);
  };
  const base = box.urls[0]!;
  // The LB's check is Nginx's own answer from the ready file; the app's /healthz is behind Gunicorn's socket.
  const h = await httpGet(`${base}/healthz`, 10_000);
  check('healthz', h.status === 200 && h.body === 'ready\n', `${h.status} ${h.body.trim()}`);
  const app = await box.droplet.exec(['curl', '-s', '--unix-socket', '/run/gunicorn-app.sock', 'http://localhost/healthz'], 10_000, true);
  const hj = JSON.parse(app.stdout || '{}') as { status?: string; greenPsycopg?: boolean; pid?: number };
  check('psycopg2 waits in gevent', hj.status === 'ok' && hj.greenPsycopg === true && hj.pid === undefined, `app's /healthz: ${app.stdout.trim() || app.stderr.trim()}`);

  const marker = `box smoke ${new Date().toISOString()}`;
  const w = await httpRequest('POST', `${base}/items`, 15_000, JSON.stringify({ body: marker }));
  const id = (JSON.parse(w.body || '{}') as { id?: number }).id;
  check('write on the primary', w.status === 201 && typeof id === 'number', `${w.status} ${w.body.trim()}`);

  // The row reaches the replica by streaming replication; read it there directly before asking the app.
  const db = box.env.config.postgres.databaseName;
  const onReplica = (sql: string) => run('runuser', ['-u', 'postgres', '--', '/usr/lib/postgresql/15/bin/psql', '-h', `${box.runDir}/services/pg-sock`, '-p', String(PORTS.replica), '-d', db, '-XAtq', '-c', sql], { timeoutMs: 15_000 }).then((r) => r.stdout.trim());
  await waitFor('the row to reach the replica', async () => ((await onReplica(`SELECT count(*) FROM items WHERE id = ${id}`)) === '1' ? true : undefined), 15_000, 200);
  // Evidence that the replica served the read: the replica's own scan counter of the table grows. (The
  // app's pooled connection ends each checkout with ROLLBACK, so pg_stat_activity cannot show the query.)
  const scansSql = "SELECT coalesce(sum(seq_scan + coalesce(idx_scan, 0)), 0) FROM pg_stat_user_tables WHERE relname = 'items'";
  const before = Number(await onReplica(scansSql));
  const r = await httpGet(`${base}/items/${id}`, 15_000);
  const body = (JSON.parse(r.body || '{}') as { body?: string }).body;
  const servedBy = r.headers['x-served-by'];
  // A backend flushes its statistics when idle, within about 10 s (PostgreSQL 15).
  const after = await waitFor('the replica to count the read', async () => {
    const n = Number(await onReplica(scansSql));
    return n > before ? n : undefined;
  }, 20_000, 500).catch(() => before);
  check('read served by the replica', r.status === 200 && body === marker && after > before && (servedBy === undefined || servedBy === 'replica'),
    `${r.status} body ${body === marker ? 'matches' : `differs: ${r.body.trim()}`}; scans of items on the replica ${before} -> ${after}${servedBy ? `; X-Served-By: ${servedBy}` : ''}`);

  const c1 = await httpGet(`${base}/cached/${id}`, 15_000);
  const c2 = await httpGet(`${base}/cached/${id}`, 15_000);
  const key = await run('redis-cli', ['-u', box.services.urls.redisUrl, '--no-auth-warning', 'exists', `item:${id}`], { timeoutMs: 10_000 });
  check('cache miss, then hit', c1.status === 200 && c2.status === 200 && c1.headers['x-cache'] === 'miss' && c2.headers['x-cache'] === 'hit' && key.stdout.trim() === '1',
    `first X-Cache: ${c1.headers['x-cache']}, second X-Cache: ${c2.headers['x-cache']}; key item:${id} in Redis: ${key.stdout.trim() === '1' ? 'yes' : 'no'}`);

  const notFound = await httpGet(`${base}/nope`, 10_000);
  check('unknown path answered by the app', notFound.status === 404, `${notFound.status}`);

  await databaseRoles(box, check);
  await readiness(box, check);
  await drainOnPoweroff(box, check);
  return checks;
}

type CheckFn = (name: string, ok: boolean, detail: string) => void;

/** The ready file, the droplet's id on health answers, the release step recorded once. */
async function readiness(box: Box, check: CheckFn): Promise<void> {
  const ready = await box.droplet.exec(['test', '-f', '/run/droplet/ready'], 10_000, true);
  check('ready file', ready.code === 0, ready.code === 0 ? '/run/droplet/ready exists (droplet-ready.service passed the deep check)' : 'missing');
  const seeded = /^instance-id:\s*(\S+)/m.exec(box.droplet.readFile('var/lib/cloud/seed/nocloud/meta-data'))?.[1];
  const h = await httpGet(`${box.urls[0]}/healthz`, 10_000);
  check('X-Droplet-Id is the instance id', seeded !== undefined && h.headers['x-droplet-id'] === seeded, `X-Droplet-Id: ${h.headers['x-droplet-id']}; seeded instance-id: ${seeded}`);
  const db = box.env.config.postgres.databaseName;
  const releases = await run('runuser', ['-u', 'postgres', '--', '/usr/lib/postgresql/15/bin/psql', '-h', `${box.runDir}/services/pg-sock`, '-p', String(PORTS.primary), '-d', db, '-XAtq', '-c', 'SELECT release_id FROM platform_releases'], { timeoutMs: 15_000, allowFailure: true });
  const ids = releases.stdout.trim().split('\n').filter(Boolean);
  const expected = box.droplet.readFile('opt/app/release-id').trim().split('\n').pop();
  check('release step recorded once', ids.length === 1 && ids[0] === expected, `platform_releases: ${ids.join(', ') || releases.stderr.trim()}; this droplet's release: ${expected}`);
}

/**
 * The write above ran on roles made as DigitalOcean makes them (box/services.ts): the database belongs to the
 * non-superuser admin, the app user's tables exist only because app-grant granted CREATE on schema public,
 * and the admin's env file is gone from the droplet once the grant ran.
 */
async function databaseRoles(box: Box, check: CheckFn): Promise<void> {
  const db = box.env.config.postgres.databaseName;
  const sql = `SELECT pg_get_userbyid(d.datdba), t.tableowner, r.rolsuper, has_schema_privilege(t.tableowner, 'public', 'CREATE')
    FROM pg_database d, pg_tables t JOIN pg_roles r ON r.rolname = t.tableowner WHERE d.datname = current_database() AND t.tablename = 'items'`;
  const q = await run('runuser', ['-u', 'postgres', '--', '/usr/lib/postgresql/15/bin/psql', '-h', `${box.runDir}/services/pg-sock`, '-p', String(PORTS.primary), '-d', db, '-XAtq', '-c', sql], { timeoutMs: 15_000, allowFailure: true });
  const [owner, tableOwner, superuser, create] = q.stdout.trim().split('|');
  check('roles as DigitalOcean makes them', owner === 'doadmin' && tableOwner !== undefined && tableOwner !== owner && superuser === 'f' && create === 't',
    `database ${db} owned by ${owner}; items owned by ${tableOwner} (superuser: ${superuser}, CREATE on public by app-grant: ${create})${q.stderr.trim() ? `; ${q.stderr.trim()}` : ''}`);
  const adminEnv = await box.droplet.exec(['test', '-e', '/etc/app/admin.env'], 10_000, true);
  check('admin env file deleted after the grant', adminEnv.code !== 0, adminEnv.code !== 0 ? '/etc/app/admin.env is gone' : '/etc/app/admin.env still exists');
}

interface JournalEntry { t: number; unit: string; message: string }

/**
 * `systemctl poweroff` inside, with a request in flight: the health check turns 503 "draining" at once while
 * requests are still served, the request in flight finishes, and the journal shows the order.
 */
async function drainOnPoweroff(box: Box, check: CheckFn): Promise<void> {
  const base = box.urls[0]!;
  const lbDetectSeconds = box.env.plan.tuning.drain.lbDetectSeconds;
  const inFlight = httpGet(`${base}/io?seconds=3`, 30_000);
  await sleep(300);
  const started = Date.now();
  await box.droplet.exec(['systemctl', 'poweroff', '--no-block'], 10_000);
  const draining = await waitFor('the health check to answer 503 draining', async () => {
    const h = await httpGet(`${base}/healthz`, 5000).catch(() => undefined);
    return h && h.status === 503 ? h : undefined;
  }, 10_000, 200);
  check('health check fails at once on poweroff', draining.body.trim() === 'draining' && draining.headers['x-droplet-id'] !== undefined,
    `${draining.status} ${draining.body.trim()} after ${((Date.now() - started) / 1000).toFixed(1)} s, X-Droplet-Id: ${draining.headers['x-droplet-id']}`);
  const served = await httpGet(`${base}/io?seconds=0`, 10_000);
  check('requests still served while draining', served.status === 200, `GET /io?seconds=0: ${served.status}`);
  const flight = await inFlight;
  check('request in flight at poweroff finishes', flight.status === 200, `GET /io?seconds=3: ${flight.status}`);
  await box.droplet.stop(lbDetectSeconds * 1000 + 90_000);
  const poweredOff = (Date.now() - started) / 1000;

  // The container's persistent journal, read from its disk on the host.
  const journal = await run('journalctl', ['--root', box.droplet.merged, '-b', '0', '-o', 'json', '--no-pager', '--output-fields', 'MESSAGE,UNIT,_SYSTEMD_UNIT,__REALTIME_TIMESTAMP'], { timeoutMs: 30_000, allowFailure: true });
  const entries: JournalEntry[] = journal.stdout.split('\n').filter(Boolean).map((line) => {
    const e = JSON.parse(line) as Record<string, unknown>;
    return { t: Number(e.__REALTIME_TIMESTAMP) / 1000, unit: String(e.UNIT ?? e._SYSTEMD_UNIT ?? ''), message: String(e.MESSAGE ?? '') };
  });
  // The first match from `after` on: cloud-init's own `systemctl restart` stopped Nginx and the app once at boot.
  const at = (unit: string, re: RegExp, after = 0) => entries.find((e) => e.t >= after && e.unit === unit && re.test(e.message))?.t;
  const drainStart = at('droplet-drain.service', /droplet-drain: draining/);
  const drained = at('droplet-drain.service', /droplet-drain: drained/, drainStart);
  const appStopped = at('app.service', /^Stopped /, drainStart);
  const nginxStopped = at('nginx.service', /^Stopped /, drainStart);
  const times = [drainStart, drained, appStopped, nginxStopped];
  const ordered = times.every((t) => t !== undefined) && times.every((t, i) => i === 0 || t! >= times[i - 1]!);
  const waited = drainStart !== undefined && appStopped !== undefined ? (appStopped - drainStart) / 1000 : NaN;
  const rel = (t: number | undefined) => (t === undefined || drainStart === undefined ? 'missing' : `+${((t - drainStart) / 1000).toFixed(1)} s`);
  check('poweroff drains in order: draining -> app stopped -> nginx stopped', ordered && waited >= lbDetectSeconds,
    `draining ${rel(drainStart)}, LB wait over ${rel(drained)}, app.service stopped ${rel(appStopped)}, nginx.service stopped ${rel(nginxStopped)} (LB detection ${lbDetectSeconds} s; powered off after ${poweredOff.toFixed(0)} s)`);
}
