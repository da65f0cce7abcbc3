/**
 * The change report as Markdown: per environment a one-line summary, then what needs a person's
 * attention (droplet replacements and in-place resizes, other replacements that interrupt service, any
 * change to a stateful resource, types the replacement table does not know), then every resource
 * created, replaced, updated in place or destroyed, by Terraform address, and the data sources read
 * again. Resources of one kind that change for the same reason share a line.
 */
import type { ArgumentChange, ResourceChange, StackDiff } from './change-diff.js';
import { REPLACEMENT_RULES, typeLabel } from './force-new.js';

/** One environment's estimated plan. */
export interface EnvironmentDiff {
  readonly name: string;
  readonly diff: StackDiff;
}

const VERBS = { create: 'created', replace: 'replaced', update: 'updated in place', destroy: 'destroyed', unknown: 'changed (replacement unknown: not in the table)' } as const;

function plural(label: string, n: number): string {
  if (n === 1) return label;
  const [head, ...rest] = label.split(' (');
  const word = head!.endsWith('s') ? head : `${head}s`;
  return rest.length ? `${word} (${rest.join(' (')}` : word!;
}

function joinWords(items: string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

/** "3 droplets and 1 read replica" for a set of resources. */
function counted(resources: readonly ResourceChange[]): string {
  const counts = new Map<string, number>();
  for (const r of resources) {
    const label = typeLabel(r.type, r.body);
    counts.set(label, (counts.get(label) ?? 0) + 1);
  }
  return joinWords([...counts].map(([label, n]) => `${n} ${plural(label, n)}`));
}

/** The plain-English line: "production: 1 droplet created; nothing replaced". */
export function summaryLine({ name, diff }: EnvironmentDiff): string {
  if (diff.resources.length === 0) return `${name}: no changes`;
  const parts: string[] = [];
  for (const action of ['create', 'replace', 'update', 'destroy', 'unknown'] as const) {
    const matching = diff.resources.filter((r) => r.action === action);
    if (matching.length > 0) parts.push(`${counted(matching)} ${VERBS[action]}`);
    else if (action === 'replace') parts.push('nothing replaced');
  }
  return `${name}: ${parts.join('; ')}`;
}

function argumentText(c: ArgumentChange): string {
  if (c.how === 'text') return `\`${c.name}\``;
  // Many references with one reason (a project listing every droplet) read as one clause.
  const byReason = new Map<string, string[]>();
  for (const v of c.via) byReason.set(v.reason, [...(byReason.get(v.reason) ?? []), `\`${v.address}\``]);
  const clauses = [...byReason].map(([reason, addresses]) => `${joinWords(addresses)} ${addresses.length > 1 ? 'are' : 'is'} ${reason}`);
  return `\`${c.name}\` (unknown until apply: ${clauses.join('; ')})`;
}

function isStateful(r: ResourceChange): boolean {
  return REPLACEMENT_RULES[r.type]?.stateful === true;
}

/**
 * Lines that must be read first: stateful changes, droplet replacements, other replacements and in-place
 * changes that interrupt service, types the table does not know. Resources flagged for the same reason share a line.
 */
export function attentionItems(diff: StackDiff): string[] {
  const groups = new Map<string, { title: string; plural: string; addresses: string[] }>();
  const add = (title: string, pluralTitle: string, address: string, rest: string) => {
    const key = `${title}\u0000${rest}`;
    const group = groups.get(key) ?? { title, plural: pluralTitle, addresses: [] };
    group.addresses.push(address);
    groups.set(key, group);
  };
  for (const r of diff.resources) flag(r, add);
  return [...groups].map(([key, g]) => {
    const rest = key.split('\u0000')[1]!;
    const title = g.addresses.length > 1 ? `${g.addresses.length} ${g.plural}` : g.title;
    return `**${title}** ${joinWords(g.addresses.map((a) => `\`${a}\``))}${rest}`;
  });
}

type Flag = (title: string, pluralTitle: string, address: string, rest: string) => void;

function flag(r: ResourceChange, add: Flag): void {
  const label = typeLabel(r.type, r.body);
  const upper = (text: string) => text.toUpperCase();
  if (isStateful(r)) {
    const loss = REPLACEMENT_RULES[r.type]!.lossOnReplace;
    const removes = r.action === 'replace' || r.action === 'destroy';
    const guarded = removes && (r.body.lifecycle as { prevent_destroy?: unknown } | undefined)?.prevent_destroy === true;
    const consequence = removes && loss ? ` (${loss}${guarded ? '; `prevent_destroy` is set, so `terraform plan` refuses this until it is lifted' : ''})` : '';
    const verb = upper(VERBS[r.action]);
    add(`STATEFUL ${upper(label)} ${verb}`, `STATEFUL ${upper(plural(label, 2))} ${verb}`, r.address, `${details(r)}${consequence}`);
  } else if (r.type === 'digitalocean_droplet' && r.action === 'replace') {
    add('DROPLET REPLACED', 'DROPLETS REPLACED', r.address, details(r));
  } else if (r.action === 'replace' && REPLACEMENT_RULES[r.type]?.replaceNote) {
    add(`${upper(label)} REPLACED`, `${upper(plural(label, 2))} REPLACED`, r.address, `${details(r)} (${REPLACEMENT_RULES[r.type]!.replaceNote})`);
  } else if (r.action === 'update' && r.type in NOTED_UPDATES) {
    for (const c of r.changes.filter((x) => NOTED_UPDATES[r.type]!.includes(x.name))) {
      const what = `${c.name.toUpperCase()} CHANGES IN PLACE`;
      add(`${upper(label)} ${what}`, `${upper(plural(label, 2))}: ${what}`, r.address, `: ${REPLACEMENT_RULES[r.type]!.inPlaceNotes![c.name]}`);
    }
  } else if (r.action === 'unknown') {
    add('CHANGED, REPLACEMENT UNKNOWN', 'CHANGED, REPLACEMENT UNKNOWN', r.address, `${details(r)} (\`${r.type}\` is not in the replacement table, tools/force-new.ts)`);
  }
}

/** In-place changes that interrupt service, worth a loud line of their own. */
const NOTED_UPDATES: Readonly<Record<string, readonly string[]>> = {
  digitalocean_droplet: ['size'],
  digitalocean_droplet_autoscale: ['droplet_template'],
};

function details(r: ResourceChange): string {
  if (r.action === 'replace') {
    const forced = r.forcedBy.map((name) => {
      const c = r.changes.find((x) => x.name === name);
      return c ? argumentText(c) : name;
    });
    return `: forced by ${forced.join(', ')}`;
  }
  if (r.action === 'create' || r.action === 'destroy') return r.movedFrom ? `: moved from \`${r.movedFrom}\`` : '';
  const meta = r.changes.filter((c) => c.meta);
  const plain = r.changes.filter((c) => !c.meta);
  const notes = plain.flatMap((c) => {
    const note = REPLACEMENT_RULES[r.type]?.inPlaceNotes?.[c.name];
    return note ? [`\`${c.name}\`: ${note}`] : [];
  });
  const parts = [];
  if (plain.length) parts.push(`changes ${plain.map(argumentText).join(', ')}`);
  if (meta.length) parts.push(`${meta.map((c) => `\`${c.name}\``).join(', ')} changed: Terraform settings only, never a replacement, no change to the cloud resource`);
  if (notes.length) parts.push(notes.join('; '));
  if (r.movedFrom) parts.push(`moved from \`${r.movedFrom}\``);
  return parts.length ? `: ${parts.join('; ')}` : '';
}

/** One environment's section. */
export function renderEnvironment(env: EnvironmentDiff): string {
  const { diff } = env;
  const lines = [`## ${env.name}`, '', `**${summaryLine(env)}**`, ''];
  const attention = attentionItems(diff);
  lines.push('### Needs attention', '');
  if (attention.length === 0) lines.push('Nothing: no droplet is replaced or resized, and no stateful resource changes.');
  else lines.push(...attention.map((a) => `- ${a}`));
  lines.push('');
  for (const action of ['create', 'replace', 'update', 'destroy', 'unknown'] as const) {
    const matching = diff.resources.filter((r) => r.action === action);
    if (matching.length === 0) continue;
    const title = VERBS[action].replace(/^./, (c) => c.toUpperCase());
    lines.push(`### ${title} (${matching.length})`, '');
    // Resources of one kind changing for the same reason share a line (a fleet of droplets, a set of alerts).
    const lineOf = new Map<string, string[]>();
    for (const r of matching) {
      const key = `${typeLabel(r.type, r.body)}\u0000${details(r)}`;
      lineOf.set(key, [...(lineOf.get(key) ?? []), `\`${r.address}\``]);
    }
    for (const [key, addresses] of lineOf) {
      const [label, rest] = key.split('\u0000') as [string, string];
      lines.push(`- ${joinWords(addresses)} (${addresses.length > 1 ? `${addresses.length} ${plural(label, addresses.length)}` : label})${rest}`);
    }
    lines.push('');
  }
  if (diff.data.length > 0) {
    lines.push(`### Data sources read again with changed arguments (${diff.data.length})`, '');
    for (const d of diff.data) lines.push(`- \`${d.address}\`: changes ${d.changes.map(argumentText).join(', ')}${d.detail ? `: ${d.detail.join(', ')}` : ''}`);
    lines.push('');
  }
  return lines.join('\n');
}

/** The whole report: a title naming what is compared, a summary line per environment, the sections. */
export function renderReport(environments: readonly EnvironmentDiff[], compared: { base: string; head: string }): string {
  const lines = [
    `# Change report: ${compared.base} -> ${compared.head}`,
    '',
    'Estimated from the synthesized stacks alone, without state or credentials: what `terraform plan` would do to',
    'environments deployed from the base. Replacements follow the DigitalOcean provider\'s ForceNew flags',
    '(tools/force-new.ts, with their source). The deploy job\'s `terraform plan` remains the authority.',
    '',
    ...environments.map((e) => `- ${summaryLine(e)}`),
    '',
    ...environments.map(renderEnvironment),
  ];
  return `${lines.join('\n').trimEnd()}\n`;
}
