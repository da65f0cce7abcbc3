import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PLAN_CONSTANTS as C, planCapacity, type Plan, type PlanIssue } from '../../config/capacity.js';
import { CONFIG_DIR, ConfigError, loadEnvironment, loadEnvironments } from '../../config/load.js';
import { planReport, planSummaryTable } from '../../config/plan-report.js';
import { environmentSchema, type EnvironmentConfig } from '../../config/schema.js';

/**
 * The data tier, the load balancer and the account's limits, planned from the target. Worked figures at 1x,
 * 3x and 8x production's target (50,000 concurrent requests at 1 s: 50,000 requests/s), and for each rule a
 * config that passes and one that fails, naming the key and the size that would work.
 */

/** Production's shape (config/production.yaml) with the given sections replaced. */
function production(overrides: Record<string, unknown> = {}): EnvironmentConfig {
  return environmentSchema.parse({
    tier: 'production',
    region: 'nyc3',
    vpc: { ipRange: '10.30.0.0/20' },
    domain: 'shop.example.net',
    fleet: { sizeSlug: 'c-8', maxDroplets: 10, sshKeyFingerprints: ['1234'] },
    postgres: { sizeSlug: 'db-s-4vcpu-8gb', standbyNodes: 1, readReplicas: [{ sizeSlug: 'db-s-4vcpu-8gb' }, { sizeSlug: 'db-s-4vcpu-8gb' }] },
    cache: { sizeSlug: 'db-s-2vcpu-4gb' },
    capacity: { targetConcurrentRequests: 50_000, typicalRequestSeconds: 1, p95RequestSeconds: 4 },
    account: { dropletLimit: 20 },
    ...overrides,
  });
}

function planOf(config: EnvironmentConfig): Plan {
  const result = planCapacity('test', config);
  if (!result.ok) throw new Error(result.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
  return result.plan;
}

function issuesOf(config: EnvironmentConfig): readonly PlanIssue[] {
  const result = planCapacity('test', config);
  if (result.ok) throw new Error('expected the plan to refuse this config');
  return result.issues;
}

const paths = (issues: readonly PlanIssue[]) => issues.map((i) => i.path.join('.'));
const at = (issues: readonly PlanIssue[], path: string) => issues.filter((i) => i.path.join('.') === path).map((i) => i.message);

/** 3x: 150,000 concurrent requests; the fleet, the primary, the replicas and the cache sized for it. */
const threeX = () => production({
  fleet: { sizeSlug: 'c-8', maxDroplets: 30, sshKeyFingerprints: ['1234'] },
  postgres: { sizeSlug: 'db-s-8vcpu-32gb', standbyNodes: 1, readReplicas: [{ sizeSlug: 'db-s-8vcpu-32gb' }, { sizeSlug: 'db-s-8vcpu-32gb' }] },
  cache: { sizeSlug: 'db-s-4vcpu-8gb' },
  capacity: { targetConcurrentRequests: 150_000, typicalRequestSeconds: 1, p95RequestSeconds: 4 },
  account: { dropletLimit: 40 },
});

/**
 * 8x: 400,000 concurrent requests. With the default profile no single PostgreSQL primary carries 80,000
 * writes/s; this config states a read-heavier profile (90% reads) and a cache node measured faster than the
 * local estimate (a managed node with I/O threads), as a user would after measuring theirs.
 */
const eightX = () => production({
  fleet: { sizeSlug: 'c-8', maxDroplets: 40, sshKeyFingerprints: ['1234'] },
  postgres: { sizeSlug: 'db-s-16vcpu-64gb', standbyNodes: 1, readReplicas: [{ sizeSlug: 'db-s-16vcpu-64gb' }, { sizeSlug: 'db-s-16vcpu-64gb' }] },
  cache: { sizeSlug: 'db-s-6vcpu-16gb' },
  capacity: { targetConcurrentRequests: 400_000, typicalRequestSeconds: 1, p95RequestSeconds: 4, readShare: 0.9, cacheOpsPerSecondPerVcpu: 220_000 },
  account: { dropletLimit: 60 },
});

describe('GIVEN production\'s target at 1x, 3x and 8x WHEN planned THEN the data tier, LB and limits grow with it', () => {
  it('1x (the shipped production): 50,000 requests/s on today\'s sizes', () => {
    const p = planOf(production());
    expect(p.requestsPerSecond).toBe(50_000);
    // 1 query per request, 80% reads, 80% of reads from the cache.
    expect(p.database.load).toEqual({ queriesPerSecond: 50_000, readsPerSecond: 40_000, databaseReadsPerSecond: 8_000, writesPerSecond: 10_000 });
    // 10,000 writes/s over 4 vCPU x 7,000: 36% CPU.
    expect(p.database.primary).toEqual({ sizeSlug: 'db-s-4vcpu-8gb', vcpus: 4, queriesPerSecond: 10_000, cpuShare: 10_000 / (4 * 7_000) });
    // 8,000 reads/s over 2 replicas plus 25%: 5,000 each, 10% of 4 x 12,000; one replica would do.
    expect(p.database.replicas).toEqual({ count: 2, readsPerSecondEach: 5_000, cpuShare: 5_000 / (4 * 12_000), needed: 1 });
    // PgBouncer: 10,000 x 6 ms x 1.25 = 75 busy of 192; 10 droplets x 16 workers x 15 = 2,400 clients.
    expect(p.database).toMatchObject({ pgbouncerPoolBusy: 75, pgbouncerPoolSize: 192, primaryConnectionLimit: 197, processes: 160, pgbouncerClientConnections: 2_400, replicaPerProcess: 2, replicaConnectionsUsed: 160 });
    expect(p.database.reconnect).toEqual({ windowSeconds: 1, primaryPerSecond: 192, replicaPerSecondEach: 80, replicaCapacityPerSecond: 420 });
    // Valkey: 40,000 GETs + 8,000 SETs of 2 x 100,000 x 70% = 140,000; 8,000 misses/s x 300 s x 512 B = 1,172 MiB of 2,560.
    expect(p.cache).toEqual({
      sizeSlug: 'db-s-2vcpu-4gb', opsPerSecond: 48_000, opsCapacity: 140_000, workingSetKeys: 2_400_000, workingSetMib: 1_172, availableMib: 2_560,
      connections: 1_600, connectionLimit: 10_000, reconnectPerSecond: 1_600,
    });
    // LB: 50,000 requests/s / 20 per TLS connection = 2,500 handshakes/s: 13 nodes, more than the 7 for connections.
    expect(p.loadBalancer).toEqual({ sizeUnit: 13, byConnections: 7, byRequests: 7, byTlsHandshakes: 13, tlsHandshakesPerSecond: 2_500 });
    expect(p.limits).toMatchObject({ peakDroplets: 11, dropletLimit: 20, dropletLimitPinned: true, notes: [] });
  });

  it('3x: the same sizes are refused, each at its key with the size that would work', () => {
    const issues = issuesOf(production({ fleet: { sizeSlug: 'c-8', maxDroplets: 30, sshKeyFingerprints: ['1234'] }, capacity: { targetConcurrentRequests: 150_000, typicalRequestSeconds: 1, p95RequestSeconds: 4 } }));
    expect(paths(issues)).toEqual(['postgres.sizeSlug', 'postgres.readReplicas', 'cache.sizeSlug', 'cache.sizeSlug', 'account.dropletLimit']);
    // 30,000 writes/s: 107% of a 4-vCPU primary; 8 vCPU (54%) is the first size under 70% (6 vCPU: 71%).
    expect(at(issues, 'postgres.sizeSlug')[0]).toMatch(/^db-s-4vcpu-8gb would run at 107% CPU for 30,000 writes\/s .* Pick db-s-8vcpu-32gb \(replicas must be at least the primary's size\)/);
    // 30 droplets x 16 workers over 2 replicas: 240 processes each, a 4-vCPU replica allows 192.
    expect(at(issues, 'postgres.readReplicas')[0]).toMatch(/^240 app processes per replica .* allows 192 \(short by 48\)\. Add replicas \(3 of db-s-4vcpu-8gb\), or pick db-s-6vcpu-16gb for the replicas \(397 connections\)/);
    expect(at(issues, 'cache.sizeSlug')).toEqual([
      expect.stringMatching(/^db-s-2vcpu-4gb serves about 140,000 operations\/s at 70% CPU; 120,000 reads\/s need 144,000 .* Pick db-s-4vcpu-8gb/),
      expect.stringMatching(/^7,200,000 live entries \(24,000 misses\/s x cache.ttlSeconds 300\) .* need 3,516 MiB; db-s-2vcpu-4gb gives data 2,560 MiB.* Pick db-s-4vcpu-8gb \(5,324 MiB\)/),
    ]);
    expect(at(issues, 'account.dropletLimit')[0]).toMatch(/^this environment may run 33 droplets at once \(fleet.maxDroplets 30 plus a replacement batch of 3\); the account allows 20/);
  });

  it('3x on the sizes the issues named: every figure three times 1x\'s, or the step the sizes make', () => {
    const p = planOf(threeX());
    expect(p.fleet).toMatchObject({ kind: 'droplets', count: 13, needed: 13, maxDroplets: 30 });
    expect(p.database.load).toEqual({ queriesPerSecond: 150_000, readsPerSecond: 120_000, databaseReadsPerSecond: 24_000, writesPerSecond: 30_000 });
    expect(p.database.primary.cpuShare).toBeCloseTo(30_000 / (8 * 7_000), 6);
    expect(p.database.replicas).toMatchObject({ count: 2, readsPerSecondEach: 15_000, needed: 1 });
    // 797 connections on 32 GiB; 30 droplets x 16 workers = 480 processes, 240 per replica, 3 connections each.
    expect(p.database).toMatchObject({ pgbouncerPoolBusy: 225, pgbouncerPoolSize: 792, primaryConnectionLimit: 797, processes: 480, pgbouncerClientConnections: 7_200, replicaPerProcess: 3, replicaConnectionsUsed: 720 });
    expect(p.database.reconnect).toMatchObject({ replicaPerSecondEach: 240, replicaCapacityPerSecond: 840 });
    expect(p.cache).toMatchObject({ opsPerSecond: 144_000, opsCapacity: 210_000, workingSetKeys: 7_200_000, workingSetMib: 3_516, availableMib: 5_324, connections: 4_800 });
    expect(p.loadBalancer).toEqual({ sizeUnit: 38, byConnections: 19, byRequests: 19, byTlsHandshakes: 38, tlsHandshakesPerSecond: 7_500 });
    expect(p.limits.peakDroplets).toBe(33);
  });

  it('8x with the default profile: no single primary carries 80,000 writes/s, and the plan says so', () => {
    const cfg = eightX();
    const issues = issuesOf({ ...cfg, capacity: { ...cfg.capacity, readShare: 0.8 } });
    expect(at(issues, 'postgres.sizeSlug')[0]).toMatch(/^db-s-16vcpu-64gb would run at 71% CPU for 80,000 writes\/s .* No DigitalOcean PostgreSQL size carries it\. Split the writes over several databases/);
  });

  it('8x with a measured, read-heavier profile: 400,000 requests/s planned', () => {
    const p = planOf(eightX());
    expect(p.fleet).toMatchObject({ count: 31, maxDroplets: 40 });
    expect(p.database.load).toEqual({ queriesPerSecond: 400_000, readsPerSecond: 360_000, databaseReadsPerSecond: 72_000, writesPerSecond: 40_000 });
    expect(p.database.primary.cpuShare).toBeCloseTo(40_000 / (16 * 7_000), 6);
    expect(p.database.replicas).toMatchObject({ readsPerSecondEach: 45_000, needed: 1 });
    expect(p.database).toMatchObject({ pgbouncerPoolBusy: 300, primaryConnectionLimit: 1_597, processes: 640, pgbouncerClientConnections: 9_600, replicaPerProcess: 4, replicaConnectionsUsed: 1_280 });
    expect(p.cache).toMatchObject({ opsPerSecond: 432_000, opsCapacity: 462_000, workingSetMib: 10_547, availableMib: 11_776, connections: 6_400 });
    expect(p.loadBalancer).toEqual({ sizeUnit: 100, byConnections: 50, byRequests: 50, byTlsHandshakes: 100, tlsHandshakesPerSecond: 20_000 });
    expect(p.limits.peakDroplets).toBe(47);
  });

  it('the report of each shows the data tier, the LB\'s TLS rate and the account limits', () => {
    for (const cfg of [production(), threeX(), eightX()]) {
      const report = planReport(planOf(cfg));
      for (const row of ['| database queries', '| postgres primary load', '| postgres replicas load', '| PgBouncer pool', '| reconnect after a failover', '| valkey load', '| valkey memory', '| valkey connections', '## DigitalOcean limits', '| droplets in the account', '| droplets per create request', '| Valkey client connections']) {
        expect(report).toContain(row);
      }
      expect(report).toMatch(/\| load balancer +\| \d+ nodes; [\d,]+ new TLS connections\/s/);
    }
  });
});

describe('each rule: a config that passes and one that fails', () => {
  it('the primary\'s CPU: a 4-vCPU primary carries 1x, not 3x (postgres.sizeSlug)', () => {
    expect(planOf(production()).database.primary.cpuShare).toBeLessThan(C.targetCpuUtilization);
    expect(paths(issuesOf(production({ capacity: { targetConcurrentRequests: 50_000, typicalRequestSeconds: 1, queriesPerRequest: 3 } })))).toContain('postgres.sizeSlug');
  });

  it('without replicas the primary also takes the reads, and the message says to add replicas', () => {
    const noReplicas = { sizeSlug: 'db-s-2vcpu-4gb', standbyNodes: 1, readReplicas: [] };
    expect(planOf(production({ postgres: noReplicas, capacity: { targetConcurrentRequests: 10_000, typicalRequestSeconds: 1 } })).database.primary.queriesPerSecond).toBe(2_000 + 1_600);
    const [message] = at(issuesOf(production({ postgres: noReplicas })), 'postgres.sizeSlug');
    expect(message).toMatch(/^db-s-2vcpu-4gb would run at 105% CPU for 10,000 writes\/s and 8,000 reads\/s \(no replicas\).* Pick db-s-4vcpu-8gb .*, add read replicas/);
  });

  it('the replicas\' CPU: reads that miss the cache, per replica (postgres.readReplicas)', () => {
    const oneReplica = { sizeSlug: 'db-s-4vcpu-8gb', standbyNodes: 1, readReplicas: [{ sizeSlug: 'db-s-4vcpu-8gb' }] };
    const uncached = { targetConcurrentRequests: 50_000, typicalRequestSeconds: 1, readShare: 0.95, cacheHitRatio: 0 };
    const bigCache = { sizeSlug: 'db-s-16vcpu-64gb' };
    // 47,500 reads/s x 1.25 on one 4-vCPU replica: 124% CPU; two of them or one of 8 vCPU carry it.
    const [message] = at(issuesOf(production({ postgres: oneReplica, cache: bigCache, capacity: uncached })), 'postgres.readReplicas');
    expect(message).toMatch(/^1 replica of db-s-4vcpu-8gb would run at 124% CPU for 47,500 reads\/s .* Use 2 replicas of db-s-4vcpu-8gb or 1 of db-s-8vcpu-32gb/);
    expect(planOf(production({ cache: bigCache, capacity: uncached })).database.replicas).toMatchObject({ count: 2, readsPerSecondEach: 29_688, needed: 2 });
  });

  it('the replicas\' connections: every process at maxDroplets needs one (postgres.readReplicas)', () => {
    const smallReplicas = (cfg: EnvironmentConfig) => ({ ...cfg, postgres: { ...cfg.postgres, readReplicas: [{ sizeSlug: 'db-s-4vcpu-8gb' }, { sizeSlug: 'db-s-4vcpu-8gb' }] } });
    // 8x: 40 droplets x 16 workers = 640 processes over 2 replicas: 320 each, a 4-vCPU replica allows 192.
    expect(at(issuesOf(smallReplicas(eightX())), 'postgres.readReplicas')).toContainEqual(
      expect.stringMatching(/^320 app processes per replica .* allows 192 \(short by 128\)\. Add replicas \(4 of db-s-4vcpu-8gb\), or pick db-s-6vcpu-16gb for the replicas \(397 connections\)/),
    );
    expect(planOf(eightX()).database.replicaPerProcess).toBe(4);
  });

  it('a process holds at most 15 replica connections (its primary pool plus overflow), however large the replica', () => {
    // 160 processes over 2 replicas of 64 GiB: 80 each, 1,592 connections would give 19 apiece.
    const big = { sizeSlug: 'db-s-4vcpu-8gb', standbyNodes: 1, readReplicas: [{ sizeSlug: 'db-s-16vcpu-64gb' }, { sizeSlug: 'db-s-16vcpu-64gb' }] };
    expect(planOf(production({ postgres: big })).database).toMatchObject({ replicaPerProcess: 15, replicaConnectionsUsed: 80 * 15 });
    expect(planOf(production({ postgres: big })).tuning.database).toMatchObject({ replicaPoolSize: 5, replicaMaxOverflow: 10 });
  });

  it('the PgBouncer pool: server connections the primary\'s queries keep busy (postgres.pool.size)', () => {
    const pool = (size: number) => ({ sizeSlug: 'db-s-4vcpu-8gb', standbyNodes: 1, readReplicas: [{ sizeSlug: 'db-s-4vcpu-8gb' }], pool: { size } });
    expect(planOf(production({ postgres: pool(100) })).database.pgbouncerPoolBusy).toBe(75);
    expect(at(issuesOf(production({ postgres: pool(50) })), 'postgres.pool.size')).toEqual([
      '10,000 primary queries/s at 6 ms each keep 75 server connections busy (with 25% headroom); the PgBouncer pool has 50. Raise pool.size or omit it',
    ]);
  });

  it('the cache\'s operations/s (cache.sizeSlug)', () => {
    // 95% reads, half from the cache: 47,500 GETs + 23,750 SETs = 71,250/s; one vCPU serves 70,000 at 70%, two 140,000.
    const readHeavy = { targetConcurrentRequests: 50_000, typicalRequestSeconds: 1, readShare: 0.95, cacheHitRatio: 0.5 };
    expect(planOf(production({ cache: { sizeSlug: 'db-s-2vcpu-4gb', ttlSeconds: 60 }, capacity: readHeavy })).cache).toMatchObject({ opsPerSecond: 71_250, opsCapacity: 140_000 });
    expect(at(issuesOf(production({ cache: { sizeSlug: 'db-s-1vcpu-2gb', ttlSeconds: 60 }, capacity: readHeavy })), 'cache.sizeSlug')).toEqual([
      'db-s-1vcpu-2gb serves about 70,000 operations/s at 70% CPU; 47,500 reads/s need 71,250 (a GET each, a SET per miss at capacity.cacheHitRatio 0.5). Pick db-s-2vcpu-4gb, or lower the target',
    ]);
  });

  it('the cache\'s memory for the working set, by cache.ttlSeconds (cache.sizeSlug)', () => {
    const ttl = (ttlSeconds: number) => ({ sizeSlug: 'db-s-2vcpu-4gb', ttlSeconds });
    expect(planOf(production({ cache: ttl(300) })).cache.workingSetMib).toBe(1_172);
    // An hour's TTL: 8,000 misses/s x 3,600 s x 512 B = 14,063 MiB; the 32 GiB node gives 21.7 GiB.
    expect(at(issuesOf(production({ cache: ttl(3600) })), 'cache.sizeSlug')).toEqual([
      expect.stringMatching(/^28,800,000 live entries .* need 14,063 MiB; db-s-2vcpu-4gb gives data 2,560 MiB.* Pick db-s-8vcpu-32gb \(22,220 MiB\), lower cache.ttlSeconds, or lower the target$/),
    ]);
  });

  it('the cache\'s connections at maxDroplets, whatever its size (fleet.maxDroplets)', () => {
    const fleet = (maxDroplets: number) => ({ sizeSlug: 'c-2', maxDroplets, sshKeyFingerprints: ['1234'] });
    const small = { targetConcurrentRequests: 10_000, typicalRequestSeconds: 1 };
    const postgres = { sizeSlug: 'db-s-4vcpu-8gb', standbyNodes: 1, readReplicas: [] };
    expect(planOf(production({ fleet: fleet(200), postgres, capacity: small, account: { dropletLimit: 300 } })).cache.connections).toBe(8_000);
    expect(at(issuesOf(production({ fleet: fleet(300), postgres, capacity: small, account: { dropletLimit: 400 } })), 'fleet.maxDroplets')).toEqual([
      '1,200 app processes at fleet.maxDroplets hold up to 12,000 cache connections (10 each); a Valkey node accepts 10,000 (maxclients), whatever its size. Lower fleet.maxDroplets, use larger droplets (fewer processes per request), or split the cache over several clusters',
    ]);
  });

  it('the LB\'s new TLS connections/s: HTTP only needs 7 nodes, TLS 13 (loadBalancer.sizeUnit)', () => {
    expect(planOf(production({ domain: undefined, loadBalancer: { sizeUnit: 7 } })).loadBalancer).toMatchObject({ sizeUnit: 7, tlsHandshakesPerSecond: 0 });
    expect(at(issuesOf(production({ loadBalancer: { sizeUnit: 7 } })), 'loadBalancer.sizeUnit')).toEqual([
      '7 nodes carry 70,000 connections, 70,000 requests/s and 1,750 new TLS connections/s; 2,500 new TLS connections/s (capacity.requestsPerTlsConnection 20; 250 per node) need 13 (with 25% headroom). Raise sizeUnit or omit it to use the plan\'s',
    ]);
    // Clients that keep their connections longer need fewer nodes.
    expect(planOf(production({ capacity: { targetConcurrentRequests: 50_000, typicalRequestSeconds: 1, requestsPerTlsConnection: 100 } })).loadBalancer.sizeUnit).toBe(7);
  });

  it('an autoscale minimum below what the target needs is allowed, never silent (fleet.autoscale.minInstances)', () => {
    const pool = (minInstances: number) => ({ sizeSlug: 'c-8', sshKeyFingerprints: ['1234'], maxDroplets: 10, autoscale: { minInstances, maxInstances: 8 } });
    const health = { healthCheck: { checkIntervalSeconds: 5, unhealthyThreshold: 2, responseTimeoutSeconds: 3 } };
    expect(planOf(production({ fleet: pool(5), loadBalancer: health }))).toMatchObject({ fleet: { kind: 'autoscale', minInstances: 5, needed: 5 }, notes: [] });
    const low = planOf(production({ fleet: pool(2), loadBalancer: health }));
    expect(low.notes).toEqual([
      'The autoscale minimum, 2 droplets of c-8, holds 13,440 concurrent requests; capacity.targetConcurrentRequests 50,000 needs 5 (including 1 spare). The pool adds droplets only after 5 minutes of high CPU, plus their boot: if the target can arrive faster, raise fleet.autoscale.minInstances to 5 or omit it.',
    ]);
    expect(planReport(low)).toContain(`- ${low.notes[0]}`);
  });

  it('the account\'s droplet limit, when stated (account.dropletLimit); a note when not', () => {
    expect(planOf(production({ account: { dropletLimit: 11 } })).limits.peakDroplets).toBe(11);
    expect(at(issuesOf(production({ account: { dropletLimit: 10 } })), 'account.dropletLimit')).toEqual([
      'this environment may run 11 droplets at once (fleet.maxDroplets 10 plus a replacement batch of 1); the account allows 10, shared with its other environments. Raise account.dropletLimit once DigitalOcean grants more (ask in Settings > Resource Limits, or support), or lower fleet.maxDroplets',
    ]);
    const unstated = planOf(production({ account: {} }));
    expect(unstated.limits).toMatchObject({ dropletLimit: C.newAccountDropletLimit, dropletLimitPinned: false });
    expect(unstated.limits.notes).toEqual([expect.stringMatching(/^This environment may run 11 droplets at once .* a new DigitalOcean account allows 5\. Check yours/)]);
    expect(planReport(unstated)).toContain('**Check before the first apply:**');
  });

  it('an autoscale pool needs room for a whole second set while its template changes', () => {
    const pool = { sizeSlug: 'c-8', sshKeyFingerprints: ['1234'], maxDroplets: 10, autoscale: { minInstances: 5, maxInstances: 8 } };
    const health = { healthCheck: { checkIntervalSeconds: 5, unhealthyThreshold: 2, responseTimeoutSeconds: 3 } };
    expect(planOf(production({ fleet: pool, loadBalancer: health, account: { dropletLimit: 16 } })).limits.peakDroplets).toBe(16);
    expect(paths(issuesOf(production({ fleet: pool, loadBalancer: health, account: { dropletLimit: 15 } })))).toEqual(['account.dropletLimit']);
  });
});

describe('limits the schema and the plan agree on', () => {
  it('fleet.count is capped where autoscale pools and maxDroplets are: 1,000', () => {
    const base = { tier: 'development', region: 'nyc3', vpc: { ipRange: '10.10.0.0/20' }, postgres: { sizeSlug: 'db-s-1vcpu-1gb' }, cache: { sizeSlug: 'db-s-1vcpu-1gb' }, capacity: { targetConcurrentRequests: 10 } };
    const withCount = (count: number) => environmentSchema.safeParse({ ...base, fleet: { sizeSlug: 'c-2', count, sshKeyFingerprints: ['1234'] } }).success;
    expect(withCount(1000)).toBe(true);
    expect(withCount(1001)).toBe(false);
    expect(C.autoscaleMaxInstances).toBe(1000);
  });

  it('a rollout batch never exceeds the 10 droplets one create request may hold', () => {
    const p = planOf(production({ fleet: { sizeSlug: 'c-2', count: 200, maxDroplets: 200, sshKeyFingerprints: ['1234'] }, postgres: { sizeSlug: 'db-s-16vcpu-64gb', standbyNodes: 1, readReplicas: [] }, account: { dropletLimit: 300 } }));
    expect(p.rollout.batchSize).toBe(C.dropletsPerCreateRequest);
    expect(p.limits.rows.find((r) => r.limit.startsWith('droplets per create request'))).toMatchObject({ used: 10, max: 10 });
  });
});

describe('the cost of an autoscale pool is a range', () => {
  it('from its minimum to its maximum droplets, in plan.md and the summary', () => {
    const fleet = { sizeSlug: 'c-8', sshKeyFingerprints: ['1234'], maxDroplets: 10, autoscale: { minInstances: 5, maxInstances: 8 } };
    const p = planOf(production({ fleet, loadBalancer: { healthCheck: { checkIntervalSeconds: 5, unhealthyThreshold: 2, responseTimeoutSeconds: 3 } } }));
    expect(p.cost.range).toEqual({ minMonthlyUsd: p.cost.monthlyUsd, maxMonthlyUsd: p.cost.monthlyUsd + 3 * 168 });
    expect(planReport(p)).toMatch(/\| \*\*autoscale range\*\* \(5-8 droplets\) +\| +\| +\| \*\*\$1,536-\$2,040\*\* \|/);
    expect(planSummaryTable([p])).toContain(`$${p.cost.monthlyUsd.toLocaleString('en-US')}-$${(p.cost.monthlyUsd + 504).toLocaleString('en-US')}`);
  });

  it('a fixed fleet\'s range is its one figure', () => {
    const p = loadEnvironment('production').plan;
    expect(p.cost.range).toEqual({ minMonthlyUsd: p.cost.monthlyUsd, maxMonthlyUsd: p.cost.monthlyUsd });
  });
});

describe('the account\'s droplet limit covers every environment of config/ at once', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'account-limit-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  /** The shipped environments in a directory of their own, production's account.dropletLimit replaced. */
  function shipped(dropletLimit: number): string {
    const dir = mkdtempSync(path.join(root, 'env-'));
    for (const name of ['dev', 'staging', 'production']) {
      const text = readFileSync(path.join(CONFIG_DIR, `${name}.yaml`), 'utf8');
      writeFileSync(path.join(dir, `${name}.yaml`), name === 'production' ? text.replace(/dropletLimit: \d+/, `dropletLimit: ${dropletLimit}`) : text);
    }
    return dir;
  }

  it('GIVEN the shipped three (3 + 5 + 11 = 19 droplets at most) WHEN the account allows 20 THEN they load', () => {
    const envs = loadEnvironments(['dev', 'staging', 'production'], shipped(20));
    expect(envs.map((e) => e.plan.limits.peakDroplets)).toEqual([3, 5, 11]);
  });

  it('fails when the account allows 15: production alone fits, the three together do not', () => {
    const dir = shipped(15);
    expect(planCapacity('production', loadEnvironment('production', dir).config).ok).toBe(true);
    let problems: readonly string[] = [];
    try {
      loadEnvironments(['dev', 'staging', 'production'], dir);
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems = error.problems.map((p) => `${p.key}: ${p.message}`);
    }
    expect(problems).toEqual([
      'account.dropletLimit: the environments of one account may run 19 droplets at once (dev 3, staging 5, production 11; largest fleets plus replacement batches); the account allows 15. Raise account.dropletLimit once DigitalOcean grants more, or lower fleet.maxDroplets somewhere',
    ]);
  });
});
