import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkStack, coversPort, isProduction, type StackJson } from '../../tools/policy.js';
import { synthEnvironment, synthShipped, variant, type TerraformJson } from '../support/synth.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const production = synthShipped('production');

type Block = Record<string, unknown>;
/** A deep copy of production's JSON, changed by `mutate`, checked as web-production. */
function findingsAfter(mutate: (json: TerraformJson, first: (type: string) => Block) => void, base: TerraformJson = production) {
  const json = structuredClone(base);
  const first = (type: string) => Object.values(json.resource[type]!)[0]!;
  mutate(json, first);
  return checkStack('web-production', json as StackJson);
}
const rules = (findings: { rule: string }[]) => findings.map((f) => f.rule);
const byEngine = (json: TerraformJson, engine: string) => Object.entries(json.resource.digitalocean_database_cluster!).find(([, c]) => c.engine === engine)!;

describe('GIVEN the shipped environments WHEN checked', () => {
  it.each(['dev', 'staging', 'production'])('THEN %s has zero findings', (name) => {
    expect(checkStack(`web-${name}`, synthShipped(name) as StackJson)).toEqual([]);
  });
});

describe('each policy fires on the stack that breaks it', () => {
  it('fails when SSH is open to the world (a real staging config with 0.0.0.0/0)', () => {
    const json = synthEnvironment(variant('staging', { 'fleet.adminSshCidrs': ['0.0.0.0/0'] }));
    const findings = checkStack('web-staging', json as StackJson);
    expect(findings).toEqual([expect.objectContaining({ severity: 'high', rule: 'ssh-open-to-world', change: 'fleet.adminSshCidrs', address: expect.stringMatching(/^digitalocean_firewall\./) })]);
  });

  it('fails when SSH is open to the IPv6 world through a port range', () => {
    const findings = findingsAfter((_, first) => (first('digitalocean_firewall').inbound_rule as Block[]).push({ protocol: 'tcp', port_range: '1-1024', source_addresses: ['::/0'] }));
    expect(rules(findings)).toEqual(['ssh-open-to-world']);
  });

  it('fails when another port is open to the world', () => {
    const findings = findingsAfter((_, first) => (first('digitalocean_firewall').inbound_rule as Block[]).push({ protocol: 'tcp', port_range: '443', source_addresses: ['0.0.0.0/0'] }));
    expect(findings).toEqual([expect.objectContaining({ rule: 'inbound-open-to-world', change: 'code: constructs/network.ts' })]);
  });

  it('fails when port 80 admits anything but the load balancer', () => {
    const findings = findingsAfter((_, first) => (first('digitalocean_firewall').inbound_rule as Block[])[0]!.source_addresses = ['10.0.0.0/8']);
    expect(rules(findings)).toEqual(['app-port-not-only-from-lb']);
  });

  it('fails when a database has no trusted sources', () => {
    const findings = findingsAfter((json) => {
      const [pgAddress] = byEngine(json, 'pg');
      const fws = json.resource.digitalocean_database_firewall!;
      for (const [name, fw] of Object.entries(fws)) if (fw.cluster_id === `\${digitalocean_database_cluster.${pgAddress}.id}`) delete fws[name];
    });
    expect(findings).toEqual([expect.objectContaining({ rule: 'database-without-trusted-sources', address: expect.stringMatching(/^digitalocean_database_cluster\.postgres/) })]);
  });

  it('fails when the cache trusts an address besides the fleet', () => {
    const findings = findingsAfter((json) => {
      const [cacheAddress] = byEngine(json, 'valkey');
      const fw = Object.values(json.resource.digitalocean_database_firewall!).find((f) => f.cluster_id === `\${digitalocean_database_cluster.${cacheAddress}.id}`)!;
      (fw.rule as Block[]).push({ type: 'ip_addr', value: '203.0.113.5' });
    });
    expect(findings).toEqual([expect.objectContaining({ rule: 'database-reachable-beyond-fleet', message: expect.stringContaining('203.0.113.5') })]);
  });

  it('fails when HTTP is served beside HTTPS without a redirect', () => {
    expect(rules(findingsAfter((_, first) => (first('digitalocean_loadbalancer').redirect_http_to_https = false)))).toEqual(['http-without-redirect']);
  });

  it('fails when production has no certificate', () => {
    const findings = findingsAfter((json, first) => {
      delete json.resource.digitalocean_certificate;
      const lb = first('digitalocean_loadbalancer');
      lb.forwarding_rule = (lb.forwarding_rule as Block[]).filter((r) => r.entry_protocol === 'http');
    });
    expect(findings).toEqual([expect.objectContaining({ rule: 'production-without-tls', change: 'domain' })]);
  });

  it('fails when a production database lacks prevent_destroy', () => {
    const findings = findingsAfter((json) => delete byEngine(json, 'pg')[1].lifecycle);
    expect(findings).toEqual([expect.objectContaining({ rule: 'production-without-prevent-destroy', address: expect.stringMatching(/^digitalocean_database_cluster\.postgres/) })]);
  });

  it('fails when production runs a single droplet', () => {
    const findings = findingsAfter((json) => {
      const droplets = json.resource.digitalocean_droplet!;
      for (const name of Object.keys(droplets).slice(1)) delete droplets[name];
    });
    expect(findings).toEqual([expect.objectContaining({ rule: 'production-single-droplet', change: 'fleet.count' })]);
  });

  it('fails when a production autoscale pool may shrink to one droplet', () => {
    const pool = synthEnvironment(variant('staging', { 'fleet.autoscale': { minInstances: 1, maxInstances: 4 } }));
    const findings = findingsAfter((_, first) => (first('digitalocean_project').environment = 'Production'), pool);
    expect(findings).toEqual(expect.arrayContaining([expect.objectContaining({ rule: 'production-single-droplet', change: 'fleet.autoscale.minInstances' })]));
  });

  it('fails when production PostgreSQL has no standby', () => {
    expect(rules(findingsAfter((json) => (byEngine(json, 'pg')[1].node_count = 1)))).toEqual(['production-without-standby']);
  });

  it('fails when a droplet has no SSH keys', () => {
    const findings = findingsAfter((_, first) => (first('digitalocean_droplet').ssh_keys = []));
    expect(findings).toEqual([expect.objectContaining({ rule: 'droplet-without-ssh-keys', change: 'fleet.sshKeyFingerprints' })]);
  });

  it('fails when an output shows a connection string without sensitive = true', () => {
    const [pgAddress] = byEngine(production, 'pg');
    const leak = { value: `\${digitalocean_database_cluster.${pgAddress}.uri}` };
    expect(findingsAfter((json) => (json.output.database_uri = leak))).toEqual([expect.objectContaining({ rule: 'secret-in-output', address: 'output.database_uri' })]);
    expect(findingsAfter((json) => (json.output.database_uri = { ...leak, sensitive: true }))).toEqual([]);
  });

  it('warns (medium, not blocking) when production alerts reach no one', () => {
    const findings = findingsAfter((json) => delete json.resource.digitalocean_monitor_alert);
    expect(findings).toEqual([expect.objectContaining({ severity: 'medium', rule: 'production-without-alerts', change: 'alerts.emails' })]);
  });
});

describe('helpers', () => {
  it('reads port ranges as Cloud Firewalls do', () => {
    expect([coversPort('22', 22), coversPort('1-65535', 22), coversPort('all', 22), coversPort(undefined, 22), coversPort('80', 22), coversPort('23-100', 22)]).toEqual([true, true, true, true, false, false]);
  });

  it('tells production by the DigitalOcean project, else by the stack name', () => {
    expect(isProduction('web-anything', production as StackJson)).toBe(true);
    expect(isProduction('web-staging', synthShipped('staging') as StackJson)).toBe(false);
    expect(isProduction('web-production', {})).toBe(true);
  });
});

describe('GIVEN synthesized stacks on disk WHEN `tools/policy-check.ts <dir>` runs', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'policy-check-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const write = (stack: string, json: unknown) => {
    mkdirSync(path.join(dir, 'stacks', stack), { recursive: true });
    writeFileSync(path.join(dir, 'stacks', stack, 'cdk.tf.json'), JSON.stringify(json));
  };
  const run = () => spawnSync(process.execPath, ['--import', 'tsx', 'tools/policy-check.ts', dir], { cwd: ROOT, encoding: 'utf8' });

  it('THEN clean stacks exit 0, a high finding exits 1 naming the stack, address and config key', () => {
    write('web-production', production);
    const clean = run();
    expect(clean.status, clean.stderr).toBe(0);
    expect(clean.stdout).toContain('web-production: no findings');

    const broken = structuredClone(production);
    Object.values(broken.resource.digitalocean_droplet!).forEach((d) => (d.ssh_keys = []));
    write('web-production', broken);
    const failed = run();
    expect(failed.status).toBe(1);
    expect(failed.stdout).toMatch(/^HIGH +web-production digitalocean_droplet\.fleet_droplet-1_\w+$/m);
    expect(failed.stdout).toContain('change: fleet.sshKeyFingerprints in config/production.yaml');
  });

  it('THEN a directory without stacks exits 2 and says to synthesize first', () => {
    const empty = spawnSync(process.execPath, ['--import', 'tsx', 'tools/policy-check.ts', path.join(dir, 'none')], { cwd: ROOT, encoding: 'utf8' });
    expect(empty.status).toBe(2);
    expect(empty.stderr).toContain('npx cdktf synth');
  });
});
