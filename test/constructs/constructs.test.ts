import { describe, expect, it } from 'vitest';
import { escapeForTerraform } from '../../constructs/app-fleet.js';
import { all, only, synthShipped, synthEnvironment, variant, type TerraformJson } from '../support/synth.js';
import { loadEnvironment } from '../../config/load.js';

const production = synthShipped('production');
const dev = synthShipped('dev');
const productionPlan = loadEnvironment('production').plan;

const ref = (type: string, json: TerraformJson, attr: string) => `\${${type}.${Object.keys(json.resource[type]!)[0]}.${attr}}`;

describe('Network', () => {
  it('GIVEN production WHEN synthesized THEN the VPC has the configured range in the region', () => {
    expect(only(production, 'digitalocean_vpc')).toMatchObject({ name: 'web-production-vpc', region: 'nyc3', ip_range: '10.30.0.0/20' });
  });

  it('admits HTTP only from the load balancer and no SSH by default, with all egress', () => {
    const fw = only(production, 'digitalocean_firewall');
    expect(fw.tags).toEqual([ref('digitalocean_tag', production, 'name')]);
    expect(fw.inbound_rule).toEqual([{ protocol: 'tcp', port_range: '80', source_load_balancer_uids: [ref('digitalocean_loadbalancer', production, 'id')] }]);
    expect(fw.outbound_rule).toHaveLength(3);
  });

  it('GIVEN admin CIDRs WHEN synthesized THEN each gets its own SSH rule', () => {
    const json = synthEnvironment(variant('staging', { 'fleet.adminSshCidrs': ['198.51.100.0/24', '203.0.113.7/32'] }));
    const ssh = (only(json, 'digitalocean_firewall').inbound_rule as { port_range: string; source_addresses?: string[] }[]).filter((r) => r.port_range === '22');
    expect(ssh.map((r) => r.source_addresses)).toEqual([['198.51.100.0/24'], ['203.0.113.7/32']]);
  });
});

describe('AppFleet', () => {
  it('creates the planned number of droplets, tagged, in the VPC, monitored, replaced before destroyed', () => {
    const droplets = all(production, 'digitalocean_droplet');
    expect(droplets).toHaveLength(productionPlan.fleet.kind === 'droplets' ? productionPlan.fleet.count : -1);
    for (const d of droplets) {
      expect(d).toMatchObject({
        size: 'c-8', image: 'debian-12-x64', region: 'nyc3', monitoring: true, droplet_agent: true,
        tags: [ref('digitalocean_tag', production, 'name')], vpc_uuid: ref('digitalocean_vpc', production, 'id'),
        lifecycle: { create_before_destroy: true },
      });
      expect(d.user_data).toMatch(/^\$\{data\.cloudinit_config\.fleet_user-data_[0-9A-F]+\.rendered\}$/);
    }
  });

  it('gates every new droplet on the load balancer serving it: a creation-time provisioner with the droplet\'s own ID', () => {
    const lbIp = ref('digitalocean_loadbalancer', production, 'ip');
    for (const d of all(production, 'digitalocean_droplet')) {
      const provisioners = d.provisioner as { 'local-exec': { command: string } }[];
      expect(provisioners).toHaveLength(1);
      const command = provisioners[0]!['local-exec'].command;
      // The asset copied into the stack folder, so the folder runs with plain Terraform too.
      expect(command).toMatch(/^node assets\/fleet_rollout-gate_[0-9A-F]+\/[0-9A-F]+\/rollout-gate\.mjs /);
      expect(command).toContain(`--url https://${lbIp} --path /healthz --host example.com --droplet-id \${self.id}`);
      expect(command).toContain(`--passes ${productionPlan.rollout.gatePasses} --interval-seconds ${productionPlan.rollout.gateIntervalSeconds} --timeout-seconds ${productionPlan.rollout.gateTimeoutSeconds}`);
    }
    // Without a domain the gate speaks plain HTTP to the LB's IP, with no Host override.
    const devCommand = (all(dev, 'digitalocean_droplet')[0]!.provisioner as { 'local-exec': { command: string } }[])[0]!['local-exec'].command;
    expect(devCommand).toContain(`--url http://${ref('digitalocean_loadbalancer', dev, 'ip')} --path /healthz --droplet-id`);
    expect(devCommand).not.toContain('--host');
  });

  it('creates droplets batch after batch, each after the firewall and trusted sources that let it serve', () => {
    const json = synthEnvironment(variant('production', { 'fleet.count': 8 }));
    const names = Object.keys(json.resource.digitalocean_droplet!);
    const batch = 2; // a quarter of 8
    names.forEach((name, i) => {
      const dependsOn = json.resource.digitalocean_droplet![name]!.depends_on as string[];
      const earlier = dependsOn.filter((d) => d.startsWith('digitalocean_droplet.'));
      expect(earlier).toEqual(i >= batch ? [`digitalocean_droplet.${names[i - batch]}`] : []);
      expect(dependsOn.filter((d) => !d.startsWith('digitalocean_droplet.')).map((d) => d.split('.')[0]).sort())
        .toEqual(['digitalocean_database_firewall', 'digitalocean_database_firewall', 'digitalocean_firewall']);
    });
  });

  it('gives a droplet\'s destroy the time of its whole drain, and shuts it down gracefully', () => {
    for (const d of all(production, 'digitalocean_droplet')) {
      expect(d).toMatchObject({ graceful_shutdown: true, timeouts: { delete: `${productionPlan.rollout.deleteTimeoutSeconds}s` } });
    }
    const t = productionPlan.tuning;
    expect(productionPlan.rollout.deleteTimeoutSeconds).toBeGreaterThan(t.drain.lbDetectSeconds + t.gunicorn.stopTimeoutSeconds);
  });

  it('renders user data as plain cloud-config text: neither gzipped nor base64', () => {
    const config = Object.values(production.data.cloudinit_config!)[0]!;
    expect(config).toMatchObject({ gzip: false, base64_encode: false });
    expect((config.part as { content: string }[])[0]!.content).toMatch(/^#cloud-config\n/);
  });

  it('GIVEN an autoscale pool WHEN synthesized THEN there are no fixed droplets and the pool has the template and tag', () => {
    const json = synthEnvironment(variant('staging', { 'fleet.autoscale': { minInstances: 2, maxInstances: 6 }, 'fleet.maxDroplets': 6 }));
    expect(all(json, 'digitalocean_droplet')).toHaveLength(0);
    expect(only(json, 'digitalocean_droplet_autoscale')).toMatchObject({
      config: { min_instances: 2, max_instances: 6, target_cpu_utilization: 0.6, cooldown_minutes: 5 },
      droplet_template: { size: 'c-2', image: 'debian-12-x64', tags: [ref('digitalocean_tag', json, 'name')], with_droplet_agent: true },
    });
  });
});

describe('LoadBalancer', () => {
  it('GIVEN a domain THEN HTTPS/HTTP2 on 443 with a Let\'s Encrypt certificate, 80 redirects, health check on /healthz', () => {
    const lb = only(production, 'digitalocean_loadbalancer');
    expect(only(production, 'digitalocean_certificate')).toMatchObject({ type: 'lets_encrypt', domains: ['example.com'] });
    expect(lb).toMatchObject({
      size_unit: productionPlan.loadBalancer.sizeUnit,
      redirect_http_to_https: true,
      enable_backend_keepalive: true,
      http_idle_timeout_seconds: 60,
      droplet_tag: ref('digitalocean_tag', production, 'name'),
      vpc_uuid: ref('digitalocean_vpc', production, 'id'),
      healthcheck: { protocol: 'http', port: 80, path: '/healthz', check_interval_seconds: 10, response_timeout_seconds: 5 },
    });
    expect(lb.forwarding_rule).toEqual([
      { entry_protocol: 'http', entry_port: 80, target_protocol: 'http', target_port: 80 },
      { entry_protocol: 'http2', entry_port: 443, target_protocol: 'http', target_port: 80, certificate_name: ref('digitalocean_certificate', production, 'name') },
    ]);
  });

  it('GIVEN no domain THEN plain HTTP only, no certificate, no redirect, no DNS record', () => {
    expect(only(dev, 'digitalocean_loadbalancer')).toMatchObject({ redirect_http_to_https: false, forwarding_rule: [{ entry_protocol: 'http', entry_port: 80 }] });
    expect(all(dev, 'digitalocean_certificate')).toHaveLength(0);
    expect(all(dev, 'digitalocean_record')).toHaveLength(0);
  });
});

describe('Postgres', () => {
  it('creates the cluster with a standby, the replicas, the app database, user and PgBouncer pool', () => {
    expect(only(production, 'digitalocean_database_connection_pool')).toMatchObject({
      mode: 'transaction', size: productionPlan.database.pgbouncerPoolSize, db_name: ref('digitalocean_database_db', production, 'name'), user: ref('digitalocean_database_user', production, 'name'),
    });
    const pg = all(production, 'digitalocean_database_cluster').find((c) => c.engine === 'pg');
    expect(pg).toMatchObject({ version: '17', size: 'db-s-4vcpu-8gb', node_count: 2, maintenance_window: [{ day: 'sunday', hour: '04:00' }], lifecycle: { prevent_destroy: true } });
    expect(all(production, 'digitalocean_database_replica').map((r) => r.size)).toEqual(['db-s-4vcpu-8gb', 'db-s-4vcpu-8gb']);
  });

  it('trusts only the fleet tag, for the database and the cache', () => {
    const rules = all(production, 'digitalocean_database_firewall').map((f) => f.rule);
    expect(rules).toEqual([[{ type: 'tag', value: ref('digitalocean_tag', production, 'name') }], [{ type: 'tag', value: ref('digitalocean_tag', production, 'name') }]]);
  });

  it('GIVEN a non-production tier THEN stateful resources can be destroyed', () => {
    for (const c of all(dev, 'digitalocean_database_cluster')) expect(c.lifecycle).toBeUndefined();
  });
});

describe('Cache', () => {
  it('is a Valkey 8 cluster with the eviction policy, in the VPC, protected in production', () => {
    expect(all(production, 'digitalocean_database_cluster').find((c) => c.engine === 'valkey')).toMatchObject({
      version: '8', node_count: 1, eviction_policy: 'allkeys_lru', size: 'db-s-2vcpu-4gb', private_network_uuid: ref('digitalocean_vpc', production, 'id'), lifecycle: { prevent_destroy: true },
    });
  });
});

describe('Dns and Project', () => {
  it('points the domain at the load balancer; the LB does not add records of its own', () => {
    expect(only(production, 'digitalocean_record')).toMatchObject({ domain: 'example.com', type: 'A', name: '@', value: ref('digitalocean_loadbalancer', production, 'ip') });
    expect(only(production, 'digitalocean_loadbalancer').disable_lets_encrypt_dns_records).toBe(true);
  });

  it('GIVEN a subdomain of a zone THEN the record is the relative name in that zone', () => {
    expect(only(synthShipped('staging'), 'digitalocean_record')).toMatchObject({ domain: 'example.com', name: 'staging' });
  });

  it('groups the resources in a DigitalOcean project of the right environment', () => {
    const project = only(production, 'digitalocean_project');
    expect(project).toMatchObject({ name: 'web-production', environment: 'Production' });
    expect(project.resources).toHaveLength(3 + all(production, 'digitalocean_droplet').length);
  });
});

describe('the env file and Terraform escaping', () => {
  const content = (json: TerraformJson) => ((Object.values(json.data.cloudinit_config!)[0]!.part as { content: string }[])[0]!.content);

  it('carries the connection strings as Terraform references', () => {
    const text = content(production);
    expect(text).toContain(`DATABASE_URL="${ref('digitalocean_database_connection_pool', production, 'private_uri')}"`);
    const cacheKey = Object.keys(production.resource.digitalocean_database_cluster!).find((k) => k.startsWith('cache_'))!;
    expect(text).toContain(`REDIS_URL="\${digitalocean_database_cluster.${cacheKey}.private_uri}"`);
    expect(text.match(/@\$\{digitalocean_database_replica\./g)).toHaveLength(2);
  });

  it('holds no unescaped ${ other than Terraform references anywhere in the synthesized JSON', () => {
    for (const json of [production, dev]) {
      const text = JSON.stringify(json);
      const interpolations = [...text.matchAll(/(?<!\$)\$\{([^}]*)\}/g)].map((m) => m[1]!);
      // Resource attributes, the gate's own droplet (self.id, in its provisioner) and the stack's locals.
      for (const expr of interpolations) expect(expr).toMatch(/^(tostring\()?(data\.)?(digitalocean|cloudinit)_[a-z_]+\.[\w-]+\.[a-z_]+\)?$|^self\.id$|^!?local\.[a-z_]+$/);
    }
  });

  it('escapes literal ${ and %{ but leaves cdktf tokens', () => {
    expect(escapeForTerraform('a ${HOME} %{x} ${TfToken[TOKEN.1]}')).toBe('a $${HOME} %%{x} ${TfToken[TOKEN.1]}');
  });
});
