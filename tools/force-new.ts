/**
 * Which attribute changes make Terraform REPLACE a resource instead of updating it in place: the
 * provider's `ForceNew` flags (and `CustomizeDiff` rules), copied by hand from the provider's Go
 * source because the provider's JSON schema (`terraform providers schema`) does not carry them.
 *
 * Source: github.com/digitalocean/terraform-provider-digitalocean, the file and commit named on each
 * entry (read 2026-12-01 from stored copies of the repository's default branch; this project pins
 * provider 2.71.0 through @cdktf/provider-digitalocean 13.14.1). The flags of these attributes have
 * not moved across the versions we read; when you bump the provider, re-read the files named here
 * and update the table (`npm run changes` is an early warning; `terraform plan` stays the authority).
 */

/** What the report needs to know about one resource type. */
export interface ReplacementRule {
  /** Top-level arguments whose change replaces the resource (ForceNew). */
  readonly forceNew: readonly string[];
  /** Arguments that replace only for some changes (CustomizeDiff with ForceNewIfChange). */
  readonly forceNewIf?: Readonly<Record<string, (before: unknown, after: unknown) => boolean>>;
  /** What an in-place change of an argument does beyond "updated", when that matters for review. */
  readonly inPlaceNotes?: Readonly<Record<string, string>>;
  /** Holds data (or gives access to it): any change is flagged for review. */
  readonly stateful?: boolean;
  /** For a stateful type: what a replacement or destroy loses. */
  readonly lossOnReplace?: string;
  /** For a stateless type whose replacement interrupts service: what a reviewer should know. */
  readonly replaceNote?: string;
  /** Where the flags were read: `path@commit` in the provider repository, or a documentation page. */
  readonly source: string;
}

const PROVIDER = 'digitalocean/terraform-provider-digitalocean';
const at = (file: string, commit: string) => `${PROVIDER}: ${file} @ ${commit.slice(0, 12)}`;

/** The replacement table, by Terraform resource type. */
export const REPLACEMENT_RULES: Readonly<Record<string, ReplacementRule>> = {
  digitalocean_droplet: {
    forceNew: ['image', 'region', 'ssh_keys', 'user_data', 'monitoring', 'droplet_agent', 'vpc_uuid'],
    // customdiff.ForceNewIfChange("ipv6", old && !new): turning IPv6 off replaces, turning it on does not.
    forceNewIf: { ipv6: (before, after) => before === true && after !== true },
    inPlaceNotes: {
      size: 'resized in place: the provider powers the droplet off hard, resizes it and powers it on (downtime on that droplet)',
      graceful_shutdown: 'kept in state only',
    },
    source: at('digitalocean/droplet/resource_droplet.go', '06e95bcec554b20a4877f35123f50d064e5c9bbd'),
  },
  digitalocean_droplet_autoscale: {
    // No ForceNew at all: the provider sends every change as one PUT of the pool.
    forceNew: [],
    inPlaceNotes: {
      droplet_template: 'the pool rolls every member: it creates a full new set, waits the cooldown, then destroys the old set (time-gated, not health-gated; DigitalOcean docs "Autoscale pools")',
    },
    source: at('digitalocean/dropletautoscale/resource_droplet_autoscale.go', '336aca9ff23ee8c182bf2c0437924ac5f9708ec0'),
  },
  digitalocean_loadbalancer: {
    forceNew: ['region', 'vpc_uuid', 'type', 'network', 'network_stack'],
    replaceNote: 'a new load balancer with a new IP address: clients reach it only once DNS points there',
    source: at('digitalocean/loadbalancer/resource_loadbalancer.go', '032158d5f93d7ce285f9b045713b1ca787bb9b1b'),
  },
  digitalocean_certificate: {
    forceNew: ['name', 'private_key', 'leaf_certificate', 'certificate_chain', 'domains', 'type'],
    replaceNote: 'a new certificate: the load balancer switches to it once it is issued',
    source: at('digitalocean/certificate/resource_certificate.go', '1b8d7f381ff33db2369a73dadb9c4fad6a6d8a2a'),
  },
  digitalocean_vpc: {
    forceNew: ['region', 'ip_range'],
    replaceNote: 'a new private network: droplets, databases and the load balancer in it are replaced with it',
    source: at('digitalocean/vpc/resource_vpc.go', '7d41d7c41db44b282257391db96d3bdd898cce14'),
  },
  digitalocean_firewall: {
    forceNew: [],
    source: at('digitalocean/firewall/firewalls.go', '95da01c190354c0d9955736d058e4f5fb9811a06'),
  },
  digitalocean_database_cluster: {
    forceNew: ['name', 'engine', 'private_network_uuid', 'project_id'],
    inPlaceNotes: {
      size: 'resized in place (the cluster is migrated to new nodes)',
      node_count: 'standby nodes added or removed in place',
      region: 'migrated to another region in place',
      version: 'major version upgrade in place',
    },
    stateful: true,
    lossOnReplace: 'every database on it is deleted (restore from a backup into a new cluster)',
    source: at('digitalocean/database/resource_database_cluster.go', '075f68519c0c69bb5b909eb55e148d9b8aef6fc1'),
  },
  digitalocean_database_replica: {
    forceNew: ['name', 'cluster_id', 'region', 'private_network_uuid', 'tags'],
    inPlaceNotes: { size: 'resized in place' },
    stateful: true,
    lossOnReplace: 'the replica is rebuilt from the primary; reads through it fail meanwhile',
    source: at('digitalocean/database/resource_database_replica.go', '1975db0b9489befb2f2cd56e7b227b2612ed1a4f'),
  },
  digitalocean_database_user: {
    forceNew: ['name', 'cluster_id'],
    stateful: true,
    lossOnReplace: 'the user is dropped and created with a new password; connections with the old one fail',
    source: at('digitalocean/database/resource_database_user.go', '034b61f3c7a928cf4b62abcff6c2b26298144799'),
  },
  digitalocean_database_db: {
    forceNew: ['name', 'cluster_id'],
    stateful: true,
    lossOnReplace: 'the database and its data are deleted',
    source: at('digitalocean/database/resource_database_db.go', '48a186e13afce5f01a88ccb4ea531b78b3fbc820'),
  },
  digitalocean_database_connection_pool: {
    // Every argument is ForceNew: resizing a pool drops it and creates it again (connections reset).
    forceNew: ['cluster_id', 'name', 'user', 'mode', 'size', 'db_name', 'skip_if_exists'],
    stateful: true,
    lossOnReplace: 'the pool is dropped and created again; connections through it are cut',
    source: at('digitalocean/database/resource_database_connection_pool.go', '114c9d8d46d0f2ee61dab0d3b25d183b8ba499c3'),
  },
  digitalocean_database_firewall: {
    forceNew: ['cluster_id'],
    source: at('digitalocean/database/resource_database_firewall.go', '83ebdb3cc55d9e0c4e07330153ac660b1f979108'),
  },
  digitalocean_record: {
    forceNew: ['type', 'domain'],
    replaceNote: 'the record is deleted and created: the name does not resolve in between',
    source: at('digitalocean/domain/resource_record.go', '1531311cfb70a6bcb61e78c5b61e04489d2ef229'),
  },
  digitalocean_project: {
    forceNew: [],
    source: at('digitalocean/project/resource_project.go', '221121957d32654dca994bf8e151c9280f48aa76'),
  },
  digitalocean_tag: {
    forceNew: ['name'],
    source: at('digitalocean/tag/resource_tag.go', '95da01c190354c0d9955736d058e4f5fb9811a06'),
  },
  digitalocean_monitor_alert: {
    forceNew: [],
    source: at('digitalocean/monitoring/resource_monitor_alert.go', '95da01c190354c0d9955736d058e4f5fb9811a06'),
  },
  digitalocean_uptime_check: {
    forceNew: [],
    source: at('digitalocean/uptime/resource_uptime_check.go', '48a186e13afce5f01a88ccb4ea531b78b3fbc820'),
  },
  digitalocean_uptime_alert: {
    // check_id is Required but not ForceNew: a new check re-points the alert in place.
    forceNew: [],
    source: at('digitalocean/uptime/resource_uptime_alert.go', '034b61f3c7a928cf4b62abcff6c2b26298144799'),
  },
  digitalocean_volume: {
    forceNew: ['region', 'name', 'description', 'snapshot_id', 'initial_filesystem_type', 'initial_filesystem_label'],
    inPlaceNotes: { size: 'grown in place (volumes cannot shrink)' },
    stateful: true,
    lossOnReplace: 'the volume and its data are deleted',
    source: at('digitalocean/volume/resource_volume.go', '0882a65278efb4f9c5a5520239e1f489e69684e8'),
  },
  digitalocean_spaces_bucket: {
    forceNew: ['region'],
    stateful: true,
    lossOnReplace: 'the bucket and its objects are deleted',
    source: at('digitalocean/spaces/resource_spaces_bucket.go', '10cf44469f34a17d1d4dcf80f95a9dc6c7808fa9'),
  },
  terraform_data: {
    // Terraform's built-in resource: `triggers_replace` replaces it; `input` changes update it.
    forceNew: ['triggers_replace'],
    source: 'Terraform documentation, "The terraform_data Managed Resource Type" (hashicorp/terraform website/docs/language/resources/terraform-data.mdx)',
  },
};

/**
 * Arguments Terraform itself handles (meta-arguments and SDK timeouts): a change to them never
 * replaces the resource and makes no change to the cloud object.
 */
export const META_ARGUMENTS: readonly string[] = ['lifecycle', 'provisioner', 'depends_on', 'timeouts', 'connection', 'provider'];

const LABELS: Readonly<Record<string, string>> = {
  digitalocean_droplet_autoscale: 'droplet autoscale pool',
  digitalocean_loadbalancer: 'load balancer',
  digitalocean_vpc: 'VPC',
  digitalocean_database_replica: 'read replica',
  digitalocean_database_db: 'database',
  digitalocean_database_connection_pool: 'connection pool',
  digitalocean_record: 'DNS record',
  digitalocean_spaces_bucket: 'Spaces bucket',
  cloudinit_config: 'cloud-init document',
};

/**
 * A short label for summaries ("droplet", "load balancer"). A database cluster is named by its
 * engine, because the cache is a database cluster too.
 */
export function typeLabel(type: string, body?: Readonly<Record<string, unknown>>): string {
  if (type === 'digitalocean_database_cluster' && body) {
    const engine = String(body.engine ?? '');
    return ['valkey', 'redis'].includes(engine) ? `cache cluster (${engine})` : `database cluster (${engine || 'unknown engine'})`;
  }
  return LABELS[type] ?? type.replace(/^digitalocean_/, '').replace(/_/g, ' ');
}
