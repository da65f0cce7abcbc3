/**
 * The fleet: how many droplets the target needs, fixed or as an autoscale pool, the largest fleet the
 * environment may reach (per-process database pools are planned for it), and how droplets are replaced.
 */
import type { EnvironmentConfig } from '../schema.js';
import { droplets, fmt, type PlanIssue } from './shared.js';

export const FLEET_CONSTANTS = {
  /** Spare droplets per tier: production survives the loss or replacement of one droplet (N+1). */
  spareDroplets: { development: 0, staging: 0, production: 1 } as const,
  /** Largest fleet, when `fleet.maxDroplets` is not set: this many times the fleet's count. */
  maxDropletsPerCount: 2,
  /** DigitalOcean's largest autoscale pool (`max_instances` 1-1000, API reference "Droplet Autoscale Pools"). */
  autoscaleMaxInstances: 1000,
  /** A droplet is replaced a quarter of the fleet at a time: the first batch is the canary. */
  rolloutBatchShare: 0.25,
  /**
   * "You can't create more than 10 Droplets at the same time using the control panel or the API"
   * (DigitalOcean docs, Droplet Limits, docs.digitalocean.com/products/droplets/details/limits).
   */
  dropletsPerCreateRequest: 10,
  /** Responses through the load balancer that must come from a new droplet before its batch counts as serving. */
  gatePasses: 3,
  gateIntervalSeconds: 2,
  /** A real droplet's cloud-init (packages, app, venv) takes minutes; a new droplet not serving by then fails the apply. */
  gateTimeoutSeconds: 900,
  /** Slack on top of a droplet's graceful stop before the provider's delete timeout: ACPI shutdown, power off. */
  shutdownMarginSeconds: 60,
  /** An autoscale pool destroys a droplet this long after shutting it down (DigitalOcean docs, "Autoscale pools"). */
  autoscaleShutdownSeconds: 60,
} as const;

const C = FLEET_CONSTANTS;

/** Fixed droplets, or an autoscale pool. */
export type FleetShape =
  | { readonly kind: 'droplets'; readonly count: number; readonly spare: number }
  | { readonly kind: 'autoscale'; readonly minInstances: number; readonly maxInstances: number; readonly spare: number; readonly targetCpuUtilization: number; readonly cooldownMinutes: number };

export type FleetPlan = FleetShape & {
  /** Droplets the target needs, spares included. */
  readonly needed: number;
  /** The largest fleet the environment may reach; per-process pools are planned for it. */
  readonly maxDroplets: number;
  /** Whether maxDroplets comes from the config (scaling then never changes a droplet's user data). */
  readonly maxDropletsPinned: boolean;
  /** What the config allows but a reader should know (an autoscale minimum below the target's need). */
  readonly notes: readonly string[];
};

/** How droplets are replaced: in health-gated batches, each old droplet drained before it goes. */
export interface RolloutPlan {
  /** Droplets created (and gated) at a time; the next batch waits for this one. */
  readonly batchSize: number;
  readonly gatePasses: number;
  readonly gateIntervalSeconds: number;
  readonly gateTimeoutSeconds: number;
  /** Terraform's delete timeout for a droplet: its whole graceful stop, plus the power-off. */
  readonly deleteTimeoutSeconds: number;
}

/** Droplets the fleet runs at its largest: a fixed count, or the pool's maximum. */
export function fleetSize(fleet: FleetShape): number {
  return fleet.kind === 'droplets' ? fleet.count : fleet.maxInstances;
}

/** The fleet for a target, given what one droplet holds. */
export function planFleet(config: EnvironmentConfig, perDroplet: number, issues: PlanIssue[]): FleetPlan {
  const { capacity, fleet } = config;
  const target = capacity.targetConcurrentRequests;
  const spare = C.spareDroplets[config.tier];
  // Enough droplets that the target fits on all but the spares (N+1 in production).
  const needed = Math.ceil(target / perDroplet) + spare;
  const holds = (n: number) => fmt(perDroplet * Math.max(0, n - spare));
  const spareNote = spare ? ` (including ${spare} spare)` : '';
  const notes: string[] = [];
  let shape: FleetShape;
  if (fleet.autoscale) {
    // Unset bounds come from the same arithmetic: keep what the target needs, grow to twice that (within maxDroplets).
    const minInstances = fleet.autoscale.minInstances ?? needed;
    const maxInstances = fleet.autoscale.maxInstances
      ?? Math.min(C.autoscaleMaxInstances, fleet.maxDroplets ?? Infinity, Math.max(minInstances, C.maxDropletsPerCount * needed));
    if (maxInstances < needed) {
      issues.push({
        path: ['fleet', 'autoscale', 'maxInstances'],
        message: `${droplets(maxInstances)} of ${fleet.sizeSlug} hold ${holds(maxInstances)} concurrent requests; capacity.targetConcurrentRequests ${fmt(target)} needs at least ${needed}${spareNote}. Raise maxInstances or pick a larger fleet.sizeSlug`,
      });
    } else if (minInstances < needed) {
      // A pool scales on CPU after its cooldown: load that arrives faster than that meets the minimum alone.
      // Allowed (the target may be a peak that builds slowly, and a lower minimum costs less), never silent.
      notes.push(`The autoscale minimum, ${droplets(minInstances)} of ${fleet.sizeSlug}, holds ${holds(minInstances)} concurrent requests; capacity.targetConcurrentRequests ${fmt(target)} needs ${needed}${spareNote}. The pool adds droplets only after ${fleet.autoscale.cooldownMinutes} minutes of high CPU, plus their boot: if the target can arrive faster, raise fleet.autoscale.minInstances to ${needed} or omit it.`);
    }
    shape = { kind: 'autoscale', minInstances, maxInstances, spare, targetCpuUtilization: fleet.autoscale.targetCpuUtilization, cooldownMinutes: fleet.autoscale.cooldownMinutes };
  } else {
    const count = fleet.count ?? needed;
    if (count < needed) {
      issues.push({
        path: ['fleet', 'count'],
        message: `${droplets(count)} of ${fleet.sizeSlug} hold ${holds(count)} concurrent requests; capacity.targetConcurrentRequests ${fmt(target)} needs ${needed}${spareNote}. Raise count, omit it to use the plan's, or pick a larger fleet.sizeSlug`,
      });
    }
    shape = { kind: 'droplets', count, spare };
  }
  // The largest fleet this environment may reach: per-process pools are planned for it, so scaling up to it
  // never changes what a running droplet was given.
  const size = fleetSize(shape);
  const maxDroplets = fleet.maxDroplets ?? (shape.kind === 'autoscale' ? size : C.maxDropletsPerCount * size);
  if (fleet.maxDroplets !== undefined && size > fleet.maxDroplets) {
    // Blame the key the person set: the count (or pool maximum) if pinned, else maxDroplets against the target.
    const pinned = shape.kind === 'droplets' ? fleet.count !== undefined : fleet.autoscale?.maxInstances !== undefined;
    issues.push({
      path: !pinned ? ['fleet', 'maxDroplets'] : shape.kind === 'droplets' ? ['fleet', 'count'] : ['fleet', 'autoscale', 'maxInstances'],
      message: `${droplets(size)} exceed fleet.maxDroplets ${fleet.maxDroplets}, the largest fleet the database pools are planned for. Raise fleet.maxDroplets (every droplet is replaced once, through the health gate, because its pools shrink) or stay at or below it`,
    });
  }
  return { ...shape, needed, maxDroplets, maxDropletsPinned: fleet.maxDroplets !== undefined, notes };
}

/** Batches, gate and delete timeout; `stop` is the droplet's graceful stop (from its tuning). */
export function planRollout(fleet: FleetShape, stop: { lbDetectSeconds: number; gunicornStopSeconds: number; nginxStopSeconds: number }): RolloutPlan {
  return {
    // A quarter of the fleet at a time, never more than one create request may hold.
    batchSize: Math.min(C.dropletsPerCreateRequest, Math.max(1, Math.floor(fleetSize(fleet) * C.rolloutBatchShare))),
    gatePasses: C.gatePasses,
    gateIntervalSeconds: C.gateIntervalSeconds,
    gateTimeoutSeconds: C.gateTimeoutSeconds,
    // The drain, Gunicorn's stop timeout (it covers the request drain and the reaping), Nginx, then power-off.
    deleteTimeoutSeconds: stop.lbDetectSeconds + stop.gunicornStopSeconds + stop.nginxStopSeconds + C.shutdownMarginSeconds,
  };
}

/** What one droplet holds, less headroom, for the fleet arithmetic. */
export function perDropletCapacity(byCpu: number, byMemory: number, headroom: number): number {
  // Each droplet is tuned for its load plus headroom, so its capacity is what it holds divided by that headroom.
  return Math.floor(Math.min(byCpu, byMemory) / headroom);
}

