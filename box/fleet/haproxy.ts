/**
 * HAProxy (Debian's) playing DigitalOcean's load balancer in front of the fleet box: round robin, an HTTP
 * health check on the environment's path with its interval, thresholds and response timeout, and nothing
 * that would hide a failure the real LB shows.
 *
 * Membership works like a droplet tag on the LB: a droplet joins when it is created, DOWN until it passed
 * `healthyThreshold` checks, and leaves when it is destroyed. Every droplet a run may create has its address
 * known in advance (box/fleet/network.ts), so the config declares one server per possible droplet, in
 * maintenance; joining takes it out of maintenance over the runtime API, leaving puts it back. (Servers added
 * and deleted at runtime, HAProxy 2.6's dynamic servers, made the LB answer 503 to a share of requests for
 * ~30 s after each deletion in one run, with live servers in the backend: a dynamic-server bug, not a
 * behaviour of DigitalOcean's LB, so the box does not use them.) HAProxy puts a server that leaves
 * maintenance UP at once (it assumes it healthy and checks it); the box gives it weight 0 first and sets it
 * DOWN before giving it weight back, so no request reaches a droplet before it passed its checks, as with
 * DigitalOcean's LB, which sends only to droplets it found healthy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { writeFileSync } from 'node:fs';
import { stopChild, waitFor } from '../lib/proc.js';
import type { HealthCheckConfig } from './types.js';
import { FLEET_NET } from './network.js';

export interface HaproxyConfigInput {
  readonly healthCheck: HealthCheckConfig;
  /** The LB's idle timeout for HTTP connections (`loadBalancer.httpIdleTimeoutSeconds`). */
  readonly httpIdleTimeoutSeconds: number;
  readonly frontendAddresses: readonly string[];
  /** Unix socket of the runtime API (admin level). */
  readonly socketPath: string;
  /** Connections the whole process accepts; each proxied one holds two files (client and server). */
  readonly maxConnections: number;
  /** Every droplet the run may create: a server each, in maintenance until the droplet joins. */
  readonly servers: readonly { readonly name: string; readonly address: string }[];
}

export const BACKEND = 'droplets';

/** The server line's health settings, for servers added at runtime (they do not inherit default-server). */
export function serverCheckArgs(hc: HealthCheckConfig): string {
  return `check inter ${hc.checkIntervalSeconds}s fall ${hc.unhealthyThreshold} rise ${hc.healthyThreshold}`;
}

/** haproxy.cfg for the fleet box. Pure: tested for what it must and must not contain. */
export function renderHaproxyConfig(i: HaproxyConfigInput): string {
  const hc = i.healthCheck;
  return `# Rendered by box/fleet/haproxy.ts: HAProxy playing the DigitalOcean load balancer of the fleet box.
global
    # The runtime API: droplets join (DOWN until their checks pass) and leave as they are created and destroyed.
    stats socket ${i.socketPath} mode 600 level admin
    # The machine caps a process at 20,000 open files; each proxied connection holds two.
    maxconn ${i.maxConnections}
    # Teardown: connections still open after this are closed.
    hard-stop-after 10s
    # Requests that failed (5xx, errors, timeouts), one line each on stdout: the box reads who answered them.
    log stdout format raw local0 info

defaults
    mode http
    log global
    option httplog
    # Only failed requests are logged (5xx, errors, timeouts), not the 400 req/s that succeed.
    option dontlog-normal
    # DigitalOcean's LB adds X-Forwarded-For; the droplet's Nginx trusts it from the VPC range.
    option forwardfor
    timeout connect 5s
    timeout client ${i.httpIdleTimeoutSeconds}s
    timeout http-keep-alive ${i.httpIdleTimeoutSeconds}s
    timeout server ${i.httpIdleTimeoutSeconds}s
    # The health check's response timeout (loadBalancer.healthCheck.responseTimeoutSeconds).
    timeout check ${hc.responseTimeoutSeconds}s
    # No retries, no redispatch, no observe (passive health): a request sent to a droplet that is gone or
    # refusing fails as it would at DigitalOcean's LB, which documents none of these. Only the active check
    # below takes a droplet out, after unhealthyThreshold failures, so the box measures what users would see.
    retries 0

frontend public
    ${i.frontendAddresses.map((a) => `bind ${a}:80`).join('\n    ')}
    maxconn ${i.maxConnections}
    default_backend ${BACKEND}

backend ${BACKEND}
    balance roundrobin
    # The LB's check: GET <path> on port 80 of each droplet; 2xx and 3xx pass (DigitalOcean: 200-399).
    option httpchk GET ${hc.path}
    http-check expect rstatus ^[23]
    default-server ${serverCheckArgs(hc)}
    # One server per droplet the run may create, in maintenance (no traffic, no checks) until it joins.
${i.servers.map((sv) => `    server ${sv.name} ${sv.address}:80 disabled`).join('\n')}
`;
}

/** One server's state as HAProxy reports it (`show stat`). */
export interface ServerStat {
  readonly name: string;
  readonly status: string;
  readonly currentSessions: number;
}

/** HAProxy in the LB namespace, foreground, its state changes reported line by line. */
export class LoadBalancer {
  private child: ChildProcess | undefined;

  constructor(private readonly configPath: string, private readonly input: HaproxyConfigInput, private readonly onEvent: (line: string) => void) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    writeFileSync(this.configPath, renderHaproxyConfig(this.input));
    const check = spawn('haproxy', ['-c', '-q', '-f', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    let checkOut = '';
    check.stderr!.on('data', (b: Buffer) => (checkOut += b.toString()));
    const code = await new Promise<number | null>((r) => check.on('close', r));
    if (code !== 0) throw new Error(`haproxy -c rejected ${this.configPath}: ${checkOut.trim()}`);
    // -db: foreground, and server state changes ("Server droplets/d-1 is UP") on stderr.
    const child = spawn('ip', ['netns', 'exec', FLEET_NET.lbNs, 'haproxy', '-db', '-f', this.configPath], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.child = child;
    let buf = '';
    const onData = (b: Buffer) => {
      buf += b.toString();
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl).trim();
        buf = buf.slice(nl + 1);
        if (line) this.onEvent(line);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    await waitFor('HAProxy\'s runtime API', async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited ${child.exitCode}`);
      return (await this.cli('show info').catch(() => '')).includes('Name: HAProxy') ? true : undefined;
    }, 15_000, 200);
  }

  async stop(): Promise<void> {
    if (this.child) await stopChild(this.child, 'SIGTERM', 12_000);
  }

  /** One runtime API command (several separated by `;` run in order, in one go). */
  cli(command: string, timeoutMs = 5000): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = createConnection(this.input.socketPath);
      let out = '';
      const timer = setTimeout(() => sock.destroy(new Error(`HAProxy runtime API: no answer to "${command}" within ${timeoutMs} ms`)), timeoutMs);
      sock.on('connect', () => sock.end(`${command}\n`));
      sock.on('data', (b) => (out += b.toString()));
      sock.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
      sock.on('close', () => {
        clearTimeout(timer);
        resolve(out);
      });
    });
  }

  /** A droplet joins the LB: out of maintenance, DOWN until `healthyThreshold` checks pass. */
  async addServer(name: string): Promise<void> {
    // Leaving maintenance makes it UP; weight 0 keeps requests off it until it is DOWN; then weight 1, and
    // only its checks bring it UP.
    const s = `${BACKEND}/${name}`;
    const out = await this.cli(`set weight ${s} 0; enable server ${s}; set server ${s} health down; set weight ${s} 1`);
    if (out.trim()) throw new Error(`HAProxy did not enable ${name}: ${out.trim()}`);
  }

  /** A destroyed droplet leaves the LB (the droplet is gone by then; a tag-based LB drops it likewise). */
  async removeServer(name: string): Promise<void> {
    const out = await this.cli(`disable server ${BACKEND}/${name}`);
    if (out.trim()) throw new Error(`HAProxy did not disable ${name}: ${out.trim()}`);
  }

  async stats(): Promise<ServerStat[]> {
    const csv = await this.cli('show stat');
    const lines = csv.split('\n').filter(Boolean);
    const header = (lines[0] ?? '').replace(/^# /, '').split(',');
    const col = (n: string) => header.indexOf(n);
    return lines.slice(1).map((l) => l.split(',')).filter((f) => f[col('pxname')] === BACKEND && !['BACKEND', 'FRONTEND'].includes(f[col('svname')]!))
      .map((f) => ({ name: f[col('svname')]!, status: f[col('status')]!, currentSessions: Number(f[col('scur')]) }));
  }

  async status(name: string): Promise<string | undefined> {
    return (await this.stats()).find((s) => s.name === name)?.status;
  }
}
