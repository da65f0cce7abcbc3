import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { dataCloudinitConfig } from '@cdktf/provider-cloudinit';
import { droplet, dropletAutoscale, tag } from '@cdktf/provider-digitalocean';
import { AssetType, TerraformAsset, type TerraformResource } from 'cdktf';
import { Construct } from 'constructs';
import type { Network } from './network.js';

/** The gate script, copied into every stack so the synthesized folder runs on its own (plain Terraform too). */
const ROLLOUT_GATE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../tools/rollout-gate.mjs');

/**
 * How new droplets join the fleet: health-gated, in batches (from the capacity plan's rollout).
 *
 * Each droplet gets a creation-time provisioner that runs `tools/rollout-gate.mjs` on the machine running
 * Terraform, polling the public load balancer until responses carry the new droplet's ID (Nginx adds
 * `X-Droplet-Id`). Terraform counts the droplet as created only when the gate passes; under
 * `create_before_destroy` the old droplet is destroyed only after that, and a gate that fails taints the
 * new droplet and keeps the old one serving.
 */
export interface RolloutGateProps {
  /** Base URL the gate polls, e.g. `https://<lb ip>`: the load balancer itself, not DNS (which may lag). */
  readonly url: string;
  /** Host header and TLS server name, when the load balancer serves a domain. @default - none */
  readonly host?: string;
  /** The health check path Nginx answers with the droplet's ID. */
  readonly path: string;
  readonly batchSize: number;
  readonly passes: number;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  /** Terraform's delete timeout: the droplet's whole graceful stop (drain) plus power-off. */
  readonly deleteTimeoutSeconds: number;
}

/** Autoscale pool settings, as the plan derives them. */
export interface AutoscalePoolProps {
  readonly minInstances: number;
  readonly maxInstances: number;
  /** Share of CPU (0.05-1) the pool keeps on average. */
  readonly targetCpuUtilization: number;
  readonly cooldownMinutes: number;
}

export interface AppFleetProps {
  /** Prefix of every resource name, e.g. `web-production`. */
  readonly name: string;
  readonly region: string;
  readonly network: Network;
  readonly sizeSlug: string;
  readonly image: string;
  readonly sshKeys: readonly string[];
  /** The droplet's cloud-config text. It may hold cdktf tokens (the env file's connection strings). */
  readonly cloudConfig: string;
  /**
   * Fixed droplets; ignored when `autoscale` is set.
   * @default 1
   */
  readonly count?: number;
  /**
   * A droplet autoscale pool instead of fixed droplets.
   * @default - fixed droplets
   */
  readonly autoscale?: AutoscalePoolProps;
  /**
   * Health-gated, batched creation of fixed droplets (an autoscale pool rolls its own template).
   * @default - no gate: a droplet counts as created once it runs
   */
  readonly rollout?: RolloutGateProps;
}

/**
 * Escape literal `${` and `%{` for Terraform's template syntax, leaving cdktf tokens (`${TfToken[...]}`)
 * alone so they still resolve to references. This is the one place rendered text enters Terraform.
 */
export function escapeForTerraform(text: string): string {
  return text.replace(/\$\{(?!TfToken\[)/g, '$$${').replace(/%\{/g, '%%{');
}

/** The app droplets (or autoscale pool): one tag, one VPC, user data from cloud-init. */
export class AppFleet extends Construct {
  /** Name of the tag every droplet of the fleet carries; firewalls and trusted sources select it. */
  readonly tagName: string;
  readonly droplets: droplet.Droplet[] = [];
  readonly pool?: dropletAutoscale.DropletAutoscale;
  readonly userData: dataCloudinitConfig.DataCloudinitConfig;

  constructor(scope: Construct, id: string, props: AppFleetProps) {
    super(scope, id);
    const fleetTag = new tag.Tag(this, 'tag', { name: `${props.name}-app` });
    this.tagName = fleetTag.name;
    // Plain text, neither gzipped nor base64: DigitalOcean's user_data must be plain text
    // (digitalocean/openapi, specification/resources/droplets/models/droplet_create.yml).
    this.userData = new dataCloudinitConfig.DataCloudinitConfig(this, 'user-data', {
      gzip: false,
      base64Encode: false,
      part: [{ contentType: 'text/cloud-config', filename: 'cloud-config.yaml', content: escapeForTerraform(props.cloudConfig) }],
    });
    // What every droplet of the fleet is made from, fixed or autoscaled.
    const template = {
      size: props.sizeSlug,
      region: props.region,
      image: props.image,
      sshKeys: [...props.sshKeys],
      tags: [this.tagName],
      vpcUuid: props.network.vpc.id,
      userData: this.userData.rendered,
    };
    if (props.autoscale) {
      const { minInstances, maxInstances, targetCpuUtilization, cooldownMinutes } = props.autoscale;
      this.pool = new dropletAutoscale.DropletAutoscale(this, 'pool', {
        name: `${props.name}-app`,
        config: { minInstances, maxInstances, targetCpuUtilization, cooldownMinutes },
        dropletTemplate: { ...template, withDropletAgent: true },
      });
      return;
    }
    const gate = props.rollout ? this.gateCommand(props.rollout) : undefined;
    for (let i = 1; i <= (props.count ?? 1); i++) {
      const previousBatch = props.rollout && i > props.rollout.batchSize ? this.droplets[i - 1 - props.rollout.batchSize] : undefined;
      this.droplets.push(
        new droplet.Droplet(this, `droplet-${i}`, {
          name: `${props.name}-app-${i}`,
          ...template,
          monitoring: true,
          dropletAgent: true,
          // Destroy sends a shutdown: the droplet drains (fails its LB check, waits, finishes requests) first.
          gracefulShutdown: true,
          // New user data replaces droplets; the new one must serve before the old one goes.
          lifecycle: { createBeforeDestroy: true },
          // The next batch starts only when this one's droplets passed the gate.
          dependsOn: previousBatch ? [previousBatch] : undefined,
          ...(gate && props.rollout
            ? {
              provisioners: [{ type: 'local-exec' as const, command: gate }],
              // Without it the provider waits 60 s for the droplet to be off, then fails the apply (no power-off).
              timeouts: { delete: `${props.rollout.deleteTimeoutSeconds}s` },
            }
            : {}),
        }),
      );
    }
  }

  /** The gate's command line; `${self.id}` is the new droplet's ID, resolved by Terraform. */
  private gateCommand(rollout: RolloutGateProps): string {
    const asset = new TerraformAsset(this, 'rollout-gate', { path: ROLLOUT_GATE, type: AssetType.FILE });
    const args = [
      `--url ${rollout.url}`,
      `--path ${rollout.path}`,
      ...(rollout.host ? [`--host ${rollout.host}`] : []),
      '--droplet-id ${self.id}',
      `--passes ${rollout.passes}`,
      `--interval-seconds ${rollout.intervalSeconds}`,
      `--timeout-seconds ${rollout.timeoutSeconds}`,
    ];
    return `node ${asset.path} ${args.join(' ')}`;
  }

  /** Create the droplets only once `resources` exist (the firewall that admits the LB, trusted sources). */
  waitFor(...resources: TerraformResource[]): void {
    // depends_on takes bare addresses (type.name), not interpolations.
    const addresses = resources.map((r) => `${r.terraformResourceType}.${r.friendlyUniqueId}`);
    for (const d of this.droplets) d.dependsOn = [...(d.dependsOn ?? []), ...addresses];
  }

  /** URNs for the DigitalOcean project (an autoscale pool's droplets join by tag, not by URN). */
  get urns(): string[] {
    return this.droplets.map((d) => d.urn);
  }
}
