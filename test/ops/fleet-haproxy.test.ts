/**
 * The fleet box's load balancer (box/fleet/haproxy.ts) must behave like DigitalOcean's: the health check of
 * the environment's config, round robin, and nothing that would hide a failure the real LB would show.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEnvironmentFile } from '../../config/load.js';
import { FLEET_CONFIG } from '../../box/fleet/boot.js';
import { renderHaproxyConfig, serverCheckArgs } from '../../box/fleet/haproxy.js';
import { removeTempDirs, requireTools, run, tempDir } from '../tools/tools.js';

const env = loadEnvironmentFile(FLEET_CONFIG, 'fleet');
const hc = env.config.loadBalancer.healthCheck;
const cfg = renderHaproxyConfig({
  healthCheck: hc,
  httpIdleTimeoutSeconds: env.config.loadBalancer.httpIdleTimeoutSeconds,
  frontendAddresses: ['10.213.1.2', '10.213.1.3'],
  socketPath: '/run/test-haproxy.sock',
  maxConnections: 8000,
  servers: [{ name: 'd460000001', address: '10.213.0.11' }, { name: 'd460000002', address: '10.213.0.12' }],
});
/** Directives only, comments dropped: a comment may name what is absent. */
const directives = cfg.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean);

afterAll(removeTempDirs);

describe('fleet box load balancer (HAProxy)', () => {
  it('GIVEN the fleet config WHEN rendered THEN the check is its path, interval, thresholds and response timeout', () => {
    expect(hc).toMatchObject({ path: '/healthz', checkIntervalSeconds: 3, responseTimeoutSeconds: 3, healthyThreshold: 2, unhealthyThreshold: 2 });
    expect(directives).toContain('option httpchk GET /healthz');
    expect(directives).toContain('default-server check inter 3s fall 2 rise 2');
    expect(serverCheckArgs(hc)).toBe('check inter 3s fall 2 rise 2');
    expect(directives).toContain('timeout check 3s');
    // DigitalOcean passes 200-399.
    expect(directives).toContain('http-check expect rstatus ^[23]');
    expect(directives).toContain('balance roundrobin');
    expect(directives).toEqual(expect.arrayContaining(['bind 10.213.1.2:80', 'bind 10.213.1.3:80']));
    // Every possible droplet declared, in maintenance until it joins (no dynamic servers).
    expect(directives).toEqual(expect.arrayContaining(['server d460000001 10.213.0.11:80 disabled', 'server d460000002 10.213.0.12:80 disabled']));
  });

  it('GIVEN the rendered config THEN nothing retries, redispatches or observes traffic (it would hide failures)', () => {
    expect(directives).toContain('retries 0');
    for (const forbidden of [/^option\s+redispatch/, /^redispatch/, /\bobserve\b/, /\bon-error\b/, /^retry-on/, /^option\s+allbackups/, /\bbackup\b/]) {
      expect(directives.filter((d) => forbidden.test(d))).toEqual([]);
    }
  });

  it('GIVEN the rendered config WHEN haproxy -c reads it THEN it is valid', (ctx) => {
    requireTools(ctx, 'haproxy');
    const dir = tempDir('fleet-haproxy');
    const file = join(dir, 'haproxy.cfg');
    writeFileSync(file, cfg.replace('/run/test-haproxy.sock', join(dir, 'admin.sock')));
    const r = run('haproxy', ['-c', '-f', file]);
    expect(r.stderr + r.stdout).toMatch(/Configuration file is valid/);
    expect(r.status).toBe(0);
  });
});
