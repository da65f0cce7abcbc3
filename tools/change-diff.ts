/**
 * What `terraform plan` would do to a deployed stack when its configuration moves from `base` to
 * `head`, estimated from the two synthesized `cdk.tf.json` documents alone (no state, no
 * credentials). It assumes the deployed stack matches `base`.
 *
 * A resource's argument "changes" when its text changes, or when it references something whose value
 * changes: a replaced or new resource (its computed attributes are unknown until apply), a data source
 * whose arguments changed (it is read again, e.g. `data.cloudinit_config.x.rendered` when a part's
 * content changed), or an argument of a resource that itself changes. An argument that changes this way
 * and is ForceNew (tools/force-new.ts) replaces the resource; that propagates transitively.
 */
import { cloudConfigChanges } from './cloud-config-diff.js';
import { META_ARGUMENTS, REPLACEMENT_RULES } from './force-new.js';

type Body = Record<string, unknown>;
type Blocks = Record<string, Record<string, Body>>;

/** The parts of a synthesized `cdk.tf.json` the diff reads. */
export interface TerraformDocument {
  resource?: Blocks;
  data?: Blocks;
  moved?: { from: string; to: string }[];
  [key: string]: unknown;
}

/** What Terraform would do to one resource. `unknown`: it changes, but its type is not in the table. */
export type Action = 'create' | 'update' | 'replace' | 'destroy' | 'unknown';

/** Why an argument of a resource counts as changed. */
export interface ArgumentChange {
  readonly name: string;
  /** `text`: the configuration differs; `unknown`: same text, but a referenced value changes. */
  readonly how: 'text' | 'unknown';
  /** For `unknown`: each referenced address and what happens to it. */
  readonly via: readonly { address: string; reason: string }[];
  readonly forcesReplacement: boolean;
  /** Terraform meta-argument (lifecycle, provisioner, depends_on, timeouts): never replaces. */
  readonly meta: boolean;
}

/** One resource Terraform would act on. */
export interface ResourceChange {
  readonly address: string;
  readonly type: string;
  readonly action: Action;
  /** The configuration this resource has in head (base for a destroy). */
  readonly body: Body;
  readonly changes: readonly ArgumentChange[];
  /** For a replacement: what forces it (argument names, or a `replace_triggered_by` reference). */
  readonly forcedBy: readonly string[];
  /** Set when a `moved` block renamed it; the base address. */
  readonly movedFrom?: string;
  /** For a cloud-init document: which files and keys of the cloud-config differ. */
  readonly detail?: readonly string[];
}

/** The estimated plan of one stack. */
export interface StackDiff {
  /** Resources with an action, in address order. */
  readonly resources: readonly ResourceChange[];
  /** Data sources read again with changed arguments (they change what references them). */
  readonly data: readonly ResourceChange[];
}

interface Node {
  readonly address: string;
  readonly type: string;
  readonly kind: 'resource' | 'data';
  readonly body: Body;
}

interface Status {
  /** none: no change; read: data source re-read with changed arguments. */
  readonly action: Action | 'none' | 'read';
  readonly changes: readonly ArgumentChange[];
  readonly forcedBy: readonly string[];
}

function nodesOf(doc: TerraformDocument | undefined): Map<string, Node> {
  const nodes = new Map<string, Node>();
  for (const [kind, blocks] of [['resource', doc?.resource], ['data', doc?.data]] as const) {
    for (const [type, byName] of Object.entries(blocks ?? {})) {
      for (const [name, body] of Object.entries(byName)) {
        const address = kind === 'data' ? `data.${type}.${name}` : `${type}.${name}`;
        nodes.set(address, { address, type, kind, body });
      }
    }
  }
  return nodes;
}

/** Structural equality of JSON values, ignoring cdktf's `//` metadata keys. */
function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).filter((k) => k !== '//');
  const kb = Object.keys(b).filter((k) => k !== '//');
  if (ka.length !== kb.length) return false;
  return ka.every((k) => deepEqual((a as Body)[k], (b as Body)[k]));
}

/** A reference found in an expression: the address and the first attribute named after it, if any. */
export interface Reference {
  readonly address: string;
  readonly attribute?: string;
}

const REFERENCE = /(?<![\w.-])((?:data\.)?[a-z][a-z0-9_]*\.[A-Za-z0-9_-]+)(?:\.([a-z_][a-z0-9_]*))?/g;

/** The bodies of `${...}` and `%{...}` in a string; `$${` and `%%{` are escaped literals, skipped. */
export function interpolations(text: string): string[] {
  const found: string[] = [];
  for (let i = 0; i < text.length - 1; i++) {
    const c = text[i];
    if ((c === '$' || c === '%') && text[i + 1] === c && text[i + 2] === '{') { i += 2; continue; }
    if ((c !== '$' && c !== '%') || text[i + 1] !== '{') continue;
    let depth = 0;
    let j = i + 1;
    for (; j < text.length; j++) {
      if (text[j] === '{') depth++;
      else if (text[j] === '}' && --depth === 0) break;
    }
    found.push(text.slice(i + 2, j));
    i = j;
  }
  return found;
}

/** Every reference to a known address anywhere in a value (strings inside objects and arrays too). */
export function referencesIn(value: unknown, known: (address: string) => boolean): Reference[] {
  const refs: Reference[] = [];
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      for (const expression of interpolations(v)) {
        for (const m of expression.matchAll(REFERENCE)) {
          if (known(m[1]!)) refs.push(m[2] ? { address: m[1]!, attribute: m[2] } : { address: m[1]! });
        }
      }
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === 'object') Object.values(v).forEach(visit);
  };
  visit(value);
  return refs;
}

/** `replace_triggered_by` entries are bare references (`digitalocean_x.y` or `digitalocean_x.y.attr`). */
function triggerReferences(body: Body, known: (address: string) => boolean): Reference[] {
  const lifecycle = body.lifecycle as Body | undefined;
  const entries = Array.isArray(lifecycle?.replace_triggered_by) ? lifecycle.replace_triggered_by : [];
  return entries.flatMap((entry) => {
    const text = String(entry).replace(/^\$\{(.*)\}$/s, '$1');
    return referencesIn(`\${${text}}`, known);
  });
}

/** Estimate the plan of one stack from its base and head documents (either may be absent). */
export function diffStacks(base: TerraformDocument | undefined, head: TerraformDocument | undefined): StackDiff {
  const before = nodesOf(base);
  const after = nodesOf(head);
  // A `moved` block in head renames a base object instead of destroying and creating it.
  const baseAddressOf = new Map<string, string>();
  for (const move of head?.moved ?? []) {
    if (before.has(move.from) && after.has(move.to) && !after.has(move.from)) baseAddressOf.set(move.to, move.from);
  }
  const counterpart = (address: string) => before.get(baseAddressOf.get(address) ?? address);
  const known = (address: string) => after.has(address);

  const memo = new Map<string, Status>();
  const NONE: Status = { action: 'none', changes: [], forcedBy: [] };

  /** Does the value of `ref` (in head) differ from what it was, and why? */
  const refChange = (ref: Reference): string | undefined => {
    const target = after.get(ref.address)!;
    const status = statusOf(target);
    switch (status.action) {
      case 'none': return undefined;
      case 'create': return 'created (attributes known only after apply)';
      case 'replace': return 'replaced (attributes known only after apply)';
      case 'read': {
        const detail = target.type === 'cloudinit_config' ? cloudConfigChanges(counterpart(target.address)!.body, target.body) : [];
        // A few names say why; the full list is in the report's data source section.
        const shown = detail.length > 3 ? [...detail.slice(0, 3), `${detail.length - 3} more`] : detail;
        return `read again with changed arguments${shown.length ? ` (${shown.join(', ')})` : ''}`;
      }
      case 'unknown': return 'changing, maybe replaced (not in the replacement table)';
      default: {
        if (ref.attribute === undefined) return 'updated';
        const changed = status.changes.find((c) => c.name === ref.attribute && !c.meta);
        return changed ? `updated (\`${ref.attribute}\` changes)` : undefined;
      }
    }
  };

  const statusOf = (node: Node): Status => {
    const cached = memo.get(node.address);
    if (cached) return cached;
    memo.set(node.address, NONE); // Terraform configurations have no cycles; this only guards the walk.
    const old = counterpart(node.address);
    const status = old ? compare(node, old) : { action: 'create' as const, changes: [], forcedBy: [] };
    memo.set(node.address, status);
    return status;
  };

  const compare = (node: Node, old: Node): Status => {
    const rule = REPLACEMENT_RULES[node.type];
    const changes: ArgumentChange[] = [];
    const names = [...new Set([...Object.keys(old.body), ...Object.keys(node.body)])].filter((k) => k !== '//').sort();
    for (const name of names) {
      const meta = META_ARGUMENTS.includes(name);
      const textChanged = !deepEqual(old.body[name], node.body[name]);
      const via = meta ? [] : referencesIn(node.body[name], known).flatMap((ref) => {
        const reason = refChange(ref);
        return reason ? [{ address: ref.attribute ? `${ref.address}.${ref.attribute}` : ref.address, reason }] : [];
      });
      if (!textChanged && via.length === 0) continue;
      const forceNew = !meta && node.kind === 'resource' && rule !== undefined
        && (rule.forceNew.includes(name) || (textChanged && rule.forceNewIf?.[name]?.(old.body[name], node.body[name]) === true));
      changes.push({ name, how: textChanged ? 'text' : 'unknown', via: textChanged ? [] : dedupe(via), forcesReplacement: forceNew, meta });
    }
    if (node.kind === 'data') {
      // Terraform reads a data source at apply, not plan, when something it depends_on has changes: every
      // attribute it returns is then unknown during plan (Terraform's data source docs on depends_on, and the
      // caveat added in hashicorp/terraform PR #27267).
      const deps = Array.isArray(node.body.depends_on) ? node.body.depends_on.map((d) => `\${${String(d).replace(/^\$\{(.*)\}$/s, '$1')}}`) : [];
      const via = referencesIn(deps, known).flatMap((ref) => {
        const action = statusOf(after.get(ref.address)!).action;
        return ['create', 'replace', 'update', 'unknown'].includes(action) ? [{ address: ref.address, reason: `has changes (${action}), so the read waits until apply` }] : [];
      });
      if (via.length > 0) changes.push({ name: 'depends_on', how: 'unknown', via: dedupe(via), forcesReplacement: false, meta: false });
    }
    const forcedBy = changes.filter((c) => c.forcesReplacement).map((c) => c.name);
    for (const trigger of node.kind === 'resource' ? triggerReferences(node.body, known) : []) {
      const target = statusOf(after.get(trigger.address)!);
      const fires = trigger.attribute === undefined
        ? ['update', 'replace', 'unknown'].includes(target.action)
        : target.action === 'replace' || target.changes.some((c) => c.name === trigger.attribute);
      if (fires) forcedBy.push(`lifecycle.replace_triggered_by (${trigger.address}${trigger.attribute ? `.${trigger.attribute}` : ''} changes)`);
    }
    if (changes.length === 0 && forcedBy.length === 0) return NONE;
    if (node.kind === 'data') return { action: 'read', changes, forcedBy: [] };
    const onlyMeta = changes.every((c) => c.meta) && forcedBy.length === 0;
    const action: Action = forcedBy.length > 0 ? 'replace' : rule || onlyMeta ? 'update' : 'unknown';
    return { action, changes, forcedBy };
  };

  const resources: ResourceChange[] = [];
  const data: ResourceChange[] = [];
  for (const node of after.values()) {
    const status = statusOf(node);
    if (status.action === 'none') continue;
    if (node.kind === 'data') {
      if (status.action !== 'read') continue;
      const old = counterpart(node.address)!;
      const detail = node.type === 'cloudinit_config' ? cloudConfigChanges(old.body, node.body) : [];
      data.push({ address: node.address, type: node.type, action: 'update', body: node.body, changes: status.changes, forcedBy: [], ...(detail.length ? { detail } : {}) });
      continue;
    }
    const movedFrom = baseAddressOf.get(node.address);
    resources.push({ address: node.address, type: node.type, action: status.action as Action, body: node.body, changes: status.changes, forcedBy: status.forcedBy, ...(movedFrom ? { movedFrom } : {}) });
  }
  const movedAway = new Set(baseAddressOf.values());
  for (const node of before.values()) {
    if (node.kind === 'resource' && !after.has(node.address) && !movedAway.has(node.address)) {
      resources.push({ address: node.address, type: node.type, action: 'destroy', body: node.body, changes: [], forcedBy: [] });
    }
  }
  const byAddress = (a: ResourceChange, b: ResourceChange) => a.address.localeCompare(b.address, 'en', { numeric: true });
  return { resources: resources.sort(byAddress), data: data.sort(byAddress) };
}

function dedupe<T extends { address: string }>(items: T[]): T[] {
  const seen = new Set<string>();
  return items.filter((i) => !seen.has(i.address) && seen.add(i.address));
}
