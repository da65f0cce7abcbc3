/**
 * The one schema of an environment's configuration (`config/<env>.yaml`).
 *
 * Every key, its type, its default and its unit is stated here; `config/environment.schema.json` is
 * generated from it (`npm run schema`) so editors complete and check keys. Objects are strict: an
 * unknown key is an error, never silently ignored. Limits are DigitalOcean's own (its product documentation and the provider's validators), so a
 * config that DigitalOcean would refuse at apply time is refused at synth time instead.
 */
import { z } from 'zod';
import { IMAGES, REGIONS } from './catalog.js';

const ipv4 = String.raw`(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}`;
const cidrPattern = new RegExp(`^${ipv4}/(3[0-2]|[12]?\\d)$`);

const cidr = z.string().regex(cidrPattern, 'must be an IPv4 CIDR such as 203.0.113.0/24');

const slug = (what: string) =>
  z.string().regex(/^[a-z0-9][a-z0-9-]*$/, `must be a DigitalOcean ${what} slug (lowercase letters, digits, dashes)`);

const seconds = (min: number, max: number, defaultValue: number) =>
  z.number().int().min(min).max(max).default(defaultValue);

const postgresName = z
  .string()
  .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'must be a PostgreSQL identifier: lowercase letters, digits, underscores, at most 63');

export const healthCheckSchema = z
  .strictObject({
    path: z.string().regex(/^\/\S*$/, 'must be an absolute URL path such as /healthz').default('/healthz')
      .describe('HTTP path the load balancer polls on port 80 of every droplet.'),
    checkIntervalSeconds: seconds(3, 300, 10).describe('Seconds between two checks (DigitalOcean: 3-300).'),
    responseTimeoutSeconds: seconds(3, 300, 5).describe('Seconds to wait for an answer (DigitalOcean: 3-300).'),
    healthyThreshold: z.number().int().min(2).max(10).default(3)
      .describe('Consecutive passes before a droplet receives traffic (DigitalOcean: 2-10).'),
    unhealthyThreshold: z.number().int().min(2).max(10).default(3)
      .describe('Consecutive failures before a droplet stops receiving traffic (DigitalOcean: 2-10).'),
  })
  .prefault({});

export const autoscaleSchema = z.strictObject({
  minInstances: z.number().int().min(1).max(500).optional()
    .describe('Fewest droplets the pool keeps (DigitalOcean: 1-500). Omit to keep what the target needs (the plan\'s count).'),
  maxInstances: z.number().int().min(1).max(1000).optional()
    .describe('Most droplets the pool grows to (DigitalOcean: 1-1000). Omit for twice the plan\'s count.'),
  targetCpuUtilization: z.number().min(0.05).max(1).default(0.6)
    .describe('Average CPU share (0.05-1) the pool scales to keep.'),
  cooldownMinutes: z.number().int().min(5).max(20).default(5)
    .describe('Minutes between two scaling actions (DigitalOcean: 5-20).'),
});

export const fleetSchema = z.strictObject({
  sizeSlug: slug('droplet size').describe('Droplet size slug, e.g. c-16. Must be one of config/catalog.ts.'),
  image: z.enum(IMAGES).default('debian-12-x64').describe('Droplet image the templates are tested for.'),
  count: z.number().int().min(1).max(1000).optional()
    .describe('Fixed number of droplets. Omit to use the count the capacity plan derives. Conflicts with autoscale.'),
  maxDroplets: z.number().int().min(1).max(1000).optional()
    .describe('The largest fleet this environment may reach (fixed count or autoscale maximum). Per-process database pools are planned for it, so scaling up to it never changes a running droplet. Omit for the autoscale maximum, or twice the count; production must state it.'),
  autoscale: autoscaleSchema.optional()
    .describe('A droplet autoscale pool instead of fixed droplets. Conflicts with count.'),
  sshKeyFingerprints: z.array(z.string().regex(/^([0-9a-f]{2}:){15}[0-9a-f]{2}$|^\d+$/, 'must be an MD5 fingerprint (aa:bb:...) or a numeric key ID'))
    .min(1, 'needs at least one SSH key: without one DigitalOcean e-mails a root password')
    .describe('SSH keys (fingerprints or IDs) already uploaded to the DigitalOcean account.'),
  adminSshCidrs: z.array(cidr).default([])
    .describe('Source CIDRs allowed to reach port 22. Empty (the default): no SSH from anywhere.'),
});

export const loadBalancerSchema = z
  .strictObject({
    sizeUnit: z.number().int().min(1).max(200).optional()
      .describe('Load balancer nodes (10,000 connections each; DigitalOcean: 1-200). Omit to use the capacity plan\'s.'),
    httpIdleTimeoutSeconds: seconds(30, 600, 60).describe('Seconds an idle HTTP connection stays open (DigitalOcean: 30-600).'),
    healthCheck: healthCheckSchema,
  })
  .prefault({});

export const readReplicaSchema = z.strictObject({
  sizeSlug: slug('database size').describe('Replica node size; at least the primary\'s (DigitalOcean rule).'),
  region: z.enum(REGIONS).optional().describe('Region of the replica. @default the environment\'s region'),
});

/** People type `version: 17`; YAML makes that a number. Both spellings mean the same version. */
const postgresVersion = z
  .union([z.enum(['16', '17']), z.union([z.literal(16), z.literal(17)]).transform((v) => String(v) as '16' | '17')], {
    error: 'must be 16 or 17 (PostgreSQL major versions DigitalOcean offers; 14 reached end of life on 2026-11-12)',
  });

/** Where a managed database forwards its logs (a provider resource newer than the prebuilt binding). */
export const logSinkSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('rsyslog').describe('An rsyslog server (TLS by default).'),
    name: z.string().min(1).max(64).describe('Name of the sink in DigitalOcean.'),
    server: z.string().min(1).describe('Host name or IP of the rsyslog server.'),
    port: z.number().int().min(1).max(65535),
    tls: z.boolean().default(true),
    format: z.enum(['rfc5424', 'rfc3164']).default('rfc5424'),
  }),
  z.strictObject({
    kind: z.literal('opensearch').describe('An OpenSearch endpoint.'),
    name: z.string().min(1).max(64).describe('Name of the sink in DigitalOcean.'),
    endpoint: z.url({ protocol: /^https$/ }).describe('https://host:port of OpenSearch.'),
    indexPrefix: z.string().min(1).describe('Prefix of the indices the logs go to.'),
    indexDaysMax: z.number().int().min(1).optional().describe('Days an index is kept. @default DigitalOcean\'s'),
  }),
]);

const PROVIDER_NOTE = 'Needs DigitalOcean provider 2.99.1 (the stack\'s provider constraint narrows to it).';

export const postgresSchema = z.strictObject({
  version: postgresVersion.default('17').describe('PostgreSQL major version: 16 or 17, as a number or a string (14 reached end of life on 2026-11-12).'),
  sizeSlug: slug('database size').describe('Node size of the primary and standby nodes, e.g. db-s-4vcpu-8gb.'),
  standbyNodes: z.number().int().min(0).max(2).default(0)
    .describe('Standby nodes for automatic failover (0-2; only on plans with at least 2 GiB of RAM).'),
  readReplicas: z.array(readReplicaSchema).max(10).default([]).describe('Read-only replicas; reads go here, writes to the primary.'),
  databaseName: postgresName.default('app').describe('The app\'s database.'),
  userName: postgresName.default('app').describe('The app\'s database user.'),
  pool: z
    .strictObject({
      mode: z.enum(['transaction', 'session', 'statement']).default('transaction')
        .describe('PgBouncer pool mode; transaction lets many app connections share few server connections.'),
      size: z.number().int().min(1).max(10000).optional()
        .describe('Server connections of the primary\'s PgBouncer pool. Omit to use the capacity plan\'s.'),
    })
    .prefault({}),
  maintenanceWindow: z
    .strictObject({
      day: z.enum(['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday']).default('sunday')
        .describe('Day of the maintenance window (UTC).'),
      hour: z.string().regex(/^([01]\d|2[0-3]):00$/, 'must be a whole hour in UTC, HH:00').default('04:00')
        .describe('Start of the maintenance window, HH:00 UTC.'),
    })
    .prefault({})
    .describe('When DigitalOcean may apply updates (UTC).'),
  storageAutoscale: z
    .strictObject({
      thresholdPercent: z.number().int().min(1).max(99).optional().describe('Disk use (percent) that triggers growth. @default DigitalOcean\'s'),
      incrementGib: z.number().int().min(10).multipleOf(10, 'must be a multiple of 10 (DigitalOcean adds storage in 10 GiB steps)').optional().describe('GiB added each time (at least 10, a multiple of 10). @default DigitalOcean\'s'),
    })
    .optional()
    .describe(`Grow the disk before it fills (off when absent: each step adds cost that is not given back). ${PROVIDER_NOTE}`),
  logSinks: z.array(logSinkSchema).max(10).default([]).describe(`Forward PostgreSQL logs (none by default). ${PROVIDER_NOTE}`),
});

export const cacheSchema = z.strictObject({
  engine: z.literal('valkey').default('valkey')
    .describe('Managed Valkey: DigitalOcean discontinued managed Redis on 2025-06-30; Valkey speaks the Redis protocol.'),
  version: z.union([z.literal('8'), z.literal(8).transform(() => '8' as const)], { error: 'must be 8 (the Valkey major version DigitalOcean offers)' })
    .default('8').describe('Valkey major version: 8, as a number or a string.'),
  sizeSlug: slug('database size').describe('Cache node size, e.g. db-s-1vcpu-2gb.'),
  evictionPolicy: z
    .enum(['noeviction', 'allkeys_lru', 'allkeys_random', 'volatile_lru', 'volatile_random', 'volatile_ttl'])
    .default('allkeys_lru')
    .describe('What the cache drops when full; allkeys_lru suits cache-aside.'),
  ttlSeconds: z.number().int().min(1).max(86400).default(300).describe('Expiry of a cache-aside entry.'),
  evictionVia: z.enum(['cluster', 'valkey-config']).default('cluster')
    .describe(`Where evictionPolicy is set: the cluster's eviction_policy (default, every provider version) or the provider's Valkey config resource (valkey_maxmemory_policy). ${PROVIDER_NOTE}`),
  logSinks: z.array(logSinkSchema).max(10).default([]).describe(`Forward Valkey logs (none by default). ${PROVIDER_NOTE}`),
});

const envVarName = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'must be an environment variable name: A-Z, 0-9, _');

export const appSchema = z
  .discriminatedUnion('source', [
    z.strictObject({
      source: z.literal('demo').describe('The demo WSGI app shipped in templates/app.'),
      env: z.record(envVarName, z.string()).default({}).describe('Extra environment variables for the app.'),
    }),
    z.strictObject({
      source: z.literal('git').describe('Your own WSGI app, cloned into a virtualenv on each droplet.'),
      gitUrl: z.string().regex(/^(https:\/\/|git@)\S+$/, 'must be an https:// or git@ URL').describe('Repository to clone.'),
      gitRef: z.string().regex(/^[\w./-]+$/, 'must be a commit SHA, a tag or a branch name').describe('The release: a 40-hex commit SHA (required in production: tags and branches move), or a tag or branch elsewhere.'),
      wsgiModule: z.string().regex(/^[A-Za-z_][\w.]*:[A-Za-z_]\w*$/, 'must be module:callable, e.g. myapp.wsgi:application')
        .describe('The WSGI callable Gunicorn loads.'),
      requirementsFile: z.string().regex(/^[\w./-]+$/, 'must be a path inside the repository').default('requirements.txt')
        .describe('Lock file inside the repository: every package pinned with == and its --hash=sha256 (pip-compile --generate-hashes); installed with pip --require-hashes. Gunicorn, gevent and psycogreen come from Debian (the virtualenv sees them).'),
      releaseCommand: z.string().regex(/^[^\r\n]+$/, 'must be one command line').optional()
        .describe('The release\'s one-off step (e.g. python -m alembic upgrade head), run in the checkout with the virtualenv and the env file before the app starts, once per release across the fleet. @default - no step'),
      env: z.record(envVarName, z.string()).default({}).describe('Extra environment variables for the app.'),
    }),
  ])
  .prefault({ source: 'demo' });

export const alertsSchema = z
  .strictObject({
    emails: z.array(z.email('must be an e-mail address')).default([]).describe('Who receives monitoring alerts.'),
    slackWebhooks: z
      .array(z.strictObject({ channel: z.string().min(1), url: z.url({ protocol: /^https$/ }) }))
      .default([])
      .describe('Slack channels that receive monitoring alerts.'),
  })
  .prefault({});

export const capacitySchema = z.strictObject({
  targetConcurrentRequests: z.number().int().min(1).max(2_000_000)
    .describe('Requests in flight at once the environment must hold, fleet-wide.'),
  typicalRequestSeconds: z.number().positive().max(60).default(0.5)
    .describe('Median time a request is in flight (Little\'s law turns concurrency into requests/s).'),
  p95RequestSeconds: z.number().positive().max(300).default(2)
    .describe('95th-percentile time in flight; sets proxy and worker timeouts.'),
  readShare: z.number().min(0).max(1).default(0.8)
    .describe('Share of database queries that are reads: the cache, then the replicas, take them; the primary takes the writes. Default 0.8: an assumption (most web requests read); measure yours (pg_stat_statements).'),
  queriesPerRequest: z.number().min(0).max(1000).default(1)
    .describe('Database queries one request makes on average, reads and writes. Default 1: each of the demo app\'s data endpoints makes one (a read on /items/<id> and on a /cached/<id> miss, a write on POST /items); measure yours.'),
  cacheHitRatio: z.number().min(0).max(0.999).default(0.8)
    .describe('Share of reads the cache answers (cache-aside: a miss reads the database and writes the entry back). Default 0.8: an assumption; measure yours as keyspace_hits / (keyspace_hits + keyspace_misses) of Valkey INFO.'),
  cacheEntryBytes: z.number().int().min(16).max(536_870_912).default(512)
    .describe('Memory one cache entry takes: key, value and Valkey\'s per-key overhead. Default 512: an assumption for a small JSON object; the plan sizes the cache for misses/s x cache.ttlSeconds entries of this size.'),
  readQueriesPerSecondPerVcpu: z.number().int().min(10).max(1_000_000).default(12_000)
    .describe('Reads/s one database vCPU serves. Default: the demo app\'s replica read measured 8,814-13,529 per CPU second (median 12,697) with pgbench on one core over six rounds on a shared machine (bench/results/pgbench.md), the median rounded down: a local estimate, a managed node differs.'),
  writeQueriesPerSecondPerVcpu: z.number().int().min(10).max(1_000_000).default(7_000)
    .describe('Writes/s one database vCPU serves. Default: the demo app\'s INSERT measured 5,895-9,499 per CPU second (median 7,910) with pgbench on one core, fsync on, over six rounds on a shared machine (bench/results/pgbench.md), the median rounded down: a local estimate.'),
  cacheOpsPerSecondPerVcpu: z.number().int().min(100).max(10_000_000).default(100_000)
    .describe('Cache operations/s one cache vCPU serves (a node counts at most 3). Default: GET/SET measured 96,154-106,383 per CPU second (median 101,963) on one core over six rounds (bench/results/pgbench.md), the median rounded down: a local estimate.'),
  requestsPerTlsConnection: z.number().min(1).max(100_000).default(20)
    .describe('Requests a client sends over one TLS connection to the load balancer before opening a new one; sets the new TLS connections/s the LB must accept (250 per node). Default 20: an assumption (a browser keeps one HTTP/2 connection for a page and its assets; an API client without keepalive makes 1); measure yours from the LB\'s metrics.'),
  requestsPerSecondPerVcpu: z.number().int().min(50).max(50_000).default(3000)
    .describe('Requests/s one vCPU serves through Nginx and Gunicorn at saturation. Default: the demo app measured 3,234-3,507 per core in the droplet box (bench/results/bench.md), rounded down; measure your app with npm run bench.'),
  maxOpenFilesPerProcess: z.number().int().min(4096).max(1_048_576).default(1_048_576)
    .describe('Most open files one process may have (fs.nr_open on the droplet); the plan adds processes rather than exceed it.'),
});

export const accountSchema = z
  .strictObject({
    dropletLimit: z.number().int().min(1).max(100_000).optional()
      .describe('Droplets the DigitalOcean account (or team) may have at once; read yours with `doctl account get` (Droplet Limit). Set, the plan refuses a fleet that would pass it, replacements included. Unset, the plan assumes a new account\'s 5 and notes in its report when the fleet would need more. Ask DigitalOcean to raise it before the first apply. @default 5, not enforced (a new account\'s, per DigitalOcean\'s community answer "What does the \'Droplet Limit\' mean?"; DigitalOcean raises it after verification and on request: docs, Accounts, "Droplet and Volume Limit Increases")'),
  })
  .prefault({})
  .describe('Limits of the DigitalOcean account the environment is deployed to.');

export const stateSchema = z
  .discriminatedUnion('backend', [
    z.strictObject({ backend: z.literal('local').describe('terraform.<stack>.tfstate beside the synthesized stack.') }),
    z.strictObject({
      backend: z.literal('spaces').describe('S3 backend on DigitalOcean Spaces; credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.'),
      bucket: z.string().regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, 'must be a Spaces bucket name'),
      region: z.enum(['nyc3', 'sfo2', 'sfo3', 'ams3', 'sgp1', 'fra1', 'syd1', 'blr1', 'lon1', 'tor1', 'atl1']),
      key: z.string().regex(/^[\w./-]+\.tfstate$/, 'must be an object key ending in .tfstate').optional()
        .describe('@default web-<env>/terraform.tfstate'),
    }),
  ])
  .prefault({ backend: 'local' });

export const environmentSchema = z.strictObject({
  $schema: z.string().optional().describe('Path of the JSON Schema, for editors.'),
  example: z.boolean().default(false)
    .describe('Marks a shipped example: placeholder values (example.com, documentation fingerprints and ranges) are warnings instead of errors, and any terraform plan/apply of the stack fails on purpose. Remove it once every value is yours.'),
  tier: z.enum(['development', 'staging', 'production'])
    .describe('production turns on the production rules (N+1 droplets, TLS, standby, no open SSH, prevent_destroy).'),
  region: z.enum(REGIONS).describe('DigitalOcean region of every resource (replicas may name their own).'),
  vpc: z.strictObject({
    ipRange: cidr.describe('Private range of the VPC, e.g. 10.10.0.0/16 (must not overlap another VPC of the account).'),
  }),
  domain: z
    .string()
    .regex(/^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a lowercase DNS name such as example.com')
    .optional()
    .describe('Name the site answers on. With it: Let\'s Encrypt certificate, HTTPS, HTTP->HTTPS redirect, a DNS record. Without it: HTTP only on the LB\'s IP.'),
  dnsZone: z
    .string()
    .regex(/^(?=.{4,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/, 'must be a lowercase DNS name such as example.com')
    .optional()
    .describe('Existing DigitalOcean DNS zone holding the domain (e.g. example.com for staging.example.com). @default the domain itself'),
  fleet: fleetSchema,
  loadBalancer: loadBalancerSchema,
  postgres: postgresSchema,
  cache: cacheSchema,
  app: appSchema,
  alerts: alertsSchema,
  capacity: capacitySchema,
  account: accountSchema,
  state: stateSchema,
});

/** A validated environment, defaults applied. */
export type EnvironmentConfig = z.infer<typeof environmentSchema>;
export type AppConfig = EnvironmentConfig['app'];
export type FleetConfig = EnvironmentConfig['fleet'];
