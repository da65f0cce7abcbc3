/**
 * The capacity plan, composed: one target concurrency and a request profile in, every number of the system
 * out (droplets, their tuning, the load balancer, the database, the cache, the account's limits, the cost).
 *
 * Each part lives in its own module with its constants and their sources; this file only runs them in order
 * and gathers their issues. Constructs and templates receive the `Plan` and copy its numbers; they never
 * compute one. A config the plan cannot satisfy yields `PlanIssue`s naming the config key to change, how far
 * off it is, and the way out.
 */
import { DATABASE_SIZES, DROPLET_SIZES, type DropletSize } from '../catalog.js';
import type { EnvironmentConfig } from '../schema.js';
import { planCache, type CachePlan } from './cache.js';
import { planCost, type CostPlan } from './cost.js';
import { planDatabase, type DatabasePlan } from './database.js';
import { concurrencyByCpu, concurrencyByMemory, DROPLET_CONSTANTS, dropletTuning, dropletTuningIssues, gunicornWorkers, type DropletTuning } from './droplet.js';
import { FLEET_CONSTANTS, perDropletCapacity, planFleet, planRollout, type FleetPlan, type RolloutPlan } from './fleet.js';
import { planLimits, type LimitsPlan } from './limits.js';
import { planLoadBalancer, type LoadBalancerPlan } from './load-balancer.js';
import { fmt, SHARED_CONSTANTS, type PlanIssue } from './shared.js';

export interface Plan {
  readonly environment: string;
  readonly targetConcurrentRequests: number;
  readonly requestsPerSecond: number;
  readonly droplet: { readonly sizeSlug: string } & DropletSize;
  /** What one droplet can hold: the lower of its CPU and memory bounds. */
  readonly dropletCapacity: { readonly byCpu: number; readonly byMemory: number; readonly concurrentRequests: number };
  readonly fleet: FleetPlan;
  readonly rollout: RolloutPlan;
  readonly tuning: DropletTuning;
  readonly loadBalancer: LoadBalancerPlan;
  readonly database: DatabasePlan;
  readonly cache: CachePlan;
  readonly limits: LimitsPlan;
  readonly cost: CostPlan;
  /** What the config allows but a reader should check (the fleet's and the account's notes). */
  readonly notes: readonly string[];
}

export type PlanResult = { readonly ok: true; readonly plan: Plan } | { readonly ok: false; readonly issues: readonly PlanIssue[] };

const C = { ...SHARED_CONSTANTS, ...DROPLET_CONSTANTS, ...FLEET_CONSTANTS };

/** Derive the plan for one environment, or say which keys make it impossible. */
export function planCapacity(environment: string, config: EnvironmentConfig): PlanResult {
  const issues: PlanIssue[] = [];
  const { capacity, fleet } = config;
  const size = DROPLET_SIZES[fleet.sizeSlug];
  const unknown: string[][] = [];
  if (!size) unknown.push(['fleet', 'sizeSlug']);
  if (!DATABASE_SIZES[config.postgres.sizeSlug]) unknown.push(['postgres', 'sizeSlug']);
  if (!DATABASE_SIZES[config.cache.sizeSlug]) unknown.push(['cache', 'sizeSlug']);
  if (!size || unknown.length > 0) {
    // The loader reports unknown slugs with their location before planning; this guards direct callers.
    return { ok: false, issues: unknown.map((path) => ({ path, message: 'unknown size slug' })) };
  }
  const target = capacity.targetConcurrentRequests;
  // Little's law: requests/s = requests in flight / time each is in flight.
  const requestsPerSecond = Math.ceil(target / capacity.typicalRequestSeconds);
  const byCpu = concurrencyByCpu(size, capacity.requestsPerSecondPerVcpu, capacity.typicalRequestSeconds);
  const byMemory = concurrencyByMemory(size);
  const perDroplet = perDropletCapacity(byCpu, byMemory, C.unevenShareHeadroom);
  if (perDroplet < 1) {
    issues.push({ path: ['fleet', 'sizeSlug'], message: `${fleet.sizeSlug} cannot hold a single request at ${capacity.typicalRequestSeconds} s each; pick a larger size` });
    return { ok: false, issues };
  }
  const fleetPlan = planFleet(config, perDroplet, issues);
  // Each droplet is tuned for its own full capacity: the share it carries at the target plus headroom for
  // uneven balancing. It depends on the droplet's size and the request profile only, never on the fleet's
  // count or the target, so scaling adds or removes droplets and changes no running one.
  const designPerDroplet = Math.ceil(perDroplet * C.unevenShareHeadroom);
  const loadBalancer = planLoadBalancer(config, requestsPerSecond, issues);
  // The data tier serves the largest fleet's processes: every per-process pool is planned for them.
  const processes = fleetPlan.maxDroplets * gunicornWorkers(size, designPerDroplet, capacity.maxOpenFilesPerProcess);
  const database = planDatabase(config, requestsPerSecond, processes, issues);
  const tuning = dropletTuning(config, size, designPerDroplet, Math.max(1, database.replicaPerProcess));
  // Each process's cache pool is capped where the droplet's tuning caps it; the cache sees them all.
  const cache = planCache(config, database.load.readsPerSecond, processes, tuning.cache.maxConnections, issues);
  issues.push(...dropletTuningIssues(config, tuning));
  // A fleet already too small overloads each droplet's memory too; that message would only repeat it.
  const fleetTooSmall = issues.some((i) => i.path[0] === 'fleet');
  if (!fleetTooSmall && tuning.memory.budgetMib > tuning.memory.availableMib) {
    issues.push({
      path: ['fleet', 'sizeSlug'],
      message: `${fleet.sizeSlug} has ${fmt(tuning.memory.availableMib)} MiB to plan with; ${fmt(designPerDroplet)} concurrent requests per droplet need ${fmt(tuning.memory.budgetMib)} MiB. Pick a size with more memory or add droplets`,
    });
  }
  // An autoscale pool destroys a droplet a fixed time after shutting it down: the drain must fit inside.
  if (fleetPlan.kind === 'autoscale' && tuning.drain.stopBudgetSeconds > C.autoscaleShutdownSeconds) {
    const d = tuning.drain;
    issues.push({
      path: ['fleet', 'autoscale'],
      message: `a pool droplet's graceful stop takes ${d.stopBudgetSeconds} s (LB detection ${d.lbDetectSeconds} s = loadBalancer.healthCheck interval x unhealthyThreshold + responseTimeout, requests ${d.requestSeconds} s from capacity.p95RequestSeconds, Nginx ${C.nginxStopSeconds} s); DigitalOcean destroys a pool droplet ${C.autoscaleShutdownSeconds} s after its shutdown. Shorten the health check (interval, unhealthyThreshold, responseTimeout) or use fixed droplets (fleet.count)`,
    });
  }
  const rollout = planRollout(fleetPlan, { lbDetectSeconds: tuning.drain.lbDetectSeconds, gunicornStopSeconds: tuning.gunicorn.stopTimeoutSeconds, nginxStopSeconds: C.nginxStopSeconds });
  const limits = planLimits(config, fleetPlan, rollout, loadBalancer.sizeUnit, database, cache, issues);
  if (issues.length > 0) return { ok: false, issues };

  return {
    ok: true,
    plan: {
      environment,
      targetConcurrentRequests: target,
      requestsPerSecond,
      droplet: { sizeSlug: fleet.sizeSlug, ...size },
      dropletCapacity: { byCpu, byMemory, concurrentRequests: perDroplet },
      fleet: fleetPlan,
      rollout,
      tuning,
      loadBalancer,
      database,
      cache,
      limits,
      cost: planCost(config, fleetPlan, loadBalancer.sizeUnit),
      notes: [...fleetPlan.notes, ...limits.notes],
    },
  };
}
