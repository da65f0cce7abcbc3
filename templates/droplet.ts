/**
 * Everything a web droplet receives, and its user data.
 *
 * `dropletFiles` lists every file with path, owner and mode; `renderUserData` wraps them into one
 * cloud-config with the packages, the app user and the commands that start the services. Only the env
 * files (the app's, and the admin's root-only one for app-grant) carry connection strings (Terraform
 * references in the stack); every other file is plain text
 * known at synth time, snapshot-tested and checked by the tool that reads it (test/tools).
 */
import { gzipSync } from 'node:zlib';
import type { DropletTuning } from '../config/capacity.js';
import type { AppConfig } from '../config/schema.js';
import { toCloudConfigYaml, type CloudConfig, type CloudConfigCommand, type FileMode } from '../constructs/cloud-config.js';
import { renderAdminEnv, renderAppEnv, renderDemoApp, renderGitInstallScript } from './app.js';
import { renderGunicornConf } from './gunicorn.js';
import { appUserLimits, renderLimitsConf, renderSysctlConf } from './host-tuning.js';
import {
  DEMO_DEEP_CHECK_PATH, DEMO_RELEASE_COMMAND, renderDemoReleaseIdFile, renderAppReleaseDropIn, renderDrainScript, renderDrainUnit, renderGrantScript, renderGrantUnit,
  renderDropletIdScript, renderDropletIdUnit, renderNginxDrainDropIn, renderReadyScript, renderReadyUnit, renderReleaseCommand,
  renderReleaseStepScript, renderReleaseUnit,
} from './lifecycle.js';
import { renderJournaldDropIn, renderLogrotateTimerDropIn, renderNginxLogrotate } from './logs.js';
import { renderErrorPage, renderNginxConf, renderSiteConf } from './nginx.js';
import { APP_USER, DROPLET_PATHS } from './paths.js';
import { renderAppService, renderAppSocket, renderNginxLimitsDropIn } from './systemd.js';

/** What the droplet's files are rendered from: config and the capacity plan's tuning. */
export interface DropletInput {
  /** Environment name, e.g. `production`: names the process and the unit. */
  environment: string;
  /** The VPC's private range: Nginx trusts X-Forwarded-For from it (the load balancer). */
  vpcIpRange: string;
  /**
   * The droplet's size slug, written into the user data: a size change then replaces droplets through the
   * health gate instead of resizing them in place (a hard power-off of every droplet at once).
   */
  sizeSlug: string;
  /** The load balancer's health-check path (`loadBalancer.healthCheck.path`): Nginx's readiness location. */
  healthCheckPath: string;
  app: AppConfig;
  cacheTtlSeconds: number;
  tuning: DropletTuning;
}

/** Connection strings for the env file; in the stack these are Terraform references (cdktf token strings), in the box real URLs. */
export interface AppConnections {
  databaseUrl: string;
  /** The primary without PgBouncer, for the release step's session advisory lock. */
  databaseDirectUrl: string;
  /** Comma-separated; empty when there are no read replicas. */
  databaseReplicaUrls: string;
  redisUrl: string;
  /**
   * The primary directly as the cluster's admin (DigitalOcean's `doadmin`), for app-grant only: written to a
   * root-only file that app-grant.service deletes once the app user has its privileges (README "Database roles").
   */
  databaseAdminUrl: string;
}

/** One file a droplet receives. */
export interface DropletFile {
  readonly path: string;
  /** `user:group` */
  readonly owner: string;
  readonly permissions: FileMode;
  readonly content: string;
  /**
   * Written by cloud-init's write-files-deferred (final stage, after packages and users) instead of
   * write-files (init stage, before users-groups creates `app` and before packages are installed).
   */
  readonly defer: boolean;
}

/**
 * Droplet user data "must be plain text and may not exceed 64 KiB in size"
 * (digitalocean/openapi specification/resources/droplets/models/droplet_create.yml, `user_data`).
 */
export const USER_DATA_MAX_BYTES = 65536;

/**
 * Debian 12 / Ubuntu 24.04 packages: Nginx, curl for the readiness check, logrotate (in the images already;
 * named because its timer is tuned here), psycopg2 for the release step,
 * and for the demo app Gunicorn with its libraries.
 */
const DEMO_PACKAGES = [
  'nginx', 'curl', 'logrotate', 'gunicorn', 'python3-gevent', 'python3-sqlalchemy', 'python3-psycopg2', 'python3-psycogreen',
  'python3-redis', 'python3-prometheus-client',
] as const;
/**
 * A git app's own libraries come from its hashed lock into a virtualenv; Gunicorn, gevent and psycogreen
 * are Debian's (the versions the rendered files are tested against), seen through --system-site-packages.
 */
const GIT_PACKAGES = [
  'nginx', 'curl', 'logrotate', 'git', 'python3-venv', 'python3-pip', 'gunicorn', 'python3-gevent', 'python3-psycopg2', 'python3-psycogreen',
] as const;

const root = 'root:root';

/**
 * Files from this size on travel gzipped (cloud-init's `encoding: gz+b64`): the user data must stay well
 * inside 64 KiB, and YAML's block indentation adds a fifth to plain text. Their file snapshots stay readable.
 */
export const COMPRESS_FROM_BYTES = 1024;

/** gzip + base64, byte-identical on every machine (mtime 0, OS byte fixed to Unix). */
export function gzipBase64(text: string): string {
  const gz = gzipSync(Buffer.from(text, 'utf8'), { level: 9 });
  gz[9] = 3;
  return gz.toString('base64');
}

/** Every file a droplet receives, in the order cloud-init writes them. */
export function dropletFiles(input: DropletInput, connections: AppConnections): DropletFile[] {
  const { tuning, app, environment } = input;
  const demo = app.source === 'demo';
  const appDir = demo ? DROPLET_PATHS.demoDir : DROPLET_PATHS.srcDir;
  const demoModule = renderDemoApp();
  // The release's one-off step: the demo's schema, or the git app's releaseCommand (none: only the role's timeout).
  const releaseCommand = demo ? DEMO_RELEASE_COMMAND : app.releaseCommand;
  const file = (path: string, content: string, permissions: FileMode = '0644', owner = root, defer = false): DropletFile =>
    ({ path, owner, permissions, content, defer });
  const files: DropletFile[] = [
    file(DROPLET_PATHS.sysctl, renderSysctlConf(tuning.sysctl)),
    file(DROPLET_PATHS.limits, renderLimitsConf(appUserLimits(APP_USER, tuning.gunicorn.nofile))),
    // Before the nginx package: its first start already has the limit.
    file(DROPLET_PATHS.nginxLimitsDropIn, renderNginxLimitsDropIn(tuning.nginx)),
    file(DROPLET_PATHS.appUnit, renderAppService({
      environment,
      gunicorn: tuning.gunicorn,
      // A git app: Debian's Gunicorn module run by the virtualenv's Python, so it imports the app's locked packages.
      gunicornBin: demo ? '/usr/bin/gunicorn' : `${DROPLET_PATHS.venvDir}/bin/python3 -m gunicorn`,
      appDir,
    })),
    file(DROPLET_PATHS.appSocketUnit, renderAppSocket({ environment, gunicorn: tuning.gunicorn })),
    file(DROPLET_PATHS.gunicornConfig, renderGunicornConf({
      gunicorn: tuning.gunicorn,
      wsgiApp: demo ? 'demo_app:application' : app.wsgiModule,
      appDir,
      procName: `app-${environment}`,
    })),
    file(DROPLET_PATHS.errorPage, renderErrorPage()),
    // After the nginx package, so dpkg installs its own files first and ours replace them.
    file(DROPLET_PATHS.nginxConf, renderNginxConf(tuning.nginx, tuning.logs), '0644', root, true),
    file(DROPLET_PATHS.site, renderSiteConf({ nginx: tuning.nginx, vpcIpRange: input.vpcIpRange, healthPath: input.healthCheckPath }), '0644', root, true),
    // Logs within the plan's budget. After the nginx package, so its logrotate file is replaced, not kept.
    file(DROPLET_PATHS.nginxLogrotate, renderNginxLogrotate(tuning.logs), '0644', root, true),
    file(DROPLET_PATHS.logrotateTimerDropIn, renderLogrotateTimerDropIn(tuning.logs)),
    file(DROPLET_PATHS.journaldDropIn, renderJournaldDropIn(tuning.logs)),
    // The readiness contract: the droplet's id in health responses, the ready file, the drain.
    file(DROPLET_PATHS.dropletIdScript, renderDropletIdScript(), '0755'),
    file(DROPLET_PATHS.dropletIdUnit, renderDropletIdUnit()),
    file(DROPLET_PATHS.readyScript, renderReadyScript(demo ? DEMO_DEEP_CHECK_PATH : input.healthCheckPath), '0755'),
    file(DROPLET_PATHS.readyUnit, renderReadyUnit(environment)),
    file(DROPLET_PATHS.drainScript, renderDrainScript(tuning.drain), '0755'),
    file(DROPLET_PATHS.drainUnit, renderDrainUnit(tuning.drain)),
    file(DROPLET_PATHS.nginxDrainDropIn, renderNginxDrainDropIn(tuning.drain)),
    ...(demo
      ? [file(DROPLET_PATHS.demoModule, demoModule), file(DROPLET_PATHS.releaseIdFile, renderDemoReleaseIdFile(demoModule))]
      : [file(DROPLET_PATHS.gitInstallScript, renderGitInstallScript(app), '0755')]),
    // Always: without a command the unit still sets the app role's statement timeout (the plan's).
    file(DROPLET_PATHS.releaseStepScript, renderReleaseStepScript(), '0755'),
    ...(releaseCommand === undefined ? [] : [
      file(DROPLET_PATHS.releaseCommand, renderReleaseCommand({ workDir: appDir, command: releaseCommand, venvDir: demo ? undefined : DROPLET_PATHS.venvDir }), '0755'),
    ]),
    file(DROPLET_PATHS.releaseUnit, renderReleaseUnit(environment, appDir, releaseCommand !== undefined)),
    file(DROPLET_PATHS.appReleaseDropIn, renderAppReleaseDropIn()),
    // The app user's privileges on its database, granted by the admin before any release step.
    file(DROPLET_PATHS.grantScript, renderGrantScript(), '0755'),
    file(DROPLET_PATHS.grantUnit, renderGrantUnit(environment)),
    // Root only: the app (user app, group www-data) never reads the admin's password.
    file(DROPLET_PATHS.adminEnvFile, renderAdminEnv(connections.databaseAdminUrl), '0600', root, true),
    // Group app exists only after users-groups: deferred. systemd (root) reads it; Nginx cannot.
    file(DROPLET_PATHS.envFile, renderAppEnv({
      environment,
      databaseUrl: connections.databaseUrl,
      databaseDirectUrl: connections.databaseDirectUrl,
      databaseReplicaUrls: connections.databaseReplicaUrls,
      redisUrl: connections.redisUrl,
      database: tuning.database,
      cache: tuning.cache,
      cacheTtlSeconds: input.cacheTtlSeconds,
      // No load-test wait may outlast a worker's heartbeat timeout (it is far inside the proxy timeouts).
      ioMaxSeconds: tuning.app.ioMaxSeconds,
      extra: app.env,
    }), '0640', `root:${APP_USER}`, true),
  ];
  return files;
}

/** The cloud-config document: packages, the app user, the files, and the commands that start it all. */
export function dropletCloudConfig(input: DropletInput, connections: AppConnections): CloudConfig {
  const demo = input.app.source === 'demo';
  const runcmd: CloudConfigCommand[] = [
    // Every command is safe to run again (cloud-init runs them once per instance; an operator may re-run).
    ...(demo ? [] : [[DROPLET_PATHS.gitInstallScript]]),
    ['sysctl', '--system'],
    // Our nginx.conf includes conf.d only; removing Debian's default site keeps sites-enabled honest.
    ['rm', '-f', '/etc/nginx/sites-enabled/default'],
    ['install', '-d', '-m', '0755', '/opt/app/static', '/opt/app/media'],
    ['systemctl', 'daemon-reload'],
    // journald's cap and logrotate's period take effect now, not at the next boot.
    ['systemctl', 'restart', 'systemd-journald.service'],
    ['systemctl', 'restart', 'logrotate.timer'],
    ['systemctl', 'enable', 'app-grant.service', 'app.socket', 'app.service', 'nginx.service', 'droplet-id.service', 'droplet-ready.service', 'droplet-drain.service'],
    // The socket, then the app (which takes it over, after its release step), then Nginx with the droplet's id.
    ['systemctl', 'start', 'app.socket'],
    ['systemctl', 'restart', 'app.service'],
    ['systemctl', 'restart', 'nginx.service'],
    // Armed now, so a shutdown from here on drains first; ready once the deep check passes (not waited for here).
    ['systemctl', 'start', 'droplet-drain.service'],
    ['systemctl', 'start', '--no-block', 'droplet-ready.service'],
  ];
  return {
    package_update: true,
    packages: [...(demo ? DEMO_PACKAGES : GIT_PACKAGES)],
    groups: [APP_USER],
    users: [
      // Keep the image's default user (DigitalOcean's root SSH keys stay as they are).
      'default',
      { name: APP_USER, system: true, primary_group: APP_USER, homedir: '/opt/app', no_create_home: true, shell: '/usr/sbin/nologin', lock_passwd: true },
    ],
    write_files: dropletFiles(input, connections).map(({ path, owner, permissions, content, defer }) => {
      // Never the env files: their Terraform references must stay readable text for Terraform to fill in.
      const gz = path !== DROPLET_PATHS.envFile && path !== DROPLET_PATHS.adminEnvFile && Buffer.byteLength(content, 'utf8') >= COMPRESS_FROM_BYTES;
      return { path, owner, permissions, ...(gz ? { encoding: 'gz+b64' as const, content: gzipBase64(content) } : { content }), ...(defer ? { defer } : {}) };
    }),
    runcmd,
  };
}

/** The droplet's user data: `#cloud-config` text, checked against DigitalOcean's size limit. */
export function renderUserData(input: DropletInput, connections: AppConnections): string {
  const text = toCloudConfigYaml(
    dropletCloudConfig(input, connections),
    `Rendered from templates/droplet.ts for environment ${input.environment}, droplet size ${input.sizeSlug}. Do not edit on the host: droplets are replaced, not patched.`,
  );
  checkUserDataSize(text);
  return text;
}

/**
 * Throw when user data exceeds DigitalOcean's 64 KiB limit.
 * @param reserveBytes bytes to keep free, e.g. for Terraform references that resolve to longer text at apply
 */
export function checkUserDataSize(text: string, reserveBytes = 0): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes + reserveBytes > USER_DATA_MAX_BYTES) {
    throw new Error(
      `droplet user data is ${bytes} bytes${reserveBytes ? ` (+${reserveBytes} reserved)` : ''}; DigitalOcean accepts at most ${USER_DATA_MAX_BYTES} (64 KiB). ` +
        'Shrink the rendered files, or give large write_files contents encoding gz+b64 (constructs/cloud-config.ts).',
    );
  }
}
