/**
 * What a droplet of an environment is rendered from, in one place for the stack and the box.
 *
 * Only what the droplet *is* goes in: its environment profile, its size's tuning, its app and release,
 * the data tier it talks to. Never the fleet's count, the capacity target or the autoscale bounds: user
 * data is ForceNew, so anything fleet-wide here would replace every droplet when the fleet scales.
 */
import type { LoadedEnvironment } from '../config/load.js';
import type { DropletInput } from './droplet.js';

export function dropletInputFor(env: LoadedEnvironment): DropletInput {
  const { config, plan } = env;
  return {
    environment: env.name,
    vpcIpRange: config.vpc.ipRange,
    // A size change must replace droplets through the gate, not resize them in place.
    sizeSlug: config.fleet.sizeSlug,
    healthCheckPath: config.loadBalancer.healthCheck.path,
    app: config.app,
    cacheTtlSeconds: config.cache.ttlSeconds,
    tuning: plan.tuning,
  };
}
