/**
 * Generates config/environment.schema.json from the zod schema, for editor completion and checks
 * (`# yaml-language-server: $schema=./environment.schema.json` in each config file).
 *
 *   npm run schema      regenerate (a test fails while the checked-in file is stale)
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { CONFIG_DIR } from './load.js';
import { environmentSchema } from './schema.js';

export const JSON_SCHEMA_FILE = path.join(CONFIG_DIR, 'environment.schema.json');

/** The JSON Schema of what a person writes: defaults make keys optional (zod's input side). */
export function environmentJsonSchema(): string {
  const schema = z.toJSONSchema(environmentSchema, { io: 'input', target: 'draft-2020-12' });
  return `${JSON.stringify({ ...schema, title: 'Environment configuration (config/<env>.yaml)', $comment: 'Generated from config/schema.ts by `npm run schema`; do not edit.' }, null, 2)}\n`;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  writeFileSync(JSON_SCHEMA_FILE, environmentJsonSchema());
  console.log(`wrote ${path.relative(process.cwd(), JSON_SCHEMA_FILE)}`);
}
