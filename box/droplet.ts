/**
 * The droplet: a fresh overlay of the cached Debian 12 image, seeded for cloud-init's NoCloud datasource,
 * booted with `systemd-nspawn -b` inside the box's droplet network namespace.
 *
 * How the user data gets in (the one mechanism): the rendered cloud-config is written to
 * /var/lib/cloud/seed/nocloud/user-data (with meta-data beside it) in the overlay before boot, and
 * /etc/cloud/cloud.cfg.d/90-box.cfg limits cloud-init to that datasource, so it never probes the cloud
 * metadata address. Network config is left to the box (the veth addresses exist before boot).
 *
 * This machine's PID 1 is not systemd, so there is no system bus: nspawn runs with --register=no (no
 * machined) and --keep-unit (no transient scope). Commands run inside through nsenter into the
 * container's PID 1. A container that reboots makes nspawn exit 133; the box starts it again on the same
 * overlay, as a droplet keeps its disk over a reboot.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, sleep, stopChild, waitExit, waitFor, type RunResult } from './lib/proc.js';
import { DROPLET_PATHS } from '../templates/paths.js';
import { nsPath, NET } from './network.js';

export const MACHINE = 'dobox';
/** cgroup v1 (systemd's named hierarchy) and v2 mount points a container gets its own cgroup in. */
const CGROUP_HIERARCHIES = ['/sys/fs/cgroup/systemd', '/sys/fs/cgroup/unified'] as const;
const CGROUP_PARENT = 'do-web-box';

const CLOUD_CFG = `# Written by box/droplet.ts: the box seeds NoCloud; never probe a cloud's metadata address.
datasource_list: [ NoCloud, None ]
# The box sets the container's addresses before boot (box/network.ts).
network: {config: disabled}
`;

/** Where a droplet runs; the single-droplet box's defaults, or one of the fleet's (box/fleet/). */
export interface DropletPlacement {
  /** Container name (also its hostname before cloud-init sets one). @default 'dobox' */
  readonly machine?: string;
  /** Network namespace the container joins. @default the box's droplet namespace */
  readonly netns?: string;
}

export class Droplet {
  private child: ChildProcess | undefined;
  private stopping = false;
  private boots = 0;
  readonly merged: string;
  readonly consoleLog: string;

  constructor(private readonly runDir: string, private readonly rootfs: string, private readonly placement: DropletPlacement = {}) {
    this.merged = join(runDir, 'merged');
    this.consoleLog = join(runDir, 'console.log');
  }

  /** Mount a fresh overlay: the cached image below, this run's upper directory above. */
  async mount(): Promise<void> {
    for (const d of ['upper', 'work', 'merged']) mkdirSync(join(this.runDir, d), { recursive: true });
    await run('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${this.rootfs},upperdir=${join(this.runDir, 'upper')},workdir=${join(this.runDir, 'work')}`, this.merged], { timeoutMs: 10_000 });
  }

  async unmount(): Promise<void> {
    const r = await run('umount', [this.merged], { timeoutMs: 20_000, allowFailure: true });
    if (r.code !== 0) await run('umount', ['-l', this.merged], { timeoutMs: 10_000, allowFailure: true });
    // The container's cgroups, deepest first (they are empty once it stopped).
    for (const h of CGROUP_HIERARCHIES) {
      const dir = join(h, CGROUP_PARENT, this.cgroupName);
      if (existsSync(dir)) await run('find', [dir, '-depth', '-type', 'd', '-exec', 'rmdir', '{}', ';'], { timeoutMs: 10_000, allowFailure: true });
    }
  }

  private get cgroupName(): string {
    return this.placement.machine ?? MACHINE;
  }

  /** Seed cloud-init's NoCloud datasource with the user data. */
  seed(userData: string, instanceId: string, hostname: string): void {
    const seedDir = join(this.merged, 'var/lib/cloud/seed/nocloud');
    mkdirSync(seedDir, { recursive: true });
    writeFileSync(join(seedDir, 'user-data'), userData);
    writeFileSync(join(seedDir, 'meta-data'), `instance-id: ${instanceId}\nlocal-hostname: ${hostname}\n`);
    writeFileSync(join(this.merged, 'etc/cloud/cloud.cfg.d/90-box.cfg'), CLOUD_CFG);
  }

  /** Start the container; returns once its systemd is PID 1 of a new PID namespace. */
  async boot(): Promise<void> {
    this.boots += 1;
    const out = openSync(this.consoleLog, 'a');
    const args = [
      '-D', this.merged, '--boot', '--register=no', '--keep-unit', `--machine=${this.placement.machine ?? MACHINE}`,
      `--network-namespace-path=${nsPath(this.placement.netns ?? NET.dropletNs)}`, '--console=pipe', '--link-journal=no', '--resolv-conf=off', '--timezone=off',
    ];
    // Each container in a cgroup of its own: with --keep-unit nspawn puts itself and the container under the
    // cgroup it was started in (.../supervisor, .../payload); two containers started from the same process
    // would share those, and their systemd instances fight over system.slice (nginx.service failed with
    // status=219/CGROUP when three droplets booted together). `exec` keeps the pid: the child is nspawn.
    const script = `for h in ${CGROUP_HIERARCHIES.join(' ')}; do [ -d "$h" ] || continue; mkdir -p "$h/${CGROUP_PARENT}/$0" && echo $$ > "$h/${CGROUP_PARENT}/$0/cgroup.procs"; done; exec systemd-nspawn "$@"`;
    const child = spawn('sh', ['-c', script, this.cgroupName, ...args], { stdio: ['ignore', out, out], detached: true });
    this.child = child;
    child.on('exit', (code) => {
      // 133: the container asked for a reboot (systemd-nspawn@.service restarts on it; so does the box).
      if (code === 133 && !this.stopping && this.child === child) {
        void this.boot().catch((err) => process.stderr.write(`reboot of the droplet failed: ${String(err)}\n`));
      }
    });
    await waitFor('the container\'s systemd to start', async () => {
      if (child.exitCode !== null) throw new Error(`systemd-nspawn exited ${child.exitCode}: see ${this.consoleLog}`);
      return this.pid();
    }, 30_000, 100);
  }

  /** PID of systemd-nspawn itself (recorded so a later run can end it if this one is killed). */
  get nspawnPid(): number | undefined {
    return this.child?.pid;
  }

  get bootCount(): number {
    return this.boots;
  }

  /** PID (on the host) of the container's init, or undefined before it runs. */
  pid(): number | undefined {
    const nspawnPid = this.child?.pid;
    if (nspawnPid === undefined || this.child?.exitCode !== null) return undefined;
    // nspawn -> its outer child -> the container's PID 1 (systemd).
    for (const c of childrenOf(nspawnPid)) {
      for (const g of [c, ...childrenOf(c)]) {
        try {
          if (readFileSync(`/proc/${g}/comm`, 'utf8').trim() === 'systemd') return g;
        } catch {
          /* gone */
        }
      }
    }
    return undefined;
  }

  /** Run a command inside the container (all its namespaces), bounded. */
  async exec(argv: string[], timeoutMs = 30_000, allowFailure = false): Promise<RunResult> {
    const pid = this.pid();
    if (pid === undefined) throw new Error('the droplet is not running');
    return run('nsenter', ['-t', String(pid), '-a', '--', ...argv], { timeoutMs, allowFailure, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' } });
  }

  /** Where a file of the droplet's disk (a path relative to its root) is on the host (the overlay). */
  hostPath(path: string): string {
    return join(this.merged, path);
  }

  /** Read a file of the droplet's disk from the host (the overlay), '' if absent. */
  readFile(path: string): string {
    const p = this.hostPath(path);
    return existsSync(p) ? readFileSync(p, 'utf8') : '';
  }

  /** Wait for systemd to finish starting units (running or degraded). */
  async waitSystemd(timeoutMs: number): Promise<string> {
    return waitFor('systemd to finish booting', async () => {
      const r = await this.exec(['systemctl', 'is-system-running'], 10_000, true);
      const state = r.stdout.trim();
      return state === 'running' || state === 'degraded' ? state : undefined;
    }, timeoutMs, 500);
  }

  /** Wait for cloud-init to finish; throws with its status when it reports errors. */
  async waitCloudInit(timeoutMs: number, onProgress: (line: string) => void): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.exec(['cloud-init', 'status', '--long'], 15_000, true);
      const status = /^status:\s*(\S+)/m.exec(r.stdout)?.[1] ?? 'unknown';
      if (status === 'done') return;
      if (status === 'error' || status === 'degraded') throw new Error(`cloud-init finished with status ${status}:\n${r.stdout.trim()}`);
      if (status === 'disabled') throw new Error(`cloud-init is disabled in the droplet:\n${r.stdout.trim()}`);
      const last = this.readFile('var/log/cloud-init-output.log').trim().split('\n').pop() ?? '';
      onProgress(`${status}${last ? ` — ${last}` : ''}`);
      if (Date.now() > deadline) throw new Error(`cloud-init still ${status} after ${Math.round(timeoutMs / 1000)} s`);
      await sleep(1000);
    }
  }

  /** What explains a failed boot: cloud-init's output and status, failed units, warnings, Nginx's and the app's logs. */
  async logs(): Promise<string> {
    const parts: string[] = [];
    const tail = (text: string, n: number) => text.trimEnd().split('\n').slice(-n).join('\n');
    parts.push(`## cloud-init-output.log (tail)\n${tail(this.readFile('var/log/cloud-init-output.log'), 60)}`);
    const warn = tail(this.readFile('var/log/cloud-init.log').split('\n').filter((l) => /WARNING|ERROR|Traceback/.test(l)).join('\n'), 30);
    if (warn) parts.push(`## cloud-init.log warnings and errors (tail)\n${warn}`);
    if (this.pid() !== undefined) {
      const cmd = async (title: string, argv: string[]) => {
        const r = await this.exec(argv, 15_000, true).catch((e: Error) => ({ stdout: '', stderr: e.message }) as RunResult);
        const text = `${r.stdout}${r.stderr}`.trim();
        if (text) parts.push(`## ${title}\n${text}`);
      };
      await cmd('cloud-init status --long', ['cloud-init', 'status', '--long']);
      await cmd('systemctl --failed', ['systemctl', '--failed', '--no-pager', '--plain']);
      await cmd('journal: warnings and errors this boot (tail)', ['journalctl', '-b', '-p', 'warning', '--no-pager', '-n', '60']);
      await cmd('journal: app.service (tail)', ['journalctl', '-b', '-u', 'app.service', '--no-pager', '-n', '40']);
      await cmd('journal: nginx.service (tail)', ['journalctl', '-b', '-u', 'nginx.service', '--no-pager', '-n', '20']);
      // The readiness contract's units: why a droplet answers the LB's check 503 (or carries no droplet id).
      await cmd('journal: droplet-id, app-grant, app-release, droplet-ready (tail)', ['journalctl', '-b', '-u', 'droplet-id.service', '-u', 'app-grant.service', '-u', 'app-release.service', '-u', 'droplet-ready.service', '--no-pager', '-n', '40']);
      await cmd(`readiness files (${DROPLET_PATHS.dropletRunDir})`, ['ls', '-l', '--time-style=+%H:%M:%S', DROPLET_PATHS.dropletRunDir]);
    } else {
      parts.push(`## console (tail)\n${tail(existsSync(this.consoleLog) ? readFileSync(this.consoleLog, 'utf8') : '', 60)}`);
    }
    parts.push(`## /var/log/nginx/error.log (tail)\n${tail(this.readFile('var/log/nginx/error.log'), 30)}`);
    return parts.join('\n\n');
  }

  /** Reboot from inside (systemctl reboot); returns once the new boot's systemd runs. */
  async reboot(timeoutMs: number): Promise<void> {
    const before = this.boots;
    await this.exec(['systemctl', 'reboot'], 10_000, true);
    await waitFor('the droplet to come back from its reboot', async () => (this.boots > before && this.pid() !== undefined ? true : undefined), timeoutMs, 200);
  }

  /**
   * Shut down from inside (`systemctl poweroff`, as DigitalOcean's shutdown action does through ACPI), so the
   * droplet's own stop sequence (its drain) runs; waits up to `graceMs` for the container to exit.
   * Returns whether it exited within that time (the box then kills it, as a failed destroy would leave it).
   */
  async poweroff(graceMs: number): Promise<boolean> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null) return true;
    await this.exec(['systemctl', 'poweroff'], 15_000, true).catch(() => undefined);
    if (await waitExit(child, graceMs)) return true;
    await this.stop(1000);
    return false;
  }

  /** A hard crash: SIGKILL of the container's PID 1 ends its whole PID namespace at once, no shutdown runs. */
  async kill(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    const pid = this.pid();
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    if (child && !(await waitExit(child, 10_000))) await stopChild(child, 'SIGKILL', 5000);
  }

  /** Whether the container runs (nspawn has not exited). */
  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Power off: SIGTERM makes nspawn ask the container's systemd for an orderly shutdown. */
  async stop(graceMs = 30_000): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const pid = this.pid();
    child.kill('SIGTERM');
    if (await waitExit(child, graceMs)) return;
    // A container that will not stop: killing its PID 1 ends its whole PID namespace.
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await stopChild(child, 'SIGKILL', 5000);
  }
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
