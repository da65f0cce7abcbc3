/**
 * A Mermaid flowchart of what `cdktf deploy` creates for one environment, drawn from the loaded config and
 * its capacity plan (the same numbers the stack receives), so the picture cannot drift from the code.
 * Synth appends it to cdktf.out/<env>.plan.md; docs/production-diagram.md holds production's.
 */
import type { LoadedEnvironment } from './load.js';

const n = (value: number) => value.toLocaleString('en-US');
/** Mermaid labels are quoted; a double quote inside would end them. */
const label = (lines: readonly string[]) => `"${lines.map((l) => l.replace(/"/g, '#quot;')).join('<br/>')}"`;

/** The Mermaid source (without the ``` fence) for one environment. */
export function environmentDiagram(env: LoadedEnvironment): string {
  const { config, plan } = env;
  const stack = `web-${env.name}`;
  const t = plan.tuning;
  const pg = config.postgres;
  const lines: string[] = ['flowchart LR'];
  const node = (id: string, shape: [string, string], text: readonly string[], indent = '    ') => lines.push(`${indent}${id}${shape[0]}${label(text)}${shape[1]}`);
  const edge = (line: string) => lines.push(`  ${line}`);
  const box: [string, string] = ['[', ']'];
  const store: [string, string] = ['[(', ')]'];

  lines.push(`  clients(["Clients: ${n(plan.targetConcurrentRequests)} concurrent requests"])`);
  if (config.domain) lines.push(`  dns[${label([`DNS A record ${config.domain}`, `zone ${config.dnsZone ?? config.domain}`])}]`);

  lines.push(`  subgraph vpc[${label([`VPC ${stack}-vpc ${config.vpc.ipRange}`, `region ${config.region}`])}]`);
  node('lb', box, [
    `Load balancer ${stack}-lb`,
    `${plan.loadBalancer.sizeUnit} node(s), ${n(plan.loadBalancer.sizeUnit * 10_000)} connections`,
    config.domain ? `TLS: Let's Encrypt for ${config.domain}, HTTP/2, HTTP to HTTPS redirect` : 'HTTP only: no domain, no certificate',
    `health check GET ${config.loadBalancer.healthCheck.path} every ${config.loadBalancer.healthCheck.checkIntervalSeconds}s`,
  ]);
  const ssh = config.fleet.adminSshCidrs.length > 0 ? `SSH from ${config.fleet.adminSshCidrs.join(', ')}` : 'no SSH';
  lines.push(`    subgraph firewall[${label([`Cloud firewall ${stack}-fleet: port 80 from the LB only, ${ssh}`])}]`);
  const fleet = plan.fleet.kind === 'droplets'
    ? `${plan.fleet.count} x ${plan.droplet.sizeSlug} droplets, ${plan.fleet.spare} spare`
    : `autoscale pool ${plan.fleet.minInstances}-${plan.fleet.maxInstances} x ${plan.droplet.sizeSlug} at ${Math.round(plan.fleet.targetCpuUtilization * 100)}% CPU`;
  node('fleet', box, [
    fleet,
    `${config.fleet.image}, tag ${stack}-app`,
    `Nginx ${t.nginx.workerProcesses} x ${n(t.nginx.workerConnections)} connections`,
    `Gunicorn ${t.gunicorn.workers} gevent workers x ${n(t.gunicorn.workerConnections)}`,
  ], '      ');
  lines.push('    end');
  node('pool', box, [`PgBouncer pool app-pool: ${pg.pool.mode}`, `${n(plan.database.pgbouncerPoolSize)} of ${n(plan.database.primaryConnectionLimit)} connections`]);
  node('pg', store, [
    `PostgreSQL ${pg.version} ${stack}-pg`,
    `primary ${pg.sizeSlug}`,
    pg.standbyNodes > 0 ? `+ ${pg.standbyNodes} standby node(s), automatic failover` : 'no standby',
  ]);
  pg.readReplicas.forEach((replica, i) => {
    node(`replica${i + 1}`, store, [`Read replica ${i + 1}: ${replica.sizeSlug}`, `region ${replica.region ?? config.region}`]);
  });
  node('cache', store, [`Valkey ${config.cache.version} ${stack}-cache`, `${config.cache.sizeSlug}, ${config.cache.evictionPolicy}`]);
  lines.push('  end');

  const recipients = config.alerts.emails.length + config.alerts.slackWebhooks.length;
  const target = config.domain ? `https://${config.domain}${config.loadBalancer.healthCheck.path}` : `http://LB IP${config.loadBalancer.healthCheck.path}`;
  lines.push(`  monitoring[${label([
    'DigitalOcean Monitoring',
    recipients > 0 ? `droplet, LB and database alerts to ${recipients} recipient(s)` : 'no alert recipients: alerts off',
    `uptime check ${target}`,
  ])}]`);

  edge(`clients -->|${config.domain ? 'HTTPS 443, HTTP 80 redirects' : 'HTTP 80'}| lb`);
  if (config.domain) edge('dns -.-> lb');
  edge('lb -->|HTTP 80 over the VPC| fleet');
  edge('fleet -->|writes, transaction pooling| pool');
  edge('pool --> pg');
  pg.readReplicas.forEach((_, i) => {
    edge(`fleet -->|reads| replica${i + 1}`);
    edge(`pg -.->|replication| replica${i + 1}`);
  });
  edge('fleet -->|rediss, trusted source: fleet tag| cache');
  edge('monitoring -.-> fleet');
  edge('monitoring -.-> lb');
  edge('monitoring -.-> pg');
  edge('monitoring -.-> cache');
  return `${lines.join('\n')}\n`;
}

/** The diagram as a Markdown section, for the plan report and the docs. */
export function diagramSection(env: LoadedEnvironment): string {
  return [`## What gets created: web-${env.name}`, '', '```mermaid', environmentDiagram(env).trimEnd(), '```', ''].join('\n');
}
