/**
 * The box: everything a droplet of an environment needs, started in order and torn down in reverse.
 *
 *   image      cached Debian 12 rootfs (debootstrap once; box/rootfs.ts)
 *   network    droplet and load namespaces, veth pairs (box/network.ts)
 *   services   PostgreSQL 15 primary + streaming replica, Redis (box/services.ts)
 *   user data  rendered by templates/droplet.ts with the box's URLs (box/userdata.ts)
 *   droplet    overlay + NoCloud seed + systemd-nspawn -b (box/droplet.ts)
 *   ready      cloud-init done, /healthz answers through Nginx
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, closeSync, openSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedEnvironment } from '../config/load.js';
import { Droplet } from './droplet.js';
import { httpGet } from './http.js';
import { run, waitFor } from './lib/proc.js';
import { log, progress, type Run } from './lib/stages.js';
import { applySysctl, createNetwork, NET, removeNetwork } from './network.js';
import { removeFleetNetwork } from './fleet/network.js';
import { ensureRootfs, missingFromImage, RUN_DIR, sizeMib } from './rootfs.js';
import { startServices, type Services } from './services.js';
import { inspectUserData, loadTarget, renderForBox } from './userdata.js';

export interface Box {
  readonly env: LoadedEnvironment;
  readonly droplet: Droplet;
  readonly services: Services;
  readonly runDir: string;
  readonly userData: string;
  /** Base URLs of Nginx on the droplet's load-side addresses. */
  readonly urls: readonly string[];
}

const LOCK = '/run/do-web-box.lock';

/** One box at a time on a machine: the names (namespaces, ports) are fixed. A stale lock is taken over. */
export function takeLock(): () => void {
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeFileSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(LOCK, { force: true });
    } catch {
      const holder = Number(readFileSync(LOCK, 'utf8'));
      if (holder && existsSync(`/proc/${holder}`) && holder !== process.pid) throw new Error(`another box runs (pid ${holder}); stop it first (lock ${LOCK})`);
      unlinkSync(LOCK);
    }
  }
  throw new Error(`could not take ${LOCK}`);
}

/** Stop what a killed earlier run left: its recorded processes, its overlay mounts, its namespaces. */
export async function cleanStale(runDir: string): Promise<void> {
  const pidsFile = join(runDir, 'pids.json');
  if (existsSync(pidsFile)) {
    const pids = JSON.parse(readFileSync(pidsFile, 'utf8')) as { pid: number; comm: string }[];
    for (const { pid, comm } of pids) {
      try {
        // Only a process that is still the one recorded (same command name) is ours to end.
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === comm) process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  }
  for (const pgDir of ['pg-primary', 'pg-replica']) {
    const pidFile = join(runDir, pgDir, 'postmaster.pid');
    if (!existsSync(pidFile)) continue;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    try {
      if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'postgres') process.kill(pid, 'SIGQUIT');
    } catch {
      /* gone */
    }
  }
  // The single droplet's overlay (runDir/merged) and the fleet's (runDir/droplets/<n>/merged).
  const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1] ?? '').filter((m) => m.startsWith(`${runDir}/`));
  for (const m of mounts.reverse()) await run('umount', ['-l', m], { allowFailure: true, timeoutMs: 10_000 });
  await removeNetwork();
  await removeFleetNetwork();
  rmSync(runDir, { recursive: true, force: true });
}

/** `box clean`: what a killed run left behind. */
export async function cleanLeftovers(): Promise<void> {
  const release = takeLock();
  await cleanStale(join(RUN_DIR, 'run'));
  release();
}

/** Record a long-lived process so a later run can end it if this one is killed before teardown. */
export function recordPid(runDir: string, pid: number | undefined): void {
  if (pid === undefined) return;
  const pidsFile = join(runDir, 'pids.json');
  const pids = existsSync(pidsFile) ? (JSON.parse(readFileSync(pidsFile, 'utf8')) as { pid: number; comm: string }[]) : [];
  try {
    pids.push({ pid, comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim() });
    writeFileSync(pidsFile, JSON.stringify(pids));
  } catch {
    /* already gone */
  }
}

export interface BootOptions {
  /** Bound on waiting for cloud-init. @default 10 minutes */
  readonly cloudInitTimeoutMs?: number;
}

/** Boot a droplet of `target` (an environment name, `box`, or a path) with everything it needs. */
export async function bootBox(r: Run, target: string, opts: BootOptions = {}): Promise<Box> {
  const env = await r.stage(`config ${target}`, async () => {
    const e = loadTarget(target);
    const t = e.plan.tuning;
    log(`  plan: ${t.concurrentRequests.toLocaleString('en-US')} requests/droplet, gunicorn ${t.gunicorn.workers} x ${t.gunicorn.workerConnections}, nginx ${t.nginx.workerProcesses} x ${t.nginx.workerConnections}`);
    return e;
  }, { timeoutMs: 30_000 });

  const release = takeLock();
  r.onTeardown('lock', async () => release());
  const runDir = join(RUN_DIR, 'run');
  await r.stage('clean leftovers of earlier runs', () => cleanStale(runDir), { timeoutMs: 60_000 });
  mkdirSync(runDir, { recursive: true });
  r.onTeardown('scratch directory', async () => rmSync(runDir, { recursive: true, force: true }), 120_000);

  const rootfs = await r.stage('image (Debian 12 rootfs)', async () => {
    const logFile = join(RUN_DIR, 'rootfs-build.log');
    mkdirSync(RUN_DIR, { recursive: true });
    const res = await ensureRootfs(logFile).catch((err: Error) => {
      throw new Error(`${err.message}\n(full build log: ${logFile})`);
    });
    log(`  ${res.built ? 'built' : 'cached'}: ${res.path} (${await sizeMib(res.path)} MiB)`);
    return res.path;
  }, { timeoutMs: 30 * 60_000 });

  await r.stage('network namespaces', async () => {
    r.onTeardown('network namespaces', removeNetwork);
    await createNetwork();
  }, { timeoutMs: 30_000 });

  const services = await startBoxServices(r, env, runDir, 1);

  const userData = await r.stage('user data (templates/droplet.ts)', async () => {
    const text = renderForBox(env, services.urls);
    const { packages, sysctl } = inspectUserData(text);
    const missing = missingFromImage(packages);
    if (missing.length > 0) throw new Error(`the cloud-config installs ${missing.join(', ')}, which the box image lacks: add them to box/rootfs.ts (the boot has no mirror)`);
    writeFileSync(join(runDir, 'user-data'), text, { mode: 0o600 });
    const { applied, skipped } = await applySysctl(sysctl);
    log(`  ${Buffer.byteLength(text)} bytes; ${applied.length} net.* sysctls applied to the droplet's namespace${skipped.length ? `; machine-wide, not applied: ${skipped.join(', ')}` : ''}`);
    return text;
  }, { timeoutMs: 30_000 });

  const droplet = new Droplet(join(runDir, 'droplet'), rootfs);
  await r.stage('droplet boot (systemd-nspawn)', async () => {
    mkdirSync(join(runDir, 'droplet'), { recursive: true });
    await droplet.mount();
    r.onTeardown('overlay mount', () => droplet.unmount());
    droplet.seed(userData, `box-${env.name}-${Date.now()}`, `${env.name}-box`);
    r.onTeardown('droplet', () => droplet.stop(), 60_000);
    await droplet.boot();
    recordPid(runDir, droplet.nspawnPid);
    recordPid(runDir, droplet.pid());
    const state = await droplet.waitSystemd(120_000);
    log(`  systemd ${state} (container PID 1 is host pid ${droplet.pid()})`);
  }, { timeoutMs: 3 * 60_000, logs: () => droplet.logs() });

  await r.stage('cloud-init', async () => {
    const show = progress('cloud-init');
    await droplet.waitCloudInit(opts.cloudInitTimeoutMs ?? 10 * 60_000, show);
    if (process.stdout.isTTY) process.stdout.write('\n');
  }, { timeoutMs: (opts.cloudInitTimeoutMs ?? 10 * 60_000) + 30_000, logs: () => droplet.logs() });

  const urls = NET.dropletLoadAddresses.map((a) => `http://${a}`);
  await r.stage('/healthz through Nginx', async () => {
    const res = await waitFor('/healthz to answer 200 through Nginx', async () => {
      const h = await httpGet(`${urls[0]}/healthz`, 5000);
      return h.status === 200 ? h : undefined;
    }, 60_000, 500);
    log(`  ${res.body.trim()}`);
  }, { timeoutMs: 90_000, logs: () => droplet.logs() });

  return { env, droplet, services, runDir, userData, urls };
}

/**
 * The box's PostgreSQL primary + replica and Redis, for `droplets` droplets of `env` at once: every Gunicorn
 * process may open its full primary and replica pools; 20 more are for administration and the box.
 */
export async function startBoxServices(r: Run, env: LoadedEnvironment, runDir: string, droplets: number): Promise<Services> {
  return r.stage('services (PostgreSQL primary + replica, Redis)', async () => {
    const db = env.plan.tuning.database;
    const perProcess = db.primaryPoolSize + db.primaryMaxOverflow + db.replicaPoolSize + db.replicaMaxOverflow;
    const maxConnections = droplets * env.plan.tuning.gunicorn.workers * perProcess + 20;
    const s = await startServices({
      dir: join(runDir, 'services'),
      databaseName: env.config.postgres.databaseName,
      userName: env.config.postgres.userName,
      password: randomBytes(12).toString('hex'),
      maxConnections,
    });
    r.onTeardown('services', () => s.stopAll(), 60_000);
    for (const pid of s.pids()) recordPid(runDir, pid);
    log(`  primary and replica streaming; max_connections ${maxConnections}; redis up`);
    return s;
  }, { timeoutMs: 4 * 60_000, logs: async () => tailFiles([join(runDir, 'services/pg-primary.log'), join(runDir, 'services/pg-replica.log'), join(runDir, 'services/redis.log')]) });
}

async function tailFiles(files: string[]): Promise<string> {
  return files.filter(existsSync).map((f) => `## ${f} (tail)\n${readFileSync(f, 'utf8').trimEnd().split('\n').slice(-30).join('\n')}`).join('\n\n');
}
