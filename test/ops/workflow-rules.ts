/**
 * The security rules the infrastructure workflow must keep, as pure functions over the parsed workflow, so
 * the test can run them on the real file and on mutated copies (each rule must catch its mutation).
 */

/** Cloud credentials: anything that reads or changes the state or the resources (the state and the plans hold every database password, so a read key is a production secret too). */
export const CLOUD_CREDENTIALS = ['DIGITALOCEAN_TOKEN', 'SPACES_ACCESS_KEY_ID', 'SPACES_SECRET_ACCESS_KEY', 'PLAN_ENCRYPTION_KEY'] as const;
/** Secrets that are not cloud credentials but still belong to an environment. */
export const OTHER_SECRETS = ['NOTIFY_WEBHOOK_URL'] as const;
/** Every secret name the workflow may use: the one list the rules and docs/operations.md are checked against. */
export const SECRETS: readonly string[] = [...CLOUD_CREDENTIALS, ...OTHER_SECRETS];

/** Events that run workflow code with the base repository's secrets on input from a pull request or a comment. */
const UNSAFE_EVENTS = ['pull_request_target', 'workflow_run', 'issue_comment'];

export interface Step { name?: string; id?: string; uses?: string; run?: string; if?: string; with?: Record<string, unknown>; env?: Record<string, string>; 'working-directory'?: string }
export interface Job {
  name?: string;
  needs?: string | string[];
  if?: string;
  uses?: string;
  environment?: string | { name: string };
  permissions?: Record<string, string> | string;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  strategy?: { matrix: Record<string, unknown[]> };
  outputs?: Record<string, string>;
  env?: Record<string, string>;
  steps?: Step[];
}
export interface Workflow { on: Record<string, unknown>; env?: Record<string, string>; permissions?: unknown; jobs: Record<string, Job> }

const SECRET_REF = /\bsecrets\b(?:\s*\.\s*([A-Za-z_][A-Za-z0-9_-]*)|\s*\[\s*'([^']*)'\s*\])?/g;
const EXPRESSION = /\$\{\{([\s\S]*?)\}\}/g;

/** Every `secrets` reference in a value: [path, secret name or '*' for a whole-context use]. Only expressions count (`${{ }}`, and `if:`, which is one), not prose that says "secrets". */
function secretRefs(value: unknown, path: string[] = []): Array<{ path: string[]; name: string }> {
  if (typeof value === 'string') {
    const expressions = path.at(-1) === 'if' ? [value] : [...value.matchAll(EXPRESSION)].map((m) => m[1]!);
    return expressions.flatMap((e) => [...e.matchAll(SECRET_REF)].map((m) => ({ path, name: m[1] ?? m[2] ?? '*' })));
  }
  if (Array.isArray(value)) return value.flatMap((v, i) => secretRefs(v, [...path, String(i)]));
  if (value && typeof value === 'object') {
    return Object.entries(value).flatMap(([k, v]) => [
      // `secrets: inherit` hands every secret to a reusable workflow.
      ...(k === 'secrets' ? [{ path: [...path, k], name: '*' }] : []),
      ...secretRefs(v, [...path, k]),
    ]);
  }
  return [];
}

const jobEnvironments = (job: Job): string[] => {
  const env = typeof job.environment === 'object' ? job.environment?.name : job.environment;
  if (!env) return [];
  // Expand ${{ matrix.<key> }} over the matrix values; anything else stays as written (and will not match).
  const m = /\$\{\{\s*matrix\.(\w+)\s*\}\}/.exec(env);
  const values = m ? job.strategy?.matrix?.[m[1]!] : undefined;
  return m && Array.isArray(values) ? values.map((v) => env.replace(m[0], String(v))) : [env];
};

/**
 * Secrets only as the env of a `run` step (never workflow-, job- or action-level), only names from the
 * list, and only in jobs whose environment is restricted to main.
 */
export function secretViolations(wf: Workflow, mainOnlyEnvironments: readonly string[]): string[] {
  const out: string[] = [];
  for (const ref of secretRefs(wf, [])) {
    const [top, job, stepsKey, step, envKey] = ref.path;
    const where = ref.path.join('.');
    if (ref.name === '*') out.push(`${where}: the whole secrets context is handed on; name each secret on its step`);
    else if (!SECRETS.includes(ref.name)) out.push(`${where}: secret ${ref.name} is not in the list of secrets (test/ops/workflow-rules.ts)`);
    if (top !== 'jobs' || stepsKey !== 'steps' || envKey !== 'env' || ref.path.length !== 6) {
      out.push(`${where}: secret ${ref.name} is set outside a step's env (workflow, job or action inputs see it)`);
      continue;
    }
    const theStep = wf.jobs[job!]?.steps?.[Number(step)];
    if (theStep?.uses) out.push(`${where}: secret ${ref.name} is handed to the action ${theStep.uses}; only run steps get secrets`);
    const envs = jobEnvironments(wf.jobs[job!]!);
    if (envs.length === 0) out.push(`${where}: secret ${ref.name} is used in job ${job} without an environment (a repository secret, reachable from any branch)`);
    for (const e of envs) {
      if (!mainOnlyEnvironments.includes(e)) out.push(`${where}: secret ${ref.name} is used in environment ${e}, which is not restricted to main`);
    }
  }
  return out;
}

// ---- Can a job run on a pull_request event? A small evaluator for `if:` with three-valued logic. ----

const UNKNOWN = Symbol('unknown');
type Value = string | number | boolean | null | typeof UNKNOWN;
const PR_CONTEXT: Record<string, Value> = { 'github.event_name': 'pull_request', 'github.ref': 'refs/pull/1/merge', 'github.base_ref': 'main' };
const STATUS = ['success', 'failure', 'cancelled', 'always'];

function tokenize(src: string): string[] {
  const re = /\s*('(?:[^']|'')*'|&&|\|\||==|!=|<=|>=|[!()<>,]|[A-Za-z_][\w.\-]*(?:\[[^\]]*\][\w.\-]*)*|\d+(?:\.\d+)?)/y;
  const tokens: string[] = [];
  let m: RegExpExecArray | null;
  re.lastIndex = 0;
  while (re.lastIndex < src.trim().length && (m = re.exec(src.trim()))) tokens.push(m[1]!);
  return tokens;
}

const truthy = (v: Value): boolean | typeof UNKNOWN => (v === UNKNOWN ? UNKNOWN : Boolean(v) && v !== 0 && v !== '');

/** Evaluates an `if:` expression for a pull_request event: true, false, or UNKNOWN where it depends on run-time state. */
export function evalForPullRequest(expression: string): boolean | typeof UNKNOWN {
  const tokens = tokenize(expression.replace(/^\s*\$\{\{([\s\S]*)\}\}\s*$/, '$1'));
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const or = (): Value => {
    let left = and();
    while (peek() === '||') {
      next();
      const right = and();
      const l = truthy(left), r = truthy(right);
      left = l === true || r === true ? true : l === UNKNOWN || r === UNKNOWN ? UNKNOWN : false;
    }
    return left;
  };
  const and = (): Value => {
    let left = cmp();
    while (peek() === '&&') {
      next();
      const right = cmp();
      const l = truthy(left), r = truthy(right);
      left = l === false || r === false ? false : l === UNKNOWN || r === UNKNOWN ? UNKNOWN : true;
    }
    return left;
  };
  const cmp = (): Value => {
    const left = unary();
    if (peek() === '==' || peek() === '!=') {
      const op = next();
      const right = unary();
      if (left === UNKNOWN || right === UNKNOWN) return UNKNOWN;
      const eq = typeof left === 'string' && typeof right === 'string' ? left.toLowerCase() === right.toLowerCase() : left === right;
      return op === '==' ? eq : !eq;
    }
    return left;
  };
  const unary = (): Value => {
    if (peek() === '!') {
      next();
      const v = truthy(unary());
      return v === UNKNOWN ? UNKNOWN : !v;
    }
    return primary();
  };
  const primary = (): Value => {
    const t = next();
    if (t === undefined) throw new Error(`expression ends early: ${expression}`);
    if (t === '(') {
      const v = or();
      if (next() !== ')') throw new Error(`missing ) in ${expression}`);
      return v;
    }
    if (t.startsWith("'")) return t.slice(1, -1).replace(/''/g, "'");
    if (/^\d/.test(t)) return Number(t);
    if (t === 'true' || t === 'false') return t === 'true';
    if (t === 'null') return null;
    if (peek() === '(') {
      next();
      const args: Value[] = [];
      while (peek() !== ')') {
        args.push(or());
        if (peek() === ',') next();
      }
      next();
      if (t === 'always') return true;
      if (STATUS.includes(t)) return UNKNOWN;
      const [a, b] = args;
      if (a === UNKNOWN || b === UNKNOWN || typeof a !== 'string' || typeof b !== 'string') return UNKNOWN;
      if (t === 'contains') return a.toLowerCase().includes(b.toLowerCase());
      if (t === 'startsWith') return a.toLowerCase().startsWith(b.toLowerCase());
      if (t === 'endsWith') return a.toLowerCase().endsWith(b.toLowerCase());
      return UNKNOWN;
    }
    return t in PR_CONTEXT ? PR_CONTEXT[t]! : UNKNOWN;
  };
  const value = or();
  if (i !== tokens.length) throw new Error(`cannot read the expression from "${tokens[i]}": ${expression}`);
  return truthy(value);
}

const needsOf = (job: Job) => (job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs]);

/** Jobs that may run on a pull_request event (an `if:` that might hold and, unless it uses a status function, needs that may run). */
export function pullRequestJobs(wf: Workflow): string[] {
  if (!('pull_request' in wf.on)) return [];
  const memo = new Map<string, boolean>();
  const reachable = (name: string): boolean => {
    if (memo.has(name)) return memo.get(name)!;
    memo.set(name, true);
    const job = wf.jobs[name]!;
    const cond = job.if === undefined ? true : evalForPullRequest(String(job.if));
    const ignoresNeeds = job.if !== undefined && STATUS.some((s) => new RegExp(`\\b${s}\\s*\\(`).test(String(job.if)));
    const result = cond !== false && (ignoresNeeds || needsOf(job).every(reachable));
    memo.set(name, result);
    return result;
  };
  return Object.keys(wf.jobs).filter(reachable);
}

/** No cloud credential (nor any secret, nor an environment) in a job a pull request can run; no unsafe trigger. */
export function pullRequestViolations(wf: Workflow): string[] {
  const out = Object.keys(wf.on).filter((e) => UNSAFE_EVENTS.includes(e)).map((e) => `on.${e}: runs with the repository's secrets on input from outside`);
  for (const name of pullRequestJobs(wf)) {
    const job = wf.jobs[name]!;
    for (const ref of secretRefs(job, ['jobs', name])) out.push(`${ref.path.join('.')}: secret ${ref.name} is reachable from a pull_request event`);
    for (const e of jobEnvironments(job)) out.push(`jobs.${name}.environment: ${e} is reachable from a pull_request event`);
  }
  return out;
}

const PINNED = /^[\w.-]+\/[\w.-]+(?:\/[^@\s]+)?@[0-9a-f]{40}$/;

/** Every action and reusable workflow pinned to a full commit SHA, its version in a comment on the same line. */
export function pinViolations(wf: Workflow, text: string): string[] {
  const out: string[] = [];
  const uses = Object.entries(wf.jobs).flatMap(([name, job]) => [
    ...(job.uses ? [{ where: `jobs.${name}.uses`, ref: job.uses }] : []),
    ...(job.steps ?? []).flatMap((s, i) => (s.uses ? [{ where: `jobs.${name}.steps.${i}`, ref: s.uses }] : [])),
  ]);
  const lines = text.split('\n');
  for (const { where, ref } of uses) {
    if (ref.startsWith('./')) continue;
    if (ref.startsWith('docker://')) {
      if (!/@sha256:[0-9a-f]{64}$/.test(ref)) out.push(`${where}: ${ref} is not pinned to an image digest`);
      continue;
    }
    if (!PINNED.test(ref)) {
      out.push(`${where}: ${ref} is pinned by tag or branch, not a full commit SHA`);
      continue;
    }
    const commented = lines.filter((l) => l.includes(`uses: ${ref}`));
    if (commented.length === 0 || commented.some((l) => !/#\s*v\d+(\.\d+){0,2}\s*$/.test(l))) {
      out.push(`${where}: ${ref} has no "# vX.Y.Z" version comment`);
    }
  }
  return out;
}

/** All rules at once. */
export function workflowViolations(wf: Workflow, text: string, mainOnlyEnvironments: readonly string[]): string[] {
  return [...pullRequestViolations(wf), ...secretViolations(wf, mainOnlyEnvironments), ...pinViolations(wf, text)];
}
