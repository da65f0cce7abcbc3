import { dataCloudinitConfig } from '@cdktf/provider-cloudinit';
import { droplet, dropletAutoscale, tag } from '@cdktf/provider-digitalocean';
import { Construct } from 'constructs';
import type { Network } from './network.js';

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
    // Plain text, neither gzipped nor base64: DigitalOcean's user_data must be plain text (FACTS.md).
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
    for (let i = 1; i <= (props.count ?? 1); i++) {
      this.droplets.push(
        new droplet.Droplet(this, `droplet-${i}`, {
          name: `${props.name}-app-${i}`,
          ...template,
          monitoring: true,
          dropletAgent: true,
          gracefulShutdown: true,
          // New user data replaces droplets; the new one must serve before the old one goes.
          lifecycle: { createBeforeDestroy: true },
        }),
      );
    }
  }

  /** URNs for the DigitalOcean project (an autoscale pool's droplets join by tag, not by URN). */
  get urns(): string[] {
    return this.droplets.map((d) => d.urn);
  }
}
