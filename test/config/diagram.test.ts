import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { environmentDiagram } from '../../config/diagram.js';
import { loadEnvironment } from '../../config/load.js';
import { variant } from '../support/synth.js';

const n = (value: number) => value.toLocaleString('en-US');

/** Node IDs declared in a flowchart, and the IDs its edges use. */
function graph(source: string): { declared: Set<string>; used: Set<string> } {
  const declared = new Set<string>();
  const used = new Set<string>();
  for (const line of source.split('\n').map((l) => l.trim())) {
    const decl = /^(?:subgraph )?(\w+)[[(]/.exec(line);
    if (decl) declared.add(decl[1]!);
    const edge = /^(\w+) -(?:->|\.->)(?:\|[^|]*\|)? (\w+)$/.exec(line);
    if (edge) used.add(edge[1]!).add(edge[2]!);
  }
  return { declared, used };
}

describe('GIVEN production WHEN its diagram is drawn', () => {
  const env = loadEnvironment('production');
  const { plan, config } = env;
  const diagram = environmentDiagram(env);

  it('THEN it shows the load balancer with the planned nodes, TLS on the domain, and DNS', () => {
    expect(diagram).toContain(`${plan.loadBalancer.sizeUnit} node(s), ${n(plan.loadBalancer.sizeUnit * 10_000)} connections`);
    expect(diagram).toContain(`TLS: Let's Encrypt for ${config.domain}`);
    expect(diagram).toContain(`DNS A record ${config.domain}`);
  });

  it('THEN it shows the fleet with the planned count, size, spare and per-droplet tuning, behind the firewall', () => {
    if (plan.fleet.kind !== 'droplets') throw new Error('production is planned as fixed droplets');
    expect(diagram).toContain(`${plan.fleet.count} x ${plan.droplet.sizeSlug} droplets, ${plan.fleet.spare} spare`);
    expect(diagram).toContain(`Gunicorn ${plan.tuning.gunicorn.workers} gevent workers x ${n(plan.tuning.gunicorn.workerConnections)}`);
    expect(diagram).toContain(`Nginx ${plan.tuning.nginx.workerProcesses} x ${n(plan.tuning.nginx.workerConnections)} connections`);
    expect(diagram).toContain('Cloud firewall web-production-fleet: port 80 from the LB only, no SSH');
  });

  it('THEN it shows the VPC, PostgreSQL with its standby, every replica, the PgBouncer pool, Valkey and monitoring', () => {
    expect(diagram).toContain(`VPC web-production-vpc ${config.vpc.ipRange}`);
    expect(diagram).toContain(`PostgreSQL ${config.postgres.version} web-production-pg`);
    expect(diagram).toContain(`+ ${config.postgres.standbyNodes} standby node(s)`);
    config.postgres.readReplicas.forEach((r, i) => expect(diagram).toContain(`Read replica ${i + 1}: ${r.sizeSlug}`));
    expect(diagram).toContain(`${n(plan.database.pgbouncerPoolSize)} of ${n(plan.database.primaryConnectionLimit)} connections`);
    expect(diagram).toContain(`Valkey ${config.cache.version} web-production-cache`);
    expect(diagram).toContain('uptime check https://example.com/healthz');
  });

  it('THEN every edge joins declared nodes, subgraphs are closed and no label breaks its quotes', () => {
    const { declared, used } = graph(diagram);
    expect(used.size).toBeGreaterThan(5);
    expect([...used].filter((id) => !declared.has(id))).toEqual([]);
    expect(diagram.match(/^\s*subgraph /gm)?.length).toBe(diagram.match(/^\s*end$/gm)?.length);
    for (const line of diagram.split('\n')) expect((line.match(/"/g) ?? []).length % 2, line).toBe(0);
  });

  it('THEN README.md embeds it (run `npm run readme`)', () => {
    expect(readFileSync('README.md', 'utf8')).toContain(environmentDiagram(env));
  });
});

describe('GIVEN dev (no domain, no recipients) WHEN its diagram is drawn', () => {
  const diagram = environmentDiagram(loadEnvironment('dev'));

  it('THEN it says HTTP only, draws no DNS, no standby, and that alerts are off', () => {
    expect(diagram).toContain('HTTP only: no domain, no certificate');
    expect(diagram).not.toMatch(/^\s*dns/m);
    expect(diagram).toContain('no standby');
    expect(diagram).toContain('no alert recipients: alerts off');
    expect(diagram).toContain('uptime check http://LB IP/healthz');
  });
});

describe('GIVEN an autoscale pool and admin SSH WHEN the diagram is drawn', () => {
  it('THEN it shows the pool bounds and who may SSH', () => {
    const env = variant('staging', { 'fleet.autoscale': { minInstances: 2, maxInstances: 8, targetCpuUtilization: 0.5 }, 'fleet.maxDroplets': 8, 'fleet.adminSshCidrs': ['198.51.100.0/24'] });
    const diagram = environmentDiagram(env);
    expect(diagram).toContain(`autoscale pool 2-8 x ${env.plan.droplet.sizeSlug} at 50% CPU`);
    expect(diagram).toContain('SSH from 198.51.100.0/24');
  });
});
