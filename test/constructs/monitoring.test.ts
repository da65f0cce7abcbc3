import { describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../config/load.js';
import { ALERT_THRESHOLDS } from '../../constructs/monitoring.js';
import { all, only, synthEnvironment, synthShipped, variant, type TerraformJson } from '../support/synth.js';

const production = synthShipped('production');
const dev = synthShipped('dev');

const ref = (json: TerraformJson, type: string, attr: string, index = 0) => `\${${type}.${Object.keys(json.resource[type]!)[index]}.${attr}}`;
const alertsOfType = (json: TerraformJson, type: string) => all(json, 'digitalocean_monitor_alert').filter((a) => a.type === type);
const onlyAlert = (json: TerraformJson, type: string) => {
  const found = alertsOfType(json, type);
  expect(found, type).toHaveLength(1);
  return found[0]!;
};

/** What the provider (2.71, Go validators) accepts; a typo here fails at apply time, so check at synth. */
const PROVIDER_WINDOWS = ['5m', '10m', '30m', '1h'];
const PROVIDER_COMPARE = ['GreaterThan', 'LessThan'];

describe('GIVEN production (a domain, an e-mail recipient) WHEN synthesized', () => {
  it('THEN droplet CPU, memory, load and disk alerts select the fleet by its tag, not by IDs', () => {
    const tag = ref(production, 'digitalocean_tag', 'name');
    for (const type of ['v1/insights/droplet/cpu', 'v1/insights/droplet/memory_utilization_percent', 'v1/insights/droplet/load_5', 'v1/insights/droplet/disk_utilization_percent']) {
      const alert = onlyAlert(production, type);
      expect(alert.tags, type).toEqual([tag]);
      expect(alert.entities, type).toBeUndefined();
    }
  });

  it('THEN the load threshold scales with the droplet size from the plan', () => {
    const vcpus = loadEnvironment('production').plan.droplet.vcpus;
    expect(onlyAlert(production, 'v1/insights/droplet/load_5').value).toBe(vcpus * ALERT_THRESHOLDS.dropletLoadPerVcpu);
  });

  it('THEN the load balancer alerts watch the load balancer by ID', () => {
    const lb = ref(production, 'digitalocean_loadbalancer', 'id');
    expect(onlyAlert(production, 'v1/insights/lbaas/connection_utilization_percent')).toMatchObject({ entities: [lb], compare: 'GreaterThan', value: 80 });
    expect(onlyAlert(production, 'v1/insights/lbaas/droplet_health')).toMatchObject({ entities: [lb], compare: 'GreaterThan', value: 0 });
  });

  it('THEN database CPU, memory and disk alerts watch the Postgres and cache clusters', () => {
    const clusters = [ref(production, 'digitalocean_database_cluster', 'id', 0), ref(production, 'digitalocean_database_cluster', 'id', 1)];
    for (const type of ['v1/dbaas/alerts/cpu_alerts', 'v1/dbaas/alerts/memory_utilization_alerts', 'v1/dbaas/alerts/disk_utilization_alerts']) {
      expect((onlyAlert(production, type).entities as string[]).sort(), type).toEqual(clusters.sort());
    }
  });

  it('THEN every metric alert is enabled, names the environment, uses values the provider accepts and mails the configured address', () => {
    const alerts = all(production, 'digitalocean_monitor_alert');
    expect(alerts).toHaveLength(9);
    for (const a of alerts) {
      expect(PROVIDER_WINDOWS).toContain(a.window);
      expect(PROVIDER_COMPARE).toContain(a.compare);
      expect(a).toMatchObject({ enabled: true, alerts: { email: ['ops@example.com'], slack: [] } });
      expect(a.description).toMatch(/^web-production: /);
    }
  });

  it('THEN an HTTPS uptime check probes /healthz on the domain, with down and SSL-expiry alerts', () => {
    expect(only(production, 'digitalocean_uptime_check')).toMatchObject({ target: 'https://example.com/healthz', type: 'https', enabled: true });
    const check = ref(production, 'digitalocean_uptime_check', 'id');
    const alerts = all(production, 'digitalocean_uptime_alert');
    expect(alerts.map((a) => a.type).sort()).toEqual(['down', 'ssl_expiry']);
    for (const a of alerts) expect(a).toMatchObject({ check_id: check, notifications: [{ email: ['ops@example.com'], slack: [] }] });
    expect(alerts.find((a) => a.type === 'ssl_expiry')).toMatchObject({ threshold: 14, comparison: 'less_than' });
  });
});

describe('GIVEN dev (no domain, no recipients) WHEN synthesized', () => {
  it('THEN the uptime check probes the load balancer IP over HTTP', () => {
    expect(only(dev, 'digitalocean_uptime_check')).toMatchObject({ target: `http://${ref(dev, 'digitalocean_loadbalancer', 'ip')}/healthz`, type: 'http' });
  });

  it('THEN no alert policy is created: an alert nobody receives is not coverage', () => {
    expect(all(dev, 'digitalocean_monitor_alert')).toEqual([]);
    expect(all(dev, 'digitalocean_uptime_alert')).toEqual([]);
  });
});

describe('GIVEN dev with a Slack channel and a git app health-checked on its own path WHEN synthesized', () => {
  const json = synthEnvironment(variant('dev', {
    'alerts.slackWebhooks': [{ channel: '#ops', url: 'https://hooks.slack.com/services/T0/B0/X' }],
    // The demo app serves /healthz only; another path needs an app that serves it.
    app: { source: 'git', gitUrl: 'https://example.com/acme/shop.git', gitRef: 'v1.2.3', wsgiModule: 'shop.wsgi:application' },
    'loadBalancer.healthCheck.path': '/ready',
  }));

  it('THEN alerts go to Slack, there is no SSL-expiry alert, and the check uses the path', () => {
    expect(all(json, 'digitalocean_monitor_alert')).toHaveLength(9);
    for (const a of all(json, 'digitalocean_monitor_alert')) expect(a.alerts).toEqual({ email: [], slack: [{ channel: '#ops', url: 'https://hooks.slack.com/services/T0/B0/X' }] });
    expect(all(json, 'digitalocean_uptime_alert').map((a) => a.type)).toEqual(['down']);
    expect(only(json, 'digitalocean_uptime_check').target).toMatch(/\/ready$/);
  });
});
