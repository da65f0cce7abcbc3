/**
 * DigitalOcean's limits that bind this stack, checked in one place and reported as one table: the account's
 * droplet limit (replacements included), droplets per create request, load balancer nodes, and the database
 * and cache connection limits (the database and cache plans check those; this lists them beside the rest).
 */
import type { EnvironmentConfig } from '../schema.js';
import type { CachePlan } from './cache.js';
import type { DatabasePlan } from './database.js';
import { FLEET_CONSTANTS, fleetSize, type FleetPlan, type RolloutPlan } from './fleet.js';
import { LOAD_BALANCER_CONSTANTS } from './load-balancer.js';
import { droplets, type PlanIssue } from './shared.js';

/** One limit: what the plan uses of it, the limit, and where the limit is documented. */
export interface LimitRow {
  readonly limit: string;
  readonly used: number;
  readonly max: number;
  readonly source: string;
}

export interface LimitsPlan {
  /** Droplets this environment may run at once: its largest fleet plus replacements in flight. */
  readonly peakDroplets: number;
  /** The account's droplet limit: `account.dropletLimit`, or a new account's when unset. */
  readonly dropletLimit: number;
  readonly dropletLimitPinned: boolean;
  readonly rows: readonly LimitRow[];
  /** What to check with DigitalOcean before the first apply (limits the config does not state). */
  readonly notes: readonly string[];
}

export const LIMIT_CONSTANTS = {
  /**
   * A new account's droplet limit, assumed while `account.dropletLimit` is unset: 5 in the public record
   * (DigitalOcean community answer "What does the 'Droplet Limit' mean?"); DigitalOcean's current pages say
   * only that the limit grows once the account is verified (docs, Accounts, "Droplet and Volume Limit Increases").
   */
  newAccountDropletLimit: 5,
} as const;

export function planLimits(
  config: EnvironmentConfig, fleet: FleetPlan, rollout: RolloutPlan, sizeUnit: number, database: DatabasePlan, cache: CachePlan, issues: PlanIssue[],
): LimitsPlan {
  const pinned = config.account.dropletLimit !== undefined;
  const accountLimit = config.account.dropletLimit ?? LIMIT_CONSTANTS.newAccountDropletLimit;
  const notes: string[] = [];
  // Fixed droplets are replaced create-before-destroy, a batch at a time; a pool's template change creates a
  // whole new set before it destroys the old one (DigitalOcean docs, "Autoscale pools").
  const peakDroplets = fleet.kind === 'droplets' ? fleet.maxDroplets + rollout.batchSize : 2 * fleetSize(fleet);
  const how = fleet.kind === 'droplets'
    ? `fleet.maxDroplets ${fleet.maxDroplets} plus a replacement batch of ${rollout.batchSize}`
    : `twice the pool's ${fleetSize(fleet)}: a template change creates a new set before it destroys the old one`;
  if (peakDroplets > accountLimit && !pinned) {
    // The account is not described: say what it must allow rather than refuse a limit we only assume.
    notes.push(`This environment may run ${droplets(peakDroplets)} at once (${how}); a new DigitalOcean account allows ${accountLimit}. Check yours (\`doctl account get\`), ask for more if needed, and set account.dropletLimit so the plan checks it.`);
  } else if (peakDroplets > accountLimit) {
    issues.push({
      path: ['account', 'dropletLimit'],
      message: `this environment may run ${droplets(peakDroplets)} at once (${how}); the account allows ${accountLimit}, shared with its other environments. Raise account.dropletLimit once DigitalOcean grants more (ask in Settings > Resource Limits, or support), or lower fleet.maxDroplets`,
    });
  }
  const rows: LimitRow[] = [
    { limit: 'droplets in the account (this environment, replacements included)', used: peakDroplets, max: accountLimit, source: pinned ? 'account.dropletLimit (`doctl account get`)' : 'a new account\'s, assumed: set account.dropletLimit' },
    { limit: 'droplets per create request (rollout batch)', used: rollout.batchSize, max: FLEET_CONSTANTS.dropletsPerCreateRequest, source: 'DigitalOcean docs, Droplet Limits' },
    { limit: 'load balancer nodes', used: sizeUnit, max: LOAD_BALANCER_CONSTANTS.lbMaxSizeUnit, source: 'DigitalOcean docs, How to Scale Regional Load Balancers ("if your account limits allow it")' },
    { limit: 'PostgreSQL primary connections (PgBouncer pool)', used: database.pgbouncerPoolSize, max: database.primaryConnectionLimit, source: 'DigitalOcean docs, How to Manage Connection Pools: 25 per GiB, 3 reserved' },
    ...(database.replicas.count > 0
      ? [{ limit: 'PostgreSQL connections per replica', used: database.replicaConnectionsUsed, max: database.replicaConnectionLimit, source: 'the same, per replica' }]
      : []),
    { limit: 'Valkey client connections', used: cache.connections, max: cache.connectionLimit, source: 'Valkey default maxclients (valkey.io, Valkey client handling)' },
  ];
  return { peakDroplets, dropletLimit: accountLimit, dropletLimitPinned: pinned, rows, notes };
}
