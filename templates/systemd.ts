/** Render functions for the app's systemd unit and the nginx.service drop-in. */
import type { DropletTuning } from '../config/capacity.js';
import { DROPLET_PATHS } from './paths.js';
import { renderTemplate } from './render.js';

/** Inputs of app.service besides the tuning. */
export interface AppServiceInput {
  readonly environment: string;
  readonly gunicorn: DropletTuning['gunicorn'];
  /** The gunicorn executable: Debian's for the demo app, the virtualenv's for a git app. */
  readonly gunicornBin: string;
  readonly appDir: string;
}

/** `/etc/systemd/system/app.service`: Gunicorn as the app user, hardened, with the plan's LimitNOFILE. */
export function renderAppService({ environment, gunicorn, gunicornBin, appDir }: AppServiceInput): string {
  return renderTemplate('systemd/app.service', {
    environment,
    envFile: DROPLET_PATHS.envFile,
    metricsDir: DROPLET_PATHS.metricsDir,
    appDir,
    gunicorn: gunicornBin,
    gunicornConfig: DROPLET_PATHS.gunicornConfig,
    stopTimeoutSeconds: gunicorn.stopTimeoutSeconds,
    nofile: gunicorn.nofile,
    // RuntimeDirectory= takes paths relative to /run.
    runtimeDirs: [DROPLET_PATHS.runtimeDir, DROPLET_PATHS.metricsDir].map((p) => p.replace(/^\/run\//, '')).join(' '),
  }, '#');
}

/** `/etc/systemd/system/app.socket`: systemd holds the app's socket, so restarts queue connections. */
export function renderAppSocket({ environment, gunicorn }: Pick<AppServiceInput, 'environment' | 'gunicorn'>): string {
  return renderTemplate('systemd/app.socket', { environment, socketPath: DROPLET_PATHS.socket, backlog: gunicorn.backlog }, '#');
}

/** `/etc/systemd/system/nginx.service.d/limits.conf`: Nginx's open-files limit under systemd. */
export function renderNginxLimitsDropIn(nginx: DropletTuning['nginx']): string {
  return renderTemplate('systemd/nginx-limits.conf', { nofile: nginx.nofile }, '#');
}
