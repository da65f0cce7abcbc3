/**
 * Boot the fleet box: the shared stages of the single-droplet box (lock, leftovers, image, services), the
 * fleet's network, HAProxy as the load balancer, then the first droplets, created and gated like a first
 * `terraform apply`. Everything is registered for teardown (success, failure, Ctrl-C, global timeout).
 */
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { loadEnvironmentFile, type LoadedEnvironment } from '../../config/load.js';
import { cleanStale, recordPid, startBoxServices, takeLock } from '../box.js';
import { waitFor } from '../lib/proc.js';
import { log, type Run } from '../lib/stages.js';
import { ensureRootfs, missingFromImage, RUN_DIR } from '../rootfs.js';
import type { Services } from '../services.js';
import { inspectUserData, loadTarget, renderForBox } from '../userdata.js';
import { Fleet, possibleServers } from './fleet.js';
import { LoadBalancer } from './haproxy.js';
import { createFleetNetwork, FLEET_NET, removeFleetNetwork } from './network.js';

/** The fleet box's own environment (`fleet`). */
export const FLEET_CONFIG = join(import.meta.dirname, '../fleet.yaml');

export interface FleetBootOptions {
  /** Droplets of the first apply. @default the environment's fleet.count */
  readonly count?: number;
  readonly bootDelaySeconds: number;
  /** Gate interval; @default the plan's rollout.gateIntervalSeconds */
  readonly gateIntervalSeconds?: number;
}

export interface FleetBox {
  readonly env: LoadedEnvironment;
  readonly fleet: Fleet;
  readonly services: Services;
  readonly runDir: string;
  /** The environment's user data, with a change to the config applied first (a release, a setting); rendered once per change. */
  readonly render: (change?: (env: LoadedEnvironment) => LoadedEnvironment) => string;
  /** Base URLs of the LB's frontend (from the load namespace). */
  readonly urls: readonly string[];
}

export async function bootFleet(r: Run, target: string, o: FleetBootOptions): Promise<FleetBox> {
  const env = await r.stage(`config ${target}`, async () => {
    const e = target === 'fleet' ? loadEnvironmentFile(FLEET_CONFIG, 'fleet') : loadTarget(target);
    const t = e.plan.tuning;
    log(`  plan: ${t.concurrentRequests.toLocaleString('en-US')} requests/droplet, gunicorn ${t.gunicorn.workers} x ${t.gunicorn.workerConnections}, nginx ${t.nginx.workerProcesses} x ${t.nginx.workerConnections}; drain ${t.drain.lbDetectSeconds} s LB + ${t.drain.requestSeconds} s requests; rollout batch ${e.plan.rollout.batchSize}, delete timeout ${e.plan.rollout.deleteTimeoutSeconds} s`);
    return e;
  }, { timeoutMs: 30_000 });

  // One box at a time (fixed names): wait for another run to finish rather than fail.
  const release = await r.stage('lock (one box at a time)', () => waitFor('the box lock', async () => {
    try {
      return takeLock();
    } catch (err) {
      if (!/another box runs/.test((err as Error).message)) throw err;
      return undefined;
    }
  }, 20 * 60_000, 5000), { timeoutMs: 21 * 60_000 });
  r.onTeardown('lock', async () => release());
  const runDir = join(RUN_DIR, 'run');
  await r.stage('clean leftovers of earlier runs', () => cleanStale(runDir), { timeoutMs: 60_000 });
  mkdirSync(runDir, { recursive: true });
  r.onTeardown('scratch directory', async () => rmSync(runDir, { recursive: true, force: true }), 120_000);

  const rootfs = await r.stage('image (Debian 12 rootfs)', async () => {
    mkdirSync(RUN_DIR, { recursive: true });
    return (await ensureRootfs(join(RUN_DIR, 'rootfs-build.log'))).path;
  }, { timeoutMs: 30 * 60_000 });

  await r.stage('fleet network (VPC bridge, LB and load namespaces)', async () => {
    r.onTeardown('fleet network', removeFleetNetwork);
    await createFleetNetwork();
  }, { timeoutMs: 30_000 });

  // Every process of the largest fleet, plus one batch being replaced, may open its full pools.
  const services = await startBoxServices(r, env, runDir, env.plan.fleet.maxDroplets + env.plan.rollout.batchSize);

  // Rendered once per variant: every droplet of a variant gets the very same bytes, and templates edited on
  // disk during a run cannot change a variant half-way.
  const rendered = new Map<((e: LoadedEnvironment) => LoadedEnvironment) | undefined, string>();
  const render = (change?: (e: LoadedEnvironment) => LoadedEnvironment) => {
    const cached = rendered.get(change);
    if (cached !== undefined) return cached;
    const e = change ? change(env) : env;
    const text = renderForBox(e, services.urls);
    const missing = missingFromImage(inspectUserData(text).packages);
    if (missing.length > 0) throw new Error(`the cloud-config installs ${missing.join(', ')}, which the box image lacks: add them to box/rootfs.ts (the boot has no mirror)`);
    rendered.set(change, text);
    return text;
  };

  const hc = env.config.loadBalancer.healthCheck;
  let fleetRef: Fleet | undefined;
  const lb = new LoadBalancer(join(runDir, 'haproxy.cfg'), {
    healthCheck: hc,
    httpIdleTimeoutSeconds: env.config.loadBalancer.httpIdleTimeoutSeconds,
    frontendAddresses: FLEET_NET.lbFrontendAddresses,
    socketPath: join(runDir, 'haproxy.sock'),
    maxConnections: 8000,
    servers: possibleServers(),
  }, (line) => fleetRef?.onLbLine(line));
  await r.stage('load balancer (HAProxy)', async () => {
    r.onTeardown('load balancer', () => lb.stop(), 20_000);
    await lb.start();
    recordPid(runDir, lb.pid);
    log(`  round robin on ${FLEET_NET.lbFrontendAddresses.join(', ')}:80; check GET ${hc.path} every ${hc.checkIntervalSeconds} s, timeout ${hc.responseTimeoutSeconds} s, rise ${hc.healthyThreshold}, fall ${hc.unhealthyThreshold}`);
  }, { timeoutMs: 30_000 });

  const urls = FLEET_NET.lbFrontendAddresses.map((a) => `http://${a}`);
  const fleet = new Fleet(env, runDir, rootfs, lb, {
    bootDelaySeconds: o.bootDelaySeconds,
    lbUrl: urls[0]!,
    gatePasses: env.plan.rollout.gatePasses,
    gateIntervalSeconds: o.gateIntervalSeconds ?? env.plan.rollout.gateIntervalSeconds,
    gateTimeoutSeconds: env.plan.rollout.gateTimeoutSeconds,
    deleteTimeoutSeconds: env.plan.rollout.deleteTimeoutSeconds,
  });
  fleetRef = fleet;
  r.onTeardown('droplets', () => fleet.teardown(), 60_000);

  const count = o.count ?? (env.plan.fleet.kind === 'droplets' ? env.plan.fleet.count : 3);
  const userData = render();
  await r.stage(`first apply: ${count} droplets, gated`, async () => {
    const ds = [];
    for (let i = 0; i < count; i++) ds.push(await fleet.create(userData, 'v1'));
    const passed = await Promise.all(ds.map((d) => fleet.gate(d)));
    if (passed.some((p) => !p)) throw new Error(`droplets ${ds.filter((_, i) => !passed[i]).map((d) => d.id).join(', ')} did not pass the gate`);
  }, { timeoutMs: 10 * 60_000, logs: async () => (await Promise.all(fleet.all().map(async (d) => `### droplet ${d.id}\n${await d.droplet.logs()}`))).join('\n\n') });

  return { env, fleet, services, runDir, render, urls };
}
