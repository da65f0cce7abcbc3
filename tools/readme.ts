/**
 * Keeps the generated parts of README.md true: production's diagram, the capacity plan of every
 * environment and the configuration reference, each between `<!-- name:start -->` and `<!-- name:end -->` markers.
 *
 *   npm run readme      regenerate (a test fails while README.md is stale)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { markdownTable } from 'markdown-table';
import { environmentNames, loadEnvironments } from '../config/load.js';
import { planReport, planSummaryTable } from '../config/plan-report.js';
import { environmentDiagram } from '../config/diagram.js';
import { environmentJsonSchema } from '../config/json-schema.js';

export const README = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'README.md');

interface JsonSchemaNode {
  type?: string;
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, JsonSchemaNode>;
  required?: string[];
  items?: JsonSchemaNode;
  anyOf?: JsonSchemaNode[];
  oneOf?: JsonSchemaNode[];
}

/** One row per key of the schema, nested keys dotted, with type, default and allowed values. */
function referenceRows(node: JsonSchemaNode, prefix: string, required: boolean, rows: string[][]): void {
  const variants = node.oneOf ?? node.anyOf;
  if (variants) {
    for (const variant of variants) referenceRows(variant, prefix, required, rows);
    return;
  }
  if (node.properties) {
    for (const [key, child] of Object.entries(node.properties)) {
      if (key === '$schema') continue;
      const dotted = prefix ? `${prefix}.${key}` : key;
      if (child.properties || child.oneOf || child.anyOf) {
        if (child.description) rows.push([`\`${dotted}\``, 'object', node.required?.includes(key) ? 'yes' : '', '', child.description]);
        referenceRows(child, dotted, node.required?.includes(key) ?? false, rows);
      } else {
        referenceRows(child, dotted, node.required?.includes(key) ?? false, rows);
      }
    }
    return;
  }
  const allowed = node.enum ? node.enum.join(', ') : node.const !== undefined ? String(node.const) : node.minimum !== undefined || node.maximum !== undefined ? `${node.minimum ?? ''}..${node.maximum ?? ''}` : '';
  const type = node.type === 'array' ? `list of ${node.items?.type ?? 'object'}` : (node.type ?? (node.const !== undefined ? typeof node.const : ''));
  const dflt = node.default !== undefined ? ` Default: \`${JSON.stringify(node.default)}\`.` : '';
  rows.push([`\`${prefix}\``, type, required && node.default === undefined ? 'yes' : '', allowed, `${node.description ?? ''}${dflt}`.replace(/\|/g, '\\|')]);
}

export function configReference(): string {
  const rows: string[][] = [];
  referenceRows(JSON.parse(environmentJsonSchema()) as JsonSchemaNode, '', true, rows);
  const seen = new Set<string>();
  const unique = rows.filter((r) => !seen.has(r[0]! + r[4]!) && seen.add(r[0]! + r[4]!));
  return markdownTable([['key', 'type', 'required', 'allowed', 'meaning'], ...unique]);
}

/** The README with every generated section rebuilt. */
export function renderReadme(current: string): string {
  const environments = loadEnvironments(environmentNames());
  const production = environments.find((e) => e.name === 'production');
  const sections: Record<string, string> = {
    plan: planSummaryTable(environments.map((e) => e.plan)),
    diagram: production ? ['```mermaid', environmentDiagram(production).trimEnd(), '```'].join('\n') : '',
    'production-plan': production ? planReport(production.plan).replace(/^# .*\n\n/, '') : '',
    'config-reference': configReference(),
  };
  let text = current;
  for (const [name, body] of Object.entries(sections)) {
    const pattern = new RegExp(`(<!-- ${name}:start[^>]*-->\\n)[\\s\\S]*?(<!-- ${name}:end -->)`);
    if (!pattern.test(text)) throw new Error(`README.md has no <!-- ${name}:start --> ... <!-- ${name}:end --> section`);
    text = text.replace(pattern, (_m, start: string, end: string) => `${start}${body.trimEnd()}\n${end}`);
  }
  return text;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  writeFileSync(README, renderReadme(readFileSync(README, 'utf8')));
  console.log('README.md regenerated');
}
