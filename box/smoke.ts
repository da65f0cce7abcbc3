/**
 * The smoke test of a booted box, through Nginx as the load balancer reaches it: /healthz, a write on
 * the primary, a read served by the replica, a cache miss then a hit.
 */
import { run, waitFor } from './lib/proc.js';
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
  const h = await httpGet(`${base}/healthz`, 10_000);
  const hj = JSON.parse(h.body || '{}') as { status?: string; greenPsycopg?: boolean };
  check('healthz', h.status === 200 && hj.status === 'ok', `${h.status} ${h.body.trim()}`);
  check('psycopg2 waits in gevent', hj.greenPsycopg === true, `greenPsycopg=${String(hj.greenPsycopg)}`);

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
  return checks;
}
