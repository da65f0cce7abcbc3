import { certificate, loadbalancer } from '@cdktf/provider-digitalocean';
import { Construct } from 'constructs';
import type { AppFleet } from './app-fleet.js';
import type { Network } from './network.js';

export interface HealthCheckProps {
  /** @default '/healthz' */
  readonly path?: string;
  /** @default 10 */
  readonly checkIntervalSeconds?: number;
  /** @default 5 */
  readonly responseTimeoutSeconds?: number;
  /** @default 3 */
  readonly healthyThreshold?: number;
  /** @default 3 */
  readonly unhealthyThreshold?: number;
}

export interface LoadBalancerProps {
  /** Prefix of every resource name, e.g. `web-production`. */
  readonly name: string;
  readonly region: string;
  readonly network: Network;
  /** Nodes, 10,000 connections each (from the capacity plan). */
  readonly sizeUnit: number;
  /**
   * Name served over HTTPS with a Let's Encrypt certificate; HTTP redirects to it.
   * @default - no domain: plain HTTP on the load balancer's IP
   */
  readonly domain?: string;
  /** @default 60 */
  readonly httpIdleTimeoutSeconds?: number;
  /** @default - GET /healthz on port 80 every 10 s */
  readonly healthCheck?: HealthCheckProps;
}

/** Port the droplets' Nginx listens on, inside the VPC. */
export const BACKEND_PORT = 80;

/** A regional DigitalOcean load balancer: TLS ends here, droplets get HTTP on the VPC. */
export class LoadBalancer extends Construct {
  readonly resource: loadbalancer.Loadbalancer;
  readonly certificate?: certificate.Certificate;

  constructor(scope: Construct, id: string, props: LoadBalancerProps) {
    super(scope, id);
    const hc = props.healthCheck ?? {};
    const http = { entryProtocol: 'http', entryPort: 80, targetProtocol: 'http', targetPort: BACKEND_PORT };
    let forwardingRule: loadbalancer.LoadbalancerForwardingRule[] = [http];
    if (props.domain) {
      this.certificate = new certificate.Certificate(this, 'certificate', {
        name: `${props.name}-${props.domain.replace(/\./g, '-')}`,
        type: 'lets_encrypt',
        domains: [props.domain],
        // A renewed certificate gets a new name; the LB must move to it before the old one goes.
        lifecycle: { createBeforeDestroy: true },
      });
      // http2 on 443 negotiates HTTP/2 and falls back to HTTPS/1.1; port 80 only redirects.
      forwardingRule = [
        http,
        { entryProtocol: 'http2', entryPort: 443, targetProtocol: 'http', targetPort: BACKEND_PORT, certificateName: this.certificate.name },
      ];
    }
    this.resource = new loadbalancer.Loadbalancer(this, 'lb', {
      name: `${props.name}-lb`,
      region: props.region,
      vpcUuid: props.network.vpc.id,
      sizeUnit: props.sizeUnit,
      forwardingRule,
      redirectHttpToHttps: Boolean(props.domain),
      // Our Dns construct owns the record, in state, instead of DigitalOcean adding one behind our back.
      disableLetsEncryptDnsRecords: true,
      enableBackendKeepalive: true,
      httpIdleTimeoutSeconds: props.httpIdleTimeoutSeconds ?? 60,
      healthcheck: {
        protocol: 'http',
        port: BACKEND_PORT,
        path: hc.path ?? '/healthz',
        checkIntervalSeconds: hc.checkIntervalSeconds ?? 10,
        responseTimeoutSeconds: hc.responseTimeoutSeconds ?? 5,
        healthyThreshold: hc.healthyThreshold ?? 3,
        unhealthyThreshold: hc.unhealthyThreshold ?? 3,
      },
    });
  }

  /** Send traffic to every droplet carrying the fleet's tag (no limit on tagged droplets; IDs max 10). */
  forwardTo(fleet: AppFleet): void {
    this.resource.dropletTag = fleet.tagName;
  }

  /** The load balancer's ID, also the UID cloud firewalls admit with `source_load_balancer_uids`. */
  get id(): string {
    return this.resource.id;
  }

  get ip(): string {
    return this.resource.ip;
  }
}
