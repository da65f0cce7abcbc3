import fc from 'fast-check';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DROPLET_SIZES } from '../../config/catalog.js';
import { ConfigError, loadEnvironmentFile } from '../../config/load.js';
import { all, only, synthEnvironment } from '../support/synth.js';

/** Every file a cloud-config writes, decoded (large ones are gz+b64 to fit DigitalOcean's 64 KiB), as one text. */
function cloudConfigFiles(cloudConfig: string): string {
  const doc = parse(cloudConfig) as { write_files: { content: string; encoding?: string }[] };
  return doc.write_files.map((f) => (f.encoding === 'gz+b64' ? gunzipSync(Buffer.from(f.content, 'base64')).toString('utf8') : f.content)).join('\n');
}

const dir = mkdtempSync(path.join(tmpdir(), 'plan-prop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

/** A staging-tier environment file for the given capacity inputs. */
function writeConfig(input: { target: number; sizeSlug: string; typical: number; count?: number; sizeUnit?: number; poolSize?: number }): string {
  const file = path.join(dir, `env${n++}.yaml`);
  writeFileSync(file, stringify({
    tier: 'staging',
    region: 'nyc3',
    vpc: { ipRange: '10.20.0.0/20' },
    fleet: { sizeSlug: input.sizeSlug, sshKeyFingerprints: ['1234'], ...(input.count ? { count: input.count } : {}) },
    ...(input.sizeUnit ? { loadBalancer: { sizeUnit: input.sizeUnit } } : {}),
    postgres: { sizeSlug: 'db-s-16vcpu-64gb', readReplicas: [{ sizeSlug: 'db-s-16vcpu-64gb' }], ...(input.poolSize ? { pool: { size: input.poolSize } } : {}) },
    cache: { sizeSlug: 'db-s-1vcpu-1gb' },
    capacity: { targetConcurrentRequests: input.target, typicalRequestSeconds: input.typical, p95RequestSeconds: input.typical * 4 },
  }));
  return file;
}

const validInputs = fc.record({
  target: fc.integer({ min: 1, max: 120_000 }),
  sizeSlug: fc.constantFrom('s-2vcpu-4gb', 'c-2', 'c-8', 'g-4vcpu-16gb', 'c-16'),
  typical: fc.constantFrom(0.1, 0.5, 1, 3),
});

describe('property: the plan\'s numbers reach the stack and the rendered files', () => {
  it('for random valid targets, sizes and profiles', () => {
    fc.assert(
      fc.property(validInputs, (input) => {
        let env;
        try {
          env = loadEnvironmentFile(writeConfig(input), 'prop');
        } catch (error) {
          // Some random inputs are impossible (e.g. too many replicas' connections); those are the next test's.
          if (error instanceof ConfigError) return;
          throw error;
        }
        const { plan } = env;
        const json = synthEnvironment(env);
        expect(only(json, 'digitalocean_loadbalancer').size_unit).toBe(plan.loadBalancer.sizeUnit);
        expect(all(json, 'digitalocean_droplet')).toHaveLength(plan.fleet.kind === 'droplets' ? plan.fleet.count : 0);
        expect(only(json, 'digitalocean_database_connection_pool').size).toBe(plan.database.pgbouncerPoolSize);
        const userData = cloudConfigFiles((Object.values(json.data.cloudinit_config!)[0]!.part as { content: string }[])[0]!.content);
        const t = plan.tuning;
        for (const line of [
          `workers = ${t.gunicorn.workers}`, `worker_connections = ${t.gunicorn.workerConnections}`, `backlog = ${t.gunicorn.backlog}`,
          `worker_processes ${t.nginx.workerProcesses};`, `worker_connections ${t.nginx.workerConnections};`, `worker_rlimit_nofile ${t.nginx.workerRlimitNofile};`,
          `LimitNOFILE=${t.gunicorn.nofile}`, `LimitNOFILE=${t.nginx.nofile}`, `app hard nofile ${t.gunicorn.nofile}`,
          `net.core.somaxconn = ${t.sysctl['net.core.somaxconn']}`, `backlog=${t.nginx.listenBacklog}`,
          `DB_PRIMARY_POOL_SIZE=${t.database.primaryPoolSize}`, `DB_REPLICA_MAX_OVERFLOW=${t.database.replicaMaxOverflow}`,
        ]) expect(userData, line).toContain(line);
      }),
      { numRuns: 25 },
    );
  });
});

describe('property: impossible configs fail with a located, actionable message', () => {
  const impossible = fc.oneof(
    // A pinned fleet far too small for the target.
    fc.record({ target: fc.integer({ min: 60_000, max: 200_000 }), sizeSlug: fc.constant('c-2'), typical: fc.constant(1), count: fc.integer({ min: 1, max: 5 }) }),
    // A pinned LB far too small.
    fc.record({ target: fc.integer({ min: 30_000, max: 100_000 }), sizeSlug: fc.constant('c-16'), typical: fc.constant(1), sizeUnit: fc.integer({ min: 1, max: 2 }) }),
    // A PgBouncer pool larger than the cluster allows.
    fc.record({ target: fc.integer({ min: 100, max: 1000 }), sizeSlug: fc.constant('c-2'), typical: fc.constant(1), poolSize: fc.integer({ min: 1593, max: 9000 }) }),
    // A target one load balancer cannot carry.
    fc.record({ target: fc.integer({ min: 1_700_000, max: 2_000_000 }), sizeSlug: fc.constant('c-32'), typical: fc.constant(1) }),
  );

  it('names the file, line, key and the way out', () => {
    fc.assert(
      fc.property(impossible, (input) => {
        const file = writeConfig(input);
        let error: unknown;
        try {
          loadEnvironmentFile(file, 'prop');
        } catch (e) {
          error = e;
        }
        expect(error).toBeInstanceOf(ConfigError);
        for (const line of (error as ConfigError).message.split('\n')) {
          expect(line).toMatch(/^\S+\.yaml:\d+:\d+ [\w.[\]]+: .*(Raise|Lower|lower|pick|Pick|Add|Split|Use|omit)/);
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('sizes in the catalog', () => {
  it('all plan for a small target', () => {
    for (const sizeSlug of Object.keys(DROPLET_SIZES)) expect(() => loadEnvironmentFile(writeConfig({ target: 100, sizeSlug, typical: 0.5 }), 'prop')).not.toThrow();
  });
});
