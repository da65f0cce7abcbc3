/**
 * The droplet's managed services, played by real servers beside the container: a PostgreSQL 15 primary,
 * a streaming replica made with pg_basebackup, and Redis. Each listens on the host's VPC address only,
 * runs from a data directory under the run's scratch directory, and is stopped by the box.
 *
 * Roles are made the way DigitalOcean makes them, so a privilege the app lacks there fails here too: an
 * admin role that is not a superuser (`doadmin`: CREATEDB, CREATEROLE, REPLICATION, BYPASSRLS) owns the
 * app's database, and the app user has only the default grants. On PostgreSQL 15+ that user may not
 * create tables in schema `public` until the admin grants it (the droplet's app-grant step does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, mkdirSync, openSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, stopChild, waitFor } from './lib/proc.js';
import { NET } from './network.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';

export interface ServiceSpec {
  readonly dir: string;
  readonly databaseName: string;
  readonly userName: string;
  readonly password: string;
  /** Server connections each PostgreSQL node accepts (the plan's per-process pools x processes, plus room). */
  readonly maxConnections: number;
}

/** DigitalOcean's administrative user of a managed PostgreSQL cluster (not a superuser). */
export const ADMIN_USER = 'doadmin';

export const PORTS = { primary: 15432, replica: 15433, redis: 16379 } as const;

export interface Services {
  /** `databaseAdminUrl` is the admin's, on the app's database: only the droplet's app-grant step gets it. */
  readonly urls: { databaseUrl: string; databaseReplicaUrls: string; redisUrl: string; databaseAdminUrl: string };
  readonly logs: { primary: string; replica: string; redis: string };
  stopReplica(): Promise<void>;
  startReplica(): Promise<void>;
  stopRedis(): Promise<void>;
  startRedis(): Promise<void>;
  /** Run SQL on a node as the superuser over its unix socket, in `database` (@default postgres). */
  psql(node: 'primary' | 'replica', sql: string, database?: string): Promise<string>;
  stopAll(): Promise<void>;
  /** PIDs of the running servers' top processes (runuser for PostgreSQL, redis-server). */
  pids(): number[];
}

function postgresUid(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres user: apt-get install postgresql-15');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

export async function startServices(spec: ServiceSpec): Promise<Services> {
  const { uid, gid } = postgresUid();
  const sock = join(spec.dir, 'pg-sock');
  const primaryDir = join(spec.dir, 'pg-primary');
  const replicaDir = join(spec.dir, 'pg-replica');
  const logs = { primary: join(spec.dir, 'pg-primary.log'), replica: join(spec.dir, 'pg-replica.log'), redis: join(spec.dir, 'redis.log') };
  for (const d of [sock, primaryDir]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    chownSync(d, uid, gid);
  }
  chownSync(spec.dir, uid, gid);
  const asPostgres = (cmd: string, args: string[], timeoutMs = 60_000) => run('runuser', ['-u', 'postgres', '--', cmd, ...args], { timeoutMs });

  // Fast, throwaway clusters: the box measures the web tier, not disk durability.
  await asPostgres(join(PG_BIN, 'initdb'), ['-D', primaryDir, '-U', 'postgres', '--auth-local=trust', '--auth-host=scram-sha-256', '-N', '-E', 'UTF8', '--locale=C.UTF-8'], 120_000);
  appendFileSync(join(primaryDir, 'postgresql.conf'), [
    `listen_addresses = '${NET.hostAddress}'`,
    `unix_socket_directories = '${sock}'`,
    `max_connections = ${spec.maxConnections}`,
    // A standby must allow at least as many connections as its primary; it gets the same file.
    'wal_level = replica', 'max_wal_senders = 5', 'hot_standby = on',
    'fsync = off', 'synchronous_commit = off', 'full_page_writes = off',
    'shared_buffers = 256MB', "password_encryption = 'scram-sha-256'",
    '',
  ].join('\n'));
  appendFileSync(join(primaryDir, 'pg_hba.conf'), [
    `host all all ${NET.vpcRange} scram-sha-256`,
    `host replication replicator ${NET.hostAddress}/32 trust`,
    '',
  ].join('\n'));

  const children: Partial<Record<'primary' | 'replica' | 'redis', ChildProcess>> = {};
  const startPg = async (node: 'primary' | 'replica') => {
    const dir = node === 'primary' ? primaryDir : replicaDir;
    const port = node === 'primary' ? PORTS.primary : PORTS.replica;
    const out = openSync(logs[node], 'a');
    children[node] = spawn('runuser', ['-u', 'postgres', '--', join(PG_BIN, 'postgres'), '-D', dir, '-p', String(port)], {
      stdio: ['ignore', out, out],
      detached: true,
    });
    await waitFor(`PostgreSQL ${node} on ${NET.hostAddress}:${port}`, async () => {
      if (children[node]!.exitCode !== null) throw new Error(`postgres ${node} exited: see ${logs[node]}`);
      const r = await run(join(PG_BIN, 'pg_isready'), ['-h', NET.hostAddress, '-p', String(port)], { timeoutMs: 5000, allowFailure: true });
      return r.code === 0 ? true : undefined;
    }, 60_000);
  };
  const psql = async (node: 'primary' | 'replica', sql: string, database = 'postgres') => {
    const port = node === 'primary' ? PORTS.primary : PORTS.replica;
    const r = await asPostgres(join(PG_BIN, 'psql'), ['-h', sock, '-p', String(port), '-d', database, '-XAtq', '-v', 'ON_ERROR_STOP=1', '-c', sql], 30_000);
    return r.stdout.trim();
  };

  await startPg('primary');
  const pw = spec.password.replace(/'/g, "''");
  // As DigitalOcean: the database belongs to the non-superuser admin; the app user gets the default grants.
  await psql('primary', `CREATE ROLE ${ADMIN_USER} LOGIN PASSWORD '${pw}' NOSUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS`);
  await psql('primary', `CREATE ROLE ${spec.userName} LOGIN PASSWORD '${pw}'`);
  await psql('primary', `CREATE DATABASE ${spec.databaseName} OWNER ${ADMIN_USER}`);
  await psql('primary', 'CREATE ROLE replicator REPLICATION LOGIN');

  // The replica: a base backup of the primary that streams from it (-R writes primary_conninfo).
  await asPostgres(join(PG_BIN, 'pg_basebackup'), ['-h', NET.hostAddress, '-p', String(PORTS.primary), '-U', 'replicator', '-D', replicaDir, '-R', '-X', 'stream', '-c', 'fast'], 120_000);
  await startPg('replica');
  await waitFor('the replica to stream from the primary', async () => {
    const state = await psql('primary', "SELECT state FROM pg_stat_replication WHERE state = 'streaming'");
    return state === 'streaming' ? true : undefined;
  }, 60_000, 500);

  const redisPassword = spec.password;
  const startRedis = async () => {
    const out = openSync(logs.redis, 'a');
    const conf = join(spec.dir, 'redis.conf');
    writeFileSync(conf, [
      `bind ${NET.hostAddress}`, `port ${PORTS.redis}`, `requirepass ${redisPassword}`,
      'save ""', 'appendonly no', 'maxclients 10000', 'maxmemory 512mb', 'maxmemory-policy allkeys-lru', `dir ${spec.dir}`, '',
    ].join('\n'));
    children.redis = spawn('redis-server', [conf], { stdio: ['ignore', out, out], detached: true });
    await waitFor(`Redis on ${NET.hostAddress}:${PORTS.redis}`, async () => {
      if (children.redis!.exitCode !== null) throw new Error(`redis-server exited: see ${logs.redis}`);
      const r = await run('redis-cli', ['-h', NET.hostAddress, '-p', String(PORTS.redis), '--no-auth-warning', '-a', redisPassword, 'ping'], { timeoutMs: 5000, allowFailure: true });
      return r.stdout.trim() === 'PONG' ? true : undefined;
    }, 30_000);
  };
  await startRedis();

  const enc = encodeURIComponent;
  const pgUrl = (port: number, user = spec.userName) => `postgresql://${enc(user)}:${enc(spec.password)}@${NET.hostAddress}:${port}/${spec.databaseName}`;
  const stop = async (k: 'primary' | 'replica' | 'redis') => {
    const c = children[k];
    if (!c) return;
    // SIGINT is PostgreSQL's fast shutdown; Redis takes SIGTERM.
    await stopChild(c, k === 'redis' ? 'SIGTERM' : 'SIGINT', 20_000);
    delete children[k];
  };
  return {
    urls: {
      databaseUrl: pgUrl(PORTS.primary),
      databaseReplicaUrls: pgUrl(PORTS.replica),
      redisUrl: `redis://default:${enc(redisPassword)}@${NET.hostAddress}:${PORTS.redis}/0`,
      databaseAdminUrl: pgUrl(PORTS.primary, ADMIN_USER),
    },
    logs,
    stopReplica: () => stop('replica'),
    startReplica: () => startPg('replica'),
    stopRedis: () => stop('redis'),
    startRedis,
    psql,
    pids: () => Object.values(children).map((c) => c?.pid).filter((p): p is number => p !== undefined),
    stopAll: async () => {
      await stop('redis');
      await stop('replica');
      await stop('primary');
    },
  };
}
