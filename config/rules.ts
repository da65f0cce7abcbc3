/**
 * Rules across keys that one field's schema cannot state: DigitalOcean's own refusals (so they fail at
 * synth, not halfway through an apply) and the production rules. Each returns the key path to blame.
 */
import { DATABASE_SIZES, DROPLET_SIZES } from './catalog.js';
import type { EnvironmentConfig } from './schema.js';

export interface RuleIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

/** Cloud Firewall: at most 50 rules in total (FACTS.md). Ours: HTTP from the LB, one SSH rule per CIDR, 3 egress. */
export const FIREWALL_MAX_RULES = 50;
const FIREWALL_FIXED_RULES = 1 + 3;

/** Standby nodes need a plan with at least 2 GiB of RAM (FACTS.md). */
const STANDBY_MIN_MEMORY_MIB = 2048;

const list = (keys: readonly string[]) => keys.join(', ');

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
}

/** RFC 1918 private ranges: the only ranges a DigitalOcean VPC may use. */
function isPrivateRange(cidr: string): boolean {
  const [ip = '', prefix = '0'] = cidr.split('/');
  const start = ipv4ToInt(ip);
  const bits = Number(prefix);
  const within = (base: string, baseBits: number) =>
    bits >= baseBits && Math.floor(start / 2 ** (32 - baseBits)) === Math.floor(ipv4ToInt(base) / 2 ** (32 - baseBits));
  return within('10.0.0.0', 8) || within('172.16.0.0', 12) || within('192.168.0.0', 16);
}

export function checkRules(config: EnvironmentConfig): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const add = (path: readonly (string | number)[], message: string) => issues.push({ path, message });
  const { fleet, postgres, cache } = config;

  const vpcBits = Number(config.vpc.ipRange.split('/')[1]);
  if (!isPrivateRange(config.vpc.ipRange)) {
    add(['vpc', 'ipRange'], `must be inside a private range (10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16), got ${config.vpc.ipRange}`);
  } else if (vpcBits < 16 || vpcBits > 28) {
    add(['vpc', 'ipRange'], `must be between /16 and /28 (DigitalOcean), got /${vpcBits}`);
  }

  if (config.dnsZone && !config.domain) add(['dnsZone'], 'is set but domain is not; set domain to the name the site answers on');
  if (config.dnsZone && config.domain && config.domain !== config.dnsZone && !config.domain.endsWith(`.${config.dnsZone}`)) {
    add(['dnsZone'], `must contain the domain ${config.domain}, got ${config.dnsZone}`);
  }

  if (!DROPLET_SIZES[fleet.sizeSlug]) {
    add(['fleet', 'sizeSlug'], `unknown droplet size "${fleet.sizeSlug}"; one of: ${list(Object.keys(DROPLET_SIZES))}`);
  }
  const dbSizes = list(Object.keys(DATABASE_SIZES));
  const primary = DATABASE_SIZES[postgres.sizeSlug];
  if (!primary) add(['postgres', 'sizeSlug'], `unknown database size "${postgres.sizeSlug}"; one of: ${dbSizes}`);
  if (!DATABASE_SIZES[cache.sizeSlug]) add(['cache', 'sizeSlug'], `unknown database size "${cache.sizeSlug}"; one of: ${dbSizes}`);

  if (fleet.count !== undefined && fleet.autoscale) {
    add(['fleet', 'autoscale'], 'conflicts with fleet.count: use a fixed count or an autoscale pool, not both');
  }
  const pool = fleet.autoscale;
  if (pool?.minInstances !== undefined && pool.maxInstances !== undefined && pool.minInstances > pool.maxInstances) {
    add(['fleet', 'autoscale', 'minInstances'], `must be at most maxInstances (${pool.maxInstances}), got ${pool.minInstances}`);
  }

  const firewallRules = FIREWALL_FIXED_RULES + fleet.adminSshCidrs.length;
  if (firewallRules > FIREWALL_MAX_RULES) {
    add(['fleet', 'adminSshCidrs'], `${fleet.adminSshCidrs.length} CIDRs make ${firewallRules} firewall rules; a DigitalOcean cloud firewall allows ${FIREWALL_MAX_RULES} (at most ${FIREWALL_MAX_RULES - FIREWALL_FIXED_RULES} CIDRs). Merge them into wider ranges or use a bastion`);
  }

  if (primary && postgres.standbyNodes > 0 && primary.memoryMib < STANDBY_MIN_MEMORY_MIB) {
    add(['postgres', 'standbyNodes'], `standby nodes need a plan with at least 2 GiB of RAM; ${postgres.sizeSlug} has ${primary.memoryMib / 1024} GiB. Pick db-s-1vcpu-2gb or larger, or set standbyNodes: 0`);
  }
  postgres.readReplicas.forEach((replica, i) => {
    const size = DATABASE_SIZES[replica.sizeSlug];
    if (!size) {
      add(['postgres', 'readReplicas', i, 'sizeSlug'], `unknown database size "${replica.sizeSlug}"; one of: ${dbSizes}`);
    } else if (primary && size.memoryMib < primary.memoryMib) {
      add(['postgres', 'readReplicas', i, 'sizeSlug'], `a replica must be at least the primary's size (${postgres.sizeSlug}), got ${replica.sizeSlug}`);
    }
  });

  // The demo app answers its health check on /healthz only; a git app serves whatever path it names.
  if (config.app.source === 'demo' && config.loadBalancer.healthCheck.path !== '/healthz') {
    add(['loadBalancer', 'healthCheck', 'path'], `the demo app answers health checks on /healthz only, got ${config.loadBalancer.healthCheck.path}; use /healthz, or app.source: git with an app that serves this path`);
  }

  if (config.tier === 'production') {
    if (fleet.maxDroplets === undefined) {
      add(['fleet'], 'production must state fleet.maxDroplets, the largest fleet it may reach (for example twice the droplets it runs today): per-process database pools are planned for it, and without it raising the target or the count would change every droplet');
    }
    if (pool ? pool.minInstances !== undefined && pool.minInstances < 2 : fleet.count !== undefined && fleet.count < 2) {
      add(pool ? ['fleet', 'autoscale', 'minInstances'] : ['fleet', 'count'], 'production needs at least 2 droplets, so one can be replaced or lost while the other serves');
    }
    if (!config.domain) add(['domain'], 'production needs a domain: without one the load balancer serves plain HTTP with no certificate');
    if (postgres.standbyNodes < 1) add(['postgres', 'standbyNodes'], 'production needs at least 1 standby node for automatic failover');
    fleet.adminSshCidrs.forEach((cidr, i) => {
      if (cidr.endsWith('/0')) add(['fleet', 'adminSshCidrs', i], `production must not open SSH to the whole internet (${cidr}); list your admin networks or a bastion`);
    });
    if (config.alerts.emails.length + config.alerts.slackWebhooks.length === 0) {
      add(['alerts'], 'production needs at least one alert recipient (alerts.emails or alerts.slackWebhooks): without one no alert policy is created');
    }
  }
  return issues;
}
