import { databaseFirewall } from '@cdktf/provider-digitalocean';
import type { Construct } from 'constructs';
import type { AppFleet } from './app-fleet.js';

/**
 * Trusted sources of a managed database cluster: the fleet's tag only, so no other droplet, app or address
 * may connect (read-only replicas follow their cluster). Postgres and Cache both call this from `allowFrom`.
 */
export function trustOnlyFleet(scope: Construct, clusterId: string, fleet: AppFleet): databaseFirewall.DatabaseFirewall {
  return new databaseFirewall.DatabaseFirewall(scope, 'trusted-sources', {
    clusterId,
    rule: [{ type: 'tag', value: fleet.tagName }],
  });
}
