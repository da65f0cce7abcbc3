import { TerraformStack, Testing } from 'cdktf';
import { databaseCluster } from '@cdktf/provider-digitalocean';
import { describe, expect, it } from 'vitest';
import { AdvancedPostgresqlConfig, DatabaseLogSink, enableStorageAutoscale, ValkeyEvictionConfig } from '../../constructs/provider-overrides.js';
import { digitaloceanSchema, schemaProblems } from '../support/provider-schema.js';
import { all, only, synthEnvironment, synthShipped, variant, type TerraformJson } from '../support/synth.js';

const schema = digitaloceanSchema('2.99.1');
const SHIPPED = ['dev', 'staging', 'production'];

/** Whether a version satisfies a constraint made of `>=`, `<=`, `>`, `<`, `=` parts joined by commas. */
function admits(constraint: string, version: string): boolean {
  const num = (v: string) => v.split('.').map(Number).reduce((acc, n) => acc * 1000 + n, 0);
  return constraint.split(',').every((part) => {
    const [, op = '=', v = ''] = /^\s*(>=|<=|>|<|=|!=)?\s*(\S+)\s*$/.exec(part) ?? [];
    const [a, b] = [num(version), num(v)];
    return { '>=': a >= b, '<=': a <= b, '>': a > b, '<': a < b, '=': a === b, '!=': a !== b }[op] ?? false;
  });
}

const providerVersion = (json: TerraformJson) =>
  ((json.terraform.required_providers as Record<string, { version: string }>).digitalocean)!.version;

describe('the DigitalOcean provider version', () => {
  it.each(SHIPPED)('GIVEN %s WHEN synthesized THEN the constraint admits the binding\'s 2.71.0 up to and including 2.99.1, nothing else', (env) => {
    const constraint = providerVersion(synthShipped(env));
    expect(constraint).toBe('>= 2.71.0, <= 2.99.1');
    for (const v of ['2.71.0', '2.88.0', '2.99.0', '2.99.1']) expect(admits(constraint, v), v).toBe(true);
    for (const v of ['2.70.9', '2.99.2', '2.100.0', '3.0.0']) expect(admits(constraint, v), v).toBe(false);
  });

  it('GIVEN the shipped stacks WHEN checked against provider 2.99.1\'s own schema THEN every resource, attribute and block exists there', () => {
    for (const env of SHIPPED) expect(schemaProblems(synthShipped(env), schema), env).toEqual([]);
  });
});

describe('the schema check itself', () => {
  const production = () => structuredClone(synthShipped('production'));
  const clusterOf = (json: TerraformJson) => Object.values(json.resource.digitalocean_database_cluster!)[0]!;

  it('fails on a misspelt attribute, naming the right one', () => {
    const json = production();
    clusterOf(json).evction_policy = 'allkeys_lru';
    expect(schemaProblems(json, schema)).toEqual([expect.stringMatching(/^digitalocean_database_cluster\.\S+\.evction_policy: no such attribute or block \(did you mean eviction_policy\?\)$/)]);
  });

  it('fails on a misspelt attribute inside a block, and on a block with too many items', () => {
    const json = production();
    clusterOf(json).storage_autoscale = [{ enabled: true, threshold_percnt: 80 }, { enabled: true }];
    expect(schemaProblems(json, schema)).toEqual([
      expect.stringMatching(/storage_autoscale: at most 1 block\(s\), got 2$/),
      expect.stringMatching(/storage_autoscale\[0\]\.threshold_percnt: no such attribute or block \(did you mean threshold_percent\?\)$/),
    ]);
  });

  it('fails on an unknown resource type, a missing required attribute, a computed-only attribute and a wrong shape', () => {
    const json = production();
    json.resource.digitalocean_database_logsink_syslog = { x: { cluster_id: 'c', name: 'n' } };
    json.resource.digitalocean_database_logsink_rsyslog = { y: { cluster_id: 'c', name: 'n', server: 's', port: 'five-one-four', logsink_id: 'z' } };
    expect(schemaProblems(json, schema)).toEqual([
      'digitalocean_database_logsink_syslog: no such resource type in provider 2.99.1',
      'digitalocean_database_logsink_rsyslog.y.port: must be a number, got "five-one-four"',
      'digitalocean_database_logsink_rsyslog.y.logsink_id: computed by the provider, cannot be set',
    ]);
    delete json.resource.digitalocean_database_logsink_syslog;
    delete json.resource.digitalocean_database_logsink_rsyslog!.y!.server;
    expect(schemaProblems(json, schema)).toContain('digitalocean_database_logsink_rsyslog.y.server: required, missing');
  });
});

describe('escape hatches for what the 2.71 binding lacks (all off by default)', () => {
  it('GIVEN the shipped stacks THEN none is used: no storage autoscale, no Valkey config resource, no log sink', () => {
    for (const env of SHIPPED) {
      const json = synthShipped(env);
      for (const cluster of all(json, 'digitalocean_database_cluster')) expect(cluster).not.toHaveProperty('storage_autoscale');
      expect(Object.keys(json.resource).filter((t) => /valkey_config|logsink|advanced_postgresql/.test(t))).toEqual([]);
    }
  });

  describe('GIVEN production with every hatch on in its config', () => {
    const json = synthEnvironment(variant('production', {
      'postgres.storageAutoscale': { thresholdPercent: 80, incrementGib: 20 },
      'postgres.logSinks': [{ kind: 'rsyslog', name: 'pg-logs', server: 'logs.acme-widgets.io', port: 6514 }],
      'cache.evictionVia': 'valkey-config',
      'cache.logSinks': [{ kind: 'opensearch', name: 'cache-logs', endpoint: 'https://search.acme-widgets.io:9200', indexPrefix: 'valkey', indexDaysMax: 14 }],
    }));
    const clusters = all(json, 'digitalocean_database_cluster');
    const pg = clusters.find((c) => c.engine === 'pg')!;
    const valkey = clusters.find((c) => c.engine === 'valkey')!;

    it('THEN every resource still matches provider 2.99.1\'s schema', () => {
      expect(schemaProblems(json, schema)).toEqual([]);
    });

    it('THEN the constraint narrows to 2.99.1, the version the hatches are checked against', () => {
      expect(providerVersion(json)).toBe('>= 2.99.1, <= 2.99.1');
      expect(admits(providerVersion(json), '2.71.0')).toBe(false);
    });

    it('THEN PostgreSQL grows its disk (a storage_autoscale block) and Valkey does not', () => {
      expect(pg.storage_autoscale).toEqual([{ enabled: true, threshold_percent: 80, increment_gib: 20 }]);
      expect(valkey).not.toHaveProperty('storage_autoscale');
    });

    it('THEN Valkey\'s eviction is set once, through the provider\'s config resource, in its spelling', () => {
      expect(valkey).not.toHaveProperty('eviction_policy');
      const config = only(json, 'digitalocean_database_valkey_config');
      expect(config.valkey_maxmemory_policy).toBe('allkeys-lru');
      expect(config.cluster_id).toMatch(/^\$\{digitalocean_database_cluster\.cache_cluster_\w+\.id\}$/);
    });

    it('THEN each cluster forwards its logs to its own sink', () => {
      expect(only(json, 'digitalocean_database_logsink_rsyslog')).toMatchObject({ name: 'pg-logs', server: 'logs.acme-widgets.io', port: 6514, tls: true, format: 'rfc5424', cluster_id: expect.stringMatching(/postgres_cluster/) });
      expect(only(json, 'digitalocean_database_logsink_opensearch')).toMatchObject({ name: 'cache-logs', endpoint: 'https://search.acme-widgets.io:9200', index_prefix: 'valkey', index_days_max: 14, cluster_id: expect.stringMatching(/cache_cluster/) });
    });
  });

  describe('GIVEN each hatch in a bare stack', () => {
    const bare = (build: (stack: TerraformStack, cluster: databaseCluster.DatabaseCluster) => void): TerraformJson => {
      const stack = new TerraformStack(Testing.app(), 'bare');
      const cluster = new databaseCluster.DatabaseCluster(stack, 'cluster', { name: 'c', engine: 'pg', version: '17', size: 'db-s-1vcpu-1gb', region: 'nyc3', nodeCount: 1 });
      build(stack, cluster);
      return JSON.parse(Testing.synth(stack)) as TerraformJson;
    };

    it('THEN the advanced PostgreSQL config (for advanced_pg clusters) matches the schema, and a misspelt override fails', () => {
      let config!: AdvancedPostgresqlConfig;
      const json = bare((stack, cluster) => (config = new AdvancedPostgresqlConfig(stack, 'pg-config', { clusterId: cluster.id, parameters: { work_mem: '8192', jit: 'off' } })));
      expect(only(json, 'digitalocean_database_advanced_postgresql_config').pg_parameters).toEqual({ work_mem: '8192', jit: 'off' });
      expect(schemaProblems(json, schema)).toEqual([]);
      const misspelt = bare((stack, cluster) => new AdvancedPostgresqlConfig(stack, 'pg-config', { clusterId: cluster.id, parameters: {} }).addOverride('pg_parameter', {}));
      expect(schemaProblems(misspelt, schema)).toEqual([expect.stringMatching(/pg_parameter: no such attribute or block \(did you mean pg_parameters\?\)$/)]);
      expect(config).toBeDefined();
    });

    it('THEN the unbound resources also render as HCL (cdktf synth --hcl), the map as strings', () => {
      const stack = new TerraformStack(Testing.app(), 'hcl');
      new AdvancedPostgresqlConfig(stack, 'pg-config', { clusterId: 'abc', parameters: { work_mem: '8192' } });
      new DatabaseLogSink(stack, 'sink', 'abc', { kind: 'rsyslog', name: 'n', server: 's', port: 514 });
      const hcl = Testing.synthHcl(stack);
      expect(hcl).toMatch(/resource "digitalocean_database_advanced_postgresql_config" "pg-config" \{\s*cluster_id = "abc"\s*pg_parameters = \{\s*work_mem = "8192"\s*\}\s*\}/);
      expect(hcl).toMatch(/resource "digitalocean_database_logsink_rsyslog" "sink" \{[^}]*port = 514[^}]*tls = true/);
      expect(hcl).not.toMatch(/unexpected type/);
    });

    it('THEN storage autoscale with DigitalOcean\'s defaults writes only enabled', () => {
      const json = bare((_stack, cluster) => enableStorageAutoscale(cluster));
      expect(only(json, 'digitalocean_database_cluster').storage_autoscale).toEqual([{ enabled: true }]);
      expect(schemaProblems(json, schema)).toEqual([]);
    });

    it('THEN every eviction policy is written in the provider\'s dashed spelling', () => {
      const json = bare((stack, cluster) => new ValkeyEvictionConfig(stack, 'eviction', { clusterId: cluster.id, evictionPolicy: 'volatile_ttl' }));
      expect(only(json, 'digitalocean_database_valkey_config').valkey_maxmemory_policy).toBe('volatile-ttl');
      expect(schemaProblems(json, schema)).toEqual([]);
    });

    it('THEN a misspelt attribute on a log sink fails the schema check', () => {
      const json = bare((stack, cluster) => new DatabaseLogSink(stack, 'sink', cluster.id, { kind: 'rsyslog', name: 'n', server: 's', port: 514 }).addOverride('tsl', true));
      expect(schemaProblems(json, schema)).toEqual([expect.stringMatching(/\.tsl: no such attribute or block \(did you mean tls\?\)$/)]);
    });
  });
});

describe('a shipped example cannot be planned or applied', () => {
  const guard = (json: TerraformJson) => json.output.example_config_guard;

  it('GIVEN a shipped example WHEN synthesized THEN an output precondition that reads the example marker fails', () => {
    const json = synthShipped('production');
    expect(json.locals).toEqual({ example_config: true });
    expect(guard(json)).toMatchObject({
      precondition: [{ condition: '${!local.example_config}', error_message: expect.stringMatching(/^config\/production\.yaml is a shipped example \(example: true\).*delete the line `example: true`/) }],
    });
  });

  it('GIVEN the same environment without the marker WHEN synthesized THEN there is no guard', () => {
    const json = synthEnvironment(variant('staging', { example: undefined }));
    expect(guard(json)).toBeUndefined();
    expect(json.locals).toBeUndefined();
  });
});
