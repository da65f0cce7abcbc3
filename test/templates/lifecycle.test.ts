/**
 * The droplet's lifecycle as rendered: the shutdown order of its units, the stop timeouts against the
 * plan's drain and the provider's delete timeout, the release step's presence, the health path.
 * (The scripts and Nginx run for real in test/tools/readiness.test.ts, the units in systemd.test.ts.)
 */
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { loadEnvironment } from '../../config/load.js';
import { dropletFiles, renderUserData } from '../../templates/droplet.js';
import { demoReleaseId } from '../../templates/lifecycle.js';
import { allRendered, dropletInput, EXAMPLE_CONNECTIONS, GIT_APP, rendered } from './fixtures.js';

/** `Key=` values of a unit's text, space-separated values split. */
function values(text: string, key: string): string[] {
  return [...text.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].flatMap((m) => m[1]!.trim().split(/\s+/)).filter(Boolean);
}

/** Start-order edges (a starts before b) from units and drop-ins, as systemd reads After= and Before=. */
function startsBefore(units: Record<string, string>): Set<string> {
  const edges = new Set<string>();
  for (const [unit, text] of Object.entries(units)) {
    for (const other of values(text, 'After')) edges.add(`${other} < ${unit}`);
    for (const other of values(text, 'Before')) edges.add(`${unit} < ${other}`);
  }
  return edges;
}

const seconds = (text: string, key: string) => Number(/^(\d+)s$/.exec(values(text, key)[0] ?? '')?.[1]);

describe.each(allRendered())('lifecycle of $environment', ({ environment, byName }) => {
  const env = environment === 'production-git' ? 'production' : environment;
  const { plan } = loadEnvironment(env);
  const { drain } = plan.tuning;
  const units = {
    'app.service': byName['app.service']! + (byName['release.conf'] ?? ''),
    'nginx.service': byName['drain.conf']!,
    'droplet-drain.service': byName['droplet-drain.service']!,
    'droplet-ready.service': byName['droplet-ready.service']!,
    'droplet-id.service': byName['droplet-id.service']!,
  };

  it('stops in the drain\'s order: the drain first, then Gunicorn, then Nginx (stops run in reverse start order)', () => {
    const edges = startsBefore(units);
    expect(edges).toContain('nginx.service < app.service');
    expect(edges).toContain('app.service < droplet-drain.service');
    expect(edges).toContain('nginx.service < droplet-drain.service');
    expect(edges).toContain('droplet-id.service < nginx.service');
    expect(edges).not.toContain('app.service < nginx.service');
  });

  it('is ready only after the app and Nginx run', () => {
    const edges = startsBefore(units);
    expect(edges).toContain('app.service < droplet-ready.service');
    expect(edges).toContain('nginx.service < droplet-ready.service');
  });

  it('the drain starts before the ready file goes (Nginx answers "draining", never "not ready", at shutdown)', () => {
    expect(startsBefore(units)).toContain('droplet-ready.service < droplet-drain.service');
  });

  it('keeps the ready file true to the app: removed when app.service stops or fails, back when it starts again', () => {
    expect(values(byName['droplet-ready.service']!, 'PartOf')).toEqual(['app.service']);
    expect(values(byName['droplet-ready.service']!, 'WantedBy')).toEqual(['multi-user.target', 'app.service']);
  });

  it('sheds overload in Nginx at the plan\'s in-flight limit, outside the health location', () => {
    const { nginx } = plan.tuning;
    const site = byName['app.conf']!;
    expect(site).toContain(`limit_conn inflight ${nginx.shedAboveRequests};`);
    expect(site).toContain(`add_header Retry-After ${nginx.shedRetryAfterSeconds} always;`);
    // The health location, up to its closing brace at the server's indentation.
    const health = /\n {4}location = \/[\s\S]*?\n {4}\}\n/.exec(site)?.[0] ?? '';
    expect(health).toContain('return 200 "ready\\n";');
    expect(health).not.toMatch(/limit_conn|proxy_pass/);
  });

  it('gives each stop step the plan\'s time, and all of them fit the provider\'s delete timeout', () => {
    const drainStop = seconds(byName['droplet-drain.service']!, 'TimeoutStopSec');
    const appStop = seconds(byName['app.service']!, 'TimeoutStopSec');
    const nginxStop = seconds(byName['drain.conf']!, 'TimeoutStopSec');
    expect(byName['droplet-drain']).toContain(`LB_DETECT_SECONDS=${drain.lbDetectSeconds}\n`);
    expect(drainStop).toBeGreaterThan(drain.lbDetectSeconds);
    expect(byName['gunicorn.conf.py']).toContain(`graceful_timeout = ${drain.requestSeconds}\n`);
    expect(appStop).toBeGreaterThan(drain.requestSeconds);
    expect(nginxStop).toBe(drain.stopBudgetSeconds - drain.lbDetectSeconds - drain.requestSeconds);
    expect(drain.lbDetectSeconds + appStop + nginxStop).toBeLessThanOrEqual(plan.rollout.deleteTimeoutSeconds);
  });

  it('answers the load balancer\'s health path with the readiness contract', () => {
    expect(byName['app.conf']).toContain(`location = ${loadEnvironment(env).config.loadBalancer.healthCheck.path} {`);
    expect(byName['app.conf']).toContain('if (-f /run/droplet/draining) {');
    expect(byName['app.conf']).toContain('if (!-f /run/droplet/ready) {');
  });
});

describe('release step', () => {
  it('the demo app\'s release runs its schema step, with a release id that is a hash of the rendered module', () => {
    const { byName } = rendered('production');
    expect(byName['release-id']!.trim().split('\n').pop()).toBe(demoReleaseId(byName['demo_app.py']!));
    expect(byName['release-command']).toContain('exec /usr/bin/python3 -m demo_app release');
    expect(byName['release.conf']).toMatch(/^Requires=app-release\.service$/m);
    expect(byName['app-release.service']).toMatch(/^Before=app\.service$/m);
  });

  it('the git app\'s releaseCommand runs in its checkout with the virtualenv first on PATH', () => {
    const { byName } = rendered('production', GIT_APP);
    expect(byName['release-command']).toContain("cd '/opt/app/src'\nPATH='/opt/app/venv/bin':\"$PATH\"; export PATH\npython -m django migrate --noinput\n");
    expect(byName['app-release.service']).toContain('WorkingDirectory=/opt/app/src');
  });

  it('a git app without a releaseCommand runs no step, but its release unit still sets the role\'s statement timeout', () => {
    const { releaseCommand: _, ...app } = GIT_APP;
    const byPath = Object.fromEntries(dropletFiles(dropletInput('production', app), EXAMPLE_CONNECTIONS).map((f) => [f.path, f.content]));
    expect(byPath['/etc/app/release-command']).toBeUndefined();
    expect(byPath['/etc/systemd/system/app-release.service']).toContain('ExecStart=/usr/bin/python3 /usr/local/sbin/app-release --release-id-file /opt/app/release-id\n');
    expect(byPath['/etc/systemd/system/app.service.d/release.conf']).toContain('app-release.service');
    const withCommand = Object.fromEntries(dropletFiles(dropletInput('production', GIT_APP), EXAMPLE_CONNECTIONS).map((f) => [f.path, f.content]));
    expect(withCommand['/etc/systemd/system/app-release.service']).toContain('--release-id-file /opt/app/release-id --command /etc/app/release-command\n');
  });

  it('fails on a release command of several lines', () => {
    expect(() => dropletFiles(dropletInput('production', { ...GIT_APP, releaseCommand: 'a\nb' }), EXAMPLE_CONNECTIONS)).toThrow('app.releaseCommand: must be one line');
  });
});

describe('droplet input', () => {
  it('a git app\'s custom health path is both the LB\'s location and the deep check', () => {
    const input = { ...dropletInput('production', GIT_APP), healthCheckPath: '/status' };
    const byPath = Object.fromEntries(dropletFiles(input, EXAMPLE_CONNECTIONS).map((f) => [f.path, f.content]));
    expect(byPath['/etc/nginx/conf.d/app.conf']).toContain('location = /status {');
    expect(byPath['/usr/local/sbin/droplet-ready']).toContain('CHECK_PATH=/status\n');
  });

  it('fails on a health path Nginx would read as more than a path', () => {
    const input = { ...dropletInput('production', GIT_APP), healthCheckPath: '/x;return' };
    expect(() => dropletFiles(input, EXAMPLE_CONNECTIONS)).toThrow('loadBalancer.healthCheck.path: "/x;return" must be a plain URL path');
  });

  it('writes the droplet size into the user data, so a size change replaces droplets through the gate', () => {
    const input = dropletInput('production');
    const a = renderUserData(input, EXAMPLE_CONNECTIONS);
    const b = renderUserData({ ...input, sizeSlug: 'g-8vcpu-32gb' }, EXAMPLE_CONNECTIONS);
    expect(a).toContain(`droplet size ${input.sizeSlug}.`);
    expect(b).not.toBe(a);
  });

  it('compressed files decode to exactly the rendered files; the env file stays text for Terraform', () => {
    const input = dropletInput('production');
    const files = dropletFiles(input, EXAMPLE_CONNECTIONS);
    const doc = parse(renderUserData(input, EXAMPLE_CONNECTIONS)) as { write_files: { path: string; content: string; encoding?: string }[] };
    let compressed = 0;
    for (const written of doc.write_files) {
      const text = written.encoding === 'gz+b64' ? gunzipSync(Buffer.from(written.content, 'base64')).toString('utf8') : written.content;
      if (written.encoding) compressed += 1;
      expect(text, written.path).toBe(files.find((f) => f.path === written.path)!.content);
    }
    expect(compressed).toBeGreaterThan(3);
    expect(doc.write_files.find((f) => f.path === '/etc/app/app.env')!.encoding).toBeUndefined();
  });
});
