/**
 * Managed PostgreSQL: the primary's and each replica's load from the request profile, the replica count and
 * size that carry the reads, the PgBouncer pool and the connection totals at the fleet's largest size, and the
 * rate of new connections when the fleet reopens its pools (a failover, a PgBouncer restart).
 *
 * Connection limits: "Clusters provide 25 connections per 1 GB of RAM", 3 of them reserved for maintenance,
 * and each connection uses about 10 MB of RAM (DigitalOcean docs, "How to Manage Connection Pools for
 * PostgreSQL Database Clusters", docs.digitalocean.com/products/databases/postgresql/how-to/manage-connection-pools).
 * That page documents no limit on client connections to a pool; the plan reports their total.
 * Throughput per vCPU: measured here (bench/pgbench.ts, bench/results/pgbench.md), a local estimate.
 */
import { DATABASE_SIZES, type DatabaseSize } from '../catalog.js';
import type { EnvironmentConfig } from '../schema.js';
import { DROPLET_CONSTANTS, replicaPoolSizeFor } from './droplet.js';
import { fmt, percent, reconnectWindowSeconds, SHARED_CONSTANTS, type PlanIssue } from './shared.js';

export const DATABASE_CONSTANTS = {
  pgConnectionsPerGib: 25,
  pgReservedConnections: 3,
  /** Server connections left outside the app's PgBouncer pool: admin, migrations, monitoring. */
  pgAdminConnections: 5,
  /**
   * Replica connections one process holds at most, however many a replica could give it: as many as it may
   * hold to the primary (pool + overflow), since one request reads on one connection at a time.
   */
  maxReplicaConnectionsPerProcess: DROPLET_CONSTANTS.primaryPoolPerProcess + DROPLET_CONSTANTS.primaryOverflowPerProcess,
  /** Read replicas a cluster may have (the schema's cap; DigitalOcean documents none we could find). */
  maxReadReplicas: 10,
  /**
   * Time a transaction holds its server connection, s: the demo app's INSERT took 2.1-5.8 ms in pgbench with
   * the server saturated on one core (bench/results/pgbench.md), the highest rounded up; a round trip inside
   * the VPC adds well under a millisecond.
   */
  transactionSeconds: 0.006,
  /**
   * New connections/s one vCPU accepts (fork, authentication, backend start): 159-188 (median 171) measured with
   * pgbench -C, without TLS (bench/results/pgbench.md), rounded down. A local estimate; TLS makes each one dearer.
   */
  newConnectionsPerSecondPerVcpu: 150,
} as const;

const C = { ...SHARED_CONSTANTS, ...DATABASE_CONSTANTS };
/** Client connections one process may open to the primary's PgBouncer: its SQLAlchemy pool plus overflow. */
const PRIMARY_CLIENTS_PER_PROCESS = DROPLET_CONSTANTS.primaryPoolPerProcess + DROPLET_CONSTANTS.primaryOverflowPerProcess;

export interface DatabasePlan {
  readonly primaryConnectionLimit: number;
  /** Server connections of the app's PgBouncer pool on the primary. */
  readonly pgbouncerPoolSize: number;
  /** Server connections the primary's queries keep busy at the target (Little's law), with headroom. */
  readonly pgbouncerPoolBusy: number;
  /** Client connections the fleet (at maxDroplets) opens to the PgBouncer pool, at most. */
  readonly pgbouncerClientConnections: number;
  readonly replicaConnectionLimit: number;
  /** Direct connections the fleet opens to each replica, at most. */
  readonly replicaConnectionsUsed: number;
  /** App processes at maxDroplets: every total above is planned for them. */
  readonly processes: number;
  /** Each process's share of one replica's connections (0 without replicas). */
  readonly replicaPerProcess: number;
  /** Queries/s at the target: reads before and after the cache, writes. */
  readonly load: { readonly queriesPerSecond: number; readonly readsPerSecond: number; readonly databaseReadsPerSecond: number; readonly writesPerSecond: number };
  /** The primary: what it serves per second and the share of its CPU that takes. */
  readonly primary: { readonly sizeSlug: string; readonly vcpus: number; readonly queriesPerSecond: number; readonly cpuShare: number };
  /** Each replica (reads spread evenly, with headroom for uneven spread). */
  readonly replicas: { readonly count: number; readonly readsPerSecondEach: number; readonly cpuShare: number; readonly needed: number };
  /** New connections/s when the fleet reopens its pools after a failover or restart, and what a node accepts. */
  readonly reconnect: { readonly windowSeconds: number; readonly primaryPerSecond: number; readonly replicaPerSecondEach: number; readonly replicaCapacityPerSecond: number };
}

/** Backend connections of a managed PostgreSQL node: 25 per GiB of RAM, 3 reserved. */
export function postgresConnectionLimit(size: DatabaseSize): number {
  return Math.floor((size.memoryMib / 1024) * C.pgConnectionsPerGib) - C.pgReservedConnections;
}

/** Database sizes from the smallest up: the first that fits is the one to suggest. */
const SIZES = Object.entries(DATABASE_SIZES).sort(([, a], [, b]) => a.vcpus - b.vcpus || a.memoryMib - b.memoryMib);

/** Queries/s at the target from the request profile; reads that hit the cache never reach the database. */
export function databaseLoad(config: EnvironmentConfig, requestsPerSecond: number): DatabasePlan['load'] {
  const { capacity } = config;
  const queriesPerSecond = requestsPerSecond * capacity.queriesPerRequest;
  const readsPerSecond = queriesPerSecond * capacity.readShare;
  return {
    queriesPerSecond: Math.ceil(queriesPerSecond),
    readsPerSecond: Math.ceil(readsPerSecond),
    databaseReadsPerSecond: Math.ceil(readsPerSecond * (1 - capacity.cacheHitRatio)),
    writesPerSecond: Math.ceil(queriesPerSecond - readsPerSecond),
  };
}

export function planDatabase(config: EnvironmentConfig, requestsPerSecond: number, processes: number, issues: PlanIssue[]): DatabasePlan {
  const { capacity, postgres } = config;
  const pgSize = DATABASE_SIZES[postgres.sizeSlug]!;
  const replicas = postgres.readReplicas;
  const load = databaseLoad(config, requestsPerSecond);
  const readCost = (n: number) => n / capacity.readQueriesPerSecondPerVcpu; // vCPU seconds per second
  const writeCost = (n: number) => n / capacity.writeQueriesPerSecondPerVcpu;
  const estimate = 'per-vCPU figures: capacity.readQueriesPerSecondPerVcpu and writeQueriesPerSecondPerVcpu, a local estimate from bench/results/pgbench.md';

  // The primary takes every write, and the reads too when there is no replica.
  const primaryVcpuSeconds = writeCost(load.writesPerSecond) + (replicas.length === 0 ? readCost(load.databaseReadsPerSecond) : 0);
  const primaryCpuShare = primaryVcpuSeconds / pgSize.vcpus;
  if (primaryCpuShare > C.targetCpuUtilization) {
    const fits = SIZES.find(([, s]) => primaryVcpuSeconds / s.vcpus <= C.targetCpuUtilization);
    const what = `${fmt(load.writesPerSecond)} writes/s${replicas.length === 0 ? ` and ${fmt(load.databaseReadsPerSecond)} reads/s (no replicas)` : ''}`;
    issues.push({
      path: ['postgres', 'sizeSlug'],
      message: `${postgres.sizeSlug} would run at ${percent(primaryCpuShare)} CPU for ${what} (${fmt(requestsPerSecond)} requests/s x capacity.queriesPerRequest ${capacity.queriesPerRequest}, readShare ${capacity.readShare}); the plan keeps nodes at ${percent(C.targetCpuUtilization)}. ${fits ? `Pick ${fits[0]} (replicas must be at least the primary's size)` : 'No DigitalOcean PostgreSQL size carries it. Split the writes over several databases'}${replicas.length === 0 ? ', add read replicas' : ''}, or lower the target (${estimate})`,
    });
  }

  // PgBouncer pool: server connections the app may use, and the ones its queries keep busy (Little's law).
  const primaryLimit = postgresConnectionLimit(pgSize);
  const poolMax = primaryLimit - C.pgAdminConnections;
  const poolSize = postgres.pool.size ?? poolMax;
  const primaryQueries = load.writesPerSecond + (replicas.length === 0 ? load.databaseReadsPerSecond : 0);
  const poolBusy = Math.ceil(primaryQueries * C.transactionSeconds * C.unevenShareHeadroom);
  if (poolSize > poolMax) {
    issues.push({
      path: ['postgres', 'pool', 'size'],
      message: `${poolSize} server connections exceed what ${postgres.sizeSlug} allows the app (${primaryLimit} minus ${C.pgAdminConnections} kept for administration = ${poolMax}). Lower pool.size, omit it, or pick a larger postgres.sizeSlug`,
    });
  } else if (poolBusy > poolSize && primaryCpuShare <= C.targetCpuUtilization) {
    // (A primary already too small for the load says so above; its pool would only repeat it.)
    const fits = SIZES.find(([, s]) => postgresConnectionLimit(s) - C.pgAdminConnections >= poolBusy);
    issues.push({
      path: postgres.pool.size !== undefined ? ['postgres', 'pool', 'size'] : ['postgres', 'sizeSlug'],
      message: `${fmt(primaryQueries)} primary queries/s at ${C.transactionSeconds * 1000} ms each keep ${fmt(poolBusy)} server connections busy (with ${percent(C.unevenShareHeadroom - 1)} headroom); the PgBouncer pool has ${poolSize}. ${postgres.pool.size !== undefined && poolBusy <= poolMax ? 'Raise pool.size or omit it' : fits ? `Pick postgres.sizeSlug ${fits[0]} (${postgresConnectionLimit(fits[1])} connections)` : 'No size has that many connections. Split the writes over several databases'}`,
    });
  }
  return planConnections(config, load, processes, primaryLimit, poolSize, poolBusy, primaryCpuShare, issues);
}

function planConnections(
  config: EnvironmentConfig, load: DatabasePlan['load'], processes: number, primaryLimit: number, poolSize: number, poolBusy: number,
  primaryCpuShare: number, issues: PlanIssue[],
): DatabasePlan {
  const { capacity, postgres } = config;
  const pgSize = DATABASE_SIZES[postgres.sizeSlug]!;
  const replicas = postgres.readReplicas;
  const clientConnections = processes * PRIMARY_CLIENTS_PER_PROCESS;
  if (postgres.pool.mode !== 'transaction' && clientConnections > poolSize) {
    issues.push({
      path: ['postgres', 'pool', 'mode'],
      message: `${postgres.pool.mode} pooling gives each of the fleet's ${fmt(processes)} processes its own server connection: ${fmt(clientConnections)} needed, ${poolSize} in the pool (by ${fmt(clientConnections - poolSize)}). Use transaction pooling, fewer workers, or a larger postgres.sizeSlug`,
    });
  }
  const windowSeconds = reconnectWindowSeconds(capacity.typicalRequestSeconds);
  let replicaLimit = 0;
  let replicaPerProcess = 0;
  let readsEach = 0;
  let replicaCpuShare = 0;
  let replicasNeeded = 0;
  let replicaReconnect = 0;
  let replicaReconnectCapacity = 0;
  if (replicas.length > 0) {
    const replicaSizes = replicas.map((r) => DATABASE_SIZES[r.sizeSlug] ?? pgSize);
    const smallest = replicaSizes.reduce((a, b) => (b.vcpus < a.vcpus || (b.vcpus === a.vcpus && b.memoryMib < a.memoryMib) ? b : a));
    const smallestSlug = replicas[replicaSizes.indexOf(smallest)]!.sizeSlug;
    replicaLimit = Math.min(...replicaSizes.map(postgresConnectionLimit));
    // Reads spread over the replicas (each process reads from one, by pid), with headroom for uneven spread.
    readsEach = Math.ceil((load.databaseReadsPerSecond / replicas.length) * C.unevenShareHeadroom);
    const readVcpuSeconds = (n: number) => n / capacity.readQueriesPerSecondPerVcpu;
    replicaCpuShare = readVcpuSeconds(readsEach) / smallest.vcpus;
    const perReplicaCapacity = (s: DatabaseSize) => s.vcpus * capacity.readQueriesPerSecondPerVcpu * C.targetCpuUtilization;
    replicasNeeded = Math.ceil((load.databaseReadsPerSecond * C.unevenShareHeadroom) / perReplicaCapacity(smallest));
    if (replicaCpuShare > C.targetCpuUtilization) {
      const larger = SIZES.find(([, s]) => s.vcpus >= smallest.vcpus && readVcpuSeconds(readsEach) / s.vcpus <= C.targetCpuUtilization);
      const ways = [
        replicasNeeded <= C.maxReadReplicas ? `${replicasNeeded} replicas of ${smallestSlug}` : undefined,
        larger ? `${replicas.length} of ${larger[0]}` : undefined,
      ].filter(Boolean);
      issues.push({
        path: ['postgres', 'readReplicas'],
        message: `${replicas.length} replica${replicas.length === 1 ? '' : 's'} of ${smallestSlug} would run at ${percent(replicaCpuShare)} CPU for ${fmt(load.databaseReadsPerSecond)} reads/s (${fmt(load.readsPerSecond)} reads/s, ${percent(capacity.cacheHitRatio)} served by the cache: capacity.cacheHitRatio); the plan keeps nodes at ${percent(C.targetCpuUtilization)}. ${ways.length ? `Use ${ways.join(' or ')}` : 'No replica set carries it. Raise capacity.cacheHitRatio (cache more reads in the app) or lower the target'} (per-vCPU figure: capacity.readQueriesPerSecondPerVcpu, a local estimate)`,
      });
    }
    // Each process opens its replica engine to one replica; processes spread evenly over the replicas.
    const processesPerReplica = Math.ceil(processes / replicas.length);
    replicaPerProcess = Math.min(C.maxReplicaConnectionsPerProcess, Math.floor((replicaLimit - C.pgAdminConnections) / processesPerReplica));
    if (replicaPerProcess < 1) {
      const fits = SIZES.find(([, s]) => s.vcpus >= smallest.vcpus && postgresConnectionLimit(s) - C.pgAdminConnections >= processesPerReplica);
      const moreReplicas = Math.ceil(processes / (replicaLimit - C.pgAdminConnections));
      issues.push({
        path: ['postgres', 'readReplicas'],
        message: `${fmt(processesPerReplica)} app processes per replica (${fmt(processes)} at the largest fleet, fleet.maxDroplets, over ${replicas.length}) need at least one connection each, a replica of ${smallestSlug} allows ${replicaLimit - C.pgAdminConnections} (short by ${fmt(processesPerReplica - (replicaLimit - C.pgAdminConnections))}). ${[
          moreReplicas <= C.maxReadReplicas ? `Add replicas (${moreReplicas} of ${smallestSlug})` : undefined,
          fits ? `pick ${fits[0]} for the replicas (${postgresConnectionLimit(fits[1])} connections)` : undefined,
        ].filter(Boolean).join(', or ') || 'Add replicas, pick a larger replica size'}, or use fewer or smaller droplets`,
      });
      replicaPerProcess = 1;
    }
    // A failover or restart drops every connection; each process reopens its open pool on its next requests.
    const replicaPoolSize = replicaPoolSizeFor(replicaPerProcess);
    replicaReconnect = Math.ceil((processesPerReplica * replicaPoolSize) / windowSeconds);
    replicaReconnectCapacity = Math.floor(smallest.vcpus * C.newConnectionsPerSecondPerVcpu * C.targetCpuUtilization);
    // Reported, not checked: a replica's connection limit (25 per GiB) keeps the reopened connections below
    // what its vCPUs accept in a second for every DigitalOcean size, so this cannot bind before the limit does.
  }
  return {
    primaryConnectionLimit: primaryLimit,
    pgbouncerPoolSize: poolSize,
    pgbouncerPoolBusy: poolBusy,
    pgbouncerClientConnections: clientConnections,
    replicaConnectionLimit: replicaLimit,
    replicaConnectionsUsed: replicas.length > 0 ? Math.ceil(processes / replicas.length) * replicaPerProcess : 0,
    processes,
    replicaPerProcess,
    load,
    primary: { sizeSlug: postgres.sizeSlug, vcpus: pgSize.vcpus, queriesPerSecond: load.writesPerSecond + (replicas.length === 0 ? load.databaseReadsPerSecond : 0), cpuShare: primaryCpuShare },
    replicas: { count: replicas.length, readsPerSecondEach: readsEach, cpuShare: replicaCpuShare, needed: replicasNeeded },
    // PgBouncer reopens its server connections (at most the pool) when the primary comes back.
    reconnect: { windowSeconds, primaryPerSecond: Math.ceil(poolSize / windowSeconds), replicaPerSecondEach: replicaReconnect, replicaCapacityPerSecond: replicaReconnectCapacity },
  };
}
