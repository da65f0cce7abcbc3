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
  /** The release this droplet runs: the commit SHA of a git app, a hash of the demo app. */
  releaseIdFile: '/opt/app/release-id',
  /** The release's one-off step (migrations) and the unit that runs it once per release across the fleet. */
  releaseStepScript: '/usr/local/sbin/app-release',
  releaseCommand: '/etc/app/release-command',
  releaseUnit: '/etc/systemd/system/app-release.service',
  appReleaseDropIn: '/etc/systemd/system/app.service.d/release.conf',
  /** The database admin's URL (root-only, deleted after use) and the step that grants the app user its privileges. */
  adminEnvFile: '/etc/app/admin.env',
  grantScript: '/usr/local/sbin/app-grant',
  grantUnit: '/etc/systemd/system/app-grant.service',
  /** The readiness contract's state (tmpfs: a reboot starts not ready and not draining). */
  dropletRunDir: '/run/droplet',
  readyFlag: '/run/droplet/ready',
  drainingFlag: '/run/droplet/draining',
  /** Nginx snippet with `add_header X-Droplet-Id`, written at every boot from the metadata service's droplet id (cloud-init's instance id where there is none). */
  dropletIdSnippet: '/run/droplet/nginx-droplet-id.conf',
  dropletIdScript: '/usr/local/sbin/droplet-id',
  dropletIdUnit: '/etc/systemd/system/droplet-id.service',
  readyScript: '/usr/local/sbin/droplet-ready',
  readyUnit: '/etc/systemd/system/droplet-ready.service',
  drainScript: '/usr/local/sbin/droplet-drain',
  drainUnit: '/etc/systemd/system/droplet-drain.service',
  nginxDrainDropIn: '/etc/systemd/system/nginx.service.d/drain.conf',
  /** Logs within the plan's budget: Nginx's rotation (replacing the package's), its timer, journald's cap. */
  nginxLogrotate: '/etc/logrotate.d/nginx',
  logrotateTimerDropIn: '/etc/systemd/system/logrotate.timer.d/often.conf',
  journaldDropIn: '/etc/systemd/journald.conf.d/50-budget.conf',
} as const;

/** The unprivileged user the app runs as, and its group (may read the env file). */
export const APP_USER = 'app';

/** Nginx's local-only port for stub_status and the app's /metrics (bound to 127.0.0.1). */
export const LOCAL_STATUS_PORT = 8080;
