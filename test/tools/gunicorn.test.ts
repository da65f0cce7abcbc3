/**
 * Gunicorn loads each rendered gunicorn.conf.py as it would on the droplet (check-gunicorn-conf.py):
 * every setting validated, the gevent worker class resolved, every bind parsed, unknown names refused.
 *
 * Path rewriting: `chdir` points at a temp dir, because Gunicorn's validator requires the directory to
 * exist (/opt/app/demo exists only on the droplet).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { allRendered, rendered } from '../templates/fixtures.js';
import { PYTHON, pythonHas, removeTempDirs, requireTools, rewriteOnce, run, tempDir } from './tools.js';

afterAll(removeTempDirs);

const CHECKER = path.join(import.meta.dirname, 'check-gunicorn-conf.py');

function checkGunicornConf(conf: string) {
  const dir = tempDir('gunicorn-conf');
  const local = conf.replace(/^chdir = ".*"$/m, `chdir = "${dir}"`);
  if (local === conf) throw new Error('gunicorn.conf.py has no chdir line to rewrite');
  const file = path.join(dir, 'gunicorn.conf.py');
  writeFileSync(file, local);
  const r = run(PYTHON, [CHECKER, file]);
  return { ...r, output: r.stdout + r.stderr };
}

function requireGunicorn(ctx: Parameters<typeof requireTools>[0]): void {
  requireTools(ctx, PYTHON, '/usr/bin/gunicorn');
  if (!pythonHas('gevent')) {
    if (process.env.CI === 'true') throw new Error('python3-gevent not installed: CI must install it (.ci/run)');
    ctx.skip('python3-gevent not installed (apt-get install python3-gevent)');
  }
}

describe.each(allRendered())('gunicorn config, $environment', ({ byName }) => {
  it('loads as Gunicorn loads it, with the gevent worker and a unix socket', (ctx) => {
    requireGunicorn(ctx);
    const r = checkGunicornConf(byName['gunicorn.conf.py']!);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('worker_class gevent -> gunicorn.workers.ggevent.GeventWorker');
    expect(r.stdout).toContain("bind unix:/run/gunicorn-app.sock -> '/run/gunicorn-app.sock'");
  });
});

describe('gunicorn config, broken renderings', () => {
  const conf = rendered('production').byName['gunicorn.conf.py']!;

  it('fails on a misspelt setting, which Gunicorn would silently ignore', (ctx) => {
    requireGunicorn(ctx);
    const r = checkGunicornConf(rewriteOnce(conf, 'worker_connections =', 'worker_connection ='));
    expect(r.status).toBe(1);
    expect(r.stderr).toContain("unknown setting 'worker_connection': Gunicorn ignores it");
  });

  it('fails on a worker class that does not resolve, with Gunicorn\'s message', (ctx) => {
    requireGunicorn(ctx);
    const r = checkGunicornConf(rewriteOnce(conf, 'worker_class = "gevent"', 'worker_class = "gevnt"'));
    expect(r.status).not.toBe(0);
    expect(r.output).toContain("class uri 'gevnt' invalid or not found");
  });

  it('fails on a bind Gunicorn cannot parse, with Gunicorn\'s message', (ctx) => {
    requireGunicorn(ctx);
    const r = checkGunicornConf(conf.replace(/^bind = .*$/m, 'bind = ["127.0.0.1:http"]'));
    expect(r.status).not.toBe(0);
    expect(r.output).toContain("'http' is not a valid port number.");
  });

  it('fails on a value Gunicorn\'s validator refuses', (ctx) => {
    requireGunicorn(ctx);
    const r = checkGunicornConf(conf.replace(/^workers = .*$/m, 'workers = "many"'));
    expect(r.status).not.toBe(0);
    expect(r.output).toContain('Invalid value for workers: many');
  });
});
