/**
 * Policy rules over a synthesized stack (`cdk.tf.json`): what tfsec/checkov check on DigitalOcean
 * Terraform (tfsec/trivy `digitalocean-*` and checkov `CKV_DIO_*` rules), with this project's reasoned exceptions, and the production rules.
 *
 * Rules read the Terraform JSON, not our constructs, so they also catch a hand-edited construct or an
 * override. Each finding names the resource address and what to change: a config key where one exists,
 * else the construct that hard-codes the setting.
 *
 * Accepted on purpose (not findings): egress open to the world (apt, pip, git and the DigitalOcean
 * metrics agent need it), and port 80 entering the load balancer in plain HTTP when it only redirects.
 */

/** `high` blocks a deploy (the check exits non-zero); `medium` is printed for a person to judge. */
export type Severity = 'high' | 'medium';

export interface Finding {
  readonly severity: Severity;
  readonly rule: string;
  /** Terraform address, e.g. `digitalocean_firewall.network_fleet-firewall_1A2B3C4D`. */
  readonly address: string;
  readonly message: string;
  /** The config key to change (`fleet.adminSshCidrs`), or `code: <file>` when no key controls it. */
  readonly change: string;
}

type Block = Record<string, unknown>;
/** The part of `cdk.tf.json` the rules read. */
export interface StackJson {
  readonly resource?: Record<string, Record<string, Block>>;
  readonly output?: Record<string, Block>;
}

const WORLD = new Set(['0.0.0.0/0', '::/0']);
const SECRET_ATTRIBUTE = /\.(password|uri|private_uri|private_key|token|secret|secret_key|access_key)\}/;

const resources = (json: StackJson, type: string): [string, Block][] =>
  Object.entries(json.resource?.[type] ?? {}).map(([name, block]) => [`${type}.${name}`, block]);
const list = <T = unknown>(value: unknown): T[] => (Array.isArray(value) ? (value as T[]) : []);
const refTo = (address: string, attr: string) => `\${${address}.${attr}}`;

/** Whether a firewall `port_range` ('22', '1-65535', 'all', or none for ICMP) admits `port`. */
export function coversPort(range: unknown, port: number): boolean {
  if (range === undefined || range === 'all' || range === '0') return true;
  const [low, high = low] = String(range).split('-').map(Number);
  return low !== undefined && high !== undefined && port >= low && port <= high;
}

/** Production is marked by the DigitalOcean project's environment; the stack name is the fallback. */
export function isProduction(stackName: string, json: StackJson): boolean {
  const projects = resources(json, 'digitalocean_project');
  if (projects.length > 0) return projects.some(([, p]) => p.environment === 'Production');
  return /-production$/.test(stackName);
}

/** Every finding for one stack. */
export function checkStack(stackName: string, json: StackJson): Finding[] {
  const findings: Finding[] = [];
  const add = (severity: Severity, rule: string, address: string, message: string, change: string) =>
    findings.push({ severity, rule, address, message, change });
  const production = isProduction(stackName, json);

  // The fleet's tags: whatever the droplets (or the autoscale pool's template) carry.
  const droplets = resources(json, 'digitalocean_droplet');
  const pools = resources(json, 'digitalocean_droplet_autoscale');
  const fleetTags = new Set<string>([
    ...droplets.flatMap(([, d]) => list<string>(d.tags)),
    ...pools.flatMap(([, p]) => list<string>((p.droplet_template as Block | undefined)?.tags)),
  ]);

  for (const [address, fw] of resources(json, 'digitalocean_firewall')) {
    for (const rule of list<Block>(fw.inbound_rule)) {
      const world = list<string>(rule.source_addresses).filter((a) => WORLD.has(a));
      const nonLbSources = [...list(rule.source_addresses), ...list(rule.source_tags), ...list(rule.source_droplet_ids), ...list(rule.source_kubernetes_ids)];
      if (coversPort(rule.port_range, 22) && world.length > 0) {
        add('high', 'ssh-open-to-world', address, `SSH (22) open to ${world.join(', ')}`, 'fleet.adminSshCidrs');
      } else if (coversPort(rule.port_range, 80) && nonLbSources.length > 0) {
        add('high', 'app-port-not-only-from-lb', address, `port 80 admits ${nonLbSources.join(', ')}; only the load balancer (source_load_balancer_uids) may reach Nginx`, 'code: constructs/network.ts');
      } else if (world.length > 0) {
        add('high', 'inbound-open-to-world', address, `inbound ${String(rule.protocol)} ${String(rule.port_range ?? 'all')} open to ${world.join(', ')}; the world enters through the load balancer only`, 'code: constructs/network.ts');
      }
    }
  }

  const dbFirewalls = resources(json, 'digitalocean_database_firewall');
  for (const [address, cluster] of resources(json, 'digitalocean_database_cluster')) {
    const key = cluster.engine === 'pg' ? 'postgres' : 'cache';
    const guards = dbFirewalls.filter(([, f]) => f.cluster_id === refTo(address, 'id'));
    if (guards.length === 0) {
      add('high', 'database-without-trusted-sources', address, `${String(cluster.engine)} cluster has no trusted sources: anyone with the password can connect from anywhere`, `code: constructs/${key}.ts allowFrom`);
    }
    for (const [fwAddress, fw] of guards) {
      for (const rule of list<Block>(fw.rule)) {
        if (rule.type !== 'tag' || !fleetTags.has(String(rule.value))) {
          add('high', 'database-reachable-beyond-fleet', fwAddress, `trusted source ${String(rule.type)} ${String(rule.value)} is not the fleet's tag`, `code: constructs/${key}.ts allowFrom`);
        }
      }
    }
    if (production && cluster.engine === 'pg' && Number(cluster.node_count ?? 1) < 2) {
      add('high', 'production-without-standby', address, `PostgreSQL has node_count ${String(cluster.node_count ?? 1)}: no standby to fail over to`, 'postgres.standbyNodes');
    }
  }

  if (production) {
    for (const type of ['digitalocean_database_cluster', 'digitalocean_database_replica', 'digitalocean_database_db', 'digitalocean_database_user']) {
      for (const [address, block] of resources(json, type)) {
        if ((block.lifecycle as Block | undefined)?.prevent_destroy !== true) {
          add('high', 'production-without-prevent-destroy', address, 'stateful resource without lifecycle.prevent_destroy: a plan could destroy production data', 'tier (production sets it; see constructs/postgres.ts, cache.ts)');
        }
      }
    }
    const fixed = droplets.length;
    const minPool = Math.min(...pools.map(([, p]) => Number((p.config as Block | undefined)?.min_instances ?? 0)));
    if (pools.length === 0 && fixed < 2) {
      add('high', 'production-single-droplet', droplets[0]?.[0] ?? 'digitalocean_droplet', `${fixed} droplet(s): one lost or replaced droplet takes the site down`, 'fleet.count');
    } else if (pools.length > 0 && minPool < 2) {
      add('high', 'production-single-droplet', pools[0]![0], `autoscale pool may shrink to ${minPool} droplet(s)`, 'fleet.autoscale.minInstances');
    }
    if (resources(json, 'digitalocean_monitor_alert').length === 0) {
      add('medium', 'production-without-alerts', 'digitalocean_monitor_alert', 'no monitoring alert reaches anyone', 'alerts.emails');
    }
  }

  for (const [address, d] of droplets) {
    if (list(d.ssh_keys).length === 0) add('high', 'droplet-without-ssh-keys', address, 'no SSH key: DigitalOcean e-mails a root password instead', 'fleet.sshKeyFingerprints');
    if (d.monitoring !== true) add('medium', 'droplet-without-monitoring', address, 'the metrics agent is off: droplet alerts see nothing', 'code: constructs/app-fleet.ts');
  }
  for (const [address, p] of pools) {
    if (list((p.droplet_template as Block | undefined)?.ssh_keys).length === 0) add('high', 'droplet-without-ssh-keys', address, 'autoscale template without SSH keys', 'fleet.sshKeyFingerprints');
  }

  const hasCertificate = resources(json, 'digitalocean_certificate').length > 0;
  for (const [address, lb] of resources(json, 'digitalocean_loadbalancer')) {
    const rules = list<Block>(lb.forwarding_rule);
    const tls = hasCertificate || rules.some((r) => r.certificate_name || r.certificate_id);
    const plainHttp = rules.some((r) => r.entry_protocol === 'http');
    if (tls && plainHttp && lb.redirect_http_to_https !== true) {
      add('high', 'http-without-redirect', address, 'serves plain HTTP beside HTTPS without redirect_http_to_https', 'code: constructs/load-balancer.ts');
    }
    if (production && !tls) add('high', 'production-without-tls', address, 'production load balancer without a certificate: plain HTTP only', 'domain');
  }

  for (const [name, output] of Object.entries(json.output ?? {})) {
    const match = SECRET_ATTRIBUTE.exec(JSON.stringify(output.value ?? ''));
    if (match && output.sensitive !== true) {
      add('high', 'secret-in-output', `output.${name}`, `output shows ${match[1]} without sensitive = true: it prints in every plan and CI log`, 'code: constructs/web-stack.ts outputs');
    }
  }
  return findings;
}
