import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DATABASE_SIZES, DROPLET_SIZES } from '../../config/catalog.js';
import {
  concurrencyByCpu, concurrencyByMemory, loadBalancerNodes, nextPowerOfTwo, PLAN_CONSTANTS as C, planCapacity, postgresConnectionLimit, type Plan,
} from '../../config/capacity.js';
import { loadEnvironment } from '../../config/load.js';
import { environmentSchema, type EnvironmentConfig } from '../../config/schema.js';

const dropletSize = (slug: string) => DROPLET_SIZES[slug]!;
const dbSize = (slug: string) => DATABASE_SIZES[slug]!;

/** A valid config from the schema's defaults plus the given overrides. */
function config(overrides: Record<string, unknown> = {}): EnvironmentConfig {
  return environmentSchema.parse({
    tier: 'staging',
    region: 'nyc3',
    vpc: { ipRange: '10.20.0.0/20' },
    fleet: { sizeSlug: 'c-8', sshKeyFingerprints: ['1234'] },
    postgres: { sizeSlug: 'db-s-4vcpu-8gb' },
    cache: { sizeSlug: 'db-s-4vcpu-8gb' },
    capacity: { targetConcurrentRequests: 10_000, typicalRequestSeconds: 1 },
    ...overrides,
  });
}

function plan(overrides: Record<string, unknown> = {}): Plan {
  const result = planCapacity('test', config(overrides));
  if (!result.ok) throw new Error(result.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n'));
  return result.plan;
}

describe('formulas', () => {
  it('rounds queue sizes up to a power of two', () => {
    expect([1, 2, 3, 4096, 4097].map(nextPowerOfTwo)).toEqual([1, 2, 4, 4096, 8192]);
  });

  it('gives managed PostgreSQL 25 connections per GiB minus 3 (DigitalOcean, How to Manage Connection Pools)', () => {
    expect(postgresConnectionLimit(dbSize('db-s-1vcpu-1gb'))).toBe(22);
    expect(postgresConnectionLimit(dbSize('db-s-2vcpu-4gb'))).toBe(97);
    expect(postgresConnectionLimit(dbSize('db-s-4vcpu-8gb'))).toBe(197);
  });

  it('holds rate x time requests per droplet at the planned CPU share (Little\'s law)', () => {
    expect(concurrencyByCpu(dropletSize('c-2'), 2500, 1)).toBe(2 * 2500 * C.targetCpuUtilization);
    expect(concurrencyByCpu(dropletSize('c-2'), 2500, 10)).toBe(10 * 2 * 2500 * C.targetCpuUtilization);
  });

  it('counts a shared vCPU as half a dedicated one', () => {
    expect(concurrencyByCpu(dropletSize('s-2vcpu-4gb'), 2500, 1)).toBe(concurrencyByCpu(dropletSize('c-2'), 2500, 1) / 2);
  });

  it('bounds a droplet by its memory once its processes are resident', () => {
    const size = dropletSize('s-1vcpu-1gb');
    const free = size.memoryMib * C.memoryBudgetShare - (C.osReserveMib + 2 * C.gunicornWorkerMib + C.nginxWorkerMib);
    expect(concurrencyByMemory(size)).toBe(Math.floor((free * 1024) / C.requestMemoryKib));
  });

  it('needs one more LB node just past 10,000 connections with headroom', () => {
    expect(loadBalancerNodes(8000, 0).byConnections).toBe(1);
    expect(loadBalancerNodes(8001, 0).byConnections).toBe(2);
    expect(loadBalancerNodes(0, 8001).byRequests).toBe(2);
  });

  it('needs one more LB node just past 250 new TLS connections/s with headroom', () => {
    expect(loadBalancerNodes(0, 0, 200).byTlsHandshakes).toBe(1);
    expect(loadBalancerNodes(0, 0, 201).byTlsHandshakes).toBe(2);
  });
});

describe('GIVEN a target and a droplet size', () => {
  it('WHEN the tier is production THEN the fleet has one spare droplet (N+1)', () => {
    const staging = plan();
    const production = plan({ tier: 'production', domain: 'example.com', postgres: { sizeSlug: 'db-s-4vcpu-8gb', standbyNodes: 1 } });
    // One c-8 holds 13,440 (16,800 at 70% CPU, less 25% headroom): 10,000 fit on one.
    expect(staging.fleet).toMatchObject({ kind: 'droplets', count: 1, spare: 0, needed: 1 });
    expect(production.fleet).toMatchObject({ kind: 'droplets', count: 2, spare: 1, needed: 2 });
  });

  it('WHEN a droplet is tuned THEN it is for its own capacity plus headroom, whatever the target or count', () => {
    // One c-8 holds 13,440 (16,800 at 70% CPU, less 25% headroom); tuned for that plus the headroom again.
    const small = plan({ capacity: { targetConcurrentRequests: 1_000, typicalRequestSeconds: 1 } });
    const large = plan({ capacity: { targetConcurrentRequests: 60_000, typicalRequestSeconds: 1 }, postgres: { sizeSlug: 'db-s-16vcpu-64gb' } });
    expect(small.tuning.concurrentRequests).toBe(Math.ceil(13_440 * C.unevenShareHeadroom));
    expect(large.tuning).toEqual(small.tuning);
  });

  it('WHEN maxDroplets is not set THEN it is twice the count, and an autoscale pool\'s maximum', () => {
    expect(plan().fleet).toMatchObject({ count: 1, maxDroplets: 2, maxDropletsPinned: false });
    expect(plan({ fleet: { sizeSlug: 'c-2', sshKeyFingerprints: ['1234'], autoscale: { maxInstances: 7 } } }).fleet).toMatchObject({ maxDroplets: 7 });
  });

  it('fails when a pinned count passes maxDroplets, naming the count', () => {
    const result = planCapacity('test', config({ fleet: { sizeSlug: 'c-8', sshKeyFingerprints: ['1234'], count: 5, maxDroplets: 4 } }));
    expect(result).toMatchObject({ ok: false, issues: [{ path: ['fleet', 'count'], message: expect.stringMatching(/^5 droplets exceed fleet.maxDroplets 4/) }] });
  });

  it('fails when the target needs more droplets than maxDroplets, naming maxDroplets', () => {
    const result = planCapacity('test', config({ fleet: { sizeSlug: 'c-8', sshKeyFingerprints: ['1234'], maxDroplets: 2 }, capacity: { targetConcurrentRequests: 40_000, typicalRequestSeconds: 1 } }));
    expect(result).toMatchObject({ ok: false, issues: [{ path: ['fleet', 'maxDroplets'], message: expect.stringMatching(/^3 droplets exceed fleet.maxDroplets 2/) }] });
  });

  it('fails when an autoscale maximum passes maxDroplets, naming maxInstances', () => {
    const result = planCapacity('test', config({ fleet: { sizeSlug: 'c-8', sshKeyFingerprints: ['1234'], maxDroplets: 4, autoscale: { maxInstances: 6 } } }));
    expect(result).toMatchObject({ ok: false, issues: [{ path: ['fleet', 'autoscale', 'maxInstances'] }] });
  });

  it('WHEN draining THEN the LB detection comes from the health check and the request drain from the p95', () => {
    const p = plan({
      loadBalancer: { healthCheck: { checkIntervalSeconds: 5, unhealthyThreshold: 2, responseTimeoutSeconds: 3 } },
      capacity: { targetConcurrentRequests: 10_000, typicalRequestSeconds: 1, p95RequestSeconds: 4 },
    });
    expect(p.tuning.drain).toEqual({ lbDetectSeconds: 13, requestSeconds: 8, stopBudgetSeconds: 13 + 8 + C.nginxStopSeconds });
    expect(p.tuning.gunicorn.gracefulTimeoutSeconds).toBe(8);
    expect(p.rollout.deleteTimeoutSeconds).toBe(13 + 8 + C.gunicornTimeoutSeconds + C.nginxStopSeconds + C.shutdownMarginSeconds);
  });

  it('fails when an autoscale pool droplet cannot drain within the 60 s DigitalOcean gives it', () => {
    const result = planCapacity('test', config({
      fleet: { sizeSlug: 'c-8', sshKeyFingerprints: ['1234'], autoscale: {} },
      loadBalancer: { healthCheck: { checkIntervalSeconds: 20, unhealthyThreshold: 3 } },
    }));
    expect(result).toMatchObject({ ok: false, issues: [{ path: ['fleet', 'autoscale'], message: expect.stringMatching(/^a pool droplet's graceful stop takes 80 s .* DigitalOcean destroys a pool droplet 60 s after its shutdown/) }] });
  });

  it('WHEN rolling out THEN batches are a quarter of the fleet, at least 1 and at most 10', () => {
    const batch = (count: number) => plan({ fleet: { sizeSlug: 'c-2', sshKeyFingerprints: ['1234'], count, maxDroplets: 100 } }).rollout.batchSize;
    expect([3, 5, 8, 40, 100].map(batch)).toEqual([1, 1, 2, 10, 10]);
  });

  it('WHEN an autoscale pool is configured THEN it keeps its min and max and each droplet is tuned to its capacity', () => {
    const p = plan({ fleet: { sizeSlug: 'c-8', sshKeyFingerprints: ['1234'], autoscale: { minInstances: 1, maxInstances: 4 } } });
    expect(p.fleet).toMatchObject({ kind: 'autoscale', minInstances: 1, maxInstances: 4 });
  });

  it('WHEN an autoscale pool has no bounds THEN it keeps what the target needs and may grow to twice that', () => {
    const p = plan({ fleet: { sizeSlug: 'c-2', sshKeyFingerprints: ['1234'], autoscale: {} } });
    // One c-2 holds 3,360 (4,200 at 70% CPU, less 25% headroom): 10,000 need 3.
    expect(p.fleet).toMatchObject({ kind: 'autoscale', minInstances: 3, maxInstances: 6 });
  });

  it('fails when the autoscale maximum cannot hold the target', () => {
    const result = planCapacity('test', config({ fleet: { sizeSlug: 'c-2', sshKeyFingerprints: ['1234'], autoscale: { minInstances: 1, maxInstances: 2 } } }));
    expect(result).toMatchObject({ ok: false, issues: [{ path: ['fleet', 'autoscale', 'maxInstances'], message: expect.stringMatching(/^2 droplets of c-2 hold 6,720 concurrent requests; capacity.targetConcurrentRequests 10,000 needs at least 3/) }] });
  });

  it('fails when a pinned LB size unit is too small, saying how many are needed', () => {
    const result = planCapacity('test', config({ loadBalancer: { sizeUnit: 1 } }));
    expect(result).toMatchObject({ ok: false, issues: [{ path: ['loadBalancer', 'sizeUnit'], message: expect.stringContaining('need 2 (with 25% headroom)') }] });
  });

  it('fails when a pinned PgBouncer pool exceeds the cluster\'s connections', () => {
    const result = planCapacity('test', config({ postgres: { sizeSlug: 'db-s-1vcpu-1gb', pool: { size: 50 } } }));
    expect(result).toMatchObject({ ok: false, issues: [{ path: ['postgres', 'pool', 'size'], message: expect.stringContaining('(22 minus 5 kept for administration = 17)') }] });
  });

  it('fails when session pooling needs more server connections than the pool has, by how much', () => {
    const result = planCapacity('test', config({ postgres: { sizeSlug: 'db-s-1vcpu-1gb', pool: { mode: 'session' } }, capacity: { targetConcurrentRequests: 1_000, typicalRequestSeconds: 1 } }));
    expect(result).toMatchObject({ ok: false, issues: [{ path: ['postgres', 'pool', 'mode'], message: 'session pooling gives each of the fleet\'s 32 processes its own server connection: 480 needed, 17 in the pool (by 463). Use transaction pooling, fewer workers, or a larger postgres.sizeSlug' }] });
  });

  it('fails when the replicas cannot give every process a connection', () => {
    const result = planCapacity('test', config({
      capacity: { targetConcurrentRequests: 200_000, typicalRequestSeconds: 1 },
      postgres: { sizeSlug: 'db-s-1vcpu-1gb', readReplicas: [{ sizeSlug: 'db-s-1vcpu-1gb' }] },
    }));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.issues.map((i) => i.path.join('.'))).toContain('postgres.readReplicas');
  });

  it('fails when a droplet\'s memory cannot hold its share', () => {
    const result = planCapacity('test', config({
      fleet: { sizeSlug: 's-1vcpu-1gb', count: 1, sshKeyFingerprints: ['1234'] },
      capacity: { targetConcurrentRequests: 3000, typicalRequestSeconds: 60, requestsPerSecondPerVcpu: 50_000 },
    }));
    expect(result).toMatchObject({ ok: false });
  });

  it('keeps each process under the open-files cap by adding processes', () => {
    const p = plan({ fleet: { sizeSlug: 'g-4vcpu-16gb', count: 1, sshKeyFingerprints: ['1234'] }, capacity: { targetConcurrentRequests: 50_000, typicalRequestSeconds: 10, requestsPerSecondPerVcpu: 4000, maxOpenFilesPerProcess: 20_000 } });
    expect(p.tuning.gunicorn.nofile).toBeLessThanOrEqual(20_000);
    expect(p.tuning.nginx.workerRlimitNofile).toBeLessThanOrEqual(20_000);
    expect(p.tuning.nginx.workerProcesses).toBeGreaterThan(4);
  });
});

/** Every invariant the plan promises, checked on one plan. */
function expectInvariants(p: Plan, cfg: EnvironmentConfig): void {
  const t = p.tuning;
  const active = p.fleet.kind === 'droplets' ? p.fleet.count - p.fleet.spare : Math.ceil(p.targetConcurrentRequests / p.dropletCapacity.concurrentRequests);
  expect(t.concurrentRequests * active).toBeGreaterThanOrEqual(p.targetConcurrentRequests);
  expect(t.gunicorn.workers * t.gunicorn.workerConnections).toBeGreaterThanOrEqual(t.concurrentRequests);
  expect(t.nginx.workerProcesses * t.nginx.workerConnections).toBeGreaterThanOrEqual(2 * t.concurrentRequests);
  expect(t.nginx.workerRlimitNofile).toBeGreaterThanOrEqual(2 * t.nginx.workerConnections);
  expect(t.nginx.nofile).toBeGreaterThanOrEqual(t.nginx.workerRlimitNofile);
  expect(t.gunicorn.nofile).toBeGreaterThan(t.gunicorn.workerConnections);
  for (const nofile of [t.gunicorn.nofile, t.nginx.nofile]) expect(nofile).toBeLessThanOrEqual(cfg.capacity.maxOpenFilesPerProcess);
  const somaxconn = Number(t.sysctl['net.core.somaxconn']);
  expect(somaxconn).toBeGreaterThanOrEqual(t.gunicorn.backlog);
  expect(somaxconn).toBeGreaterThanOrEqual(t.nginx.listenBacklog);
  // fs.file-max and fs.nr_open stay at systemd's boot maxima: the droplet must not lower them.
  expect(t.sysctl['fs.file-max'] ?? t.sysctl['fs.nr_open']).toBeUndefined();
  expect(p.loadBalancer.sizeUnit * C.lbNodeConnections).toBeGreaterThanOrEqual(p.targetConcurrentRequests);
  expect(p.loadBalancer.sizeUnit).toBeLessThanOrEqual(C.lbMaxSizeUnit);
  expect(p.database.pgbouncerPoolSize).toBeLessThanOrEqual(p.database.primaryConnectionLimit - C.pgAdminConnections);
  expect(p.database.replicaConnectionsUsed).toBeLessThanOrEqual(Math.max(0, p.database.replicaConnectionLimit - C.pgAdminConnections));
  expect(t.memory.budgetMib).toBeLessThanOrEqual(t.memory.availableMib);
  expect(t.nginx.keepaliveTimeoutSeconds).toBeGreaterThan(cfg.loadBalancer.httpIdleTimeoutSeconds);
  // Nginx gives up on Gunicorn before the LB drops the idle connection: the two never race.
  expect(t.nginx.proxyReadTimeoutSeconds).toBeLessThan(cfg.loadBalancer.httpIdleTimeoutSeconds);
  expect(t.gunicorn.keepaliveSeconds).toBeGreaterThan(t.nginx.upstreamKeepaliveTimeoutSeconds);
  expect(p.cost.monthlyUsd).toBe(p.cost.lines.reduce((sum, l) => sum + l.monthlyUsd, 0));
  expect(p.cost.range.maxMonthlyUsd).toBeGreaterThanOrEqual(p.cost.range.minMonthlyUsd);
  // The data tier carries the target within the planned CPU share, and every connection total fits its limit.
  expect(p.database.primary.cpuShare).toBeLessThanOrEqual(C.targetCpuUtilization);
  expect(p.database.replicas.cpuShare).toBeLessThanOrEqual(C.targetCpuUtilization);
  expect(p.database.pgbouncerPoolBusy).toBeLessThanOrEqual(p.database.pgbouncerPoolSize);
  expect(p.cache.opsPerSecond).toBeLessThanOrEqual(p.cache.opsCapacity);
  expect(p.cache.workingSetMib).toBeLessThanOrEqual(p.cache.availableMib);
  expect(p.cache.connections).toBeLessThanOrEqual(p.cache.connectionLimit);
  expect(p.loadBalancer.sizeUnit * C.lbNodeTlsHandshakesPerSecond).toBeGreaterThanOrEqual(p.loadBalancer.tlsHandshakesPerSecond);
  if (p.limits.dropletLimitPinned) expect(p.limits.peakDroplets).toBeLessThanOrEqual(p.limits.dropletLimit);
  else expect(p.limits.notes.length > 0).toBe(p.limits.peakDroplets > p.limits.dropletLimit);
}

describe('shipped environments', () => {
  it.each(['dev', 'staging', 'production'])('%s: every invariant holds', (name) => {
    const env = loadEnvironment(name);
    expectInvariants(env.plan, env.config);
  });

  it('production holds 50,000 concurrent requests', () => {
    expect(loadEnvironment('production').plan.targetConcurrentRequests).toBe(50_000);
  });
});

describe('property: random valid targets, sizes and profiles', () => {
  const arbitraryConfig = fc.record({
    target: fc.integer({ min: 1, max: 300_000 }),
    sizeSlug: fc.constantFrom(...Object.keys(DROPLET_SIZES)),
    typical: fc.double({ min: 0.05, max: 20, noNaN: true }),
    maxOpen: fc.integer({ min: 4096, max: 1_048_576 }),
    idle: fc.integer({ min: 30, max: 600 }),
    tier: fc.constantFrom('development', 'staging', 'production'),
  });

  it('every plan that succeeds holds every invariant; every failure names a key and a way out', () => {
    let planned = 0;
    fc.assert(
      fc.property(arbitraryConfig, ({ target, sizeSlug, typical, maxOpen, idle, tier }) => {
        const cfg = config({
          tier,
          domain: 'example.com',
          fleet: { sizeSlug, sshKeyFingerprints: ['1234'] },
          // Long enough for the profile's slow requests (4 x p95 + 5 s) most of the time; the refusal has its own test.
          loadBalancer: { httpIdleTimeoutSeconds: Math.min(600, Math.max(idle, Math.ceil(typical * 16) + 5)) },
          postgres: { sizeSlug: 'db-s-16vcpu-64gb', standbyNodes: 1, readReplicas: [{ sizeSlug: 'db-s-16vcpu-64gb' }, { sizeSlug: 'db-s-16vcpu-64gb' }] },
          cache: { sizeSlug: 'db-s-16vcpu-64gb' },
          capacity: {
            targetConcurrentRequests: target, typicalRequestSeconds: typical, p95RequestSeconds: typical * 4, maxOpenFilesPerProcess: maxOpen,
            cacheOpsPerSecondPerVcpu: 200_000,
          },
        });
        const result = planCapacity('prop', cfg);
        if (result.ok) {
          planned++;
          expectInvariants(result.plan, cfg);
        } else {
          for (const issue of result.issues) {
            expect(issue.path.length).toBeGreaterThan(0);
            expect(issue.message).toMatch(/(Raise|Lower|pick|Pick|Add|Split|Use|omit)/);
          }
        }
      }),
      { numRuns: 500 },
    );
    // Most random inputs must be plannable, or the invariants above were barely exercised.
    expect(planned).toBeGreaterThan(250);
  });
});
