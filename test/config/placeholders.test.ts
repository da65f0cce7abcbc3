import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, environmentNames, formatProblem, loadEnvironmentFile, loadEnvironments, stateKey } from '../../config/load.js';
import { DOCUMENTATION_SSH_FINGERPRINT, networkOf, rangesOverlap } from '../../config/rules.js';

/** A production config whose every name is a placeholder; `over` replaces top-level keys. */
function config(over: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    tier: 'production', region: 'nyc3', vpc: { ipRange: '10.30.0.0/20' }, domain: 'example.com',
    fleet: { sizeSlug: 'c-8', count: 6, maxDroplets: 12, sshKeyFingerprints: [DOCUMENTATION_SSH_FINGERPRINT] },
    postgres: { sizeSlug: 'db-s-4vcpu-8gb', standbyNodes: 1, version: 17 },
    cache: { sizeSlug: 'db-s-2vcpu-4gb' },
    capacity: { targetConcurrentRequests: 50000, typicalRequestSeconds: 1 },
    alerts: { emails: ['ops@example.com'] },
    state: { backend: 'spaces', bucket: 'example-tfstate', region: 'nyc3' },
    ...over,
  };
}

const root = mkdtempSync(path.join(tmpdir(), 'placeholders-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** Write each config as <dir>/<name>.yaml in a fresh directory; return the directory. */
function configDir(files: Record<string, Record<string, unknown>>): string {
  const dir = mkdtempSync(path.join(root, 'env-'));
  for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, `${name}.yaml`), stringify(content));
  return dir;
}

/** Formatted problems of loading these environments together, file paths shortened to `<name>.yaml`. */
function problemsAcross(files: Record<string, Record<string, unknown>>, names = Object.keys(files)): string[] {
  const dir = configDir(files);
  try {
    loadEnvironments(names, dir);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((p) => formatProblem({ ...p, file: path.basename(p.file) }));
    throw error;
  }
  return [];
}

const PLACEHOLDER_KEYS = ['domain', 'fleet.sshKeyFingerprints[0]', 'alerts.emails[0]', 'state.bucket'];

describe('placeholder values', () => {
  it('GIVEN production with placeholders WHEN loaded THEN each is a located error naming the way out', () => {
    const dir = configDir({ production: config() });
    let error: unknown;
    try {
      loadEnvironmentFile(path.join(dir, 'production.yaml'));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const problems = (error as ConfigError).problems;
    expect(problems.map((p) => p.key)).toEqual(PLACEHOLDER_KEYS);
    for (const p of problems) {
      expect(p.line).toBeGreaterThan(0);
      expect(p.message).toMatch(/Production refuses placeholders$/);
    }
  });

  it('GIVEN the same production file marked example: true WHEN loaded THEN it loads, with the same placeholders as located warnings', () => {
    const dir = configDir({ production: config({ example: true }) });
    const env = loadEnvironmentFile(path.join(dir, 'production.yaml'));
    expect(env.warnings.map((w) => w.key)).toEqual(PLACEHOLDER_KEYS);
    for (const w of env.warnings) {
      expect(w.message).toMatch(/^warning: /);
      expect(w.line).toBeGreaterThan(0);
    }
  });

  it('GIVEN staging with placeholders and no marker WHEN loaded THEN it loads with warnings', () => {
    const dir = configDir({ staging: config({ tier: 'staging', fleet: { sizeSlug: 'c-2', sshKeyFingerprints: [DOCUMENTATION_SSH_FINGERPRINT] }, capacity: { targetConcurrentRequests: 5000 }, postgres: { sizeSlug: 'db-s-1vcpu-2gb' } }) });
    const env = loadEnvironmentFile(path.join(dir, 'staging.yaml'));
    expect(env.warnings.map((w) => w.key)).toEqual(PLACEHOLDER_KEYS);
  });

  it('GIVEN production with real values WHEN loaded THEN there is no warning', () => {
    const dir = configDir({ production: config({ domain: 'shop.acme-widgets.io', alerts: { emails: ['ops@acme-widgets.io'] }, state: { backend: 'spaces', bucket: 'acme-production-tfstate', region: 'nyc3' }, fleet: { sizeSlug: 'c-8', count: 6, maxDroplets: 12, sshKeyFingerprints: ['9f:2c:41:d0:7e:55:a3:18:c6:0b:e2:74:5d:93:af:16'] } }) });
    expect(loadEnvironmentFile(path.join(dir, 'production.yaml')).warnings).toEqual([]);
  });

  it.each([
    ['a subdomain of example.org', { domain: 'www.example.org', dnsZone: 'example.org' }, ['domain', 'dnsZone']],
    ['a .test name', { domain: 'shop.test' }, ['domain']],
    ['a documentation SSH range', { fleet: { sizeSlug: 'c-8', count: 6, maxDroplets: 12, sshKeyFingerprints: ['9f:2c:41:d0:7e:55:a3:18:c6:0b:e2:74:5d:93:af:16'], adminSshCidrs: ['198.51.100.0/28'] } }, ['fleet.adminSshCidrs[0]']],
  ])('GIVEN production with %s WHEN loaded THEN it is refused at that key', (_what, over, keys) => {
    const real = { domain: 'shop.acme-widgets.io', alerts: { emails: ['ops@acme-widgets.io'] }, state: { backend: 'local' }, fleet: { sizeSlug: 'c-8', count: 6, maxDroplets: 12, sshKeyFingerprints: ['9f:2c:41:d0:7e:55:a3:18:c6:0b:e2:74:5d:93:af:16'] } };
    const dir = configDir({ production: config({ ...real, ...over }) });
    expect(() => loadEnvironmentFile(path.join(dir, 'production.yaml'))).toThrow(ConfigError);
    try {
      loadEnvironmentFile(path.join(dir, 'production.yaml'));
    } catch (error) {
      expect((error as ConfigError).problems.map((p) => p.key)).toEqual(keys);
    }
  });
});

describe('VPC ranges', () => {
  it('network addresses: host bits cleared, the prefix kept', () => {
    expect(networkOf('10.30.0.5/20')).toBe('10.30.0.0/20');
    expect(networkOf('10.30.15.255/20')).toBe('10.30.0.0/20');
    expect(networkOf('10.30.16.0/20')).toBe('10.30.16.0/20');
    expect(networkOf('192.168.7.9/16')).toBe('192.168.0.0/16');
  });

  it('overlap: a range inside another, equal ranges and neighbours', () => {
    expect(rangesOverlap('10.30.0.0/16', '10.30.16.0/20')).toBe(true);
    expect(rangesOverlap('10.30.0.0/20', '10.30.0.0/20')).toBe(true);
    expect(rangesOverlap('10.30.0.0/20', '10.30.16.0/20')).toBe(false);
    expect(rangesOverlap('10.20.0.0/20', '10.30.0.0/20')).toBe(false);
  });
});

describe('checks across the environments of one directory (one account)', () => {
  let sites = 0;
  /** An example environment; each gets a domain of its own unless one is given. */
  const example = (tier: string, ipRange: string, bucket?: string, domain = `site${++sites}.example.com`) =>
    config({ example: true, tier, domain, vpc: { ipRange }, state: bucket ? { backend: 'spaces', bucket, region: 'nyc3' } : { backend: 'local' } });

  it('GIVEN distinct ranges and buckets WHEN loaded together THEN they pass', () => {
    expect(problemsAcross({ staging: example('production', '10.20.0.0/20', 'example-staging-tfstate'), production: example('production', '10.30.0.0/20', 'example-production-tfstate') })).toEqual([]);
  });

  it('GIVEN overlapping VPC ranges WHEN loaded together THEN each file gets a located error naming the other', () => {
    const problems = problemsAcross({ one: example('production', '10.30.0.0/16'), two: example('production', '10.30.16.0/20') });
    expect(problems).toHaveLength(2);
    expect(problems[0]).toMatch(/^one\.yaml:4:12 vpc\.ipRange: overlaps 10\.30\.16\.0\/20 of two \(\S+two\.yaml\); the VPCs of one account must not overlap \(DigitalOcean refuses the second\)\. Give each environment its own range/);
    expect(problems[1]).toMatch(/^two\.yaml:4:12 vpc\.ipRange: overlaps 10\.30\.0\.0\/16 of one \(\S+one\.yaml\)/);
  });

  it('GIVEN one environment asked for WHEN another file of the directory overlaps it THEN it is still refused', () => {
    const problems = problemsAcross({ one: example('production', '10.30.0.0/20'), two: example('production', '10.30.0.0/20') }, ['one']);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^one\.yaml:4:12 vpc\.ipRange: overlaps 10\.30\.0\.0\/20 of two /);
  });

  it('GIVEN two environments answering on the same domain WHEN loaded together THEN each file is refused at domain', () => {
    const problems = problemsAcross({ staging: example('staging', '10.20.0.0/20', undefined, 'example.com'), production: example('production', '10.30.0.0/20', undefined, 'example.com') });
    expect(problems).toHaveLength(2);
    for (const p of problems) expect(p).toMatch(/^(staging|production)\.yaml:\d+:\d+ domain: example\.com is also the domain of (staging|production) .*Give each environment its own name \(e\.g\. staging\.example\.com\)$/);
  });

  it('GIVEN two environments sharing a state bucket (different keys) WHEN loaded together THEN each file is refused at state.bucket', () => {
    const problems = problemsAcross({ staging: example('production', '10.20.0.0/20', 'acme-tfstate'), production: example('production', '10.30.0.0/20', 'acme-tfstate') });
    expect(problems).toHaveLength(2);
    for (const p of problems) expect(p).toMatch(/^(staging|production)\.yaml:\d+:\d+ state\.bucket: acme-tfstate also holds the state of (staging|production) .*a Spaces access key grants a whole bucket.*Give each environment its own bucket$/);
  });

  it('GIVEN two environments with the same bucket and key WHEN loaded together THEN both are refused: they would overwrite each other', () => {
    const shared = { backend: 'spaces', bucket: 'acme-tfstate', region: 'nyc3', key: 'state.tfstate' };
    const problems = problemsAcross({ a: { ...example('production', '10.20.0.0/20'), state: shared }, b: { ...example('production', '10.30.0.0/20'), state: shared } });
    expect(problems).toHaveLength(2);
    for (const p of problems) expect(p).toMatch(/state\.bucket: acme-tfstate with key state\.tfstate is also the state of [ab] .*overwrite each other's state/);
  });
});

describe('GIVEN the shipped examples in config/', () => {
  const environments = loadEnvironments(environmentNames());

  it('THEN all load together (cross-environment checks included) and each is marked example: true', () => {
    expect(environments.map((e) => e.name)).toEqual(['dev', 'staging', 'production']);
    for (const env of environments) expect(env.config.example).toBe(true);
  });

  it('THEN their placeholders are located warnings (production would refuse them without the marker)', () => {
    const production = environments.find((e) => e.name === 'production')!;
    expect(production.warnings.map((w) => w.key)).toEqual(PLACEHOLDER_KEYS);
    for (const w of production.warnings) expect(formatProblem(w)).toMatch(/^config\/production\.yaml:\d+:\d+ \S+: warning: /);
  });

  it('THEN each environment with remote state has a bucket of its own, and VPC ranges do not overlap', () => {
    const remote = environments.filter((e) => e.config.state.backend === 'spaces');
    expect(remote.length).toBeGreaterThanOrEqual(2);
    const buckets = remote.map((e) => (e.config.state as { bucket: string }).bucket);
    expect(new Set(buckets).size).toBe(buckets.length);
    expect(new Set(remote.map(stateKey)).size).toBe(remote.length);
    for (const [i, a] of environments.entries()) for (const b of environments.slice(i + 1)) expect(rangesOverlap(a.config.vpc.ipRange, b.config.vpc.ipRange)).toBe(false);
  });

  it('THEN production without the marker is refused for its placeholders', () => {
    const production = environments.find((e) => e.name === 'production')!;
    const dir = configDir({});
    const file = path.join(dir, 'production.yaml');
    writeFileSync(file, readFileSync(path.resolve(production.file), 'utf8').replace(/^example: true\n/m, ''));
    expect(() => loadEnvironmentFile(file)).toThrow(/Production refuses placeholders/);
  });
});
