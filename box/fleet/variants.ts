/**
 * The user data variants the fleet run rolls out: the configured one (A, RELEASE v1), a setting changed (B:
 * the cache TTL), a release (RELEASE v2 on top of B), and a broken one. A release of the demo app is a change
 * of its user data (the app.env RELEASE marker): the same path a git release takes (new user data, gated
 * replacement of every droplet).
 */
import { gunzipSync } from 'node:zlib';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import type { LoadedEnvironment } from '../../config/load.js';
import type { FleetDroplet } from './fleet.js';

/** B: a setting changed (the cache TTL); release v2: B with RELEASE=v2 (box/fleet.yaml sets v1). */
export const withRelease = (release: string) => (e: LoadedEnvironment): LoadedEnvironment =>
  ({ ...e, config: { ...e.config, app: { ...e.config.app, env: { ...e.config.app.env, RELEASE: release } } } as LoadedEnvironment['config'] });
export const withCacheTtl = (ttl: number) => (e: LoadedEnvironment): LoadedEnvironment =>
  ({ ...e, config: { ...e.config, cache: { ...e.config.cache, ttlSeconds: ttl } } });
export const variantB = (e: LoadedEnvironment) => withCacheTtl(e.config.cache.ttlSeconds + 60)(e);
export const variantRelease2 = (e: LoadedEnvironment) => withRelease('v2')(withCacheTtl(e.config.cache.ttlSeconds + 60)(e));

/**
 * User data whose app never starts: Gunicorn's config names a WSGI callable the demo app lacks, so the app
 * fails to load and /healthz never answers 200 (a broken release as a person could ship it).
 */
export function breakUserData(userData: string): string {
  const doc = parseYaml(userData) as { write_files: { path: string; content: string; encoding?: string }[] };
  const f = doc.write_files.find((x) => x.path === '/etc/app/gunicorn.conf.py');
  if (!f) throw new Error('could not break the user data: it writes no /etc/app/gunicorn.conf.py');
  const text = f.encoding === 'gz+b64' ? gunzipSync(Buffer.from(f.content, 'base64')).toString('utf8') : f.content;
  if (!text.includes('"demo_app:application"')) throw new Error('could not break the user data: gunicorn.conf.py does not serve demo_app:application');
  f.content = text.replace('"demo_app:application"', '"demo_app:no_such_callable"');
  delete f.encoding;
  return `#cloud-config\n${stringifyYaml(doc)}`;
}

/** The app's env file on a droplet's disk carries the release marker it runs. */
export function releaseOf(d: FleetDroplet): string {
  return /^RELEASE=(.*)$/m.exec(d.droplet.readFile('etc/app/app.env'))?.[1]?.replace(/^['"]|['"]$/g, '') ?? '(none)';
}

