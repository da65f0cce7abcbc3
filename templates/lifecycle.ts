/**
 * Render functions for a droplet's lifecycle (README "Readiness contract" and "Releases"): its id in the
 * health responses, readiness, the drain at shutdown, and the release's one-off step.
 */
import { createHash } from 'node:crypto';
import type { DropletTuning } from '../config/capacity.js';
import { shellQuote } from './app.js';
import { DROPLET_PATHS } from './paths.js';
import { renderedHeader, renderTemplate } from './render.js';

/** The drain script's own time beyond its wait for the load balancer (stat, touch, logging). */
const DRAIN_SCRIPT_SLACK_SECONDS = 5;
/** Longest a release step may take (migrations; a droplet booting beside another waits for its lock). */
export const RELEASE_STEP_TIMEOUT_SECONDS = 900;
/** The demo app's deep check: the database answers and the release step has made the schema. */
export const DEMO_DEEP_CHECK_PATH = '/readyz';

/**
 * A URL path Nginx (`location = ...`) and the shell scripts may carry unquoted: no space, quote,
 * semicolon, brace or `$`.
 */
export function checkUrlPath(path: string, key: string): string {
  if (!/^\/[A-Za-z0-9._~/-]*$/.test(path)) {
    throw new Error(`${key}: ${JSON.stringify(path)} must be a plain URL path (letters, digits, . _ ~ - /) such as /healthz`);
  }
  return path;
}

/** `/usr/local/sbin/droplet-id`: cloud-init's instance id into the Nginx snippet with X-Droplet-Id. */
export function renderDropletIdScript(): string {
  return renderTemplate('lifecycle/droplet-id.sh', { snippet: DROPLET_PATHS.dropletIdSnippet, runDir: DROPLET_PATHS.dropletRunDir }, '#');
}

/** `droplet-id.service`: runs droplet-id before Nginx at every boot. */
export function renderDropletIdUnit(): string {
  return renderTemplate('systemd/droplet-id.service', { script: DROPLET_PATHS.dropletIdScript }, '#');
}

/** `/usr/local/sbin/droplet-ready`: the deep check through Gunicorn's socket, then the ready file. */
export function renderReadyScript(checkPath: string): string {
  return renderTemplate('lifecycle/droplet-ready.sh', {
    runDir: DROPLET_PATHS.dropletRunDir,
    readyFlag: DROPLET_PATHS.readyFlag,
    socketPath: DROPLET_PATHS.socket,
    checkPath: checkUrlPath(checkPath, 'deep check path'),
  }, '#');
}

/** `droplet-ready.service`: after app.service and nginx.service; its stop removes the ready file. */
export function renderReadyUnit(environment: string): string {
  return renderTemplate('systemd/droplet-ready.service', { environment, script: DROPLET_PATHS.readyScript, readyFlag: DROPLET_PATHS.readyFlag }, '#');
}

/** `/usr/local/sbin/droplet-drain`: the draining file, the wait for the load balancer, and the manual drain. */
export function renderDrainScript(drain: DropletTuning['drain']): string {
  return renderTemplate('lifecycle/droplet-drain.sh', {
    runDir: DROPLET_PATHS.dropletRunDir,
    drainingFlag: DROPLET_PATHS.drainingFlag,
    lbDetectSeconds: drain.lbDetectSeconds,
  }, '#');
}

/** `droplet-drain.service`: stopped first at shutdown; its stop is the wait for the load balancer. */
export function renderDrainUnit(drain: DropletTuning['drain']): string {
  return renderTemplate('systemd/droplet-drain.service', {
    script: DROPLET_PATHS.drainScript,
    stopTimeoutSeconds: drain.lbDetectSeconds + DRAIN_SCRIPT_SLACK_SECONDS,
  }, '#');
}

/**
 * Nginx's share of the plan's stop budget: what is left of it after the load balancer's detection and
 * Gunicorn's request drain (the plan states the budget as their sum plus Nginx's stop).
 */
export function nginxStopSeconds(drain: DropletTuning['drain']): number {
  const seconds = drain.stopBudgetSeconds - drain.lbDetectSeconds - drain.requestSeconds;
  if (!(seconds > 0)) throw new Error(`drain: the stop budget ${drain.stopBudgetSeconds} s leaves Nginx no time after ${drain.lbDetectSeconds} s + ${drain.requestSeconds} s`);
  return seconds;
}

/** `nginx.service.d/drain.conf`: Nginx starts before (so stops after) the app, with X-Droplet-Id written first. */
export function renderNginxDrainDropIn(drain: DropletTuning['drain']): string {
  return renderTemplate('systemd/nginx-drain.conf', { stopTimeoutSeconds: nginxStopSeconds(drain) }, '#');
}

/** `/usr/local/sbin/app-release`: the advisory lock, the platform_releases table, the step. */
export function renderReleaseStepScript(): string {
  return renderTemplate('app/release-step.py', {}, '#');
}

/**
 * `app-release.service`: the step as the app user with the app's environment, before app.service; without a
 * release command it only sets the role's statement timeout.
 */
export function renderReleaseUnit(environment: string, appDir: string, hasCommand: boolean): string {
  return renderTemplate('systemd/app-release.service', {
    environment,
    envFile: DROPLET_PATHS.envFile,
    appDir,
    script: DROPLET_PATHS.releaseStepScript,
    releaseIdFile: DROPLET_PATHS.releaseIdFile,
    commandArgs: hasCommand ? ` --command ${DROPLET_PATHS.releaseCommand}` : '',
    timeoutSeconds: RELEASE_STEP_TIMEOUT_SECONDS,
  }, '#');
}

/** `/usr/local/sbin/app-grant`: USAGE and CREATE on schema public for the app user, as the cluster admin. */
export function renderGrantScript(): string {
  return renderTemplate('app/grant-step.py', {}, '#');
}

/** `app-grant.service`: the grant before the release step, from the root-only admin env file, which it then deletes. */
export function renderGrantUnit(environment: string): string {
  return renderTemplate('systemd/app-grant.service', {
    environment,
    envFile: DROPLET_PATHS.envFile,
    adminEnvFile: DROPLET_PATHS.adminEnvFile,
    configDir: DROPLET_PATHS.configDir,
    script: DROPLET_PATHS.grantScript,
  }, '#');
}

/** `app.service.d/release.conf`: the app requires its release step. */
export function renderAppReleaseDropIn(): string {
  return renderTemplate('systemd/app-release.conf', {}, '#');
}

/** Inputs of the release command script. */
export interface ReleaseCommandInput {
  /** Directory the step runs in (the checkout, or the demo's module directory). */
  readonly workDir: string;
  /** A shell command line; for a git app `app.releaseCommand`, run with the virtualenv first on PATH. */
  readonly command: string;
  /** The git app's virtualenv, put first on PATH; omitted for the demo (Debian's python3). */
  readonly venvDir?: string;
}

/** `/etc/app/release-command`: the release's one-off step as a shell script. */
export function renderReleaseCommand({ workDir, command, venvDir }: ReleaseCommandInput): string {
  if (/[\r\n]/.test(command)) throw new Error('app.releaseCommand: must be one line (call a script for more)');
  return renderTemplate('app/release-command.sh', {
    workDir: shellQuote(workDir),
    pathLine: venvDir ? `PATH=${shellQuote(`${venvDir}/bin`)}:"$PATH"; export PATH` : '# Debian\'s python3 and packages, as the app runs.',
    command,
  }, '#');
}

/** The demo app's release step: its schema. */
export const DEMO_RELEASE_COMMAND = 'exec /usr/bin/python3 -m demo_app release';

/** The demo app's release id: a hash of its rendered module, so a changed demo is a new release. */
export function demoReleaseId(demoModule: string): string {
  return `demo-${createHash('sha256').update(demoModule).digest('hex').slice(0, 16)}`;
}

/** `/opt/app/release-id` of the demo app: comment lines, then the id (app-release skips lines starting with #). */
export function renderDemoReleaseIdFile(demoModule: string): string {
  return `${renderedHeader('lifecycle.ts', '#')}${demoReleaseId(demoModule)}\n`;
}
