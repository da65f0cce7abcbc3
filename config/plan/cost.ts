/**
 * Monthly cost from the list prices in config/catalog.ts: one line per billed item, and for an autoscale pool
 * the range from its minimum to its maximum.
 */
import { DATABASE_SIZES, DROPLET_SIZES, LOAD_BALANCER_NODE_PRICE_MONTHLY_USD } from '../catalog.js';
import type { EnvironmentConfig } from '../schema.js';
import type { FleetPlan } from './fleet.js';

export interface CostLine {
  readonly item: string;
  readonly quantity: number;
  readonly unitMonthlyUsd: number;
  readonly monthlyUsd: number;
}

export interface CostPlan {
  readonly lines: readonly CostLine[];
  /** The total with the fleet at its minimum (a fixed fleet: its count). */
  readonly monthlyUsd: number;
  /** The total with an autoscale pool at its minimum and at its maximum; both equal for fixed droplets. */
  readonly range: { readonly minMonthlyUsd: number; readonly maxMonthlyUsd: number };
}

export function planCost(config: EnvironmentConfig, fleet: FleetPlan, sizeUnit: number): CostPlan {
  const size = DROPLET_SIZES[config.fleet.sizeSlug]!;
  const lines: CostLine[] = [];
  const line = (item: string, quantity: number, unitMonthlyUsd: number) => {
    if (quantity > 0) lines.push({ item, quantity, unitMonthlyUsd, monthlyUsd: quantity * unitMonthlyUsd });
  };
  const fleetMin = fleet.kind === 'droplets' ? fleet.count : fleet.minInstances;
  const fleetMax = fleet.kind === 'droplets' ? fleet.count : fleet.maxInstances;
  line(`droplet ${config.fleet.sizeSlug}${fleet.kind === 'autoscale' ? ' (autoscale minimum)' : ''}`, fleetMin, size.priceMonthlyUsd);
  line('load balancer node', sizeUnit, LOAD_BALANCER_NODE_PRICE_MONTHLY_USD);
  line(`postgres ${config.postgres.sizeSlug} (primary + standby)`, 1 + config.postgres.standbyNodes, DATABASE_SIZES[config.postgres.sizeSlug]?.priceMonthlyUsd ?? 0);
  for (const r of config.postgres.readReplicas) line(`postgres replica ${r.sizeSlug}`, 1, DATABASE_SIZES[r.sizeSlug]?.priceMonthlyUsd ?? 0);
  line(`valkey ${config.cache.sizeSlug}`, 1, DATABASE_SIZES[config.cache.sizeSlug]?.priceMonthlyUsd ?? 0);
  const monthlyUsd = lines.reduce((sum, l) => sum + l.monthlyUsd, 0);
  return { lines, monthlyUsd, range: { minMonthlyUsd: monthlyUsd, maxMonthlyUsd: monthlyUsd + (fleetMax - fleetMin) * size.priceMonthlyUsd } };
}
