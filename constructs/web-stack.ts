import { provider as cloudinitProvider } from '@cdktf/provider-cloudinit';
import { provider } from '@cdktf/provider-digitalocean';
import { LocalBackend, S3Backend, TerraformOutput, TerraformStack } from 'cdktf';
import type { Construct } from 'constructs';
import { ConfigError, type LoadedEnvironment } from '../config/load.js';
import { checkUserDataSize, renderUserData, type AppConnections, type DropletInput } from '../templates/droplet.js';
import { dropletInputFor } from '../templates/droplet-input.js';
import { AppFleet } from './app-fleet.js';
import { Cache } from './cache.js';
import { Dns } from './dns.js';
import { ExampleGuard } from './example-guard.js';
import { LoadBalancer } from './load-balancer.js';
import { Monitoring } from './monitoring.js';
import { Network } from './network.js';
import { Postgres } from './postgres.js';
import { Project } from './project.js';
import { requireDigitalOceanProvider } from './provider-overrides.js';

const PROJECT_ENVIRONMENT = { development: 'Development', staging: 'Staging', production: 'Production' } as const;

/** Terraform versions every stack accepts: S3-native locking (`use_lockfile`) needs 1.10; 2.x is untested. */
export const TERRAFORM_REQUIRED_VERSION = '>= 1.10.0, < 2.0.0';

/** Longest connection string the env file may receive, for the user-data size check at synth time. */
const LONGEST_URL = 'x'.repeat(256);

/** Where local state lives, relative to the stack's folder `cdktf.out/stacks/<stack>` (the default outdir). */
export const LOCAL_STATE_DIR = 'state';
export function localStatePath(stackId: string): string {
  return `../../../${LOCAL_STATE_DIR}/terraform.${stackId}.tfstate`;
}

/**
 * One environment: provider, state backend, and the composition of the constructs. Resource details live
 * in the constructs; every number comes from the environment's capacity plan.
 */
export class WebStack extends TerraformStack {
  readonly fleet: AppFleet;
  readonly loadBalancer: LoadBalancer;
  readonly postgres: Postgres;
  readonly cache: Cache;

  constructor(scope: Construct, id: string, env: LoadedEnvironment) {
    super(scope, id);
    const { config, plan } = env;
    const production = config.tier === 'production';
    // Credentials come from the environment at plan/apply time (DIGITALOCEAN_TOKEN); synth needs none.
    new provider.DigitaloceanProvider(this, 'digitalocean');
    // The binding pins the provider it was generated from (2.71.0); admit every release up to the checked one.
    requireDigitalOceanProvider(this);
    new cloudinitProvider.CloudinitProvider(this, 'cloudinit');
    // Older Terraform rejects use_lockfile (1.10+); a laptop or CI with another version stops at init.
    this.addOverride('terraform.required_version', TERRAFORM_REQUIRED_VERSION);
    this.useStateBackend(id, env);
    // A shipped example synthesizes, but no plan or apply of it may reach an account.
    if (config.example) new ExampleGuard(this, 'example-guard', { file: env.file });

    const common = { name: id, region: config.region };
    const network = new Network(this, 'network', { ...common, ipRange: config.vpc.ipRange });
    this.postgres = new Postgres(this, 'postgres', {
      ...common,
      network,
      version: config.postgres.version,
      sizeSlug: config.postgres.sizeSlug,
      standbyNodes: config.postgres.standbyNodes,
      readReplicas: config.postgres.readReplicas,
      databaseName: config.postgres.databaseName,
      userName: config.postgres.userName,
      poolMode: config.postgres.pool.mode,
      poolSize: plan.database.pgbouncerPoolSize,
      maintenanceWindow: config.postgres.maintenanceWindow,
      storageAutoscale: config.postgres.storageAutoscale,
      logSinks: config.postgres.logSinks,
      preventDestroy: production,
    });
    this.cache = new Cache(this, 'cache', {
      ...common,
      network,
      sizeSlug: config.cache.sizeSlug,
      version: config.cache.version,
      evictionPolicy: config.cache.evictionPolicy,
      evictionVia: config.cache.evictionVia,
      logSinks: config.cache.logSinks,
      preventDestroy: production,
    });

    const droplet = dropletInputFor(env);
    this.checkUserDataSize(env, droplet);
    const connections: AppConnections = {
      databaseUrl: this.postgres.primaryUrl,
      databaseDirectUrl: this.postgres.directPrimaryUrl,
      databaseAdminUrl: this.postgres.adminPrimaryUrl,
      databaseReplicaUrls: this.postgres.replicaUrls,
      redisUrl: this.cache.url,
    };
    // The load balancer first: every new droplet's gate polls it (it targets the fleet by tag, not by ID).
    this.loadBalancer = new LoadBalancer(this, 'load-balancer', {
      ...common,
      network,
      sizeUnit: plan.loadBalancer.sizeUnit,
      domain: config.domain,
      httpIdleTimeoutSeconds: config.loadBalancer.httpIdleTimeoutSeconds,
      healthCheck: config.loadBalancer.healthCheck,
    });
    const { rollout } = plan;
    this.fleet = new AppFleet(this, 'fleet', {
      ...common,
      network,
      sizeSlug: config.fleet.sizeSlug,
      image: config.fleet.image,
      sshKeys: config.fleet.sshKeyFingerprints,
      cloudConfig: renderUserData(droplet, connections),
      count: plan.fleet.kind === 'droplets' ? plan.fleet.count : undefined,
      autoscale: plan.fleet.kind === 'autoscale' ? plan.fleet : undefined,
      rollout: {
        // The LB's own address, with the domain as Host and TLS name: DNS may not point at it yet.
        url: `${config.domain ? 'https' : 'http'}://${this.loadBalancer.ip}`,
        host: config.domain,
        path: config.loadBalancer.healthCheck.path,
        batchSize: rollout.batchSize,
        passes: rollout.gatePasses,
        intervalSeconds: rollout.gateIntervalSeconds,
        timeoutSeconds: rollout.gateTimeoutSeconds,
        deleteTimeoutSeconds: rollout.deleteTimeoutSeconds,
      },
    });
    this.loadBalancer.forwardTo(this.fleet);
    const fleetFirewall = network.restrictFleet(this.fleet, { httpFrom: this.loadBalancer, sshFromCidrs: config.fleet.adminSshCidrs });
    // A new droplet must be reachable from the LB (firewall) and reach its data tier (trusted sources)
    // before its gate can pass.
    this.fleet.waitFor(fleetFirewall, this.postgres.allowFrom(this.fleet), this.cache.allowFrom(this.fleet));
    if (config.domain) new Dns(this, 'dns', { domain: config.domain, zone: config.dnsZone, target: this.loadBalancer });
    new Monitoring(this, 'monitoring', {
      name: id,
      fleet: this.fleet,
      dropletVcpus: plan.droplet.vcpus,
      loadBalancer: this.loadBalancer,
      databaseClusterIds: [this.postgres.cluster.id, this.cache.cluster.id],
      recipients: config.alerts,
      domain: config.domain,
      healthPath: config.loadBalancer.healthCheck.path,
    });

    new Project(this, 'project', {
      name: id,
      environment: PROJECT_ENVIRONMENT[config.tier],
      resources: [this.loadBalancer.resource.urn, this.postgres.cluster.urn, this.cache.cluster.urn, ...this.fleet.urns],
    });

    new TerraformOutput(this, 'load_balancer_ip', { value: this.loadBalancer.ip, description: 'Public IPv4 of the load balancer' });
    new TerraformOutput(this, 'site_url', {
      value: config.domain ? `https://${config.domain}` : `http://${this.loadBalancer.ip}`,
      description: 'Where the app answers',
    });
  }

  /** Local state beside the stack, or the S3 backend on DigitalOcean Spaces (settings from DigitalOcean's docs, "Use Spaces as a Terraform backend"). */
  private useStateBackend(id: string, env: LoadedEnvironment): void {
    const state = env.config.state;
    if (state.backend === 'local') {
      // Terraform runs in cdktf.out/stacks/<stack>; the state lives in state/ at the project's root, outside
      // what a synth rewrites or a clean deletes (losing it orphans still-billed resources).
      new LocalBackend(this, { path: localStatePath(id) });
      return;
    }
    const backend = new S3Backend(this, {
      bucket: state.bucket,
      key: state.key ?? `${id}/terraform.tfstate`,
      // Spaces ignores the AWS region; the S3 protocol needs one, and us-east-1 is what DigitalOcean documents.
      region: 'us-east-1',
      endpoints: { s3: `https://${state.region}.digitaloceanspaces.com` },
      skipCredentialsValidation: true,
      skipRequestingAccountId: true,
      skipMetadataApiCheck: true,
      skipRegionValidation: true,
      skipS3Checksum: true,
    });
    // S3-native locking (Terraform >= 1.10): a conditional PUT (If-None-Match) of <key>.tflock, which
    // Spaces honours (docs/operations.md has the sources). CI's per-environment concurrency group stays the
    // first guard. cdktf 0.21 has no property for it.
    backend.addOverride('use_lockfile', true);
  }

  /** DigitalOcean refuses user data over 64 KiB; check the worst case (longest connection strings) now. */
  private checkUserDataSize(env: LoadedEnvironment, droplet: DropletInput): void {
    const replicas = env.config.postgres.readReplicas.map(() => LONGEST_URL).join(',');
    try {
      checkUserDataSize(renderUserData(droplet, { databaseUrl: LONGEST_URL, databaseDirectUrl: LONGEST_URL, databaseReplicaUrls: replicas, redisUrl: LONGEST_URL, databaseAdminUrl: LONGEST_URL }));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      throw new ConfigError([env.problemAt(['app'], message)]);
    }
  }
}
