/**
 * The DigitalOcean provider beyond its prebuilt binding. `@cdktf/provider-digitalocean` 13.14.1 binds
 * provider 2.71.0 and will not be regenerated (cdktf was archived upstream), while the provider itself moved
 * on. Here: the version range the stacks accept, and typed escape hatches for what 2.71 lacks, each written
 * as plain Terraform attributes. test/provider-schema/digitalocean-2.99.1.json (the provider's own schema)
 * checks every attribute and block they emit, so a misspelt name fails a test instead of `terraform plan`.
 *
 * Every hatch is off unless a config key (or a construct prop) turns it on: each needs a provider newer than
 * the binding, so using one narrows the stack's provider constraint to the version the schema check covers.
 */
import type { databaseCluster } from '@cdktf/provider-digitalocean';
import { databaseValkeyConfig } from '@cdktf/provider-digitalocean';
import { TerraformResource, TerraformStack, type ITerraformDependable } from 'cdktf';
import { Construct } from 'constructs';

/** The provider version the prebuilt binding was generated from: the oldest the stacks accept. */
export const DIGITALOCEAN_BINDING_VERSION = '2.71.0';
/** The newest provider version the stacks are checked against (test/provider-schema/). */
export const DIGITALOCEAN_CHECKED_VERSION = '2.99.1';

const compareVersions = (a: string, b: string) => {
  const [x, y] = [a.split('.').map(Number), b.split('.').map(Number)];
  for (let i = 0; i < 3; i++) if ((x[i] ?? 0) !== (y[i] ?? 0)) return (x[i] ?? 0) - (y[i] ?? 0);
  return 0;
};

/** The `required_providers` constraint for a given oldest version: never past the checked one. */
export function digitaloceanConstraint(oldest = DIGITALOCEAN_BINDING_VERSION): string {
  return `>= ${oldest}, <= ${DIGITALOCEAN_CHECKED_VERSION}`;
}

const oldestByStack = new WeakMap<TerraformStack, string>();

/**
 * Raise the oldest DigitalOcean provider `scope`'s stack accepts (the binding pins 2.71.0 exactly; a
 * stack admits every 2.x release from it up to the checked version). Call it with no version from the
 * stack itself; escape hatches call it with the version they need.
 */
export function requireDigitalOceanProvider(scope: Construct, oldest = DIGITALOCEAN_BINDING_VERSION): void {
  const stack = TerraformStack.of(scope);
  const current = oldestByStack.get(stack) ?? DIGITALOCEAN_BINDING_VERSION;
  const next = compareVersions(oldest, current) > 0 ? oldest : current;
  oldestByStack.set(stack, next);
  stack.addOverride('terraform.required_providers.digitalocean.version', digitaloceanConstraint(next));
}

/** Attributes of DigitalOcean resources that the binding does not know, written as Terraform spells them. */
type Attributes = Record<string, unknown>;

/** A DigitalOcean resource the 2.71 binding has no class for; `attributes` are Terraform's snake_case names. */
class UnboundResource extends TerraformResource {
  constructor(scope: Construct, id: string, type: string, private readonly attributes: Attributes, dependsOn?: ITerraformDependable[]) {
    super(scope, id, {
      terraformResourceType: type,
      terraformGeneratorMetadata: { providerName: 'digitalocean' },
      dependsOn,
    });
    requireDigitalOceanProvider(this, DIGITALOCEAN_CHECKED_VERSION);
  }

  protected override synthesizeAttributes(): Attributes {
    return Object.fromEntries(Object.entries(this.attributes).filter(([, v]) => v !== undefined));
  }

  protected override synthesizeHclAttributes(): Attributes {
    return Object.fromEntries(
      Object.entries(this.synthesizeAttributes()).map(([k, value]) => [
        k,
        typeof value === 'object'
          ? { value, isBlock: false, type: 'map', storageClassType: 'stringMap' }
          : { value, isBlock: false, type: 'simple', storageClassType: typeof value },
      ]),
    );
  }
}

export interface StorageAutoscaleProps {
  /** Disk use (percent) at which DigitalOcean adds storage. @default - DigitalOcean's default */
  readonly thresholdPercent?: number;
  /** GiB added each time (DigitalOcean: at least 10, rounded to 10). @default - DigitalOcean's default */
  readonly incrementGib?: number;
}

/**
 * Grow a database cluster's disk before it fills (`storage_autoscale`, a block the 2.71 binding lacks):
 * a full disk stops PostgreSQL writes. Each step adds storage, and cost, that is not given back.
 */
export function enableStorageAutoscale(cluster: databaseCluster.DatabaseCluster, props: StorageAutoscaleProps = {}): void {
  requireDigitalOceanProvider(cluster, DIGITALOCEAN_CHECKED_VERSION);
  cluster.addOverride('storage_autoscale', [
    { enabled: true, threshold_percent: props.thresholdPercent, increment_gib: props.incrementGib },
  ].map((block) => Object.fromEntries(Object.entries(block).filter(([, v]) => v !== undefined))));
}

/** Valkey's eviction policies as the cluster's `eviction_policy` spells them (underscores). */
export type EvictionPolicy = 'noeviction' | 'allkeys_lru' | 'allkeys_random' | 'volatile_lru' | 'volatile_random' | 'volatile_ttl';

export interface ValkeyEvictionConfigProps {
  readonly clusterId: string;
  readonly evictionPolicy: EvictionPolicy;
}

/**
 * Valkey's maxmemory policy through the provider's own config resource (`digitalocean_database_valkey_config`
 * with `valkey_maxmemory_policy`, which the 2.71 binding's class lacks). The provider documents the values
 * with dashes (`allkeys-lru`), the cluster's `eviction_policy` with underscores; this takes the latter.
 */
export class ValkeyEvictionConfig extends Construct {
  readonly resource: databaseValkeyConfig.DatabaseValkeyConfig;

  constructor(scope: Construct, id: string, props: ValkeyEvictionConfigProps) {
    super(scope, id);
    requireDigitalOceanProvider(this, DIGITALOCEAN_CHECKED_VERSION);
    this.resource = new databaseValkeyConfig.DatabaseValkeyConfig(this, 'config', { clusterId: props.clusterId });
    this.resource.addOverride('valkey_maxmemory_policy', props.evictionPolicy.replaceAll('_', '-'));
  }
}

export interface AdvancedPostgresqlConfigProps {
  readonly clusterId: string;
  /** PostgreSQL settings (GUC name -> value as PostgreSQL writes it), e.g. `{ work_mem: '8192' }`. */
  readonly parameters: Readonly<Record<string, string>>;
}

/**
 * `digitalocean_database_advanced_postgresql_config`: settings of a PostgreSQL Advanced Edition cluster
 * (engine `advanced_pg`, per the provider's documentation). This project's clusters use engine `pg`, whose
 * settings the binding's own `DatabasePostgresqlConfig` already types, so nothing here uses it; it is for
 * a stack that provisions `advanced_pg`.
 */
export class AdvancedPostgresqlConfig extends UnboundResource {
  constructor(scope: Construct, id: string, props: AdvancedPostgresqlConfigProps) {
    super(scope, id, 'digitalocean_database_advanced_postgresql_config', { cluster_id: props.clusterId, pg_parameters: { ...props.parameters } });
  }
}

/** Where a database cluster forwards its logs. */
export type LogSinkProps =
  | {
      readonly kind: 'rsyslog';
      readonly name: string;
      readonly server: string;
      readonly port: number;
      /** @default true */
      readonly tls?: boolean;
      /** @default 'rfc5424' */
      readonly format?: 'rfc5424' | 'rfc3164';
    }
  | {
      readonly kind: 'opensearch';
      readonly name: string;
      /** HTTPS URL of the OpenSearch endpoint, `https://host:port`. */
      readonly endpoint: string;
      readonly indexPrefix: string;
      /** @default - DigitalOcean's default retention */
      readonly indexDaysMax?: number;
    };

/**
 * A database log sink (`digitalocean_database_logsink_rsyslog` / `_opensearch`, absent from the 2.71
 * binding): the cluster's logs leave DigitalOcean's short retention for your own log store.
 */
export class DatabaseLogSink extends UnboundResource {
  constructor(scope: Construct, id: string, clusterId: string, sink: LogSinkProps) {
    const attributes: Attributes =
      sink.kind === 'rsyslog'
        ? { cluster_id: clusterId, name: sink.name, server: sink.server, port: sink.port, tls: sink.tls ?? true, format: sink.format ?? 'rfc5424' }
        : { cluster_id: clusterId, name: sink.name, endpoint: sink.endpoint, index_prefix: sink.indexPrefix, index_days_max: sink.indexDaysMax };
    super(scope, id, `digitalocean_database_logsink_${sink.kind}`, attributes);
  }
}
