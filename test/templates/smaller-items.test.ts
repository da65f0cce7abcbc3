/**
 * Issue 12's smaller items, each against the rendered files of every shipped environment: open-files
 * ceilings left to systemd, Nginx's proxy timeout strictly inside the load balancer's idle timeout, and a
 * public health answer that tells nothing about the processes behind it.
 */
import { describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../config/load.js';
import { planCapacity } from '../../config/plan/index.js';
import { renderSysctlConf } from '../../templates/host-tuning.js';
import { allRendered } from './fixtures.js';

describe.each(allRendered())('$environment', ({ environment, byName }) => {
  it('leaves fs.nr_open and fs.file-max at the maxima systemd sets at boot', () => {
    expect(byName['99-tuning.conf']).not.toMatch(/^\s*fs\.(nr_open|file-max)\b/m);
  });

  it('gives up on Gunicorn (proxy_read_timeout) strictly before the load balancer drops the idle connection', () => {
    const idle = loadEnvironment(environment.replace(/-git$/, '')).config.loadBalancer.httpIdleTimeoutSeconds;
    const timeouts = [...byName['app.conf']!.matchAll(/proxy_read_timeout (\d+)s;/g)].map((m) => Number(m[1]));
    expect(timeouts.length).toBeGreaterThan(0);
    for (const t of timeouts) expect(t).toBeLessThan(idle);
  });
});

describe('open-files ceilings', () => {
  it('refuses to render a fs.nr_open or fs.file-max below systemd\'s boot values', () => {
    expect(() => renderSysctlConf({ 'fs.nr_open': '1048576' })).toThrow('sysctl fs.nr_open = 1048576 would lower the 1073741816 systemd sets at boot; leave fs.nr_open out');
    expect(() => renderSysctlConf({ 'fs.file-max': '2097152' })).toThrow('would lower the 9223372036854775807 systemd sets at boot');
    expect(() => renderSysctlConf({ 'fs.nr_open': '1073741816' })).not.toThrow();
  });
});

describe('proxy timeout against the load balancer\'s idle timeout', () => {
  it('fails when the profile\'s slow requests need longer than the idle timeout leaves, naming the key and the value that works', () => {
    const { config } = loadEnvironment('production');
    const result = planCapacity('production', { ...config, capacity: { ...config.capacity, p95RequestSeconds: 20 } });
    expect(result.ok).toBe(false);
    const issue = !result.ok ? result.issues.find((i) => i.path.join('.') === 'loadBalancer.httpIdleTimeoutSeconds') : undefined;
    expect(issue?.message).toBe(
      '60 s leaves Nginx a proxy_read_timeout of 55 s (it must end 5 s before the LB\'s), below the 80 s that 4 x capacity.p95RequestSeconds (20 s) need. Raise it to at least 85 (DigitalOcean: 30-600) or lower capacity.p95RequestSeconds',
    );
  });

  it('passes at exactly the idle timeout that leaves room', () => {
    const { config } = loadEnvironment('production');
    const result = planCapacity('production', { ...config, loadBalancer: { ...config.loadBalancer, httpIdleTimeoutSeconds: 85 }, capacity: { ...config.capacity, p95RequestSeconds: 20 } });
    const issues = result.ok ? [] : result.issues.filter((i) => i.path.join('.') === 'loadBalancer.httpIdleTimeoutSeconds');
    expect(issues).toEqual([]);
    if (result.ok) expect(result.plan.tuning.nginx.proxyReadTimeoutSeconds).toBe(80);
  });
});

describe('public health answer', () => {
  it('the demo app\'s /healthz body carries no process id', () => {
    const demo = allRendered()[0]!.byName['demo_app.py']!;
    const healthz = /def healthz\([\s\S]*?\n\n\n/.exec(demo)?.[0] ?? '';
    expect(healthz).toContain('"status": "ok"');
    expect(healthz).not.toMatch(/getpid|"pid"/);
  });
});
