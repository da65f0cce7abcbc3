import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseDocument } from 'yaml';
import { ConfigError, loadEnvironmentFile } from '../../config/load.js';

// A valid production config; each case changes one thing. Line numbers in the expected messages refer
// to this text (line 1 is `tier: production`), so keep its layout when editing it. Its names are not
// placeholders (production refuses example.com and the documentation SSH key): see the placeholder cases.
const BASE = `tier: production
region: nyc3
vpc:
  ipRange: 10.30.0.0/20
domain: shop.acme-widgets.io
fleet:
  sizeSlug: c-8
  count: 6
  sshKeyFingerprints: ["9f:2c:41:d0:7e:55:a3:18:c6:0b:e2:74:5d:93:af:16"]
  maxDroplets: 12
loadBalancer:
  httpIdleTimeoutSeconds: 60
  healthCheck:
    checkIntervalSeconds: 10
postgres:
  sizeSlug: db-s-4vcpu-8gb
  standbyNodes: 1
  readReplicas:
    - sizeSlug: db-s-4vcpu-8gb
cache:
  sizeSlug: db-s-2vcpu-4gb
capacity:
  targetConcurrentRequests: 50000
  typicalRequestSeconds: 1
alerts:
  emails: [ops@acme-widgets.io]
`;

const dir = mkdtempSync(path.join(tmpdir(), 'config-cases-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Write `text` as <dir>/case.yaml and return every problem the loader reports, formatted. */
function problems(text: string): string[] {
  const file = path.join(dir, 'case.yaml');
  writeFileSync(file, text);
  try {
    loadEnvironmentFile(file);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n').map((l) => l.replace(`${path.relative(process.cwd(), file)}`, 'case.yaml'));
    throw error;
  }
  return [];
}

/** BASE with the value at `keyPath` set (or deleted with `undefined`), other lines unchanged. */
function withValue(keyPath: (string | number)[], value: unknown): string {
  const doc = parseDocument(BASE);
  if (value === undefined) doc.deleteIn(keyPath);
  else doc.setIn(keyPath, doc.createNode(value, { flow: true }));
  return doc.toString({ lineWidth: 0 });
}

/** BASE sized by the plan alone (no pinned count, no replicas) for `target` concurrent requests. */
function withoutFleetCountAndReplicas(target: number): string {
  const doc = parseDocument(BASE);
  doc.deleteIn(['fleet', 'count']);
  doc.deleteIn(['postgres', 'readReplicas']);
  doc.setIn(['capacity', 'targetConcurrentRequests'], target);
  return doc.toString({ lineWidth: 0 });
}

describe('GIVEN the base production config', () => {
  it('WHEN loaded THEN it is valid', () => {
    expect(problems(BASE)).toEqual([]);
  });
});

describe('GIVEN the base production config changed in a way each new rule allows WHEN loaded THEN it is valid', () => {
  const load = (text: string) => {
    const file = path.join(dir, 'case.yaml');
    writeFileSync(file, text);
    return loadEnvironmentFile(file);
  };
  it.each([
    ['PostgreSQL 17 typed as a number', ['postgres', 'version'], 17, '17'],
    ['PostgreSQL 16 typed as a number', ['postgres', 'version'], 16, '16'],
    ['PostgreSQL 16 typed as a string', ['postgres', 'version'], '16', '16'],
  ] as const)('%s', (_name, keyPath, value, version) => {
    expect(load(withValue([...keyPath], value)).config.postgres.version).toBe(version);
  });

  it('Valkey 8 typed as a number', () => {
    expect(load(withValue(['cache', 'version'], 8)).config.cache.version).toBe('8');
  });

  it('a VPC range that is a network address', () => {
    expect(load(withValue(['vpc', 'ipRange'], '10.30.16.0/20')).config.vpc.ipRange).toBe('10.30.16.0/20');
  });

  it('placeholders in a file marked example: true, as warnings', () => {
    const env = load(`example: true\n${withValue(['domain'], 'example.com')}`);
    expect(env.warnings.map((w) => w.key)).toEqual(['domain']);
  });

  it('an admin SSH range next to, not inside, a documentation range', () => {
    expect(load(withValue(['fleet', 'adminSshCidrs'], ['203.0.114.0/24'])).warnings).toEqual([]);
  });
});

describe('invalid configs get their exact located message', () => {
  const cases: [string, string, string[]][] = [
    // DigitalOcean's own limits
    ['fails when the LB size unit is above 200', withValue(['loadBalancer', 'sizeUnit'], 201), ['case.yaml:15:13 loadBalancer.sizeUnit: must be at most 200, got 201']],
    ['fails when the LB size unit is 0', withValue(['loadBalancer', 'sizeUnit'], 0), ['case.yaml:15:13 loadBalancer.sizeUnit: must be at least 1, got 0']],
    ['fails when the idle timeout is below 30', withValue(['loadBalancer', 'httpIdleTimeoutSeconds'], 20), ['case.yaml:12:27 loadBalancer.httpIdleTimeoutSeconds: must be at least 30, got 20']],
    ['fails when the idle timeout is above 600', withValue(['loadBalancer', 'httpIdleTimeoutSeconds'], 601), ['case.yaml:12:27 loadBalancer.httpIdleTimeoutSeconds: must be at most 600, got 601']],
    ['fails when the health check interval is below 3', withValue(['loadBalancer', 'healthCheck', 'checkIntervalSeconds'], 2), ['case.yaml:14:27 loadBalancer.healthCheck.checkIntervalSeconds: must be at least 3, got 2']],
    ['fails when the health check timeout is above 300', withValue(['loadBalancer', 'healthCheck', 'responseTimeoutSeconds'], 301), ['case.yaml:15:29 loadBalancer.healthCheck.responseTimeoutSeconds: must be at most 300, got 301']],
    ['fails when a health threshold is above 10', withValue(['loadBalancer', 'healthCheck', 'healthyThreshold'], 11), ['case.yaml:15:23 loadBalancer.healthCheck.healthyThreshold: must be at most 10, got 11']],
    ['fails when standby nodes are more than 2', withValue(['postgres', 'standbyNodes'], 3), ['case.yaml:17:17 postgres.standbyNodes: must be at most 2, got 3']],
    ['fails when standby nodes are on a 1 GiB plan', withValue(['postgres', 'sizeSlug'], 'db-s-1vcpu-1gb'),
      ['case.yaml:17:17 postgres.standbyNodes: standby nodes need a plan with at least 2 GiB of RAM; db-s-1vcpu-1gb has 1 GiB. Pick db-s-1vcpu-2gb or larger, or set standbyNodes: 0']],
    ['fails when a replica is smaller than the primary', withValue(['postgres', 'readReplicas', 0, 'sizeSlug'], 'db-s-2vcpu-4gb'),
      ["case.yaml:19:17 postgres.readReplicas[0].sizeSlug: a replica must be at least the primary's size (db-s-4vcpu-8gb), got db-s-2vcpu-4gb"]],
    ['fails when the cache asks for read replicas', withValue(['cache', 'readReplicas'], [{ sizeSlug: 'db-s-2vcpu-4gb' }]),
      ['case.yaml:22:3 cache.readReplicas: Managed Valkey has no read replicas (DigitalOcean); scale the cache with a larger sizeSlug']],
    ['fails when the PostgreSQL version is not on offer', withValue(['postgres', 'version'], '14'), ['case.yaml:20:12 postgres.version: must be 16 or 17 (PostgreSQL major versions DigitalOcean offers; 14 reached end of life on 2026-11-12), got "14"']],
    ['fails when the PostgreSQL version is a number not on offer', withValue(['postgres', 'version'], 15), ['case.yaml:20:12 postgres.version: must be 16 or 17 (PostgreSQL major versions DigitalOcean offers; 14 reached end of life on 2026-11-12), got 15']],
    ['fails when the VPC range has host bits set, naming the network', withValue(['vpc', 'ipRange'], '10.30.0.5/20'),
      ['case.yaml:4:12 vpc.ipRange: must be a network address (no host bits set), got 10.30.0.5/20; the /20 network holding it is 10.30.0.0/20']],
    ['fails when the Valkey version is not on offer', withValue(['cache', 'version'], 7), ['case.yaml:22:12 cache.version: must be 8 (the Valkey major version DigitalOcean offers), got 7']],
    ['fails when the cache engine is redis', withValue(['cache', 'engine'], 'redis'), ['case.yaml:22:11 cache.engine: must be "valkey", got "redis"']],
    ['fails when there are too many SSH CIDRs for one firewall', withValue(['fleet', 'adminSshCidrs'], Array.from({ length: 47 }, (_, i) => `198.51.${i}.0/24`)),
      ['case.yaml:11:18 fleet.adminSshCidrs: 47 CIDRs make 51 firewall rules; a DigitalOcean cloud firewall allows 50 (at most 46 CIDRs). Merge them into wider ranges or use a bastion']],
    ['fails when the VPC range is public', withValue(['vpc', 'ipRange'], '8.8.0.0/16'), ['case.yaml:4:12 vpc.ipRange: must be inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16), got 8.8.0.0/16']],
    ['fails when the VPC range is larger than /16', withValue(['vpc', 'ipRange'], '10.0.0.0/12'), ['case.yaml:4:12 vpc.ipRange: must be between /16 and /28 (DigitalOcean), got /12']],
    ['fails when the droplet size is unknown', withValue(['fleet', 'sizeSlug'], 'c-3'), [expect.stringMatching(/^case\.yaml:7:13 fleet\.sizeSlug: unknown droplet size "c-3"; one of: s-1vcpu-1gb, .*c-16/) as unknown as string]],
    ['fails when count and autoscale are both set', withValue(['fleet', 'autoscale'], { minInstances: 2, maxInstances: 8 }),
      ['case.yaml:11:14 fleet.autoscale: conflicts with fleet.count: use a fixed count or an autoscale pool, not both']],
    ['fails when the demo app would be health-checked on a path it does not serve', withValue(['loadBalancer', 'healthCheck', 'path'], '/status'),
      ['case.yaml:15:11 loadBalancer.healthCheck.path: the demo app answers health checks on /healthz only, got /status; use /healthz, or app.source: git with an app that serves this path']],
    ['fails when storage autoscale steps are not a multiple of 10 GiB', withValue(['postgres', 'storageAutoscale'], { incrementGib: 15 }),
      ['case.yaml:20:37 postgres.storageAutoscale.incrementGib: must be a multiple of 10 (DigitalOcean adds storage in 10 GiB steps), got 15']],
    ['fails when a log sink is of an unknown kind', withValue(['cache', 'logSinks'], [{ kind: 'syslog', name: 'logs', server: 'logs.acme-widgets.io', port: 514 }]),
      ['case.yaml:22:23 cache.logSinks[0].kind: must be one of "rsyslog", "opensearch", got "syslog"']],
    ['fails when the Valkey eviction is set through an unknown place', withValue(['cache', 'evictionVia'], 'redis-config'),
      ['case.yaml:22:16 cache.evictionVia: must be one of "cluster", "valkey-config", got "redis-config"']],
    // Production rules
    ['fails when production has one droplet', withValue(['fleet', 'count'], 1),
      ['case.yaml:8:10 fleet.count: production needs at least 2 droplets, so one can be replaced or lost while the other serves']],
    ['fails when production has no domain', withValue(['domain'], undefined),
      ['case.yaml:1:1 domain: production needs a domain: without one the load balancer serves plain HTTP with no certificate']],
    ['fails when production has no standby node', withValue(['postgres', 'standbyNodes'], 0),
      ['case.yaml:17:17 postgres.standbyNodes: production needs at least 1 standby node for automatic failover']],
    ['fails when production opens SSH to the world', withValue(['fleet', 'adminSshCidrs'], ['0.0.0.0/0']),
      ['case.yaml:11:20 fleet.adminSshCidrs[0]: production must not open SSH to the whole internet (0.0.0.0/0); list your admin networks or a bastion']],
    // Production refuses placeholders (a shipped example marks its file `example: true` instead)
    ['fails when production uses the example domain', withValue(['domain'], 'example.com'),
      ['case.yaml:5:9 domain: example.com is a documentation name (RFC 2606), not your site: no certificate can be issued for it. Set the name your site answers on. Production refuses placeholders']],
    ['fails when production uses a subdomain of an example domain', withValue(['domain'], 'www.example.org'),
      ['case.yaml:5:9 domain: www.example.org is a documentation name (RFC 2606), not your site: no certificate can be issued for it. Set the name your site answers on. Production refuses placeholders']],
    ['fails when production uses the documentation SSH key', withValue(['fleet', 'sshKeyFingerprints'], ['3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa']),
      ["case.yaml:9:25 fleet.sshKeyFingerprints[0]: 3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa is the example SSH key of DigitalOcean's API documentation, not a key in your account. List yours with `doctl compute ssh-key list`. Production refuses placeholders"]],
    ['fails when production uses the documentation SSH key ID', withValue(['fleet', 'sshKeyFingerprints'], ['512189']),
      ["case.yaml:9:25 fleet.sshKeyFingerprints[0]: 512189 is the example SSH key of DigitalOcean's API documentation, not a key in your account. List yours with `doctl compute ssh-key list`. Production refuses placeholders"]],
    ['fails when production alerts go to an example address', withValue(['alerts', 'emails'], ['ops@example.net']),
      ['case.yaml:26:13 alerts.emails[0]: ops@example.net is a documentation address (RFC 2606): nobody receives alerts there. Set a mailbox your team reads. Production refuses placeholders']],
    ['fails when production opens SSH from a documentation range', withValue(['fleet', 'adminSshCidrs'], ['203.0.113.0/24']),
      ['case.yaml:11:20 fleet.adminSshCidrs[0]: 203.0.113.0/24 lies in 203.0.113.0/24, a range reserved for documentation (RFC 5737). List your admin networks\' real ranges. Production refuses placeholders']],
    ['fails when production keeps its state in an example bucket', withValue(['state'], { backend: 'spaces', bucket: 'example-tfstate', region: 'nyc3' }),
      ["case.yaml:27:35 state.bucket: example-tfstate is an example bucket name. Create a Spaces bucket for this environment's state (versioning on; docs/operations.md) and name it here. Production refuses placeholders"]],
    ['fails when production alerts reach no one', withValue(['alerts'], undefined),
      ['case.yaml:1:1 alerts: production needs at least one alert recipient (alerts.emails or alerts.slackWebhooks): without one no alert policy is created']],
    // Types, unknown keys, required keys
    ['fails on an unknown key, naming the allowed ones', withValue(['fleet', 'sizeslug'], 'c-8'),
      ['case.yaml:11:3 fleet.sizeslug: unknown key; allowed here: sizeSlug, image, count, maxDroplets, autoscale, sshKeyFingerprints, adminSshCidrs']],
    ['fails on a wrong type', withValue(['capacity', 'targetConcurrentRequests'], 'lots'),
      ['case.yaml:23:29 capacity.targetConcurrentRequests: must be a number, got "lots"']],
    ['fails on a missing required key', withValue(['postgres', 'sizeSlug'], undefined), ['case.yaml:16:3 postgres.sizeSlug: is required (string)']],
    ['fails on a bad discriminator', withValue(['app'], { source: 'docker' }), ['case.yaml:27:16 app.source: must be one of "demo", "git", got "docker"']],
    // Capacity plan
    ['fails when the pinned count cannot hold the target', withValue(['fleet', 'count'], 3),
      ['case.yaml:8:10 fleet.count: 3 droplets of c-8 hold 26,880 concurrent requests; capacity.targetConcurrentRequests 50,000 needs 5 (including 1 spare). Raise count, omit it to use the plan\'s, or pick a larger fleet.sizeSlug']],
    ['fails when one load balancer cannot carry the target', withoutFleetCountAndReplicas(1_700_000),
      ['case.yaml:9:16 fleet.maxDroplets: 128 droplets exceed fleet.maxDroplets 12, the largest fleet the database pools are planned for. Raise fleet.maxDroplets (every droplet is replaced once, through the health gate, because its pools shrink) or stay at or below it',
        // New TLS connections bind first (250/s per node); the data tier is refused at the same target, each at its key.
        'case.yaml:20:29 capacity.targetConcurrentRequests: 85,000 new TLS connections/s (capacity.requestsPerTlsConnection 20; 250 per node) need 425 load balancer nodes (with 25% headroom); one DigitalOcean load balancer has at most 200. Split the fleet over several regional load balancers behind a global load balancer (type GLOBAL), raise capacity.requestsPerTlsConnection if clients reuse connections longer, or lower the target',
        'case.yaml:15:13 postgres.sizeSlug: db-s-4vcpu-8gb would run at 1781% CPU for 340,000 writes/s and 272,000 reads/s (no replicas) (1,700,000 requests/s x capacity.queriesPerRequest 1, readShare 0.8); the plan keeps nodes at 70%. No DigitalOcean PostgreSQL size carries it. Split the writes over several databases, add read replicas, or lower the target (per-vCPU figures: capacity.readQueriesPerSecondPerVcpu and writeQueriesPerSecondPerVcpu, a local estimate from bench/results/pgbench.md)',
        'case.yaml:18:13 cache.sizeSlug: db-s-2vcpu-4gb serves about 140,000 operations/s at 70% CPU; 1,360,000 reads/s need 1,632,000 (a GET each, a SET per miss at capacity.cacheHitRatio 0.8). No single Valkey node serves that many (at most 3 cores\' worth). Split the cache over several clusters by key, or measure a node and set capacity.cacheOpsPerSecondPerVcpu, or lower the target',
        'case.yaml:18:13 cache.sizeSlug: 81,600,000 live entries (272,000 misses/s x cache.ttlSeconds 300) of capacity.cacheEntryBytes 512 need 39,844 MiB; db-s-2vcpu-4gb gives data 2,560 MiB, and evicting the rest breaks the hit ratio the plan assumes. No single node holds it. Split the cache by key, lower cache.ttlSeconds, or lower the target']],
  ];
  it.each(cases)('%s', (_name, text, expected) => {
    expect(problems(text)).toEqual(expected);
  });

  it('reports every problem at once, not the first only', () => {
    const text = withValue(['loadBalancer', 'sizeUnit'], 500).replace('region: nyc3', 'region: mars1').replace('count: 6', 'count: "six"');
    expect(problems(text)).toHaveLength(3);
  });

  it('fails on broken YAML with its position', () => {
    expect(problems(BASE.replace('  count: 6\n', '  count: [6\n'))).toEqual([expect.stringMatching(/^case\.yaml:\d+:\d+: YAML: /)]);
  });

  it('fails on a duplicate key with its position', () => {
    expect(problems(BASE.replace('  count: 6\n', '  count: 6\n  count: 7\n'))).toEqual([expect.stringMatching(/^case\.yaml:9:3: YAML: Map keys must be unique/)]);
  });

  it('fails on an empty file', () => {
    expect(problems('')).toEqual([
      'case.yaml:1:1: the file is empty; an environment needs tier, region, vpc, fleet, postgres, cache and capacity (see config/environment.schema.json)',
    ]);
  });

  it('fails when the file name is not a valid environment name (it becomes part of resource names)', () => {
    const file = path.join(dir, 'Prod_EU.yaml');
    writeFileSync(file, BASE);
    expect(() => loadEnvironmentFile(file)).toThrow(/Prod_EU\.yaml:0:0: the environment name "Prod_EU" \(from the file name\) must be 1-20 lowercase letters, digits or dashes/);
    rmSync(file);
  });

  it('fails on a missing file, naming the environments that exist', () => {
    expect(() => loadEnvironmentFile(path.join(dir, 'nope.yaml'))).toThrow(/nope\.yaml:0:0: file not found; environments here: case/);
  });
});
