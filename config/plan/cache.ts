/**
 * Managed Valkey (cache-aside): operations/s, memory for the working set, client connections at the fleet's
 * largest size, and the rate of new connections when the fleet reopens its pools.
 *
 * Memory a node gives data: DigitalOcean reserves part of each node for forks and replication; the plan uses
 * its "Available Memory (Adjusted)" table (DigitalOcean docs, "Memory Usage for Valkey Database Clusters",
 * docs.digitalocean.com/products/databases/valkey/details/memory-usage). Connections: DigitalOcean's Valkey
 * pages we found document no connection limit, so the plan uses Valkey's own default `maxclients` 10000
 * ("Valkey client handling", valkey.io/topics/clients). Operations/s: measured here per core (a local
 * estimate, bench/results/pgbench.md); Valkey 8's I/O threads let a node use up to about three cores' worth
 * ("up to 1.2 million QPS ... compared to the previous limit of 380K", valkey.io, "Valkey 8.0: Delivering
 * Enhanced Performance and Reliability").
 */
import { DATABASE_SIZES, type DatabaseSize } from '../catalog.js';
import type { EnvironmentConfig } from '../schema.js';
import { fmt, percent, reconnectWindowSeconds, SHARED_CONSTANTS, type PlanIssue } from './shared.js';

export const CACHE_CONSTANTS = {
  /** Valkey's default maxclients. */
  cacheMaxClients: 10_000,
  /** Cores' worth of commands one node serves at most: the command thread plus I/O threads (380K -> 1.2M QPS). */
  cacheMaxEffectiveVcpus: 3,
} as const;

const C = { ...SHARED_CONSTANTS, ...CACHE_CONSTANTS };

/** Memory DigitalOcean leaves for data on a Valkey node, GiB, by the node's RAM (the docs' table). */
const AVAILABLE_GIB_BY_PLAN_GIB: Readonly<Record<number, number>> = { 1: 0.5, 2: 1.2, 4: 2.5, 8: 5.2, 16: 11.5, 32: 21.7, 64: 43.7 };

/** Memory a Valkey node gives data, MiB. */
export function cacheAvailableMib(size: DatabaseSize): number {
  const gib = size.memoryMib / 1024;
  // A size missing from the table: DigitalOcean's default 70% of RAM for data.
  return Math.floor((AVAILABLE_GIB_BY_PLAN_GIB[gib] ?? gib * 0.7) * 1024);
}

/** Operations/s a Valkey node serves at the planned CPU share. */
export function cacheOpsCapacity(size: DatabaseSize, opsPerSecondPerVcpu: number): number {
  // Rounded: 3 x 220,000 x 0.7 is 461,999.99... in floating point.
  return Math.round(Math.min(size.vcpus, C.cacheMaxEffectiveVcpus) * opsPerSecondPerVcpu * C.targetCpuUtilization);
}

export interface CachePlan {
  readonly sizeSlug: string;
  /** GETs (one per read) plus SETs (one per miss) at the target. */
  readonly opsPerSecond: number;
  readonly opsCapacity: number;
  /** Keys alive at once, at most: every miss writes one that lives cache.ttlSeconds. */
  readonly workingSetKeys: number;
  readonly workingSetMib: number;
  readonly availableMib: number;
  /** Client connections of the fleet at maxDroplets, and the limit. */
  readonly connections: number;
  readonly connectionLimit: number;
  /** New connections/s when the fleet reopens its cache pools after a failover or restart. */
  readonly reconnectPerSecond: number;
}

const SIZES = Object.entries(DATABASE_SIZES).sort(([, a], [, b]) => a.vcpus - b.vcpus || a.memoryMib - b.memoryMib);

/**
 * @param connectionsPerProcess the cap of one app process's cache pool (the droplet's tuning sets it:
 *   redis-py's default pool is unbounded)
 */
export function planCache(config: EnvironmentConfig, readsPerSecond: number, processes: number, connectionsPerProcess: number, issues: PlanIssue[]): CachePlan {
  const { capacity, cache } = config;
  const size = DATABASE_SIZES[cache.sizeSlug]!;
  // Cache-aside: every read asks the cache; each miss reads the database and writes the entry back.
  const missesPerSecond = readsPerSecond * (1 - capacity.cacheHitRatio);
  const opsPerSecond = Math.ceil(readsPerSecond + missesPerSecond);
  const opsCapacity = cacheOpsCapacity(size, capacity.cacheOpsPerSecondPerVcpu);
  if (opsPerSecond > opsCapacity) {
    const fits = SIZES.find(([, s]) => cacheOpsCapacity(s, capacity.cacheOpsPerSecondPerVcpu) >= opsPerSecond);
    issues.push({
      path: ['cache', 'sizeSlug'],
      message: `${cache.sizeSlug} serves about ${fmt(opsCapacity)} operations/s at ${percent(C.targetCpuUtilization)} CPU; ${fmt(readsPerSecond)} reads/s need ${fmt(opsPerSecond)} (a GET each, a SET per miss at capacity.cacheHitRatio ${capacity.cacheHitRatio}). ${fits ? `Pick ${fits[0]}` : `No single Valkey node serves that many (at most ${C.cacheMaxEffectiveVcpus} cores' worth). Split the cache over several clusters by key, or measure a node and set capacity.cacheOpsPerSecondPerVcpu`}, or lower the target`,
    });
  }
  // Every miss writes a key that lives ttlSeconds: at most misses/s x TTL keys are alive at once.
  const workingSetKeys = Math.ceil(missesPerSecond * cache.ttlSeconds);
  const workingSetMib = Math.ceil((workingSetKeys * capacity.cacheEntryBytes) / 1024 / 1024);
  const availableMib = cacheAvailableMib(size);
  if (workingSetMib > availableMib) {
    const fits = SIZES.find(([, s]) => cacheAvailableMib(s) >= workingSetMib && cacheOpsCapacity(s, capacity.cacheOpsPerSecondPerVcpu) >= opsPerSecond);
    issues.push({
      path: ['cache', 'sizeSlug'],
      message: `${fmt(workingSetKeys)} live entries (${fmt(Math.ceil(missesPerSecond))} misses/s x cache.ttlSeconds ${cache.ttlSeconds}) of capacity.cacheEntryBytes ${capacity.cacheEntryBytes} need ${fmt(workingSetMib)} MiB; ${cache.sizeSlug} gives data ${fmt(availableMib)} MiB, and evicting the rest breaks the hit ratio the plan assumes. ${fits ? `Pick ${fits[0]} (${fmt(cacheAvailableMib(fits[1]))} MiB)` : 'No single node holds it. Split the cache by key'}, lower cache.ttlSeconds, or lower the target`,
    });
  }
  const connections = processes * connectionsPerProcess;
  if (connections > C.cacheMaxClients) {
    issues.push({
      path: ['fleet', 'maxDroplets'],
      message: `${fmt(processes)} app processes at fleet.maxDroplets hold up to ${fmt(connections)} cache connections (${connectionsPerProcess} each); a Valkey node accepts ${fmt(C.cacheMaxClients)} (maxclients), whatever its size. Lower fleet.maxDroplets, use larger droplets (fewer processes per request), or split the cache over several clusters`,
    });
  }
  const windowSeconds = reconnectWindowSeconds(capacity.typicalRequestSeconds);
  return {
    sizeSlug: cache.sizeSlug,
    opsPerSecond,
    opsCapacity,
    workingSetKeys,
    workingSetMib,
    availableMib,
    connections,
    connectionLimit: C.cacheMaxClients,
    reconnectPerSecond: Math.ceil(connections / windowSeconds),
  };
}
