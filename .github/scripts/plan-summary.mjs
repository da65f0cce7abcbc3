#!/usr/bin/env node
// A readable summary of a saved Terraform plan, replacements and destroys first.
//
//   terraform show -json tfplan > plan.json
//   node .github/scripts/plan-summary.mjs plan.json --stack web-production [--mode plan|drift] [--format markdown|text]
//
// Prints Markdown (job summary, approval notice) or short plain text (webhook). Only addresses, actions and
// the names of the attributes that force a replacement are printed, never a value: the plan JSON holds
// every secret of the stack (database passwords, the app's env file) in clear text.
// Zero dependencies, Node >= 18: it runs in jobs that never ran `npm ci`.
import { readFileSync } from 'node:fs';

const REASONS = {
  replace_because_cannot_update: 'an attribute that cannot change in place changed',
  replace_because_tainted: 'it is tainted (an earlier apply or a provisioner failed on it)',
  replace_by_request: 'requested with -replace',
  replace_by_triggers: 'replace_triggered_by fired',
  delete_because_no_resource_config: 'no longer in the configuration',
  delete_because_count_index: 'count lowered',
  delete_because_each_key: 'for_each key removed',
  delete_because_wrong_repetition: 'count/for_each changed shape',
  delete_because_no_module: 'its module was removed',
  delete_because_no_move_target: 'moved, but the target does not exist',
};

/** Sorts resource changes into the groups a reviewer reads, most dangerous first. */
export function classify(plan) {
  const groups = { replace: [], destroy: [], forget: [], create: [], update: [], drift: [] };
  for (const rc of plan.resource_changes ?? []) {
    const actions = rc.change?.actions ?? [];
    const item = { address: rc.address, reason: rc.action_reason, paths: rc.change?.replace_paths ?? [] };
    if (actions.includes('delete') && actions.includes('create')) {
      item.order = actions[0] === 'create' ? 'create before destroy' : 'destroy before create';
      groups.replace.push(item);
    } else if (actions.includes('delete')) groups.destroy.push(item);
    else if (actions.includes('forget')) groups.forget.push(item);
    else if (actions.includes('create')) groups.create.push(item);
    else if (actions.includes('update')) groups.update.push(item);
  }
  for (const rd of plan.resource_drift ?? []) groups.drift.push({ address: rd.address, paths: [] });
  const outputs = Object.entries(plan.output_changes ?? {})
    .filter(([, c]) => !(c.actions ?? []).every((a) => a === 'no-op'))
    .map(([name]) => name);
  return { ...groups, outputs };
}

const path = (p) => p.map((k) => (typeof k === 'number' ? `[${k}]` : k)).join('.').replace(/\.\[/g, '[');
const line = (i) => {
  const why = [i.order, REASONS[i.reason] ?? i.reason, i.paths.length ? `forced by ${i.paths.map((p) => `\`${path(p)}\``).join(', ')}` : '']
    .filter(Boolean)
    .join('; ');
  return `- \`${i.address}\`${why ? ` (${why})` : ''}`;
};

/** The counts line: "2 to replace, 1 to destroy, ..."; "no changes" when there are none. */
export function counts(g) {
  const parts = [
    [g.replace.length, 'to replace'],
    [g.destroy.length, 'to destroy'],
    [g.forget.length, 'to forget'],
    [g.create.length, 'to create'],
    [g.update.length, 'to update in place'],
  ].filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);
  if (g.outputs.length) parts.push(`${g.outputs.length} output${g.outputs.length > 1 ? 's' : ''} changed`);
  return parts.length ? parts.join(', ') : 'no changes';
}

/** Markdown for the job summary and the approval notice. */
export function markdown(plan, { stack, mode = 'plan' }) {
  const g = classify(plan);
  const out = [`### ${mode === 'drift' ? 'Drift in' : 'Plan for'} ${stack}: ${counts(g)}`, ''];
  if (mode === 'drift') {
    out.push('The live resources differ from what the configuration on `main` says. A console change is',
      'reverted by the next apply; bring it into the configuration, or apply to undo it.', '');
  }
  const section = (title, items) => {
    if (items.length) out.push(`**${title}**`, '', ...items.map(line), '');
  };
  section('Replaced (destroyed and created again: data on them is lost)', g.replace);
  section('Destroyed', g.destroy);
  section('Removed from state, left running (forget)', g.forget);
  section('Changed outside Terraform (found on refresh)', g.drift);
  section('Created', g.create);
  section('Updated in place', g.update);
  if (g.outputs.length) out.push('**Outputs changed** (values not shown)', '', ...g.outputs.map((o) => `- \`${o}\``), '');
  return out.join('\n');
}

/** A few plain lines for a chat webhook: the counts, then what gets replaced or destroyed. */
export function text(plan, { stack, mode = 'plan', limit = 15 }) {
  const g = classify(plan);
  const risky = [...g.replace.map((i) => `replace ${i.address}`), ...g.destroy.map((i) => `destroy ${i.address}`)];
  const rest = mode === 'drift' ? [...g.drift, ...g.update, ...g.create].map((i) => `change ${i.address}`) : [];
  const lines = [...risky, ...rest];
  const shown = lines.slice(0, limit);
  if (lines.length > limit) shown.push(`... and ${lines.length - limit} more`);
  return [`${stack}: ${counts(g)}`, ...shown].join('\n');
}

function main(argv) {
  const opts = { stack: 'stack', mode: 'plan', format: 'markdown' };
  let file;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--stack' || a === '--mode' || a === '--format') opts[a.slice(2)] = argv[++i];
    else if (!file) file = a;
    else return fail(`unexpected argument ${a}`);
  }
  if (!file) return fail('usage: plan-summary.mjs <plan.json> --stack <name> [--mode plan|drift] [--format markdown|text]');
  if (!['plan', 'drift'].includes(opts.mode)) return fail(`--mode must be plan or drift, got ${opts.mode}`);
  if (!['markdown', 'text'].includes(opts.format)) return fail(`--format must be markdown or text, got ${opts.format}`);
  let plan;
  try {
    plan = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return fail(`${file}: not the JSON of \`terraform show -json <plan>\` (${error.message})`);
  }
  process.stdout.write(`${(opts.format === 'text' ? text : markdown)(plan, opts)}\n`);
  return 0;
}

function fail(message) {
  process.stderr.write(`plan-summary: ${message}\n`);
  return 1;
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
