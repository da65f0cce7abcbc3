/**
 * YAML -> validated `EnvironmentConfig` -> capacity `Plan`, or located errors.
 *
 * Every problem is reported at once, each as `file:line:column key.path: what is wrong, got X`, so a person
 * fixes a config in one pass. Phases run in order (YAML syntax, schema, cross-key rules, capacity plan)
 * because each later phase needs the earlier one's types; within a phase every problem is collected.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isMap, isPair, isScalar, LineCounter, parseDocument, visit, type Document, type Node } from 'yaml';
import type { core } from 'zod';
import { planCapacity, type Plan } from './capacity.js';
import { checkPlaceholders, checkRules, rangesOverlap } from './rules.js';
import { environmentSchema, type EnvironmentConfig } from './schema.js';

/** The directory holding `<env>.yaml` files. */
export const CONFIG_DIR = path.dirname(new URL(import.meta.url).pathname);

export interface ConfigProblem {
  readonly file: string;
  readonly line: number;
  readonly column: number;
  /** Dotted key path, e.g. `postgres.readReplicas[0].sizeSlug`; empty for the whole file. */
  readonly key: string;
  readonly message: string;
}

/** Thrown when one or more environments are invalid; `message` lists every problem, one per line. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly ConfigProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ConfigError';
  }
}

export function formatProblem(p: ConfigProblem): string {
  return `${p.file}:${p.line}:${p.column}${p.key ? ` ${p.key}` : ''}: ${p.message}`;
}

export interface LoadedEnvironment {
  readonly name: string;
  readonly file: string;
  readonly config: EnvironmentConfig;
  readonly plan: Plan;
  /**
   * Located problems that do not stop synth: placeholder values outside production, or in a file marked
   * `example: true`. `npx cdktf synth` prints them.
   */
  readonly warnings: readonly ConfigProblem[];
  /** A problem located at a key of this environment's file, for checks made after loading. */
  problemAt(keys: readonly (string | number)[], message: string): ConfigProblem;
}

/** Environment names end up in resource names (`web-<env>-pg-replica-1`): DigitalOcean allows a-z, 0-9 and dashes. */
const ENVIRONMENT_NAME = /^[a-z][a-z0-9-]{0,19}$/;

/** Hints for keys people reach for that do not exist, keyed by dotted path. */
const UNKNOWN_KEY_HINTS: Readonly<Record<string, string>> = {
  'cache.readReplicas': 'Managed Valkey has no read replicas (DigitalOcean); scale the cache with a larger sizeSlug',
  'cache.standbyNodes': 'this project provisions one Valkey node; a larger sizeSlug scales it',
};

type KeyPath = readonly (string | number)[];

/** A key as a path segment: plain keys dotted, odd ones (spaces, dots, empty) quoted so a message stays one token. */
const keySegment = (acc: string, k: string) =>
  /^[^\s.[\]"]+$/.test(k) ? (acc ? `${acc}.${k}` : k) : `${acc}[${JSON.stringify(k).replace(/\s/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`)}]`;

export function dottedPath(keys: KeyPath): string {
  return keys.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : keySegment(acc, k)), '');
}

const show = (value: unknown) => (value === undefined ? 'nothing' : JSON.stringify(value));

/** Environment names: the `config/*.yaml` files. */
export function environmentNames(dir = CONFIG_DIR): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => f.slice(0, -'.yaml'.length))
    .sort();
}

/** Load `config/<name>.yaml`. Throws `ConfigError` with every problem found. */
export function loadEnvironment(name: string, dir = CONFIG_DIR): LoadedEnvironment {
  return loadEnvironmentFile(path.join(dir, `${name}.yaml`), name);
}

const TIER_ORDER: readonly EnvironmentConfig['tier'][] = ['development', 'staging', 'production'];

/**
 * Load several environments, reporting the problems of all of them together, ordered by tier. The
 * environments of one directory share an account, so they are also checked against each other
 * (`checkAcrossEnvironments`), including the valid files of `dir` that were not asked for.
 */
export function loadEnvironments(names: readonly string[], dir = CONFIG_DIR): LoadedEnvironment[] {
  const loaded: LoadedEnvironment[] = [];
  const problems: ConfigProblem[] = [];
  for (const name of names) {
    try {
      loaded.push(loadEnvironment(name, dir));
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error;
      problems.push(...error.problems);
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  const others = environmentNames(dir).filter((name) => !names.includes(name)).flatMap((name) => {
    try {
      return [loadEnvironment(name, dir)];
    } catch (error) {
      if (error instanceof ConfigError) return []; // reported when it is synthesized itself
      throw error;
    }
  });
  const across = checkAcrossEnvironments([...loaded, ...others]).filter((p) => loaded.some((e) => e.file === p.file));
  if (across.length > 0) throw new ConfigError(across);
  // Tables read development -> staging -> production, whatever the file names.
  return loaded.sort((a, b) => TIER_ORDER.indexOf(a.config.tier) - TIER_ORDER.indexOf(b.config.tier) || a.name.localeCompare(b.name));
}

/** Load any environment file (the box keeps its own outside config/). */
export function loadEnvironmentFile(file: string, name = path.basename(file).replace(/\.ya?ml$/, '')): LoadedEnvironment {
  const shown = path.relative(process.cwd(), file) || file;
  const fail = (message: string, line = 1, column = 1, key = ''): never => {
    throw new ConfigError([{ file: shown, line, column, key, message }]);
  };
  if (!ENVIRONMENT_NAME.test(name)) {
    fail(`the environment name "${name}" (from the file name) must be 1-20 lowercase letters, digits or dashes, starting with a letter: it becomes part of droplet, database and load balancer names, which DigitalOcean limits to those characters`, 0, 0);
  }
  if (!existsSync(file)) {
    const dir = path.dirname(file);
    const known = existsSync(dir) ? environmentNames(dir) : [];
    fail(`file not found${known.length ? `; environments here: ${known.join(', ')}` : ''}`, 0, 0);
  }
  const text = readFileSync(file, 'utf8');
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => {
        const pos = lines.linePos(e.pos[0]);
        return { file: shown, line: pos.line, column: pos.col, key: '', message: `YAML: ${e.message.split('\n')[0]}` };
      }),
    );
  }
  let data: unknown;
  try {
    data = doc.toJS();
  } catch (error) {
    // Aliases are resolved only while building values: an alias without its anchor, or an alias bomb.
    let offset = 0;
    visit(doc, { Alias: (_, node) => { if (!offset && node.resolve(doc) === undefined) offset = node.range?.[0] ?? 0; } });
    const pos = lines.linePos(offset);
    fail(`YAML: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`, pos.line, pos.col);
  }
  if (data === null || data === undefined) fail('the file is empty; an environment needs tier, region, vpc, fleet, postgres, cache and capacity (see config/environment.schema.json)');
  const at = (keys: KeyPath, message: string, onKey = false): ConfigProblem => {
    const pos = lines.linePos(locate(doc, keys, onKey));
    return { file: shown, line: pos.line, column: pos.col, key: dottedPath(keys), message };
  };

  const parsed = environmentSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.flatMap((issue) => schemaProblems(issue, [], at)));
  }
  // Placeholders stop production; elsewhere, and in a shipped example, they are warnings.
  const placeholdersAreErrors = parsed.data.tier === 'production' && !parsed.data.example;
  const placeholders = checkPlaceholders(parsed.data).map((i) =>
    at(i.path, placeholdersAreErrors
      ? `${i.message}. Production refuses placeholders`
      : `warning: ${i.message}`),
  );
  const ruleIssues = checkRules(parsed.data).map((i) => at(i.path, i.message));
  if (ruleIssues.length > 0 || (placeholdersAreErrors && placeholders.length > 0)) {
    throw new ConfigError([...ruleIssues, ...(placeholdersAreErrors ? placeholders : [])].sort((a, b) => a.line - b.line || a.column - b.column));
  }
  const planned = planCapacity(name, parsed.data);
  if (!planned.ok) throw new ConfigError(planned.issues.map((i) => at(i.path, i.message)));
  return { name, file: shown, config: parsed.data, plan: planned.plan, warnings: placeholdersAreErrors ? [] : placeholders, problemAt: at };
}

/**
 * Checks across the environments of one account (the files of one config directory), each problem located
 * in every file involved: VPC ranges must not overlap (DigitalOcean refuses a second overlapping VPC), no
 * two environments answer on the same domain (two A records would split visitors between them), and each
 * environment keeps its Terraform state in a Spaces bucket of its own (a Spaces access key grants a whole
 * bucket, so a shared bucket lets one environment's key overwrite another's state).
 */
export function checkAcrossEnvironments(environments: readonly LoadedEnvironment[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const where = (e: LoadedEnvironment) => `${e.name} (${e.file})`;
  for (const [i, a] of environments.entries()) {
    for (const b of environments.slice(i + 1)) {
      if (rangesOverlap(a.config.vpc.ipRange, b.config.vpc.ipRange)) {
        for (const [self, other] of [[a, b], [b, a]] as const) {
          problems.push(self.problemAt(['vpc', 'ipRange'], `overlaps ${other.config.vpc.ipRange} of ${where(other)}; the VPCs of one account must not overlap (DigitalOcean refuses the second). Give each environment its own range, e.g. a different second octet`));
        }
      }
      if (a.config.domain && a.config.domain === b.config.domain) {
        for (const [self, other] of [[a, b], [b, a]] as const) {
          problems.push(self.problemAt(['domain'], `${a.config.domain} is also the domain of ${where(other)}: both would write an A record for it, and DNS would send visitors to either load balancer at random. Give each environment its own name (e.g. staging.${a.config.domain})`));
        }
      }
      const [sa, sb] = [a.config.state, b.config.state];
      if (sa.backend === 'spaces' && sb.backend === 'spaces' && sa.bucket === sb.bucket && sa.region === sb.region) {
        const sameKey = stateKey(a) === stateKey(b);
        for (const [self, other] of [[a, b], [b, a]] as const) {
          problems.push(self.problemAt(['state', 'bucket'], sameKey
            ? `${sa.bucket} with key ${stateKey(self)} is also the state of ${where(other)}: the two would overwrite each other's state. Give each environment its own bucket`
            : `${sa.bucket} also holds the state of ${where(other)}; a Spaces access key grants a whole bucket, so either environment's key could overwrite the other's state. Give each environment its own bucket`));
        }
      }
    }
  }
  // One account: its droplet limit covers every environment's largest fleet at once, replacements included.
  const peak = environments.reduce((sum, e) => sum + e.plan.limits.peakDroplets, 0);
  for (const e of environments) {
    const { dropletLimit, dropletLimitPinned } = e.plan.limits;
    if (dropletLimitPinned && environments.length > 1 && peak > dropletLimit) {
      const each = environments.map((o) => `${o.name} ${o.plan.limits.peakDroplets}`).join(', ');
      problems.push(e.problemAt(['account', 'dropletLimit'], `the environments of one account may run ${peak} droplets at once (${each}; largest fleets plus replacement batches); the account allows ${dropletLimit}. Raise account.dropletLimit once DigitalOcean grants more, or lower fleet.maxDroplets somewhere`));
    }
  }
  return problems;
}

/** The object key of an environment's remote state (the S3 backend's `key`). */
export function stateKey(env: LoadedEnvironment): string | undefined {
  const state = env.config.state;
  return state.backend === 'spaces' ? (state.key ?? `web-${env.name}/terraform.tfstate`) : undefined;
}

/** Turn one zod issue into located problems with a message that says what is allowed and what was given. */
function schemaProblems(
  issue: core.$ZodIssue,
  prefix: KeyPath,
  at: (keys: KeyPath, message: string, onKey?: boolean) => ConfigProblem,
): ConfigProblem[] {
  const keys = [...prefix, ...issue.path.map((k) => (typeof k === 'number' ? k : String(k)))];
  const given = show(issue.input);
  switch (issue.code) {
    case 'unrecognized_keys':
      return issue.keys.map((key) => {
        const full = [...keys, key];
        return at(full, UNKNOWN_KEY_HINTS[dottedPath(full)] ?? `unknown key; allowed here: ${allowedKeys(keys).join(', ')}`, true);
      });
    case 'invalid_type':
      return [at(keys, issue.input === undefined ? `is required (${issue.expected})` : `must be ${article(issue.expected)}, got ${given}`)];
    case 'too_big':
    case 'too_small': {
      if (!isDefaultMessage(issue.message)) return [at(keys, issue.message)];
      const big = issue.code === 'too_big';
      const limit = big ? issue.maximum : issue.minimum;
      const relation = issue.inclusive === false ? (big ? 'below' : 'above') : big ? 'at most' : 'at least';
      if (issue.origin === 'array') return [at(keys, `must have ${relation} ${limit} entries, got ${(issue.input as unknown[]).length}`)];
      if (issue.origin === 'string') return [at(keys, `must be ${relation} ${limit} characters long, got ${given}`)];
      return [at(keys, `must be ${relation} ${limit}, got ${given}`)];
    }
    case 'invalid_value':
      return [at(keys, `must be ${issue.values.length === 1 ? show(issue.values[0]) : `one of ${issue.values.map((v) => show(v)).join(', ')}`}, got ${given}`)];
    case 'invalid_union':
      if (issue.discriminator && 'options' in issue && issue.options) {
        const where = keys.at(-1) === issue.discriminator ? keys : [...keys, issue.discriminator];
        return [at(where, `must be one of ${issue.options.map((o) => show(o)).join(', ')}, got ${show((issue.input as Record<string, unknown> | undefined)?.[issue.discriminator])}`)];
      }
      return [at(keys, `${isDefaultMessage(issue.message) ? 'does not match any allowed form' : issue.message}, got ${given}`)];
    case 'invalid_key':
      return issue.issues.map((inner) => at(keys, `key ${show(inner.input)} ${inner.message}`));
    case 'invalid_format':
      return [at(keys, `${isDefaultMessage(issue.message) ? `must be a valid ${issue.format}` : issue.message}, got ${given}`)];
    default:
      return [at(keys, `${issue.message}, got ${given}`)];
  }
}

/** zod's own messages ("Too big: ...", "Invalid ...") are replaced by ours; a schema's custom message is kept. */
function isDefaultMessage(message: string): boolean {
  return /^(Too (big|small)|Invalid)/.test(message);
}

function article(expected: string): string {
  return /^[aeiou]/.test(expected) ? `an ${expected}` : `a ${expected}`;
}

/** Keys the schema allows in the object at `keys` (for "unknown key" messages). */
function allowedKeys(keys: KeyPath): string[] {
  let schema: core.$ZodType = environmentSchema as unknown as core.$ZodType;
  const unwrap = (s: core.$ZodType): core.$ZodType => {
    const def = s._zod.def as unknown as { type: string; innerType?: core.$ZodType; element?: core.$ZodType };
    if (def.innerType) return unwrap(def.innerType);
    return s;
  };
  for (const key of keys) {
    schema = unwrap(schema);
    const def = schema._zod.def as unknown as { type: string; shape?: Record<string, core.$ZodType>; element?: core.$ZodType };
    if (def.type === 'array' && def.element) schema = def.element;
    else if (def.shape && typeof key === 'string' && def.shape[key]) schema = def.shape[key];
    else return [];
  }
  const def = unwrap(schema)._zod.def as unknown as { type: string; shape?: Record<string, unknown>; options?: core.$ZodType[] };
  if (def.shape) return Object.keys(def.shape);
  if (def.options) return [...new Set(def.options.flatMap((o) => Object.keys((o._zod.def as unknown as { shape?: object }).shape ?? {})))];
  return [];
}

/** Offset of the node at `keys` (or of its key with `onKey`), else of the nearest ancestor that exists. */
function locate(doc: Document, keys: KeyPath, onKey = false): number {
  let node: unknown = doc.contents;
  let offset = (doc.contents as Node | null)?.range?.[0] ?? 0;
  for (const [i, key] of keys.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key));
      if (!pair) return offset;
      const last = i === keys.length - 1;
      const keyNode = pair.key as Node;
      offset = (last && onKey) || !pair.value ? (keyNode.range?.[0] ?? offset) : ((pair.value as Node).range?.[0] ?? offset);
      node = pair.value;
    } else if (node && typeof node === 'object' && 'items' in node && Array.isArray((node as { items: unknown[] }).items)) {
      const item = (node as { items: unknown[] }).items[Number(key)] as Node | undefined;
      if (!item) return offset;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}
