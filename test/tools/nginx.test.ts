/**
 * `nginx -t` on each environment's rendered nginx.conf and site together.
 *
 * Path rewriting, in a temporary prefix (every rewrite must match exactly once):
 * - `include /etc/nginx/conf.d/*.conf;` -> `<tmp>/conf.d/*.conf`, where the rendered site is written;
 * - `/var/log/nginx/` -> `<tmp>/logs/` and `pid /run/nginx.pid` -> `<tmp>/nginx.pid`, so the check
 *   writes nothing outside the temp dir.
 * - `/run/droplet/` -> `<tmp>/run-droplet/`, where the rendered droplet-id script (with a stand-in
 *   `cloud-init` reporting a sample instance id) writes the X-Droplet-Id snippet the site includes, as at boot.
 * mime.types and modules-enabled are read from the installed nginx package, as on the droplet.
 * `-e stderr` keeps nginx from opening its compiled-in error log before reading the config.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allRendered, rendered } from '../templates/fixtures.js';
import { fakeCommand, removeTempDirs, requireTools, rewriteOnce, run, setShellVariable, tempDir } from './tools.js';

afterAll(removeTempDirs);

/** Write the X-Droplet-Id snippet into `runDir` with the rendered droplet-id script, as droplet-id.service does at boot. */
function writeDropletIdSnippet(dir: string, runDir: string, script: string): void {
  let local = setShellVariable(script, 'SNIPPET', path.join(runDir, 'nginx-droplet-id.conf'));
  local = setShellVariable(local, 'RUN_DIR', runDir);
  writeFileSync(path.join(dir, 'droplet-id'), local);
  const bin = fakeCommand(path.join(dir, 'bin'), 'cloud-init', 'echo 412345678');
  const r = run('sh', [path.join(dir, 'droplet-id')], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` } });
  if (r.status !== 0) throw new Error(`droplet-id failed: ${r.stderr}`);
}

/** Run `nginx -t` on a main config and a site; returns nginx's exit status and output. */
function nginxTest(mainConf: string, site: string, dropletIdScript = rendered('dev').byName['droplet-id']!) {
  const dir = tempDir('nginx-t');
  mkdirSync(path.join(dir, 'conf.d'));
  mkdirSync(path.join(dir, 'logs'));
  writeDropletIdSnippet(dir, path.join(dir, 'run-droplet'), dropletIdScript);
  site = site.replaceAll('/run/droplet/', `${dir}/run-droplet/`);
  let conf = rewriteOnce(mainConf, 'include /etc/nginx/conf.d/*.conf;', `include ${dir}/conf.d/*.conf;`);
  conf = rewriteOnce(conf, 'pid /run/nginx.pid;', `pid ${dir}/nginx.pid;`);
  conf = conf.replaceAll('/var/log/nginx/', `${dir}/logs/`);
  writeFileSync(path.join(dir, 'nginx.conf'), conf);
  writeFileSync(path.join(dir, 'conf.d', 'app.conf'), site);
  const r = run('nginx', ['-t', '-e', 'stderr', '-p', dir, '-c', path.join(dir, 'nginx.conf')]);
  return { ...r, output: r.stdout + r.stderr };
}

describe.each(allRendered())('nginx -t, $environment', ({ byName }) => {
  it('accepts nginx.conf with the site', (ctx) => {
    requireTools(ctx, 'nginx');
    const r = nginxTest(byName['nginx.conf']!, byName['app.conf']!);
    expect(r.output).toContain('test is successful');
    expect(r.status).toBe(0);
    // No [warn] either: a warning today (e.g. a too small hash) is a broken droplet after an upgrade.
    expect(r.output).not.toMatch(/\[(warn|emerg|alert|crit|error)\]/);
  });
});

describe('nginx -t, broken renderings', () => {
  const { byName } = rendered('production');

  it('fails on `http2 on;`, which Debian 12\'s nginx 1.22 does not know', (ctx) => {
    requireTools(ctx, 'nginx');
    const site = rewriteOnce(byName['app.conf']!, '    server_name _;', '    server_name _;\n    http2 on;');
    const r = nginxTest(byName['nginx.conf']!, site);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/unknown directive "http2"/);
  });

  it('fails when the X-Droplet-Id snippet is missing (droplet-id.service did not run)', (ctx) => {
    requireTools(ctx, 'nginx');
    const site = byName['app.conf']!.replaceAll('/run/droplet/nginx-droplet-id.conf', '/run/droplet/not-written.conf');
    const r = nginxTest(byName['nginx.conf']!, site);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/open\(\) ".*not-written\.conf" failed \(2: No such file or directory\)/);
  });

  it('fails on a second default_server on port 80', (ctx) => {
    requireTools(ctx, 'nginx');
    const site = `${byName['app.conf']!}\nserver {\n    listen 80 default_server;\n}\n`;
    const r = nginxTest(byName['nginx.conf']!, site);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/a duplicate default server for 0\.0\.0\.0:80/);
  });
});
