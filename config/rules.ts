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

/** Cloud Firewall: at most 50 rules in total (DigitalOcean docs, "Cloud Firewalls Limits"). Ours: HTTP from the LB, one SSH rule per CIDR, 3 egress. */
export const FIREWALL_MAX_RULES = 50;
const FIREWALL_FIXED_RULES = 1 + 3;

/**
 * Standby nodes need a plan with at least 2 GiB of RAM: they can be added "with the exception of the smallest plan
 * of single node clusters" (DigitalOcean docs, Managed Databases, docs.digitalocean.com/products/databases).
 */
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

/** A CIDR as its first address and size, for containment and overlap checks. */
export interface Ipv4Range {
  readonly start: number;
  readonly size: number;
}

/** `10.30.0.0/20` -> its first address as a number and its size (4,096). */
export function parseCidr(cidr: string): Ipv4Range {
  const [ip = '', prefix = '0'] = cidr.split('/');
  return { start: ipv4ToInt(ip), size: 2 ** (32 - Number(prefix)) };
}

function intToIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/** The network a CIDR names, host bits cleared: `10.30.0.5/20` -> `10.30.0.0/20`. */
export function networkOf(cidr: string): string {
  const { start, size } = parseCidr(cidr);
  return `${intToIpv4(start - (start % size))}/${cidr.split('/')[1]}`;
}

/** Whether `inner` lies wholly inside `outer`. */
export function rangeContains(outer: string, inner: string): boolean {
  const o = parseCidr(networkOf(outer));
  const i = parseCidr(networkOf(inner));
  return i.start >= o.start && i.start + i.size <= o.start + o.size;
}

/** Whether two ranges share an address (each taken as the network it names). */
export function rangesOverlap(a: string, b: string): boolean {
  const x = parseCidr(networkOf(a));
  const y = parseCidr(networkOf(b));
  return x.start < y.start + y.size && y.start < x.start + x.size;
}

/** The rules of one environment: DigitalOcean's refusals and the production rules, each at its key. */
export function checkRules(config: EnvironmentConfig): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const add = (path: readonly (string | number)[], message: string) => issues.push({ path, message });
  const { fleet, postgres, cache } = config;

  const vpcBits = Number(config.vpc.ipRange.split('/')[1]);
  if (networkOf(config.vpc.ipRange) !== config.vpc.ipRange) {
    // DigitalOcean's API refuses a range with host bits set; say which network was meant.
    add(['vpc', 'ipRange'], `must be a network address (no host bits set), got ${config.vpc.ipRange}; the /${vpcBits} network holding it is ${networkOf(config.vpc.ipRange)}`);
  } else if (!isPrivateRange(config.vpc.ipRange)) {
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

  // A release is an exact commit: a tag or branch can move between two droplets' boots, and offline a
  // tag cannot even be told from a branch. Elsewhere a branch is convenient (each boot takes its head).
  if (config.tier === 'production' && config.app.source === 'git' && !/^[0-9a-f]{40}$/.test(config.app.gitRef)) {
    add(['app', 'gitRef'], `production releases pin a commit: a 40-hex commit SHA, got "${config.app.gitRef}" (tags and branches move). Pin the commit it names now: git rev-parse '${config.app.gitRef}^{commit}'`);
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

/**
 * Documentation names that no real deployment uses. RFC 2606 reserves example.com, example.net and
 * example.org, and the top-level names .example, .test, .invalid and .localhost (RFC 6761 likewise).
 */
const PLACEHOLDER_DOMAIN = /(^|\.)(example\.(com|net|org)|[^.]+\.(example|test|invalid|localhost))$|^(example|test|invalid|localhost)$/;

/** RFC 5737 reserves these three ranges for documentation: no real admin network lives there. */
const DOCUMENTATION_RANGES = ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'];

/**
 * The SSH key of DigitalOcean's API reference examples (the `ssh_key_fingerprint` example and key ID 512189
 * in the SSH Keys section of DigitalOcean's OpenAPI specification, github.com/digitalocean/openapi), which
 * the shipped configs carry: no account holds that key.
 */
export const DOCUMENTATION_SSH_FINGERPRINT = '3b:16:bf:e4:8b:00:8b:b8:59:8c:a9:d3:f0:19:45:fa';
const DOCUMENTATION_SSH_KEYS = new Set([DOCUMENTATION_SSH_FINGERPRINT, '512189']);

/** Bucket names of the examples (`example-tfstate`, `example-production-tfstate`). */
const PLACEHOLDER_BUCKET = /(^|-)example(-|$)/;

const isPlaceholderDomain = (name: string) => PLACEHOLDER_DOMAIN.test(name.toLowerCase());
const hostOf = (url: string) => /^(?:[a-z]+:\/\/|git@)(?:[^@/]*@)?([^/:]+)/i.exec(url)?.[1] ?? '';

/**
 * Placeholder values: documentation domains, addresses, fingerprints, ranges and example buckets. The loader
 * makes them errors in production and warnings elsewhere (or in a file marked `example: true`); each message
 * says what to put instead.
 */
export function checkPlaceholders(config: EnvironmentConfig): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const add = (path: readonly (string | number)[], message: string) => issues.push({ path, message });
  if (config.domain && isPlaceholderDomain(config.domain)) {
    add(['domain'], `${config.domain} is a documentation name (RFC 2606), not your site: no certificate can be issued for it. Set the name your site answers on`);
  }
  if (config.dnsZone && isPlaceholderDomain(config.dnsZone)) {
    add(['dnsZone'], `${config.dnsZone} is a documentation name (RFC 2606), not a zone in your DigitalOcean account. Set the zone that holds your domain`);
  }
  config.fleet.sshKeyFingerprints.forEach((fingerprint, i) => {
    if (DOCUMENTATION_SSH_KEYS.has(fingerprint)) {
      add(['fleet', 'sshKeyFingerprints', i], `${fingerprint} is the example SSH key of DigitalOcean's API documentation, not a key in your account. List yours with \`doctl compute ssh-key list\``);
    }
  });
  config.fleet.adminSshCidrs.forEach((cidr, i) => {
    const range = DOCUMENTATION_RANGES.find((doc) => rangeContains(doc, cidr));
    if (range) add(['fleet', 'adminSshCidrs', i], `${cidr} lies in ${range}, a range reserved for documentation (RFC 5737). List your admin networks' real ranges`);
  });
  config.alerts.emails.forEach((email, i) => {
    const domain = email.split('@').at(-1) ?? '';
    if (isPlaceholderDomain(domain)) add(['alerts', 'emails', i], `${email} is a documentation address (RFC 2606): nobody receives alerts there. Set a mailbox your team reads`);
  });
  config.alerts.slackWebhooks.forEach((hook, i) => {
    if (isPlaceholderDomain(hostOf(hook.url))) add(['alerts', 'slackWebhooks', i, 'url'], `${hook.url} points at a documentation domain (RFC 2606). Set the channel's incoming-webhook URL`);
  });
  if (config.app.source === 'git' && isPlaceholderDomain(hostOf(config.app.gitUrl))) {
    add(['app', 'gitUrl'], `${config.app.gitUrl} points at a documentation domain (RFC 2606). Set your app's repository`);
  }
  if (config.state.backend === 'spaces' && PLACEHOLDER_BUCKET.test(config.state.bucket)) {
    add(['state', 'bucket'], `${config.state.bucket} is an example bucket name. Create a Spaces bucket for this environment's state (versioning on; docs/operations.md) and name it here`);
  }
  return issues;
}
