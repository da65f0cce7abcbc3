import { monitorAlert, uptimeAlert, uptimeCheck } from '@cdktf/provider-digitalocean';
import { Construct } from 'constructs';
import type { AppFleet } from './app-fleet.js';
import type { LoadBalancer } from './load-balancer.js';

/** Who hears about an alert: DigitalOcean sends e-mail and Slack messages itself. */
export interface AlertRecipients {
  readonly emails: readonly string[];
  readonly slackWebhooks: readonly { readonly channel: string; readonly url: string }[];
}

/** One metric alert: a DigitalOcean alert type, the threshold, and the window it must hold for. */
export interface MetricAlert {
  readonly type: string;
  readonly compare: 'GreaterThan' | 'LessThan';
  readonly value: number;
  readonly window: '5m' | '10m' | '30m' | '1h';
  readonly description: string;
}

/**
 * Thresholds. Each says why; the plan's own margins (config/capacity.ts) set most of them, so an alert
 * means "past what the plan sized for", not "busy".
 */
export const ALERT_THRESHOLDS = {
  /** The plan runs droplets at 70% CPU; 85% for 10 minutes is load the plan did not size for. */
  dropletCpuPercent: 85,
  /** The plan budgets 80% of RAM; 90% leaves the kernel little room before the OOM killer picks a worker. */
  dropletMemoryPercent: 90,
  /** Load average per vCPU: above 1.5 runnable tasks per core, gevent loops wait for CPU and latency grows. */
  dropletLoadPerVcpu: 1.5,
  /** Logs and temp bodies fill the disk slowly; 80% leaves days to act, not minutes. */
  dropletDiskPercent: 80,
  /** The plan sizes the LB with 25% headroom (80% at design load); above that is beyond the design load. */
  lbConnectionPercent: 80,
  /** Unhealthy droplets behind the LB: any one is worth a look, the N+1 spare is then in use. */
  lbUnhealthyDroplets: 0,
  /** Managed databases: sustained CPU above 80% makes failover and maintenance slow. */
  databaseCpuPercent: 80,
  /** Postgres and Valkey keep hot data in memory; above 90% Valkey evicts and Postgres loses its cache. */
  databaseMemoryPercent: 90,
  /** A database whose disk fills stops taking writes; 75% leaves time to resize the cluster. */
  databaseDiskPercent: 75,
  /** Let's Encrypt renews 30 days before expiry; under 14 days left means renewal is failing. */
  sslExpiryDays: 14,
} as const;

/** Uptime probes come from several continents so one region's network trouble is not an outage. */
export const DEFAULT_UPTIME_REGIONS = ['us_east', 'us_west', 'eu_west'] as const;

export interface MonitoringProps {
  /** Prefix of every resource name, e.g. `web-production`. */
  readonly name: string;
  /** Droplet alerts select the fleet by its tag, so replaced or autoscaled droplets are covered. */
  readonly fleet: AppFleet;
  /** vCPUs of one fleet droplet (from the plan), for the load-average threshold. */
  readonly dropletVcpus: number;
  readonly loadBalancer: LoadBalancer;
  /** IDs of the database clusters to watch (PostgreSQL and the cache). */
  readonly databaseClusterIds: readonly string[];
  readonly recipients: AlertRecipients;
  /**
   * The site's name: the uptime check probes `https://<domain><healthPath>` and an SSL-expiry alert
   * watches its certificate.
   * @default - no domain: the check probes `http://<load balancer IP><healthPath>`, no SSL alert
   */
  readonly domain?: string;
  /** @default '/healthz' */
  readonly healthPath?: string;
  /** @default DEFAULT_UPTIME_REGIONS */
  readonly uptimeRegions?: readonly string[];
}

/**
 * DigitalOcean Monitoring for one environment: metric alerts on droplets, the load balancer and the
 * database clusters, and an uptime check from outside with down and SSL-expiry alerts.
 *
 * With no recipients, no alert policy is created (an alert nobody receives only looks like coverage);
 * the uptime check still runs and shows in the control panel. The config rules require a recipient in
 * production.
 */
export class Monitoring extends Construct {
  readonly metricAlerts: monitorAlert.MonitorAlert[] = [];
  readonly uptimeCheck: uptimeCheck.UptimeCheck;
  readonly uptimeAlerts: uptimeAlert.UptimeAlert[] = [];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const path = props.healthPath ?? '/healthz';
    const target = props.domain ? `https://${props.domain}${path}` : `http://${props.loadBalancer.ip}${path}`;
    this.uptimeCheck = new uptimeCheck.UptimeCheck(this, 'uptime-check', {
      name: `${props.name}-healthz`,
      target,
      type: props.domain ? 'https' : 'http',
      regions: [...(props.uptimeRegions ?? DEFAULT_UPTIME_REGIONS)],
      enabled: true,
    });

    const { emails, slackWebhooks } = props.recipients;
    if (emails.length === 0 && slackWebhooks.length === 0) return;
    const email = [...emails];
    const slack = slackWebhooks.map((s) => ({ channel: s.channel, url: s.url }));

    const T = ALERT_THRESHOLDS;
    const droplet: [string, MetricAlert][] = [
      ['droplet-cpu', { type: 'v1/insights/droplet/cpu', compare: 'GreaterThan', value: T.dropletCpuPercent, window: '10m', description: `CPU above ${T.dropletCpuPercent}% for 10 minutes` }],
      ['droplet-memory', { type: 'v1/insights/droplet/memory_utilization_percent', compare: 'GreaterThan', value: T.dropletMemoryPercent, window: '10m', description: `memory above ${T.dropletMemoryPercent}% for 10 minutes` }],
      ['droplet-load', { type: 'v1/insights/droplet/load_5', compare: 'GreaterThan', value: props.dropletVcpus * T.dropletLoadPerVcpu, window: '10m', description: `5-minute load above ${T.dropletLoadPerVcpu} per vCPU` }],
      ['droplet-disk', { type: 'v1/insights/droplet/disk_utilization_percent', compare: 'GreaterThan', value: T.dropletDiskPercent, window: '30m', description: `disk above ${T.dropletDiskPercent}% full` }],
    ];
    const loadBalancer: [string, MetricAlert][] = [
      ['lb-connections', { type: 'v1/insights/lbaas/connection_utilization_percent', compare: 'GreaterThan', value: T.lbConnectionPercent, window: '5m', description: `load balancer connections above ${T.lbConnectionPercent}% of its nodes' capacity` }],
      ['lb-droplet-health', { type: 'v1/insights/lbaas/droplet_health', compare: 'GreaterThan', value: T.lbUnhealthyDroplets, window: '5m', description: 'a droplet behind the load balancer fails its health check' }],
    ];
    const database: [string, MetricAlert][] = [
      ['database-cpu', { type: 'v1/dbaas/alerts/cpu_alerts', compare: 'GreaterThan', value: T.databaseCpuPercent, window: '10m', description: `database CPU above ${T.databaseCpuPercent}% for 10 minutes` }],
      ['database-memory', { type: 'v1/dbaas/alerts/memory_utilization_alerts', compare: 'GreaterThan', value: T.databaseMemoryPercent, window: '10m', description: `database memory above ${T.databaseMemoryPercent}%` }],
      ['database-disk', { type: 'v1/dbaas/alerts/disk_utilization_alerts', compare: 'GreaterThan', value: T.databaseDiskPercent, window: '30m', description: `database disk above ${T.databaseDiskPercent}% full` }],
    ];
    const add = (alertId: string, alert: MetricAlert, select: { tags?: string[]; entities?: string[] }) =>
      this.metricAlerts.push(
        new monitorAlert.MonitorAlert(this, alertId, {
          ...alert,
          description: `${props.name}: ${alert.description}`,
          enabled: true,
          alerts: { email, slack },
          // An empty tags and entities list would watch every resource of the account: always select.
          ...select,
        }),
      );
    for (const [alertId, alert] of droplet) add(alertId, alert, { tags: [props.fleet.tagName] });
    for (const [alertId, alert] of loadBalancer) add(alertId, alert, { entities: [props.loadBalancer.id] });
    if (props.databaseClusterIds.length > 0) {
      for (const [alertId, alert] of database) add(alertId, alert, { entities: [...props.databaseClusterIds] });
    }

    const notifications = [{ email, slack }];
    this.uptimeAlerts.push(
      new uptimeAlert.UptimeAlert(this, 'site-down', {
        checkId: this.uptimeCheck.id,
        name: `${props.name}: ${target} is down`,
        type: 'down',
        // Two minutes of failed probes: one lost probe is noise, a replaced droplet never shows here.
        period: '2m',
        notifications,
      }),
    );
    if (props.domain) {
      this.uptimeAlerts.push(
        new uptimeAlert.UptimeAlert(this, 'ssl-expiry', {
          checkId: this.uptimeCheck.id,
          name: `${props.name}: certificate of ${props.domain} expires soon`,
          type: 'ssl_expiry',
          threshold: T.sslExpiryDays,
          comparison: 'less_than',
          notifications,
        }),
      );
    }
  }
}
