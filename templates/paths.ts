/**
 * Where things live on a droplet. One place, so the unit, Gunicorn, Nginx and cloud-init agree, and the
 * box and the monitoring can find them.
 */
export const DROPLET_PATHS = {
  /** The unit's RuntimeDirectory (tmpfs, created for the app user on start). */
  runtimeDir: '/run/app',
  /** Held by app.socket, outside the RuntimeDirectory that systemd empties whenever app.service stops. */
  socket: '/run/gunicorn-app.sock',
  /** Prometheus multiprocess files of the Gunicorn workers. */
  metricsDir: '/run/app/metrics',
  configDir: '/etc/app',
  envFile: '/etc/app/app.env',
  gunicornConfig: '/etc/app/gunicorn.conf.py',
  appUnit: '/etc/systemd/system/app.service',
  appSocketUnit: '/etc/systemd/system/app.socket',
  nginxLimitsDropIn: '/etc/systemd/system/nginx.service.d/nofile.conf',
  nginxConf: '/etc/nginx/nginx.conf',
  site: '/etc/nginx/conf.d/app.conf',
  errorPage: '/var/www/app-errors/50x.html',
  sysctl: '/etc/sysctl.d/99-tuning.conf',
  limits: '/etc/security/limits.d/90-app.conf',
  /** The demo app's module directory (source: demo). */
  demoDir: '/opt/app/demo',
  demoModule: '/opt/app/demo/demo_app.py',
  /** The user's checkout and virtualenv (source: git). */
  srcDir: '/opt/app/src',
  venvDir: '/opt/app/venv',
  gitInstallScript: '/usr/local/sbin/app-install',
} as const;

/** The unprivileged user the app runs as, and its group (may read the env file). */
export const APP_USER = 'app';

/** Nginx's local-only port for stub_status and the app's /metrics (bound to 127.0.0.1). */
export const LOCAL_STATUS_PORT = 8080;
