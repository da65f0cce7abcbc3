/** Render functions for Nginx's main configuration, the app's site and the error page. */
import type { DropletTuning } from '../config/capacity.js';
import { checkUrlPath } from './lifecycle.js';
import { renderLogSampling } from './logs.js';
import { DROPLET_PATHS, LOCAL_STATUS_PORT } from './paths.js';
import { renderTemplate } from './render.js';

/** `/etc/nginx/nginx.conf`: workers, open files, connections, keepalive, gzip, the sampled JSON access log. */
export function renderNginxConf(nginx: DropletTuning['nginx'], logs: DropletTuning['logs']): string {
  return renderTemplate('nginx/nginx.conf', {
    workerProcesses: nginx.workerProcesses,
    workerRlimitNofile: nginx.workerRlimitNofile,
    workerConnections: nginx.workerConnections,
    keepaliveTimeoutSeconds: nginx.keepaliveTimeoutSeconds,
    clientBodyBufferKib: nginx.clientBodyBufferKib,
    clientMaxBodyMib: nginx.clientMaxBodyMib,
    logSampling: renderLogSampling(logs),
  }, '#');
}

/** Inputs of the site besides the tuning. */
export interface SiteInput {
  readonly nginx: DropletTuning['nginx'];
  /** The VPC's range: the load balancer's address, trusted for X-Forwarded-For. */
  readonly vpcIpRange: string;
  /** The load balancer's health-check path (`loadBalancer.healthCheck.path`): the readiness contract's location. */
  readonly healthPath: string;
}

/** `/etc/nginx/conf.d/app.conf`: the upstream to Gunicorn's socket and the public and local servers. */
export function renderSiteConf({ nginx, vpcIpRange, healthPath }: SiteInput): string {
  return renderTemplate('nginx/site.conf', {
    socketPath: DROPLET_PATHS.socket,
    upstreamKeepalive: nginx.upstreamKeepalive,
    upstreamKeepaliveTimeoutSeconds: nginx.upstreamKeepaliveTimeoutSeconds,
    listenBacklog: nginx.listenBacklog,
    vpcIpRange,
    healthPath: checkUrlPath(healthPath, 'loadBalancer.healthCheck.path'),
    dropletIdSnippet: DROPLET_PATHS.dropletIdSnippet,
    drainingFlag: DROPLET_PATHS.drainingFlag,
    readyFlag: DROPLET_PATHS.readyFlag,
    proxyConnectTimeoutSeconds: nginx.proxyConnectTimeoutSeconds,
    proxySendTimeoutSeconds: nginx.proxySendTimeoutSeconds,
    proxyReadTimeoutSeconds: nginx.proxyReadTimeoutSeconds,
    shedAboveRequests: nginx.shedAboveRequests,
    shedRetryAfterSeconds: nginx.shedRetryAfterSeconds,
    errorPageDir: DROPLET_PATHS.errorPage.slice(0, DROPLET_PATHS.errorPage.lastIndexOf('/')),
    localStatusPort: LOCAL_STATUS_PORT,
  }, '#');
}

/** The page Nginx serves for its own 5xx errors (the app is down or too slow). */
export function renderErrorPage(): string {
  return renderTemplate('nginx/50x.html', {}, 'html');
}
