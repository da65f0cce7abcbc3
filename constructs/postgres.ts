import { databaseCluster, databaseConnectionPool, databaseDb, databaseReplica, databaseUser } from '@cdktf/provider-digitalocean';
import { Fn } from 'cdktf';
import { Construct } from 'constructs';
import type { AppFleet } from './app-fleet.js';
import { trustOnlyFleet } from './trusted-sources.js';
import type { Network } from './network.js';
import { DatabaseLogSink, enableStorageAutoscale, type LogSinkProps, type StorageAutoscaleProps } from './provider-overrides.js';

export interface ReadReplicaProps {
  readonly sizeSlug: string;
  /** @default - the cluster's region */
  readonly region?: string;
}

export interface PostgresProps {
  /** Prefix of every resource name, e.g. `web-production`. */
  readonly name: string;
  readonly region: string;
  readonly network: Network;
  /** Major version, '16' or '17'. */
  readonly version: string;
  readonly sizeSlug: string;
  /** @default 0 */
  readonly standbyNodes?: number;
  /** @default - no replicas: reads go to the primary */
  readonly readReplicas?: readonly ReadReplicaProps[];
  /** @default 'app' */
  readonly databaseName?: string;
  /** @default 'app' */
  readonly userName?: string;
  /** PgBouncer pool mode. @default 'transaction' */
  readonly poolMode?: string;
  /** Server connections of the app's PgBouncer pool (from the capacity plan). */
  readonly poolSize: number;
  /** @default - sunday 04:00 UTC */
  readonly maintenanceWindow?: { readonly day: string; readonly hour: string };
  /**
   * Refuse `terraform destroy` and replacements of the cluster (production data).
   * @default false
   */
  readonly preventDestroy?: boolean;
  /** Grow the disk before it fills (needs provider 2.99.1). @default - off */
  readonly storageAutoscale?: StorageAutoscaleProps;
  /** Where the cluster forwards its logs (needs provider 2.99.1). @default - none */
  readonly logSinks?: readonly LogSinkProps[];
}

/** Managed PostgreSQL: primary (+ standby nodes), read-only replicas, the app's database, user and PgBouncer pool. */
export class Postgres extends Construct {
  readonly cluster: databaseCluster.DatabaseCluster;
  readonly replicas: databaseReplica.DatabaseReplica[];
  readonly pool: databaseConnectionPool.DatabaseConnectionPool;
  readonly user: databaseUser.DatabaseUser;
  private readonly databaseName: string;

  constructor(scope: Construct, id: string, props: PostgresProps) {
    super(scope, id);
    const lifecycle = props.preventDestroy ? { preventDestroy: true } : undefined;
    this.databaseName = props.databaseName ?? 'app';
    this.cluster = new databaseCluster.DatabaseCluster(this, 'cluster', {
      name: `${props.name}-pg`,
      engine: 'pg',
      version: props.version,
      size: props.sizeSlug,
      region: props.region,
      nodeCount: 1 + (props.standbyNodes ?? 0),
      privateNetworkUuid: props.network.vpc.id,
      maintenanceWindow: [props.maintenanceWindow ?? { day: 'sunday', hour: '04:00' }],
      lifecycle,
    });
    if (props.storageAutoscale) enableStorageAutoscale(this.cluster, props.storageAutoscale);
    (props.logSinks ?? []).forEach((sink, i) => new DatabaseLogSink(this, `log-sink-${i + 1}`, this.cluster.id, sink));
    const db = new databaseDb.DatabaseDb(this, 'database', { clusterId: this.cluster.id, name: this.databaseName, lifecycle });
    this.user = new databaseUser.DatabaseUser(this, 'user', { clusterId: this.cluster.id, name: props.userName ?? 'app', lifecycle });
    this.pool = new databaseConnectionPool.DatabaseConnectionPool(this, 'pool', {
      clusterId: this.cluster.id,
      name: 'app-pool',
      mode: props.poolMode ?? 'transaction',
      size: props.poolSize,
      dbName: db.name,
      user: this.user.name,
    });
    this.replicas = (props.readReplicas ?? []).map((replica, i) => {
      const region = replica.region ?? props.region;
      return new databaseReplica.DatabaseReplica(this, `replica-${i + 1}`, {
        clusterId: this.cluster.id,
        name: `${props.name}-pg-replica-${i + 1}`,
        size: replica.sizeSlug,
        region,
        // The VPC exists in the cluster's region only; a replica elsewhere uses that region's default VPC.
        privateNetworkUuid: region === props.region ? props.network.vpc.id : undefined,
        lifecycle,
      });
    });
  }

  /** Trust only the fleet's tag: no other droplet, app or address may connect (replicas included). */
  allowFrom(fleet: AppFleet): ReturnType<typeof trustOnlyFleet> {
    return trustOnlyFleet(this, this.cluster.id, fleet);
  }

  /** The primary through the app's PgBouncer pool, over the VPC. */
  get primaryUrl(): string {
    return this.pool.privateUri;
  }

  /**
   * The primary directly (no PgBouncer) as the app's user, over the VPC: for the release step, whose session
   * advisory lock a transaction pool would not hold. The cluster's own URI carries the admin user.
   */
  get directPrimaryUrl(): string {
    return `postgresql://${this.user.name}:${this.user.password}@${this.cluster.privateHost}:${Fn.tostring(this.cluster.port)}/${this.databaseName}?sslmode=require`;
  }

  /**
   * The primary directly as the cluster's admin (doadmin), on the app's database: for the droplet's one-off
   * app-grant step only (README "Database roles": why the grant runs on a droplet, and what that exposes).
   */
  get adminPrimaryUrl(): string {
    return `postgresql://${this.cluster.user}:${this.cluster.password}@${this.cluster.privateHost}:${Fn.tostring(this.cluster.port)}/${this.databaseName}?sslmode=require`;
  }

  /**
   * The replicas as the app's user, comma-separated, over the VPC. A replica's own URI carries the admin
   * user, so the app user's credentials are put in front of each replica's private host.
   */
  get replicaUrls(): string {
    const urls = this.replicas.map(
      (r) => `postgresql://${this.user.name}:${this.user.password}@${r.privateHost}:${Fn.tostring(r.port)}/${this.databaseName}?sslmode=require`,
    );
    return urls.join(',');
  }
}
