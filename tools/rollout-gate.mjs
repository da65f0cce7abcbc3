#!/usr/bin/env node
// Rollout gate: waits until the load balancer sends traffic to a new droplet and the droplet passes its
// health check there, by polling the LB's health path until enough 200 responses carry the new droplet's
// `X-Droplet-Id` header (the droplet's Nginx adds it to every response of the health location).
//
// Why through the LB: DigitalOcean's load balancer API shows no per-droplet health, and a creation-time
// `local-exec` has neither SSH nor a route to the droplet. A response that carries the id came through the
// LB from that droplet, so the LB has marked it healthy and the droplet answered its check.
//
// Terraform runs it as a creation-time `local-exec` provisioner of each droplet (create_before_destroy):
// exit 1 taints the new droplet and keeps the old one serving. Zero dependencies, Node >= 18, so it runs
// from a laptop or CI with nothing installed beside Terraform.
//
//   node rollout-gate.mjs --url <LB base URL> --path <health path> [--host <Host/SNI name>]
//                         --droplet-id <id> --passes <n> --interval-seconds <s> --timeout-seconds <s>
//
// Counting: responses from the new droplet (those carrying its id) are counted in a row: a 200 adds one, a
// non-200 carrying its id (it is still starting or draining) starts the count again. Responses of the
// other droplets are only reported. TLS certificates are not verified: a fresh Let's Encrypt certificate
// may not exist yet, and the gate reads only a header. Exit codes: 0 passed, 1 not within the timeout,
// 2 bad arguments.
import http from 'node:http';
import https from 'node:https';

const USAGE =
  'usage: node rollout-gate.mjs --url <http(s)://LB> --path </healthz> [--host <name>] --droplet-id <id> ' +
  '--passes <n> --interval-seconds <s> --timeout-seconds <s>';
/** A response body is read only to free the connection; anything beyond this is not waited for. */
const MAX_BODY_BYTES = 64 * 1024;
/** Progress: one summary line at most this often, besides a line for every response of the new droplet. */
const PROGRESS_EVERY_MS = 10_000;

class UsageError extends Error {}

/** Parse the command line; throws UsageError with one line saying what is wrong. */
export function parseArgs(argv) {
  const known = ['url', 'path', 'host', 'droplet-id', 'passes', 'interval-seconds', 'timeout-seconds'];
  const given = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') ? arg.slice(2, eq > 0 ? eq : undefined) : undefined;
    if (!name || !known.includes(name)) throw new UsageError(`unknown argument ${JSON.stringify(arg)}`);
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined || value === '') throw new UsageError(`--${name} needs a value`);
    given[name] = value;
  }
  for (const name of known) if (name !== 'host' && given[name] === undefined) throw new UsageError(`--${name} is required`);
  let url;
  try {
    url = new URL(given.url);
  } catch {
    throw new UsageError(`--url must be an absolute URL such as http://203.0.113.7, got ${JSON.stringify(given.url)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--url must use http or https, got ${url.protocol.replace(':', '')}`);
  if (!given.path.startsWith('/')) throw new UsageError(`--path must start with /, got ${JSON.stringify(given.path)}`);
  const number = (name, min, integer) => {
    const v = Number(given[name]);
    if (!Number.isFinite(v) || v < min || (integer && !Number.isInteger(v))) {
      throw new UsageError(`--${name} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got ${JSON.stringify(given[name])}`);
    }
    return v;
  };
  const base = url.href.replace(/\/+$/, '');
  return {
    target: new URL(base + given.path),
    host: given.host,
    dropletId: given['droplet-id'],
    passes: number('passes', 1, true),
    intervalSeconds: number('interval-seconds', 0.05, false),
    timeoutSeconds: number('timeout-seconds', 1, false),
  };
}

/** One GET of the health path through the LB; resolves { status, id } or rejects with a one-line error. */
function probe(opts, timeoutMs) {
  const { target, host } = opts;
  const client = target.protocol === 'https:' ? https : http;
  return new Promise((resolve, reject) => {
    const req = client.request(target, {
      method: 'GET',
      // A new connection for every probe: the LB picks a droplet per connection as well as per request.
      agent: false,
      headers: { ...(host ? { Host: host } : {}), 'User-Agent': 'rollout-gate', Connection: 'close' },
      ...(target.protocol === 'https:' ? { rejectUnauthorized: false, ...(host ? { servername: host } : {}) } : {}),
    });
    const timer = setTimeout(() => req.destroy(new Error(`no response within ${(timeoutMs / 1000).toFixed(1)} s`)), timeoutMs);
    req.on('response', (res) => {
      const id = res.headers['x-droplet-id'];
      let bytes = 0;
      res.on('data', (chunk) => {
        bytes += chunk.length;
        if (bytes > MAX_BODY_BYTES) res.destroy();
      });
      const done = () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, id: Array.isArray(id) ? id[0] : id });
      };
      res.on('end', done);
      res.on('close', done);
      res.on('error', done);
    });
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(err.message || err.code || 'request failed'));
    });
    req.end();
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * The wait between two probes: the interval, jittered to between half and one and a half of it. Gates polling
 * at one fixed cadence alias with a round-robin LB: on a first apply, N gates started together each send one
 * probe per round, the LB hands the N droplets out in turn, and a gate can be handed another gate's droplet
 * in every round, for ever (seen in the fleet box: two gates, two droplets, neither passed in 8 minutes).
 */
export function pollWaitMs(intervalSeconds, random = Math.random) {
  return intervalSeconds * 1000 * (0.5 + random());
}

/** Poll until the droplet passed `passes` times in a row; resolves an exit code (0 or 1). */
export async function gate(opts, out = (line) => process.stdout.write(`${line}\n`)) {
  const started = Date.now();
  const deadline = started + opts.timeoutSeconds * 1000;
  const seen = new Map();
  const statuses = new Map();
  let responses = 0;
  let errors = 0;
  let lastError = '';
  let passes = 0;
  let lastProgress = started;
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;
  const where = `${opts.target.href}${opts.host ? ` (Host ${opts.host})` : ''}`;
  out(`rollout-gate: waiting for droplet ${opts.dropletId} to pass ${opts.passes} health check(s) through ${where}, at most ${opts.timeoutSeconds} s`);
  while (Date.now() < deadline) {
    const round = Date.now();
    const timeoutMs = Math.max(500, Math.min(10_000, deadline - round));
    try {
      const r = await probe(opts, timeoutMs);
      responses += 1;
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      const id = r.id ?? '(none)';
      seen.set(id, (seen.get(id) ?? 0) + 1);
      if (r.id === opts.dropletId) {
        passes = r.status === 200 ? passes + 1 : 0;
        out(`  ${elapsed()}: ${r.status} from droplet ${opts.dropletId}: ${passes}/${opts.passes}${r.status === 200 ? '' : ' (not 200: counting again)'}`);
        if (passes >= opts.passes) {
          out(`rollout-gate: droplet ${opts.dropletId} passed ${passes} health check(s) through the load balancer after ${elapsed()}`);
          return 0;
        }
      }
    } catch (err) {
      errors += 1;
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() - lastProgress >= PROGRESS_EVERY_MS) {
      lastProgress = Date.now();
      out(`  ${elapsed()}: ${summary()}`);
    }
    const wait = round + pollWaitMs(opts.intervalSeconds) - Date.now();
    if (wait > 0) await sleep(Math.min(wait, Math.max(0, deadline - Date.now())));
  }
  out(`rollout-gate: droplet ${opts.dropletId} did not pass ${opts.passes} health check(s) through ${where} within ${opts.timeoutSeconds} s: ${summary()}`);
  return 1;

  function summary() {
    const ids = [...seen].map(([id, n]) => `${id} x${n}`).join(', ') || 'none';
    const codes = [...statuses].map(([s, n]) => `${s} x${n}`).join(', ') || 'none';
    return `${responses} responses (status ${codes}), droplet ids seen: ${ids}, ${passes}/${opts.passes} passes in a row, ${errors} errors${lastError ? `, last error: ${lastError}` : ''}`;
  }
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`rollout-gate: ${err.message}\n${USAGE}\n`);
    return 2;
  }
  return gate(opts);
}

if (process.argv[1]?.endsWith('rollout-gate.mjs')) {
  // Never a stack trace: whatever escapes is one line.
  process.on('uncaughtException', (err) => {
    process.stderr.write(`rollout-gate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
  main().then((code) => process.exit(code), (err) => {
    process.stderr.write(`rollout-gate: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
}
