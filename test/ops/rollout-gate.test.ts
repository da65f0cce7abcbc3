/**
 * tools/rollout-gate.mjs against a stand-in load balancer: a local HTTP(S) server that answers the health
 * path from a rotation of droplet ids, and can add the new droplet after a delay, never, only with 503, or
 * flapping between 200 and 503. The gate runs as Terraform runs it: a separate `node` process.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';

const GATE = join(import.meta.dirname, '../../tools/rollout-gate.mjs');

// Self-signed P-256 certificate for CN gate-test.invalid, valid until 2126: the gate must not verify it.
const KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgwmAyIA0MyhgOA4F8
P9fx7iAb4WCX4dhI9arGRhgjeOGhRANCAAQDwU1KJKTT7dv4aMkAUO3ph92/tqXL
k4W0jThdzQQrBu3dHSnqK7pmuAiLr4sWVrNypAnbEnmP9NtapQPljy4h
-----END PRIVATE KEY-----
`;
const CERT = `-----BEGIN CERTIFICATE-----
MIIBjjCCATWgAwIBAgIUG9Cpag6dl7niv48GuyqRXJNPqY0wCgYIKoZIzj0EAwIw
HDEaMBgGA1UEAwwRZ2F0ZS10ZXN0LmludmFsaWQwIBcNMjYxMjAxMjIwMTI2WhgP
MjEyNjExMDcyMjAxMjZaMBwxGjAYBgNVBAMMEWdhdGUtdGVzdC5pbnZhbGlkMFkw
EwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEA8FNSiSk0+3b+GjJAFDt6Yfdv7aly5OF
tI04Xc0EKwbt3R0p6iu6ZrgIi6+LFlazcqQJ2xJ5j/TbWqUD5Y8uIaNTMFEwHQYD
VR0OBBYEFDtyDzYJA3FyFzh4XhKStuJs/YdGMB8GA1UdIwQYMBaAFDtyDzYJA3Fy
Fzh4XhKStuJs/YdGMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDRwAwRAIg
epVOaCqTMicexnAP7DuT0kxlPIIeOtKKAyTtRZTHuzICIEeLs71CzRsV3BMWd+js
CJOpjPGd33m5fvOOMxDq9dtp
-----END CERTIFICATE-----
`;

/**
 * `inBetweenMs`: an LB whose choice is in step with a fixed-cadence poller (what round robin does when every
 * gate of a first apply sends one probe per round): a probe that arrives on the cadence of the first one (within
 * a fifth of it) is answered by an old droplet, only a probe off the cadence reaches the new one.
 */
type Mode = { joinAfterMs: number } | { inBetweenMs: number } | 'never' | 'only-503' | 'flapping';

/** A load balancer stand-in: round robin over the old droplets, plus the new one as `mode` says. */
class StandInLb {
  readonly hosts: string[] = [];
  readonly sniNames: string[] = [];
  readonly paths: string[] = [];
  private next = 0;
  private newResponses = 0;
  private firstRequestAt: number | undefined;
  private readonly started = Date.now();
  private server!: http.Server;

  constructor(private readonly oldIds: string[], private readonly newId: string, private readonly mode: Mode) {}

  private rotation(): string[] {
    const m = this.mode;
    const joined = m !== 'never' && (typeof m === 'string' || !('joinAfterMs' in m) || Date.now() - this.started >= m.joinAfterMs);
    return joined ? [...this.oldIds, this.newId] : this.oldIds;
  }

  private handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
    this.hosts.push(req.headers.host ?? '');
    this.paths.push(req.url ?? '');
    const sni = (req.socket as TLSSocket & { servername?: unknown }).servername;
    if (typeof sni === 'string') this.sniNames.push(sni);
    const ids = this.rotation();
    let id = ids[this.next++ % ids.length]!;
    if (typeof this.mode === 'object' && 'inBetweenMs' in this.mode) {
      this.firstRequestAt ??= Date.now();
      const phase = ((Date.now() - this.firstRequestAt) % this.mode.inBetweenMs) / this.mode.inBetweenMs;
      id = phase < 0.2 || phase > 0.8 ? this.oldIds[0]! : this.newId;
    }
    let status = 200;
    if (id === this.newId && this.mode === 'only-503') status = 503;
    if (id === this.newId && this.mode === 'flapping') status = this.newResponses++ % 2 === 0 ? 200 : 503;
    res.writeHead(status, { 'X-Droplet-Id': id, 'Content-Type': 'text/plain' });
    res.end(status === 200 ? 'ok\n' : 'draining or starting\n');
  };

  async listen(tls = false): Promise<string> {
    this.server = tls ? https.createServer({ key: KEY, cert: CERT }, this.handle) : http.createServer(this.handle);
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    return `${tls ? 'https' : 'http'}://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((r) => {
      this.server.closeAllConnections();
      this.server.close(() => r());
    });
  }
}

interface GateRun {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
}

/** Run the gate as a separate process (the stand-in serves from this one, so never spawnSync). */
function runGate(args: string[], killAfterMs = 20_000): Promise<GateRun> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [GATE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, seconds: (Date.now() - t0) / 1000 });
    });
  });
}

const gateArgs = (url: string, extra: Record<string, string> = {}) =>
  Object.entries({ url, path: '/healthz', 'droplet-id': '104', passes: '2', 'interval-seconds': '0.05', 'timeout-seconds': '3', ...extra })
    .flatMap(([k, v]) => [`--${k}`, v]);

const lastLine = (text: string) => text.trim().split('\n').at(-1) ?? '';

describe('rollout gate (tools/rollout-gate.mjs)', () => {
  let lb: StandInLb | undefined;
  afterEach(async () => {
    await lb?.close();
    lb = undefined;
  });

  it('GIVEN the LB adds the new droplet after 800 ms WHEN the gate polls THEN it exits 0 once 2 responses in a row from it were 200', async () => {
    lb = new StandInLb(['101', '102', '103'], '104', { joinAfterMs: 800 });
    const g = await runGate(gateArgs(await lb.listen()));
    expect(g.code).toBe(0);
    expect(g.stdout).toMatch(/droplet 104 passed 2 health check\(s\) through the load balancer/);
    expect(g.stdout).toContain('200 from droplet 104: 1/2');
    expect(g.seconds).toBeGreaterThanOrEqual(0.8);
    expect(lb.paths.every((p) => p === '/healthz')).toBe(true);
    expect(g.stderr).toBe('');
  });

  it('GIVEN an LB in step with a fixed polling cadence (gates of a first apply alias with round robin) WHEN the gate polls THEN its jittered waits reach the new droplet and it passes', async () => {
    lb = new StandInLb(['101'], '104', { inBetweenMs: 100 });
    const g = await runGate(gateArgs(await lb.listen(), { 'interval-seconds': '0.1' }));
    expect(g.code).toBe(0);
    expect(g.stdout).toMatch(/droplet 104 passed 2 health check\(s\)/);
  });

  it('waits between probes for the interval jittered to 0.5-1.5 times it, never on a fixed cadence', async () => {
    const { pollWaitMs } = (await import(GATE)) as { pollWaitMs: (s: number, random?: () => number) => number };
    expect(pollWaitMs(2, () => 0)).toBe(1000);
    expect(pollWaitMs(2, () => 0.5)).toBe(2000);
    expect(pollWaitMs(2, () => 0.999)).toBeCloseTo(2998, 0);
    const waits = Array.from({ length: 200 }, () => pollWaitMs(2));
    expect(Math.min(...waits)).toBeGreaterThanOrEqual(1000);
    expect(Math.max(...waits)).toBeLessThan(3000);
    expect(new Set(waits.map((w) => Math.round(w / 100))).size).toBeGreaterThan(10);
  });

  it('fails when the new droplet never joins: exit 1 after the timeout, one line naming the ids seen', async () => {
    lb = new StandInLb(['101', '102', '103'], '104', 'never');
    const g = await runGate(gateArgs(await lb.listen(), { 'timeout-seconds': '1.5' }));
    expect(g.code).toBe(1);
    expect(g.seconds).toBeGreaterThanOrEqual(1.5);
    expect(g.seconds).toBeLessThan(6);
    const line = lastLine(g.stdout);
    expect(line).toMatch(/^rollout-gate: droplet 104 did not pass 2 health check\(s\) through http:\/\/127\.0\.0\.1:\d+\/healthz within 1\.5 s: \d+ responses \(status 200 x\d+\)/);
    expect(line).toMatch(/droplet ids seen: 101 x\d+, 102 x\d+, 103 x\d+,/);
    expect(g.stdout + g.stderr).not.toMatch(/\n\s+at /);
  });

  it('fails when the new droplet answers only 503 (starting or draining) even though its id is there', async () => {
    lb = new StandInLb(['101'], '104', 'only-503');
    const g = await runGate(gateArgs(await lb.listen(), { 'timeout-seconds': '1' }));
    expect(g.code).toBe(1);
    expect(g.stdout).toContain('503 from droplet 104: 0/2 (not 200: counting again)');
    expect(lastLine(g.stdout)).toMatch(/status 200 x\d+, 503 x\d+\), droplet ids seen: 101 x\d+, 104 x\d+, 0\/2 passes in a row/);
  });

  it('fails when the new droplet flaps (200, 503, 200, ...): passes must come in a row', async () => {
    lb = new StandInLb(['101'], '104', 'flapping');
    const g = await runGate(gateArgs(await lb.listen(), { 'timeout-seconds': '1' }));
    expect(g.code).toBe(1);
    expect(g.stdout).toContain('200 from droplet 104: 1/2');
    expect(g.stdout).not.toContain('2/2');
  });

  it('fails on refused connections with the last error, and keeps trying until the timeout', async () => {
    lb = new StandInLb(['101'], '104', 'never');
    const url = await lb.listen();
    await lb.close();
    lb = undefined;
    const g = await runGate(gateArgs(url, { 'timeout-seconds': '1' }));
    expect(g.code).toBe(1);
    expect(g.seconds).toBeGreaterThanOrEqual(1);
    expect(lastLine(g.stdout)).toMatch(/0 responses \(status none\), droplet ids seen: none, 0\/2 passes in a row, \d{2,} errors, last error: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });

  it('GIVEN --host over https with a self-signed certificate WHEN the gate polls THEN Host and SNI carry the name and the certificate is not verified', async () => {
    lb = new StandInLb(['101'], '104', { joinAfterMs: 0 });
    const g = await runGate(gateArgs(await lb.listen(true), { host: 'www.example.test' }));
    expect(g.code).toBe(0);
    expect(g.stdout).toContain('(Host www.example.test)');
    expect(new Set(lb.hosts)).toEqual(new Set(['www.example.test']));
    expect(lb.sniNames.length).toBeGreaterThan(0);
    expect(new Set(lb.sniNames)).toEqual(new Set(['www.example.test']));
  });

  it('GIVEN no --host WHEN the gate polls THEN Host is the URL\'s own', async () => {
    lb = new StandInLb([], '104', { joinAfterMs: 0 });
    const url = await lb.listen();
    const g = await runGate(gateArgs(`${url}/`, { passes: '1' }));
    expect(g.code).toBe(0);
    expect(lb.hosts[0]).toBe(new URL(url).host);
    expect(lb.paths[0]).toBe('/healthz');
  });

  it.each([
    [['--url', 'http://x', '--path', '/h', '--droplet-id', '1', '--passes', '2', '--interval-seconds', '1'], '--timeout-seconds is required'],
    [gateArgs('ftp://x'), '--url must use http or https, got ftp'],
    [gateArgs('http://x', { path: 'healthz' }), '--path must start with /'],
    [gateArgs('http://x', { passes: '1.5' }), '--passes must be an integer >= 1, got "1.5"'],
    [[...gateArgs('http://x'), '--retries', '3'], 'unknown argument "--retries"'],
  ])('fails on bad arguments with exit 2 and one line: %j', async (args, message) => {
    const g = await runGate(args);
    expect(g.code).toBe(2);
    expect(g.stderr.split('\n')[0]!.startsWith(`rollout-gate: ${message}`)).toBe(true);
    expect(g.stderr).toContain('usage: node rollout-gate.mjs');
    expect(g.stderr).not.toMatch(/\n\s+at /);
  });
});
