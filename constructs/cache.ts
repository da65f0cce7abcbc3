import { databaseCluster } from '@cdktf/provider-digitalocean';
import { Construct } from 'constructs';
import type { AppFleet } from './app-fleet.js';
import { trustOnlyFleet } from './trusted-sources.js';
import type { Network } from './network.js';

export interface CacheProps {
  /** Prefix of every resource name, e.g. `web-production`. */
  readonly name: string;
  readonly region: string;
  readonly network: Network;
  readonly sizeSlug: string;
  /** @default '8' */
  readonly version?: string;
  /** @default 'allkeys_lru' */
  readonly evictionPolicy?: string;
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
      evictionPolicy: props.evictionPolicy ?? 'allkeys_lru',
      privateNetworkUuid: props.network.vpc.id,
      lifecycle: props.preventDestroy ? { preventDestroy: true } : undefined,
    });
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
