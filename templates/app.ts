/** Render functions for the app's env file, the demo app and the git app's install script. */
import type { DropletTuning } from '../config/capacity.js';
import { DROPLET_PATHS } from './paths.js';
import { renderTemplate } from './render.js';

/**
 * A value for a systemd EnvironmentFile, double-quoted. systemd expands no `$` there; inside double
 * quotes only `\` and `"` need escaping. Newlines cannot be represented and are refused.
 */
export function envFileValue(value: string): string {
  if (/[\r\n]/.test(value)) throw new Error('an env file value cannot contain a line break');
  return `"${value.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A POSIX shell word that stays one literal word: single-quoted, embedded quotes closed and escaped. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/** Everything the env file carries. */
export interface AppEnvInput {
  readonly environment: string;
  /** Connection strings; Terraform references in the stack, real URLs in the box. */
  readonly databaseUrl: string;
  /** The primary without PgBouncer (the release step's session lock). */
  readonly databaseDirectUrl: string;
  readonly databaseReplicaUrls: string;
  readonly redisUrl: string;
  readonly database: DropletTuning['database'];
  readonly cache: DropletTuning['cache'];
  readonly cacheTtlSeconds: number;
  /** The longest wait /io accepts. */
  readonly ioMaxSeconds: number;
  /** Extra variables from config (app.env); they may not redefine the ones above. */
  readonly extra: Readonly<Record<string, string>>;
}

/** `/etc/app/app.env`: connection strings, pool sizes, cache TTL and the user's extra variables. */
export function renderAppEnv(input: AppEnvInput): string {
  const values = {
    environment: envFileValue(input.environment),
    databaseUrl: envFileValue(input.databaseUrl),
    databaseDirectUrl: envFileValue(input.databaseDirectUrl),
    databaseReplicaUrls: envFileValue(input.databaseReplicaUrls),
    redisUrl: envFileValue(input.redisUrl),
    primaryPoolSize: input.database.primaryPoolSize,
    primaryMaxOverflow: input.database.primaryMaxOverflow,
    replicaPoolSize: input.database.replicaPoolSize,
    replicaMaxOverflow: input.database.replicaMaxOverflow,
    poolRecycleSeconds: input.database.poolRecycleSeconds,
    poolTimeoutSeconds: input.database.poolTimeoutSeconds,
    connectTimeoutSeconds: input.database.connectTimeoutSeconds,
    statementTimeoutSeconds: input.database.statementTimeoutSeconds,
    tcpUserTimeoutSeconds: input.database.tcpUserTimeoutSeconds,
    keepaliveIdleSeconds: input.database.keepaliveIdleSeconds,
    keepaliveIntervalSeconds: input.database.keepaliveIntervalSeconds,
    keepaliveCount: input.database.keepaliveCount,
    cacheMaxConnections: input.cache.maxConnections,
    cacheTimeoutSeconds: input.cache.timeoutSeconds,
    cacheTtlSeconds: input.cacheTtlSeconds,
    ioMaxSeconds: input.ioMaxSeconds,
  };
  const extraNames = Object.keys(input.extra).sort();
  const text = renderTemplate('app/app.env', { ...values, extraEnv: '' }, '#');
  const taken = [...text.matchAll(/^([A-Z_][A-Z0-9_]*)=/gm)].map((m) => m[1]!);
  const clash = extraNames.filter((name) => taken.includes(name));
  if (clash.length > 0) throw new Error(`app.env: ${clash.join(', ')} is set by the platform; pick another name`);
  const extra = extraNames.map((name) => `${name}=${envFileValue(input.extra[name]!)}`);
  return renderTemplate('app/app.env', {
    ...values,
    extraEnv: extra.length > 0 ? ['# From config: app.env.', ...extra].join('\n') : '# No extra variables in config (app.env).',
  }, '#');
}

/** `/etc/app/admin.env`: the cluster admin's URL for app-grant.service only (root-only). */
export function renderAdminEnv(databaseAdminUrl: string): string {
  return renderTemplate('app/admin.env', { databaseAdminUrl: envFileValue(databaseAdminUrl) }, '#');
}

/** `/opt/app/demo/demo_app.py`: the demo WSGI app (no placeholders: it reads the env file). */
export function renderDemoApp(): string {
  return renderTemplate('app/demo_app.py', {}, '#');
}

/** Inputs of the git app's install script. */
export interface GitInstallInput {
  readonly gitUrl: string;
  readonly gitRef: string;
  /** The hashed lock file inside the repository (`app.requirementsFile`). */
  readonly requirementsFile: string;
}

/**
 * `/usr/local/sbin/app-install`: clone the user's app at its commit, install its hashed lock into a
 * virtualenv over Debian's Gunicorn and gevent, and write the release id (the commit SHA).
 */
export function renderGitInstallScript(input: GitInstallInput): string {
  return renderTemplate('app/install-git-app.sh', {
    gitUrl: shellQuote(input.gitUrl),
    gitRef: shellQuote(input.gitRef),
    lockFile: shellQuote(input.requirementsFile),
    srcDir: shellQuote(DROPLET_PATHS.srcDir),
    venvDir: shellQuote(DROPLET_PATHS.venvDir),
    releaseIdFile: shellQuote(DROPLET_PATHS.releaseIdFile),
  }, '#');
}
