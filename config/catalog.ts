/**
 * DigitalOcean size and price facts the capacity plan reads.
 *
 * Source: digitalocean.com/pricing (droplets, load balancers, managed databases) and the slugs of
 * `doctl compute size list` / `doctl databases options slugs`, as of 2025-10, USD per month, list prices
 * before taxes and credits. Prices change: treat the monthly estimate as an estimate, and update this table
 * (with the date) when DigitalOcean changes its list.
 */
export const CATALOG_DATE = '2025-10';

/** A droplet size slug's capacity and list price. */
export interface DropletSize {
  readonly vcpus: number;
  readonly memoryMib: number;
  readonly priceMonthlyUsd: number;
  /** Shared CPUs are burstable; the plan discounts their throughput (see capacity.ts). */
  readonly dedicatedCpu: boolean;
  /** The droplet's SSD, GiB (the same pricing page): logs get a budgeted share of it (config/plan/droplet.ts). */
  readonly diskGib: number;
}

export const DROPLET_SIZES: Readonly<Record<string, DropletSize>> = {
  's-1vcpu-1gb': { vcpus: 1, memoryMib: 1024, priceMonthlyUsd: 6, dedicatedCpu: false, diskGib: 25 },
  's-1vcpu-2gb': { vcpus: 1, memoryMib: 2048, priceMonthlyUsd: 12, dedicatedCpu: false, diskGib: 50 },
  's-2vcpu-2gb': { vcpus: 2, memoryMib: 2048, priceMonthlyUsd: 18, dedicatedCpu: false, diskGib: 60 },
  's-2vcpu-4gb': { vcpus: 2, memoryMib: 4096, priceMonthlyUsd: 24, dedicatedCpu: false, diskGib: 80 },
  's-4vcpu-8gb': { vcpus: 4, memoryMib: 8192, priceMonthlyUsd: 48, dedicatedCpu: false, diskGib: 160 },
  's-8vcpu-16gb': { vcpus: 8, memoryMib: 16384, priceMonthlyUsd: 96, dedicatedCpu: false, diskGib: 320 },
  'c-2': { vcpus: 2, memoryMib: 4096, priceMonthlyUsd: 42, dedicatedCpu: true, diskGib: 25 },
  'c-4': { vcpus: 4, memoryMib: 8192, priceMonthlyUsd: 84, dedicatedCpu: true, diskGib: 50 },
  'c-8': { vcpus: 8, memoryMib: 16384, priceMonthlyUsd: 168, dedicatedCpu: true, diskGib: 100 },
  'c-16': { vcpus: 16, memoryMib: 32768, priceMonthlyUsd: 336, dedicatedCpu: true, diskGib: 200 },
  'c-32': { vcpus: 32, memoryMib: 65536, priceMonthlyUsd: 672, dedicatedCpu: true, diskGib: 400 },
  'm-2vcpu-16gb': { vcpus: 2, memoryMib: 16384, priceMonthlyUsd: 84, dedicatedCpu: true, diskGib: 50 },
  'm-4vcpu-32gb': { vcpus: 4, memoryMib: 32768, priceMonthlyUsd: 168, dedicatedCpu: true, diskGib: 100 },
  'm-8vcpu-64gb': { vcpus: 8, memoryMib: 65536, priceMonthlyUsd: 336, dedicatedCpu: true, diskGib: 200 },
  'g-2vcpu-8gb': { vcpus: 2, memoryMib: 8192, priceMonthlyUsd: 63, dedicatedCpu: true, diskGib: 25 },
  'g-4vcpu-16gb': { vcpus: 4, memoryMib: 16384, priceMonthlyUsd: 126, dedicatedCpu: true, diskGib: 50 },
  'g-8vcpu-32gb': { vcpus: 8, memoryMib: 32768, priceMonthlyUsd: 252, dedicatedCpu: true, diskGib: 100 },
  'g-16vcpu-64gb': { vcpus: 16, memoryMib: 65536, priceMonthlyUsd: 504, dedicatedCpu: true, diskGib: 200 },
};

/** A managed database (PostgreSQL or Valkey) node size. */
export interface DatabaseSize {
  readonly vcpus: number;
  readonly memoryMib: number;
  /** Price of one node; standby nodes and read-only replicas are billed as nodes of their size. */
  readonly priceMonthlyUsd: number;
}

export const DATABASE_SIZES: Readonly<Record<string, DatabaseSize>> = {
  'db-s-1vcpu-1gb': { vcpus: 1, memoryMib: 1024, priceMonthlyUsd: 15 },
  'db-s-1vcpu-2gb': { vcpus: 1, memoryMib: 2048, priceMonthlyUsd: 30 },
  'db-s-2vcpu-4gb': { vcpus: 2, memoryMib: 4096, priceMonthlyUsd: 60 },
  'db-s-4vcpu-8gb': { vcpus: 4, memoryMib: 8192, priceMonthlyUsd: 120 },
  'db-s-6vcpu-16gb': { vcpus: 6, memoryMib: 16384, priceMonthlyUsd: 240 },
  'db-s-8vcpu-32gb': { vcpus: 8, memoryMib: 32768, priceMonthlyUsd: 480 },
  'db-s-16vcpu-64gb': { vcpus: 16, memoryMib: 65536, priceMonthlyUsd: 960 },
};

/** One load balancer node (`size_unit` 1) per month. */
export const LOAD_BALANCER_NODE_PRICE_MONTHLY_USD = 12;

/** Regions that offer droplets, load balancers and managed databases (doctl compute region list). */
export const REGIONS = [
  'nyc1', 'nyc3', 'sfo2', 'sfo3', 'ams3', 'sgp1', 'lon1', 'fra1', 'tor1', 'blr1', 'syd1', 'atl1',
] as const;

/** Droplet images this project's cloud-init templates are written and tested for. */
export const IMAGES = ['debian-12-x64', 'ubuntu-24-04-x64'] as const;
