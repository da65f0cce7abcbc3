/**
 * The readiness contract for real (README "Readiness contract"): the rendered Nginx site in front of a
 * stand-in app on a unix socket, and the rendered droplet-id, droplet-ready and droplet-drain scripts.
 *
 * Rewrites, each matching exactly once (or per file): Nginx's paths into a temp prefix as in nginx.test.ts,
 * port 80 and the local status port to free loopback ports, the Gunicorn socket and /run/droplet into the
 * temp dir. The scripts' path variables point into the temp dir; `cloud-init` and `systemctl` are stand-ins
 * on PATH that answer as on a droplet and log how they were called. Nginx's workers run as www-data, so the
 * temp dirs and the socket are opened up to them.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { rendered } from '../templates/fixtures.js';
import { fakeCommand, removeTempDirs, requireTools, rewriteOnce, runAsync, setShellVariable, tempDir } from './tools.js';

const SAMPLE_ID = '412345678';
/** The in-flight limit the shedding test puts in place of the plan's. */
const SHED_ABOVE = 3;
const { byName } = rendered('dev');

/** `runAsync` with extra environment variables on top of this process's. */
function runWith(command: string, args: string[], env: Record<string, string> = {}, timeoutMs = 20_000) {
  return runAsync(command, args, { env: { ...process.env, ...env }, timeoutMs });
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** A directory www-data may enter (mkdtemp makes 0700). */
function openDir(prefix: string): string {
  const dir = tempDir(prefix);
  chmodSync(dir, 0o755);
  return dir;
}

/** A stand-in app on a unix socket: answers GET <path> with the status set here, counts requests. */
class StandInApp {
  status = 200;
  requests: string[] = [];
  /** While set, /slow requests wait until it resolves (requests in flight for the shedding test). */
  hold: Promise<void> | undefined;
  private server: http.Server | undefined;
  constructor(readonly socket: string) {}

  async start(): Promise<void> {
    rmSync(this.socket, { force: true });
    this.server = http.createServer((req, res) => {
      this.requests.push(req.url ?? '');
      const answer = () => res.writeHead(this.status, { 'Content-Type': 'text/plain' }).end(`app says ${this.status}\n`);
      if (req.url === '/slow' && this.hold) void this.hold.then(answer);
      else answer();
    });
    await new Promise<void>((resolve) => this.server!.listen(this.socket, resolve));
    chmodSync(this.socket, 0o777);
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server!.close(resolve));
    this.server = undefined;
  }
}

function get(port: number, urlPath: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    }).on('error', reject);
  });
}

/** The rendered droplet-id script, run with a stand-in cloud-init that reports `id`. */
function dropletIdScript(dir: string, id: string) {
  const runDir = path.join(dir, 'run-droplet');
  let script = setShellVariable(byName['droplet-id']!, 'SNIPPET', path.join(runDir, 'nginx-droplet-id.conf'));
  script = setShellVariable(script, 'RUN_DIR', runDir);
  writeFileSync(path.join(dir, 'droplet-id'), script, { mode: 0o755 });
  const bin = fakeCommand(path.join(dir, 'bin'), 'cloud-init', `[ "$1 $2" = "query v1.instance_id" ] || { echo "unexpected: $*" >&2; exit 9; }\necho '${id}'`);
  return { runDir, snippet: path.join(runDir, 'nginx-droplet-id.conf'), run: () => runWith('sh', [path.join(dir, 'droplet-id')], { PATH: `${bin}:${process.env.PATH}` }) };
}

describe('droplet-id', () => {
  it('writes cloud-init\'s instance id into the X-Droplet-Id snippet', async (ctx) => {
    requireTools(ctx, 'sh');
    const s = dropletIdScript(openDir('droplet-id'), SAMPLE_ID);
    const r = await s.run();
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(readFileSync(s.snippet, 'utf8')).toContain(`add_header X-Droplet-Id "${SAMPLE_ID}" always;`);
    expect(statSync(s.runDir).mode & 0o777).toBe(0o755);
  });

  it('fails, writing nothing, when the id could break Nginx\'s configuration', async (ctx) => {
    requireTools(ctx, 'sh');
    const s = dropletIdScript(openDir('droplet-id-bad'), '1"; return 200 "x');
    const r = await s.run();
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('is empty or not [A-Za-z0-9._-]; Nginx would not start with it');
    expect(existsSync(s.snippet)).toBe(false);
  });
});

describe('the health location under a running Nginx', () => {
  let dir = '';
  let runDir = '';
  let port = 0;
  let app: StandInApp;
  let nginx: ChildProcess | undefined;
  let nginxLog = '';

  beforeAll(async () => {
    if (!existsSync('/usr/sbin/nginx') || process.getuid?.() !== 0) return;
    dir = openDir('nginx-health');
    const id = dropletIdScript(dir, SAMPLE_ID);
    if ((await id.run()).status !== 0) throw new Error('droplet-id failed');
    runDir = id.runDir;
    for (const d of ['conf.d', 'logs']) mkdirSync(path.join(dir, d));
    port = await freePort();
    const statusPort = await freePort();
    app = new StandInApp(path.join(dir, 'app.sock'));
    await app.start();
    let conf = rewriteOnce(byName['nginx.conf']!, 'include /etc/nginx/conf.d/*.conf;', `include ${dir}/conf.d/*.conf;`);
    conf = rewriteOnce(conf, 'pid /run/nginx.pid;', `pid ${dir}/nginx.pid;`).replaceAll('/var/log/nginx/', `${dir}/logs/`);
    let site = byName['app.conf']!.replaceAll('/run/droplet/', `${runDir}/`).replaceAll('unix:/run/gunicorn-app.sock', `unix:${app.socket}`);
    site = rewriteOnce(site, '    listen 80 default_server', `    listen 127.0.0.1:${port} default_server`);
    site = rewriteOnce(site, '    listen 127.0.0.1:8080;', `    listen 127.0.0.1:${statusPort};`);
    // The plan's in-flight limit is hundreds; a handful shows the shedding.
    site = site.replace(/limit_conn inflight \d+;/, `limit_conn inflight ${SHED_ABOVE};`);
    writeFileSync(path.join(dir, 'nginx.conf'), conf);
    writeFileSync(path.join(dir, 'conf.d', 'app.conf'), site);
    nginx = spawn('nginx', ['-e', 'stderr', '-p', dir, '-c', path.join(dir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
    nginx.stderr?.on('data', (d: Buffer) => (nginxLog += d.toString()));
    const deadline = Date.now() + 10_000;
    for (;;) {
      const up = await get(port, '/healthz').then(() => true, () => false);
      if (up) break;
      if (Date.now() > deadline || nginx.exitCode !== null) throw new Error(`nginx did not start: ${nginxLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }, 20_000);

  afterAll(async () => {
    nginx?.kill('SIGQUIT');
    await app?.stop();
    removeTempDirs();
  });

  function setup(ctx: TestContext) {
    requireTools(ctx, 'nginx');
    if (process.getuid?.() !== 0) {
      if (process.env.CI === 'true') throw new Error('the Nginx health test needs root (Nginx workers run as www-data, as on the droplet)');
      ctx.skip('needs root (Nginx workers run as www-data, as on the droplet)');
    }
    if (!nginx) throw new Error(`nginx did not start (see beforeAll): ${nginxLog}`);
    rmSync(path.join(runDir, 'ready'), { force: true });
    rmSync(path.join(runDir, 'draining'), { force: true });
    app.requests = [];
    app.status = 200;
  }
  const flag = (name: 'ready' | 'draining') => writeFileSync(path.join(runDir, name), '');

  it('answers 503 "not ready" itself before the ready file exists, naming the droplet, without asking the app', async (ctx) => {
    setup(ctx);
    const r = await get(port, '/healthz');
    expect([r.status, r.body, r.headers['x-droplet-id']]).toEqual([503, 'not ready\n', SAMPLE_ID]);
    expect(app.requests).toEqual([]);
  });

  it('answers 200 itself once ready, naming the droplet, without asking the app (outside Gunicorn\'s queue)', async (ctx) => {
    setup(ctx);
    flag('ready');
    const r = await get(port, '/healthz');
    expect([r.status, r.body, r.headers['x-droplet-id']]).toEqual([200, 'ready\n', SAMPLE_ID]);
    expect(app.requests).toEqual([]);
  });

  it('sheds requests above the in-flight limit at once with 503 and Retry-After, while the health check stays 200', async (ctx) => {
    setup(ctx);
    flag('ready');
    let release = () => undefined as void;
    app.hold = new Promise<void>((resolve) => (release = resolve));
    try {
      const held = Array.from({ length: SHED_ABOVE }, () => get(port, '/slow'));
      // Until the app has all of them, Nginx has not counted them all.
      const deadline = Date.now() + 5000;
      while (app.requests.filter((u) => u === '/slow').length < SHED_ABOVE && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const started = Date.now();
      const shed = await get(port, '/slow');
      const shedMs = Date.now() - started;
      expect([shed.status, shed.body, shed.headers['retry-after']]).toEqual([503, 'overloaded, retry shortly\n', String(byName['app.conf']!.match(/Retry-After (\d+) always/)![1])]);
      expect(shedMs).toBeLessThan(500);
      const health = await get(port, '/healthz');
      expect([health.status, health.body]).toEqual([200, 'ready\n']);
      release();
      expect((await Promise.all(held)).map((r) => r.status)).toEqual(Array(SHED_ABOVE).fill(200));
      // The app saw the held requests only: the shed one never reached it.
      expect(app.requests.filter((u) => u === '/slow')).toHaveLength(SHED_ABOVE);
    } finally {
      release();
      app.hold = undefined;
    }
  });

  it('answers 503 "draining" while the draining file exists, even when ready, while other requests still reach the app', async (ctx) => {
    setup(ctx);
    flag('ready');
    flag('draining');
    const r = await get(port, '/healthz');
    expect([r.status, r.body, r.headers['x-droplet-id']]).toEqual([503, 'draining\n', SAMPLE_ID]);
    // A draining droplet still serves what the load balancer sends until it stops sending.
    const page = await get(port, '/items/1');
    expect(page.status).toBe(200);
    expect(app.requests).toEqual(['/items/1']);
  });

  it('answers from the ready file alone: a failing or stopped app reaches the LB through systemd removing it', async (ctx) => {
    setup(ctx);
    flag('ready');
    app.status = 500;
    await app.stop();
    try {
      const r = await get(port, '/healthz');
      expect([r.status, r.headers['x-droplet-id']]).toEqual([200, SAMPLE_ID]);
      rmSync(path.join(runDir, 'ready'));
      const gone = await get(port, '/healthz');
      expect([gone.status, gone.body, gone.headers['x-droplet-id']]).toEqual([503, 'not ready\n', SAMPLE_ID]);
    } finally {
      await app.start();
    }
  });

  it('names the droplet on health responses only', async (ctx) => {
    setup(ctx);
    flag('ready');
    const page = await get(port, '/');
    expect(page.headers['x-droplet-id']).toBeUndefined();
  });
});

/** The rendered droplet-drain script with its paths in `dir`, a 1 s LB detection and a logging systemctl. */
function drainScript(dir: string) {
  const runDir = path.join(dir, 'run-droplet');
  let script = setShellVariable(byName['droplet-drain']!, 'RUN_DIR', runDir);
  script = setShellVariable(script, 'DRAINING', path.join(runDir, 'draining'));
  script = setShellVariable(script, 'LB_DETECT_SECONDS', '1');
  writeFileSync(path.join(dir, 'droplet-drain'), script, { mode: 0o755 });
  const calls = path.join(dir, 'systemctl.log');
  const bin = fakeCommand(path.join(dir, 'bin'), 'systemctl', `echo "$*" >>'${calls}'`);
  return {
    draining: path.join(runDir, 'draining'),
    calls: () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []),
    run: (...args: string[]) => runWith('sh', [path.join(dir, 'droplet-drain'), ...args], { PATH: `${bin}:${process.env.PATH}` }),
  };
}

describe('droplet-drain', () => {
  it('at shutdown: fails the checks, then waits the LB detection time, and leaves the stopping to systemd', async (ctx) => {
    requireTools(ctx, 'sh');
    const d = drainScript(tempDir('drain-shutdown'));
    const r = await d.run('--shutdown');
    expect(r.status).toBe(0);
    expect(existsSync(d.draining)).toBe(true);
    expect(r.ms).toBeGreaterThanOrEqual(1000);
    expect(r.stdout).toContain('droplet-drain: draining: health checks answer 503 from now; waiting 1 s');
    expect(d.calls()).toEqual([]);
  });

  it('does not wait again when the droplet has drained long enough already (an operator drained, then powered off)', async (ctx) => {
    requireTools(ctx, 'sh');
    const d = drainScript(tempDir('drain-again'));
    mkdirSync(path.dirname(d.draining), { recursive: true });
    writeFileSync(d.draining, '');
    const past = new Date(Date.now() - 60_000);
    utimesSync(d.draining, past, past);
    const r = await d.run('--shutdown');
    expect(r.status).toBe(0);
    expect(r.ms).toBeLessThan(1000);
    expect(r.stdout).not.toContain('waiting');
  });

  it('by hand: drains, then stops the app (socket too), then Nginx last; --resume undoes it', async (ctx) => {
    requireTools(ctx, 'sh');
    const d = drainScript(tempDir('drain-manual'));
    const r = await d.run();
    expect(r.status).toBe(0);
    expect(r.ms).toBeGreaterThanOrEqual(1000);
    expect(d.calls()).toEqual(['stop app.socket app.service', 'stop nginx.service']);
    const back = await d.run('--resume');
    expect(back.status).toBe(0);
    expect(existsSync(d.draining)).toBe(false);
    expect(d.calls().slice(2)).toEqual(['start nginx.service app.socket app.service', 'restart droplet-ready.service']);
  });

  it('refuses an unknown option', async (ctx) => {
    requireTools(ctx, 'sh');
    const r = await drainScript(tempDir('drain-usage')).run('--now');
    expect([r.status, r.stderr.trim()]).toEqual([2, 'usage: droplet-drain [--resume | --shutdown]']);
  });
});

describe('droplet-ready', () => {
  /** The rendered script against a stand-in app; `active` is what the stand-in systemctl says of app.service. */
  async function readyScript(dir: string, activeFile: string) {
    const runDir = path.join(dir, 'run-droplet');
    const app = new StandInApp(path.join(dir, 'app.sock'));
    await app.start();
    let script = setShellVariable(byName['droplet-ready']!, 'RUN_DIR', runDir);
    script = setShellVariable(script, 'READY', path.join(runDir, 'ready'));
    script = setShellVariable(script, 'SOCKET', app.socket);
    writeFileSync(path.join(dir, 'droplet-ready'), script, { mode: 0o755 });
    // systemctl is-active [--quiet] <unit>: app.service is active once `activeFile` exists; nginx always.
    const bin = fakeCommand(path.join(dir, 'bin'), 'systemctl', [
      'unit=$(eval echo \\${$#})',
      `if [ "$unit" = app.service ] && [ ! -e '${activeFile}' ]; then echo activating; exit 3; fi`,
      'echo active',
    ].join('\n'));
    return { app, ready: path.join(runDir, 'ready'), run: () => runWith('sh', [path.join(dir, 'droplet-ready')], { PATH: `${bin}:${process.env.PATH}` }, 30_000) };
  }

  it('waits for the app, never touching its socket before it runs, then for a 2xx deep check, then creates the ready file', async (ctx) => {
    requireTools(ctx, 'sh', 'curl');
    const dir = tempDir('ready');
    const active = path.join(dir, 'app-active');
    const s = await readyScript(dir, active);
    try {
      s.app.status = 503;
      const running = s.run();
      await new Promise((r) => setTimeout(r, 2500));
      // app.service not active: the socket must stay untouched (it would start the app by socket activation).
      expect(s.app.requests).toEqual([]);
      writeFileSync(active, '');
      await new Promise((r) => setTimeout(r, 2500));
      expect(s.app.requests.length).toBeGreaterThan(0);
      expect(existsSync(s.ready)).toBe(false);
      s.app.status = 200;
      const r = await running;
      expect(r.status).toBe(0);
      expect(existsSync(s.ready)).toBe(true);
      expect(new Set(s.app.requests)).toEqual(new Set(['/readyz']));
      expect(r.stdout).toContain('droplet-ready: not ready yet: app.service is activating');
      expect(r.stdout).toMatch(/droplet-ready: not ready yet: GET \/readyz through .*: curl: \(22\) The requested URL returned error: 503/);
      expect(r.stdout).toContain('droplet-ready: ready: GET /readyz answered 2xx');
    } finally {
      await s.app.stop();
    }
  }, 30_000);
});
