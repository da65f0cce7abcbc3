/**
 * The user data the stack renders for an environment, with the box's own services in place of the
 * Terraform references. The mechanism: templates/droplet.ts renders the whole cloud-config from the
 * environment's plan and an `AppConnections` value; in the stack that value holds Terraform references
 * (the managed database and cache URIs), here it holds the URLs of the box's PostgreSQL and Redis. Nothing
 * else differs and nothing is edited after rendering.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse } from 'yaml';
import { loadEnvironment, loadEnvironmentFile, type LoadedEnvironment } from '../config/load.js';
import { renderUserData, type AppConnections } from '../templates/droplet.js';
import { dropletInputFor } from '../templates/droplet-input.js';

export const BOX_CONFIG = join(import.meta.dirname, 'box.yaml');

/** `box` is the box's own environment (box/box.yaml); a path loads that file; any other name config/<name>.yaml. */
export function loadTarget(target: string): LoadedEnvironment {
  if (target === 'box') return loadEnvironmentFile(BOX_CONFIG, 'box');
  if (target.endsWith('.yaml') || target.includes('/')) return loadEnvironmentFile(isAbsolute(target) ? target : resolve(target));
  return loadEnvironment(target);
}

/** The box's PostgreSQL has no PgBouncer: its primary URL is already the direct one the release step needs. */
export function renderForBox(env: LoadedEnvironment, connections: Omit<AppConnections, 'databaseDirectUrl'> & Partial<AppConnections>): string {
  return renderUserData(dropletInputFor(env), { ...connections, databaseDirectUrl: connections.databaseDirectUrl ?? connections.databaseUrl });
}

interface CloudConfig {
  packages?: (string | string[])[];
  write_files?: { path: string; content?: string; encoding?: string }[];
}

/** What the box reads from the rendered cloud-config: the packages it installs and its sysctl settings. */
export function inspectUserData(userData: string): { packages: string[]; sysctl: Record<string, string> } {
  if (!userData.startsWith('#cloud-config')) throw new Error('rendered user data does not start with #cloud-config');
  const doc = (parse(userData) ?? {}) as CloudConfig;
  const packages = (doc.packages ?? []).map((p) => (Array.isArray(p) ? p[0]! : p));
  const sysctl: Record<string, string> = {};
  for (const f of doc.write_files ?? []) {
    if (!f.path.startsWith('/etc/sysctl.d/') || f.content === undefined) continue;
    let text = f.content;
    if (f.encoding === 'b64' || f.encoding === 'base64') text = Buffer.from(text, 'base64').toString('utf8');
    // templates/droplet.ts gzips files from COMPRESS_FROM_BYTES on.
    else if (f.encoding === 'gz+b64' || f.encoding === 'gzip+base64') text = gunzipSync(Buffer.from(text, 'base64')).toString('utf8');
    else if (f.encoding) throw new Error(`${f.path}: encoding ${f.encoding} is not read by the box`);
    for (const line of text.split('\n')) {
      const m = /^\s*([\w.-]+)\s*=\s*(.*?)\s*$/.exec(line);
      if (m && !line.trimStart().startsWith('#')) sysctl[m[1]!] = m[2]!;
    }
  }
  return { packages, sysctl };
}
