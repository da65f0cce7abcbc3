/**
 * The fleet box: several droplets booted from the same rendered user data, each in its own container,
 * overlay, network namespace and address, with its own NoCloud instance-id (its droplet id), behind HAProxy
 * playing DigitalOcean's load balancer (box/fleet/haproxy.ts). Changes run the way Terraform runs them with
 * create_before_destroy and the rollout gate (tools/rollout-gate.mjs): create the new droplets of a batch,
 * gate each through the LB, and only then destroy the old ones, gracefully (a poweroff inside the container,
 * so the droplet's own drain runs). Every step is an event with a timestamp.
 *
 * A real droplet's cloud-init takes minutes (packages, app); the box's takes seconds because the image has
 * the packages. A drop-in makes cloud-init's final stage (where packages install and runcmd starts the app)
 * wait `bootDelaySeconds`, so a new droplet has the unhealthy window a real one has.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LoadedEnvironment } from '../../config/load.js';
import { recordPid } from '../box.js';
import { Droplet } from '../droplet.js';
import { killGroup, waitExit, waitFor } from '../lib/proc.js';
import { log } from '../lib/stages.js';
import { applySysctl } from '../network.js';
import { inspectUserData } from '../userdata.js';
import type { LoadBalancer } from './haproxy.js';
import { addDropletNetwork, dropletNet, FLEET_NET, removeDropletNetwork } from './network.js';

/** Droplet ids look like DigitalOcean's (large integers); the n-th droplet of a run is BASE + n. */
const DROPLET_ID_BASE = 460_000_000;

/** Every droplet a run may create, as the LB's config declares them (name `d<id>`, VPC address). */
export function possibleServers(): { name: string; address: string }[] {
  return Array.from({ length: FLEET_NET.maxDroplets }, (_, k) => ({ name: `d${DROPLET_ID_BASE + k + 1}`, address: dropletNet(k + 1).address }));
}
export const GATE_SCRIPT = join(import.meta.dirname, '../../tools/rollout-gate.mjs');

export interface FleetDroplet {
  readonly id: string;
  readonly slot: number;
  readonly address: string;
  readonly ns: string;
  /** Which user data it runs (a label of the run's: `v1`, `release v2`, ...). */
  readonly label: string;
  readonly droplet: Droplet;
  readonly dir: string;
  /** Seconds since the run began at which the container was running. */
  readonly createdAt: number;
  leaving: boolean;
}

export interface FleetEvent {
  /** Wall-clock time (ISO 8601). */
  readonly at: string;
  /** Seconds since the fleet started. */
  readonly t: number;
  readonly what: string;
}

export interface FleetOptions {
  /** Seconds cloud-init's final stage waits before it runs (the boot delay of a real droplet). */
  readonly bootDelaySeconds: number;
  /** The LB's base URL as the gate sees it (HAProxy's frontend). */
  readonly lbUrl: string;
  readonly gatePasses: number;
  readonly gateIntervalSeconds: number;
  readonly gateTimeoutSeconds: number;
  /** Terraform's delete timeout of a droplet (the plan's): the graceful stop must end within it. */
  readonly deleteTimeoutSeconds: number;
}

export interface ReplaceResult {
  readonly ok: boolean;
  /** The droplet whose gate failed (the apply stops there; the old droplets keep serving). */
  readonly failedGate?: string;
  readonly created: FleetDroplet[];
}

export class Fleet {
  readonly events: FleetEvent[] = [];
  private readonly live = new Map<string, FleetDroplet>();
  private nextSlot = 1;
  private readonly t0 = Date.now();
  private readonly stops: Promise<unknown>[] = [];
  private readonly gates = new Set<ChildProcess>();

  constructor(
    readonly env: LoadedEnvironment,
    private readonly runDir: string,
    private readonly rootfs: string,
    readonly lb: LoadBalancer,
    readonly opts: FleetOptions,
  ) {}

  now(): number {
    return (Date.now() - this.t0) / 1000;
  }

  event(what: string): void {
    const e = { at: new Date().toISOString(), t: Number(this.now().toFixed(1)), what };
    this.events.push(e);
    log(`  [fleet +${e.t.toFixed(1)} s] ${what}`);
  }

  /** The LB's log of failed requests (HAProxy httplog): time, droplet (server), status, termination state. */
  readonly lbFailures: { at: number; server: string; status: string; termination: string; request: string }[] = [];

  /** LB lines worth keeping: a server going UP or DOWN (with HAProxy's reason), and failed requests. */
  onLbLine(line: string): void {
    // httplog: "... public droplets/d460000007 0/0/0/1/1 503 212 - - ---- 12/12/3/1/0 0/0 \"GET /io HTTP/1.1\""
    const req = /\spublic\s+(\S+)\/(\S+)\s+\S+\s+(\d{3})\s+\d+\s+\S+\s+\S+\s+(\S{4})\s.*"([^"]*)"/.exec(line);
    if (req) {
      if (this.lbFailures.length < 20_000) this.lbFailures.push({ at: Date.now(), server: req[2]!, status: req[3]!, termination: req[4]!, request: req[5]!.split(' ').slice(0, 2).join(' ') });
      return;
    }
    // A new server leaving maintenance: HAProxy says UP, but it has weight 0 until set DOWN (haproxy.ts).
    if (/leaving .*maintenance|enters maintenance/i.test(line)) return;
    // State changes come twice (stderr warning and the stdout log): the warning is kept.
    const m = /\[(?:WARNING|ALERT|NOTICE)\].*Server \S+\/d(\d+) is (UP|DOWN|going DOWN|stopped)[^,]*(?:, reason: ([^,]+))?/.exec(line);
    if (m) this.event(`LB: droplet ${m[1]} is ${m[2]}${m[3] ? ` (${m[3].trim()})` : ''}`);
    else if (/\[(ALERT|WARNING)\]/.test(line) && !/Proxy .* started|Loading success|is DOWN|is UP/.test(line)) log(`  haproxy: ${line}`);
  }

  /** Droplets in the fleet (created, not being destroyed), oldest first. */
  serving(): FleetDroplet[] {
    return [...this.live.values()].filter((d) => !d.leaving).sort((a, b) => a.slot - b.slot);
  }

  all(): FleetDroplet[] {
    return [...this.live.values()];
  }

  /**
   * Create a droplet from `userData`: its namespace and address, a fresh overlay seeded for NoCloud with its
   * id, the container started. Returns when the container runs (where Terraform's create of a droplet ends:
   * status active); it joins the LB as a tagged droplet does, DOWN until its checks pass.
   */
  async create(userData: string, label: string): Promise<FleetDroplet> {
    const slot = this.nextSlot++;
    const id = String(DROPLET_ID_BASE + slot);
    const { ns, address } = await addDropletNetwork(slot);
    const { sysctl } = inspectUserData(userData);
    await applySysctl(sysctl, ns);
    const dir = join(this.runDir, 'droplets', String(slot));
    mkdirSync(dir, { recursive: true });
    const droplet = new Droplet(dir, this.rootfs, { machine: `dobox-${slot}`, netns: ns });
    await droplet.mount();
    droplet.seed(userData, id, `${this.env.name}-${slot}`);
    if (this.opts.bootDelaySeconds > 0) {
      // cloud-final runs packages and runcmd (which starts the app and Nginx): the slow part of a real boot.
      const dropIn = join(droplet.merged, 'etc/systemd/system/cloud-final.service.d');
      mkdirSync(dropIn, { recursive: true });
      writeFileSync(join(dropIn, '90-box-boot-delay.conf'), `# Written by box/fleet/fleet.ts: a real droplet's cloud-init takes minutes; the box's would take seconds.\n[Service]\nExecStartPre=/bin/sleep ${this.opts.bootDelaySeconds}\n`);
    }
    const d: FleetDroplet = { id, slot, address, ns, label, droplet, dir, createdAt: 0, leaving: false };
    this.live.set(id, d);
    await droplet.boot();
    recordPid(this.runDir, droplet.nspawnPid);
    recordPid(this.runDir, droplet.pid());
    (d as { createdAt: number }).createdAt = Number(this.now().toFixed(1));
    this.event(`droplet ${id} created (${label}) at ${address}: container running`);
    await this.lb.addServer(`d${id}`);
    this.event(`droplet ${id} joined the LB: DOWN until ${this.env.config.loadBalancer.healthCheck.healthyThreshold} checks pass`);
    return d;
  }

  /** The rollout gate, exactly as Terraform's provisioner runs it, from the load namespace against the LB. */
  async gate(d: FleetDroplet, timeoutSeconds = this.opts.gateTimeoutSeconds): Promise<boolean> {
    this.event(`gate: waiting for droplet ${d.id} through the LB (${this.opts.gatePasses} passes, every ${this.opts.gateIntervalSeconds} s, at most ${timeoutSeconds} s)`);
    const args = ['netns', 'exec', FLEET_NET.loadNs, process.execPath, GATE_SCRIPT, '--url', this.opts.lbUrl, '--path', this.env.config.loadBalancer.healthCheck.path,
      '--droplet-id', d.id, '--passes', String(this.opts.gatePasses), '--interval-seconds', String(this.opts.gateIntervalSeconds), '--timeout-seconds', String(timeoutSeconds)];
    const child = spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.gates.add(child);
    child.on('exit', () => this.gates.delete(child));
    let last = '';
    const onData = (b: Buffer) => {
      for (const line of b.toString().split('\n').map((l) => l.trim()).filter(Boolean)) {
        last = line;
        if (/passed|did not pass|error|usage/.test(line)) this.event(`gate ${d.id}: ${line.replace(/^rollout-gate: /, '')}`);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    if (!(await waitExit(child, (timeoutSeconds + 30) * 1000))) {
      killGroup(child, 'SIGKILL');
      this.event(`gate ${d.id}: did not exit within ${timeoutSeconds + 30} s; killed`);
      return false;
    }
    const ok = child.exitCode === 0;
    if (!ok && !/did not pass/.test(last)) this.event(`gate ${d.id}: exit ${child.exitCode}: ${last}`);
    return ok;
  }

  /**
   * Destroy gracefully: `systemctl poweroff` inside (the droplet drains), bounded by the delete timeout;
   * then the droplet leaves the LB and its disk and address go. Resolves when it is gone.
   */
  async destroy(d: FleetDroplet, why: string): Promise<{ graceful: boolean; seconds: number }> {
    d.leaving = true;
    const t = Date.now();
    this.event(`droplet ${d.id} (${d.label}): shutdown begins (${why})`);
    const graceful = await d.droplet.poweroff(this.opts.deleteTimeoutSeconds * 1000);
    const seconds = (Date.now() - t) / 1000;
    this.event(graceful
      ? `droplet ${d.id}: off after ${seconds.toFixed(1)} s (drained and stopped within the ${this.opts.deleteTimeoutSeconds} s delete timeout)`
      : `droplet ${d.id}: NOT off within the ${this.opts.deleteTimeoutSeconds} s delete timeout: killed (Terraform would fail this destroy)`);
    await this.forget(d);
    return { graceful, seconds };
  }

  /** Destroy in the background (Terraform destroys a deposed droplet while it goes on with the next batch). */
  destroyLater(d: FleetDroplet, why: string): void {
    this.stops.push(this.destroy(d, why).catch((err: Error) => this.event(`droplet ${d.id}: destroy failed: ${err.message}`)));
  }

  /** Wait for every background destroy. */
  async settle(): Promise<void> {
    await Promise.all(this.stops.splice(0));
  }

  /** A crash: SIGKILL of the container's init; nothing inside runs. The LB notices through its checks only. */
  async kill(d: FleetDroplet): Promise<void> {
    d.leaving = true;
    await d.droplet.kill();
    this.event(`droplet ${d.id}: killed (SIGKILL of the container)`);
  }

  /** Remove a stopped droplet from the LB, unmount its disk, delete its namespace. */
  async forget(d: FleetDroplet): Promise<void> {
    if (d.droplet.running) await d.droplet.stop(5000);
    await this.lb.removeServer(`d${d.id}`).catch(() => undefined);
    await d.droplet.unmount();
    await removeDropletNetwork(d.slot);
    rmSync(d.dir, { recursive: true, force: true });
    this.live.delete(d.id);
  }

  /**
   * Replace `old` with droplets of `userData`, `batchSize` at a time. Gated (Terraform with the gate): each
   * new droplet must pass the gate before the old droplet it replaces is destroyed, and the next batch starts
   * only after this one passed. Ungated (the negative control: create_before_destroy alone): an old droplet
   * is destroyed as soon as its replacement's container runs.
   */
  async replace(old: FleetDroplet[], userData: string, label: string, o: { gated: boolean; batchSize: number }): Promise<ReplaceResult> {
    const created: FleetDroplet[] = [];
    for (let i = 0; i < old.length; i += o.batchSize) {
      const batch = old.slice(i, i + o.batchSize);
      const news = await Promise.all(batch.map(() => this.create(userData, label)));
      created.push(...news);
      if (o.gated) {
        const passed = await Promise.all(news.map((n) => this.gate(n)));
        const failed = news.find((_, k) => !passed[k]);
        if (failed) {
          this.event(`apply fails: droplet ${failed.id} did not pass its gate; it stays tainted, the old droplets ${old.slice(i).map((x) => x.id).join(', ')} keep serving`);
          return { ok: false, failedGate: failed.id, created };
        }
      }
      batch.forEach((b, k) => this.destroyLater(b, o.gated ? `its replacement ${news[k]!.id} passed the gate` : `its replacement ${news[k]!.id} is running (no gate)`));
    }
    await this.settle();
    return { ok: true, created };
  }

  /** Wait until the LB reports each droplet UP (the ungated run's end: the fleet serves again). */
  async waitUp(ds: FleetDroplet[], timeoutMs: number): Promise<void> {
    await waitFor(`droplets ${ds.map((d) => d.id).join(', ')} UP in the LB`, async () => {
      const stats = await this.lb.stats();
      return ds.every((d) => stats.find((s) => s.name === `d${d.id}`)?.status === 'UP') ? true : undefined;
    }, timeoutMs, 500);
  }

  /** Teardown: every droplet still there, quickly (no drain: the run is over). */
  async teardown(): Promise<void> {
    for (const g of this.gates) killGroup(g, 'SIGKILL');
    await Promise.all([...this.live.values()].map(async (d) => {
      await d.droplet.stop(5000).catch(() => undefined);
      await d.droplet.unmount().catch(() => undefined);
      await removeDropletNetwork(d.slot).catch(() => undefined);
    }));
    this.live.clear();
  }
}
