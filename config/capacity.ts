/**
 * The capacity plan's entry point: `planCapacity` and the `Plan` it returns, plus the formulas tests and the
 * report read. The plan itself lives in config/plan/, one module per part of the system (droplet, fleet, load
 * balancer, database, cache, limits, cost) composed in config/plan/index.ts.
 */
import { CACHE_CONSTANTS } from './plan/cache.js';
import { DATABASE_CONSTANTS } from './plan/database.js';
import { DROPLET_CONSTANTS } from './plan/droplet.js';
import { FLEET_CONSTANTS } from './plan/fleet.js';
import { LIMIT_CONSTANTS } from './plan/limits.js';
import { LOAD_BALANCER_CONSTANTS } from './plan/load-balancer.js';
import { SHARED_CONSTANTS } from './plan/shared.js';

export { planCapacity, type Plan, type PlanResult } from './plan/index.js';
export { nextPowerOfTwo, type PlanIssue } from './plan/shared.js';
export { concurrencyByCpu, concurrencyByMemory, dropletTuning, gunicornWorkers, type DropletTuning } from './plan/droplet.js';
export { fleetSize, type FleetPlan, type FleetShape, type RolloutPlan } from './plan/fleet.js';
export { loadBalancerNodes, type LoadBalancerPlan } from './plan/load-balancer.js';
export { databaseLoad, postgresConnectionLimit, type DatabasePlan } from './plan/database.js';
export { cacheAvailableMib, cacheOpsCapacity, type CachePlan } from './plan/cache.js';
export { type LimitRow, type LimitsPlan } from './plan/limits.js';
export { type CostLine, type CostPlan } from './plan/cost.js';

/** Every part's constants in one object, for the report and the tests; each module owns and sources its own. */
export const PLAN_CONSTANTS = {
  ...SHARED_CONSTANTS,
  ...DROPLET_CONSTANTS,
  ...FLEET_CONSTANTS,
  ...LOAD_BALANCER_CONSTANTS,
  ...DATABASE_CONSTANTS,
  ...CACHE_CONSTANTS,
  ...LIMIT_CONSTANTS,
} as const;
