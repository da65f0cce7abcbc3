/**
 * `systemd-analyze verify` on app.service and on nginx.service with the rendered drop-in. It exits 0 on
 * unknown keys and only warns, so any stderr output fails the check.
 *
 * Path rewriting: the git app's ExecStart (/opt/app/venv/bin/python3) exists only on a droplet after
 * its install script ran; verify requires an executable, so it is pointed at /usr/bin/python3. The
 * lifecycle scripts (/usr/local/sbin/droplet-*, app-release) are written into the temp dir and the units
 * point there. All of a droplet's units are verified together, so an ordering cycle between them (which
 * systemd would break at boot by dropping a job) fails the check.
 * nginx.service comes from the installed nginx package (as on the droplet); the drop-in sits in
 * nginx.service.d/ beside it in the temp dir, where verify loads drop-ins from.
 */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allRendered, GIT_APP, rendered } from '../templates/fixtures.js';
import { removeTempDirs, requireTools, rewriteOnce, run, tempDir } from './tools.js';

afterAll(removeTempDirs);

const NGINX_UNIT = '/lib/systemd/system/nginx.service';

function verify(dir: string, ...units: string[]) {
  return run('systemd-analyze', ['verify', '--man=no', ...units.map((u) => path.join(dir, u))], { cwd: dir });
}

/** app.socket and app.service together: the service requires the socket, verify needs both beside each other. */
function verifyAppService(unit: string, socket: string) {
  const dir = tempDir('systemd-app');
  writeFileSync(path.join(dir, 'app.service'), unit.replace('ExecStart=/opt/app/venv/bin/python3 ', 'ExecStart=/usr/bin/python3 '));
  writeFileSync(path.join(dir, 'app.socket'), socket);
  return verify(dir, 'app.socket', 'app.service');
}

const SCRIPTS = ['droplet-id', 'droplet-ready', 'droplet-drain', 'app-release', 'app-grant'];

/**
 * Every unit a droplet gets, with its drop-ins, verified in one run: app.socket, app.service (+ release.conf), app-grant.service,
 * app-release.service, the droplet-* units and nginx.service (+ nofile.conf, drain.conf).
 */
function verifyDropletUnits(byName: Readonly<Record<string, string>>, edit: (name: string, text: string) => string = (_n, t) => t) {
  const dir = tempDir('systemd-droplet');
  const local = (name: string) => edit(name, byName[name]!).replaceAll('/usr/local/sbin/', `${dir}/`)
    .replace('ExecStart=/opt/app/venv/bin/python3 ', 'ExecStart=/usr/bin/python3 ');
  for (const script of SCRIPTS) if (byName[script]) writeFileSync(path.join(dir, script), byName[script]!, { mode: 0o755 });
  const units = ['app.socket', 'app.service', 'app-grant.service', 'app-release.service', 'droplet-id.service', 'droplet-ready.service', 'droplet-drain.service'].filter((u) => byName[u]);
  for (const unit of units) writeFileSync(path.join(dir, unit), local(unit));
  copyFileSync(NGINX_UNIT, path.join(dir, 'nginx.service'));
  mkdirSync(path.join(dir, 'nginx.service.d'));
  for (const dropIn of ['nofile.conf', 'drain.conf']) writeFileSync(path.join(dir, 'nginx.service.d', dropIn), local(dropIn));
  if (byName['release.conf']) {
    mkdirSync(path.join(dir, 'app.service.d'));
    writeFileSync(path.join(dir, 'app.service.d', 'release.conf'), local('release.conf'));
  }
  return verify(dir, ...units, 'nginx.service');
}

function verifyNginxDropIn(dropIn: string) {
  const dir = tempDir('systemd-nginx');
  copyFileSync(NGINX_UNIT, path.join(dir, 'nginx.service'));
  mkdirSync(path.join(dir, 'nginx.service.d'));
  writeFileSync(path.join(dir, 'nginx.service.d', 'nofile.conf'), dropIn);
  return verify(dir, 'nginx.service');
}

describe.each(allRendered())('systemd-analyze verify, $environment', ({ byName }) => {
  it('app.socket and app.service have no warning', (ctx) => {
    requireTools(ctx, 'systemd-analyze', '/usr/bin/gunicorn');
    const r = verifyAppService(byName['app.service']!, byName['app.socket']!);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('every unit of the droplet, with its drop-ins, has no warning and no ordering cycle', (ctx) => {
    requireTools(ctx, 'systemd-analyze', NGINX_UNIT);
    const r = verifyDropletUnits(byName);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('nginx.service with the nofile drop-in has no warning', (ctx) => {
    requireTools(ctx, 'systemd-analyze', NGINX_UNIT);
    const r = verifyNginxDropIn(byName['nofile.conf']!);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});

describe('systemd-analyze verify, broken renderings', () => {
  const { byName } = rendered('production', GIT_APP);

  it('fails on a misspelt key, which systemd would ignore with exit 0', (ctx) => {
    requireTools(ctx, 'systemd-analyze', '/usr/bin/gunicorn');
    const r = verifyAppService(rewriteOnce(byName['app.service']!, 'LimitNOFILE=', 'LimitNOFILES='), byName['app.socket']!);
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/Unknown key 'LimitNOFILES' in section \[Service\], ignoring\./);
  });

  it('fails on a misspelt socket key', (ctx) => {
    requireTools(ctx, 'systemd-analyze', '/usr/bin/gunicorn');
    const r = verifyAppService(byName['app.service']!, rewriteOnce(byName['app.socket']!, 'SocketMode=', 'SocketMod='));
    expect(r.stderr).toMatch(/Unknown key 'SocketMod' in section \[Socket\], ignoring\./);
  });

  it('fails on a drop-in key in the wrong section', (ctx) => {
    requireTools(ctx, 'systemd-analyze', NGINX_UNIT);
    const r = verifyNginxDropIn(rewriteOnce(byName['nofile.conf']!, '[Service]', '[Unit]'));
    expect(r.stderr).toMatch(/Unknown key 'LimitNOFILE' in section \[Unit\], ignoring\./);
  });

  it('fails on an ExecStart that does not exist', (ctx) => {
    requireTools(ctx, 'systemd-analyze', '/usr/bin/gunicorn');
    const r = verifyAppService(rewriteOnce(byName['app.service']!, 'ExecStart=/opt/app/venv/bin/python3', 'ExecStart=/opt/app/venv/bin/pyhton3'), byName['app.socket']!);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('Command /opt/app/venv/bin/pyhton3 is not executable: No such file or directory');
  });

  it('fails when Nginx is also ordered after the app (a cycle: at shutdown it must stop after Gunicorn)', (ctx) => {
    requireTools(ctx, 'systemd-analyze', NGINX_UNIT);
    const r = verifyDropletUnits(byName, (name, text) => (name === 'drain.conf' ? rewriteOnce(text, 'Before=app.service\n', 'Before=app.service\nAfter=app.service\n') : text));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Found ordering cycle on (nginx|app)\.service\/start/);
  });

  it('fails on a misspelt key in a lifecycle unit', (ctx) => {
    requireTools(ctx, 'systemd-analyze', NGINX_UNIT);
    const r = verifyDropletUnits(byName, (name, text) => (name === 'droplet-drain.service' ? rewriteOnce(text, 'TimeoutStopSec=', 'TimeoutStopSecs=') : text));
    expect(r.stderr).toMatch(/Unknown key 'TimeoutStopSecs' in section \[Service\], ignoring\./);
  });

  it('fails when a lifecycle script is missing', (ctx) => {
    requireTools(ctx, 'systemd-analyze', NGINX_UNIT);
    const r = verifyDropletUnits(byName, (name, text) => (name === 'droplet-ready.service' ? rewriteOnce(text, '/usr/local/sbin/droplet-ready', '/usr/local/sbin/droplet-redy') : text));
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/droplet-redy is not executable: No such file or directory/);
  });
});
