/**
 * What every part of the capacity plan shares: the issue type, the planning policy (CPU share, headroom) and
 * number formatting for messages. Policy constants are choices, not facts; each says why.
 */

/** A config the plan cannot satisfy: the key to change and what to do. */
export interface PlanIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export const SHARED_CONSTANTS = {
  /** Plan every CPU (droplets, database and cache nodes) at this share of its ceiling: room for bursts and deploys. */
  targetCpuUtilization: 0.7,
  /** Load above the even share a droplet, a worker, a node or a replica must absorb (uneven balancing). */
  unevenShareHeadroom: 1.25,
  /** After a failover or restart the fleet reopens its pools within one typical request time, at least this long. */
  minReconnectWindowSeconds: 1,
} as const;

/** Seconds in which the fleet reopens its database and cache connections after a failover or restart. */
export function reconnectWindowSeconds(typicalRequestSeconds: number): number {
  // Each process reopens a connection on its next use of it: within about one typical request.
  return Math.max(SHARED_CONSTANTS.minReconnectWindowSeconds, typicalRequestSeconds);
}

export const fmt = (n: number) => n.toLocaleString('en-US');
export const droplets = (n: number) => `${fmt(n)} droplet${n === 1 ? '' : 's'}`;
export const percent = (share: number) => `${Math.round(share * 100)}%`;

/** Smallest power of two >= n: kernel and Nginx queue sizes read best as powers of two. */
export function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}
