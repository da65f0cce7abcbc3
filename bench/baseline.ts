/**
 * The baseline in the same box: the reference recipe's files (bench/baseline/, values from
 * "Scaling Python on DigitalOcean to handle 50,000+ concurrent requests") put in place of ours on the booted droplet. Our app unit, site, Nginx drop-in and
 * kernel settings give way to the recipe's Gunicorn on TCP 8000, its site (proxy_pass, no upstream block),
 * Debian's nginx.conf with worker_rlimit_nofile 65536, and its sysctl values. The demo app, its env file
 * and the services stay: both configurations serve the same code against the same databases.
 */
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Box } from '../box/box.js';
import { httpGet } from '../box/http.js';
import { waitFor } from '../box/lib/proc.js';
import { applySysctl } from '../box/network.js';
import { DROPLET_PATHS } from '../templates/paths.js';

export const BASELINE_DIR = join(import.meta.dirname, 'baseline');

/** key = value lines of a sysctl file. */
function sysctlFile(path: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const m = /^\s*([\w.-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m && !line.trimStart().startsWith('#')) out[m[1]!] = m[2]!;
  }
  return out;
}

/** Replace our droplet configuration by the baseline's and wait until /healthz answers through it. */
export async function applyBaseline(box: Box): Promise<string[]> {
  const d = box.droplet;
  const inside = (p: string) => join(d.merged, p);
  const put = (src: string, dest: string) => {
    mkdirSync(inside(dest.slice(0, dest.lastIndexOf('/'))), { recursive: true });
    copyFileSync(join(BASELINE_DIR, src), inside(dest));
  };
  await d.exec(['systemctl', 'stop', 'nginx.service', 'app.socket', 'app.service'], 120_000);
  put('gunicorn_config.py', '/etc/baseline/gunicorn_config.py');
  put('baseline-app.service', '/etc/systemd/system/baseline-app.service');
  put('nginx.conf', DROPLET_PATHS.nginxConf);
  put('site.conf', '/etc/nginx/sites-enabled/default');
  // Ours goes: the site in conf.d (the baseline's nginx.conf includes conf.d too) and the nofile drop-in.
  rmSync(inside(DROPLET_PATHS.site), { force: true });
  rmSync(inside(DROPLET_PATHS.nginxLimitsDropIn), { force: true });
  const { applied } = await applySysctl(sysctlFile(join(BASELINE_DIR, 'sysctl.conf')));
  await d.exec(['systemctl', 'daemon-reload'], 60_000);
  await d.exec(['systemctl', 'start', 'baseline-app.service'], 60_000);
  await d.exec(['nginx', '-t'], 30_000);
  await d.exec(['systemctl', 'restart', 'nginx.service'], 60_000);
  await waitFor('/healthz through the baseline', async () => ((await httpGet(`${box.urls[0]}/healthz`, 5000)).status === 200 ? true : undefined), 60_000, 500);
  return applied;
}
