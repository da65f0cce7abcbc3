import { firewall, vpc } from '@cdktf/provider-digitalocean';
import { Construct } from 'constructs';
import type { AppFleet } from './app-fleet.js';
import type { LoadBalancer } from './load-balancer.js';

export interface NetworkProps {
  /** Prefix of every resource name, e.g. `web-production`. */
  readonly name: string;
  readonly region: string;
  /** Private range of the VPC (RFC 1918, /16 to /28). */
  readonly ipRange: string;
}

export interface FleetAccess {
  /** The only source of HTTP (port 80) traffic. */
  readonly httpFrom: LoadBalancer;
  /**
   * Source CIDRs allowed to reach SSH (port 22).
   * @default - none: no SSH from anywhere
   */
  readonly sshFromCidrs?: readonly string[];
}

/** The VPC every resource lives in, and the cloud firewall that guards the fleet. */
export class Network extends Construct {
  readonly vpc: vpc.Vpc;
  private readonly name: string;

  constructor(scope: Construct, id: string, props: NetworkProps) {
    super(scope, id);
    this.name = props.name;
    this.vpc = new vpc.Vpc(this, 'vpc', {
      name: `${props.name}-vpc`,
      region: props.region,
      ipRange: props.ipRange,
      description: `Private network of ${props.name}`,
    });
  }

  /**
   * Admit to the fleet only HTTP from the load balancer and SSH from the given CIDRs; allow all egress
   * (packages, the database and cache over the VPC, DigitalOcean's metrics agent).
   */
  restrictFleet(fleet: AppFleet, access: FleetAccess): firewall.Firewall {
    const sshFromCidrs = access.sshFromCidrs ?? [];
    const everywhere = ['0.0.0.0/0', '::/0'];
    return new firewall.Firewall(this, 'fleet-firewall', {
      name: `${this.name}-fleet`,
      tags: [fleet.tagName],
      inboundRule: [
        { protocol: 'tcp', portRange: '80', sourceLoadBalancerUids: [access.httpFrom.id] },
        // One rule per admin network so the console shows who may log in, not one opaque list.
        ...sshFromCidrs.map((cidr) => ({ protocol: 'tcp', portRange: '22', sourceAddresses: [cidr] })),
      ],
      outboundRule: [
        { protocol: 'tcp', portRange: '1-65535', destinationAddresses: everywhere },
        { protocol: 'udp', portRange: '1-65535', destinationAddresses: everywhere },
        { protocol: 'icmp', destinationAddresses: everywhere },
      ],
    });
  }
}
