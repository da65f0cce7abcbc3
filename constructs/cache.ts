import { databaseCluster } from '@cdktf/provider-digitalocean';
import { Construct } from 'constructs';
import type { AppFleet } from './app-fleet.js';
import { trustOnlyFleet } from './trusted-sources.js';
import type { Network } from './network.js';
import { DatabaseLogSink, ValkeyEvictionConfig, type EvictionPolicy, type LogSinkProps } from './provider-overrides.js';

export interface CacheProps {
  /** Prefix of every resource name, e.g. `web-production`. */
  readonly name: string;
  readonly region: string;
  readonly network: Network;
  readonly sizeSlug: string;
  /** @default '8' */
  readonly version?: string;
  /** @default 'allkeys_lru' */
  readonly evictionPolicy?: EvictionPolicy;
  /**
   * Set the eviction policy on the cluster (`eviction_policy`, every provider version) or through the
   * provider's Valkey config resource (`valkey_maxmemory_policy`, provider 2.99.1). Never both: two
   * owners of one setting would undo each other on every apply.
   * @default 'cluster'
   */
  readonly evictionVia?: 'cluster' | 'valkey-config';
  /** Where the cluster forwards its logs (needs provider 2.99.1). @default - none */
  readonly logSinks?: readonly LogSinkProps[];
  /** @default false */
  readonly preventDestroy?: boolean;
}

/**
 * The Redis-protocol cache: Managed Valkey (DigitalOcean discontinued managed Redis on 2025-06-30).
 * Valkey has no read replicas; it scales with a larger size.
 */
export class Cache extends Construct {
  readonly cluster: databaseCluster.DatabaseCluster;

  constructor(scope: Construct, id: string, props: CacheProps) {
    super(scope, id);
    this.cluster = new databaseCluster.DatabaseCluster(this, 'cluster', {
      name: `${props.name}-cache`,
      engine: 'valkey',
      version: props.version ?? '8',
      size: props.sizeSlug,
      region: props.region,
      nodeCount: 1,
      evictionPolicy: props.evictionVia === 'valkey-config' ? undefined : (props.evictionPolicy ?? 'allkeys_lru'),
      privateNetworkUuid: props.network.vpc.id,
      lifecycle: props.preventDestroy ? { preventDestroy: true } : undefined,
    });
    if (props.evictionVia === 'valkey-config') {
      new ValkeyEvictionConfig(this, 'eviction', { clusterId: this.cluster.id, evictionPolicy: props.evictionPolicy ?? 'allkeys_lru' });
    }
    (props.logSinks ?? []).forEach((sink, i) => new DatabaseLogSink(this, `log-sink-${i + 1}`, this.cluster.id, sink));
  }

  /** Trust only the fleet's tag. */
  allowFrom(fleet: AppFleet): ReturnType<typeof trustOnlyFleet> {
    return trustOnlyFleet(this, this.cluster.id, fleet);
  }

  /** `rediss://` URI over the VPC (TLS; redis-py speaks it to Valkey unchanged). */
  get url(): string {
    return this.cluster.privateUri;
  }
}
