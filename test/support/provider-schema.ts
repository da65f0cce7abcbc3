/**
 * Checks synthesized resources against a provider's own schema (`terraform providers schema -json`), the
 * way `terraform validate` would, without network: every attribute and block exists, with the right
 * nesting and a value of the right shape, no computed-only attribute is set, every required one is.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

type AttributeType = string | [string, AttributeType] | [string, Record<string, AttributeType>];

interface SchemaAttribute {
  readonly type?: AttributeType;
  readonly required?: boolean;
  readonly optional?: boolean;
  readonly computed?: boolean;
}

interface SchemaBlock {
  readonly attributes?: Record<string, SchemaAttribute>;
  readonly block_types?: Record<string, { readonly nesting_mode: 'single' | 'list' | 'set' | 'map' | 'group'; readonly block: SchemaBlock; readonly max_items?: number; readonly min_items?: number }>;
}

export interface ProviderSchema {
  readonly version: string;
  readonly resources: Record<string, { readonly block: SchemaBlock }>;
}

/** The DigitalOcean provider schema the project carries (see test/provider-schema/README.md). */
export function digitaloceanSchema(version = '2.99.1'): ProviderSchema {
  const file = path.resolve(import.meta.dirname, `../provider-schema/digitalocean-${version}.json`);
  const json = JSON.parse(readFileSync(file, 'utf8')) as { provider_schemas: Record<string, { resource_schemas: Record<string, { block: SchemaBlock }> }> };
  const provider = json.provider_schemas['registry.terraform.io/digitalocean/digitalocean'];
  if (!provider) throw new Error(`${file} holds no digitalocean provider schema`);
  return { version, resources: provider.resource_schemas };
}

/** Terraform's meta-arguments: valid on every resource, absent from provider schemas. */
const META_ARGUMENTS = new Set(['count', 'for_each', 'depends_on', 'lifecycle', 'provider', 'provisioner', 'connection', '//']);

const isExpression = (v: unknown) => typeof v === 'string' && v.includes('${');

function shapeProblem(type: AttributeType | undefined, value: unknown): string | undefined {
  if (type === undefined || value === null || isExpression(value)) return undefined;
  if (type === 'string') return ['string', 'number', 'boolean'].includes(typeof value) ? undefined : `must be a string, got ${JSON.stringify(value)}`;
  if (type === 'number') return typeof value === 'number' || /^-?\d+(\.\d+)?$/.test(String(value)) ? undefined : `must be a number, got ${JSON.stringify(value)}`;
  if (type === 'bool') return typeof value === 'boolean' || value === 'true' || value === 'false' ? undefined : `must be a bool, got ${JSON.stringify(value)}`;
  if (Array.isArray(type)) {
    const [kind] = type;
    if (kind === 'map' || kind === 'object') return typeof value === 'object' && !Array.isArray(value) ? undefined : `must be a ${kind}, got ${JSON.stringify(value)}`;
    if (kind === 'list' || kind === 'set') return Array.isArray(value) ? undefined : `must be a ${kind}, got ${JSON.stringify(value)}`;
  }
  return undefined;
}

/** The closest known name, for "did you mean" hints on a misspelt key. */
function closest(name: string, known: readonly string[]): string | undefined {
  const distance = (a: string, b: string) => {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
      let prev = row[0]!;
      row[0] = i;
      for (let j = 1; j <= b.length; j++) {
        const cur = row[j]!;
        row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
        prev = cur;
      }
    }
    return row[b.length]!;
  };
  const best = [...known].sort((x, y) => distance(name, x) - distance(name, y))[0];
  return best !== undefined && distance(name, best) <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

function checkBlock(where: string, value: Record<string, unknown>, block: SchemaBlock, top: boolean, problems: string[]): void {
  const attributes = block.attributes ?? {};
  const blocks = block.block_types ?? {};
  for (const [key, v] of Object.entries(value)) {
    if (top && META_ARGUMENTS.has(key)) continue;
    const attribute = attributes[key];
    const nested = blocks[key];
    if (attribute) {
      if (attribute.computed && !attribute.optional && !attribute.required) problems.push(`${where}.${key}: computed by the provider, cannot be set`);
      const shape = shapeProblem(attribute.type, v);
      if (shape) problems.push(`${where}.${key}: ${shape}`);
    } else if (nested) {
      const items = nested.nesting_mode === 'single' || nested.nesting_mode === 'group' ? [v] : Array.isArray(v) ? v : [v];
      if ((nested.nesting_mode === 'single' || nested.nesting_mode === 'group') && Array.isArray(v)) problems.push(`${where}.${key}: a single block, got a list`);
      if (nested.max_items !== undefined && items.length > nested.max_items) problems.push(`${where}.${key}: at most ${nested.max_items} block(s), got ${items.length}`);
      items.forEach((item, i) => {
        if (item === null || typeof item !== 'object' || Array.isArray(item)) problems.push(`${where}.${key}[${i}]: must be a block (an object), got ${JSON.stringify(item)}`);
        else checkBlock(`${where}.${key}[${i}]`, item as Record<string, unknown>, nested.block, false, problems);
      });
    } else {
      const hint = closest(key, [...Object.keys(attributes), ...Object.keys(blocks)]);
      problems.push(`${where}.${key}: no such attribute or block${hint ? ` (did you mean ${hint}?)` : ''}`);
    }
  }
  for (const [key, attribute] of Object.entries(attributes)) {
    if (attribute.required && !(key in value)) problems.push(`${where}.${key}: required, missing`);
  }
}

/**
 * Every problem of the resources of `json` whose type the schema's provider owns (by prefix), each as
 * `<type>.<name>.<path>: what is wrong`. An unknown resource type is a problem too.
 */
export function schemaProblems(json: { resource?: Record<string, Record<string, Record<string, unknown>>> }, schema: ProviderSchema, prefix = 'digitalocean_'): string[] {
  const problems: string[] = [];
  for (const [type, resources] of Object.entries(json.resource ?? {})) {
    if (!type.startsWith(prefix)) continue;
    const resourceSchema = schema.resources[type];
    if (!resourceSchema) {
      problems.push(`${type}: no such resource type in provider ${schema.version}`);
      continue;
    }
    for (const [name, body] of Object.entries(resources)) checkBlock(`${type}.${name}`, body, resourceSchema.block, true, problems);
  }
  return problems;
}
