import { record } from '@cdktf/provider-digitalocean';
import { Construct } from 'constructs';
import type { LoadBalancer } from './load-balancer.js';

export interface DnsProps {
  /** The name the site answers on, e.g. `staging.example.com`. */
  readonly domain: string;
  /**
   * Existing DigitalOcean DNS zone that holds `domain`. The zone is not created here: several
   * environments share it, and Let's Encrypt on the load balancer needs it on DigitalOcean DNS already.
   * @default - the domain itself
   */
  readonly zone?: string;
  /** What the record points at. */
  readonly target: LoadBalancer;
  /** @default 300 */
  readonly ttlSeconds?: number;
}

/** The site's A record, pointing at the load balancer. The config loader checks the domain is inside the zone. */
export class Dns extends Construct {
  readonly record: record.Record;

  constructor(scope: Construct, id: string, props: DnsProps) {
    super(scope, id);
    const zone = props.zone ?? props.domain;
    this.record = new record.Record(this, 'site', {
      domain: zone,
      type: 'A',
      name: props.domain === zone ? '@' : props.domain.slice(0, -(zone.length + 1)),
      ttl: props.ttlSeconds ?? 300,
      value: props.target.ip,
    });
  }
}
