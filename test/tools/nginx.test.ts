/**
 * `nginx -t` on each environment's rendered nginx.conf and site together.
 *
 * Path rewriting, in a temporary prefix (every rewrite must match exactly once):
 * - `include /etc/nginx/conf.d/*.conf;` -> `<tmp>/conf.d/*.conf`, where the rendered site is written;
 * - `/var/log/nginx/` -> `<tmp>/logs/` and `pid /run/nginx.pid` -> `<tmp>/nginx.pid`, so the check
 *   writes nothing outside the temp dir.
 * mime.types and modules-enabled are read from the installed nginx package, as on the droplet.
 * `-e stderr` keeps nginx from opening its compiled-in error log before reading the config.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allRendered, rendered } from '../templates/fixtures.js';
import { removeTempDirs, requireTools, rewriteOnce, run, tempDir } from './tools.js';

afterAll(removeTempDirs);

/** Run `nginx -t` on a main config and a site; returns nginx's exit status and output. */
function nginxTest(mainConf: string, site: string) {
  const dir = tempDir('nginx-t');
  mkdirSync(path.join(dir, 'conf.d'));
  mkdirSync(path.join(dir, 'logs'));
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

  it('fails on a second default_server on port 80', (ctx) => {
    requireTools(ctx, 'nginx');
    const site = `${byName['app.conf']!}\nserver {\n    listen 80 default_server;\n}\n`;
    const r = nginxTest(byName['nginx.conf']!, site);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/a duplicate default server for 0\.0\.0\.0:80/);
  });
});
