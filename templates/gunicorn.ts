/** Render function for Gunicorn's configuration file. */
import type { DropletTuning } from '../config/capacity.js';
import { DROPLET_PATHS } from './paths.js';
import { renderTemplate } from './render.js';

/** Inputs of gunicorn.conf.py besides the tuning. */
export interface GunicornInput {
  readonly gunicorn: DropletTuning['gunicorn'];
  /** The WSGI callable, `module:callable`. */
  readonly wsgiApp: string;
  /** Directory Gunicorn changes to before importing the app. */
  readonly appDir: string;
  /** Process title in ps/top: tells the environment's app apart at a glance. */
  readonly procName: string;
}

/** Python string literal content: the values are module paths and names, but never trust that. */
function pyString(value: string): string {
  if (!/^[\w.:/-]+$/.test(value)) throw new Error(`gunicorn.conf.py: ${JSON.stringify(value)} may hold only letters, digits and . : / - _`);
  return value;
}

/** `/etc/app/gunicorn.conf.py`: gevent workers on the unix socket, sized by the plan. */
export function renderGunicornConf({ gunicorn, wsgiApp, appDir, procName }: GunicornInput): string {
  return renderTemplate('gunicorn/gunicorn.conf.py', {
    wsgiApp: pyString(wsgiApp),
    appDir: pyString(appDir),
    procName: pyString(procName),
    socketPath: DROPLET_PATHS.socket,
    runtimeDir: DROPLET_PATHS.runtimeDir,
    backlog: gunicorn.backlog,
    workers: gunicorn.workers,
    workerConnections: gunicorn.workerConnections,
    keepaliveSeconds: gunicorn.keepaliveSeconds,
    timeoutSeconds: gunicorn.timeoutSeconds,
    gracefulTimeoutSeconds: gunicorn.gracefulTimeoutSeconds,
    maxRequests: gunicorn.maxRequests,
    maxRequestsJitter: gunicorn.maxRequestsJitter,
  }, '#');
}
