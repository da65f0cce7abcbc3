/**
 * The user data the fleet run rolls out (box/fleet/variants.ts): each change differs from the one before
 * where it should and nowhere else, the rollback is byte-identical, and the broken variant breaks only the app.
 */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadEnvironmentFile } from '../../config/load.js';
import { FLEET_CONFIG } from '../../box/fleet/boot.js';
import { breakUserData, variantB, variantRelease2 } from '../../box/fleet/variants.js';
import { renderForBox } from '../../box/userdata.js';

const env = loadEnvironmentFile(FLEET_CONFIG, 'fleet');
const urls = { databaseUrl: 'postgresql://u:p@10.213.0.1:15432/app', databaseReplicaUrls: 'postgresql://u:p@10.213.0.1:15433/app', redisUrl: 'redis://default:p@10.213.0.1:16379/0', databaseAdminUrl: 'postgresql://doadmin:p@10.213.0.1:15432/app' };
const render = (change?: typeof variantB) => renderForBox(change ? change(env) : env, urls);

type Doc = { write_files: { path: string; content: string; encoding?: string }[] };
const files = (text: string) => new Map((parse(text) as Doc).write_files.map((f) => [f.path, f.encoding === 'gz+b64' ? gunzipSync(Buffer.from(f.content, 'base64')).toString('utf8') : f.content]));
const changed = (a: string, b: string) => {
  const fa = files(a);
  const fb = files(b);
  return [...new Set([...fa.keys(), ...fb.keys()])].filter((p) => fa.get(p) !== fb.get(p)).sort();
};

describe('fleet run user data variants', () => {
  it('GIVEN the fleet config THEN its droplets run RELEASE v1', () => {
    expect(files(render()).get('/etc/app/app.env')).toMatch(/^RELEASE=["']?v1["']?$/m);
  });

  it('GIVEN variant B (a setting) and the release THEN each changes only the env file, and a rollback renders the same bytes', () => {
    expect(changed(render(), render(variantB))).toEqual(['/etc/app/app.env']);
    expect(changed(render(variantB), render(variantRelease2))).toEqual(['/etc/app/app.env']);
    expect(files(render(variantRelease2)).get('/etc/app/app.env')).toMatch(/^RELEASE=["']?v2["']?$/m);
    expect(render(variantB)).toBe(render(variantB));
    expect(render(variantB)).not.toBe(render());
  });

  it('GIVEN breakUserData THEN only Gunicorn\'s config changes, to a callable the demo app lacks', () => {
    const good = render(variantRelease2);
    const bad = breakUserData(good);
    expect(bad.startsWith('#cloud-config\n')).toBe(true);
    expect(changed(good, bad)).toEqual(['/etc/app/gunicorn.conf.py']);
    expect(files(bad).get('/etc/app/gunicorn.conf.py')).toContain('wsgi_app = "demo_app:no_such_callable"');
  });
});
