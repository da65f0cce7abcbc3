/** Synthesize stacks in tests, and remove the temp outdirs `Testing.app()` leaves behind. */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Testing } from 'cdktf';
import { afterAll } from 'vitest';
import { parseDocument } from 'yaml';
import { CONFIG_DIR, loadEnvironment, loadEnvironmentFile, type LoadedEnvironment } from '../../config/load.js';
import { WebStack } from '../../constructs/web-stack.js';

/** The synthesized Terraform JSON, as `cdk.tf.json` holds it (snake_case keys). */
export interface TerraformJson {
  resource: Record<string, Record<string, Record<string, unknown>>>;
  data: Record<string, Record<string, Record<string, unknown>>>;
  output: Record<string, Record<string, unknown>>;
  terraform: Record<string, unknown>;
  [key: string]: unknown;
}

const outdirs: string[] = [];
afterAll(() => {
  for (const dir of outdirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Synthesize a loaded environment (optionally changed) into its Terraform JSON. */
export function synthEnvironment(env: LoadedEnvironment): TerraformJson {
  const app = Testing.app();
  outdirs.push(app.outdir);
  const stack = new WebStack(app, `web-${env.name}`, env);
  return JSON.parse(Testing.synth(stack)) as TerraformJson;
}

/** Synthesize a shipped environment, `config/<name>.yaml`. */
export function synthShipped(name: string): TerraformJson {
  return synthEnvironment(loadEnvironment(name));
}

/**
 * A shipped environment with keys of its YAML set (`undefined` deletes), loaded through the real loader
 * so the plan is derived from the changed config.
 */
export function variant(name: string, changes: Record<string, unknown>): LoadedEnvironment {
  const doc = parseDocument(readFileSync(path.join(CONFIG_DIR, `${name}.yaml`), 'utf8'));
  for (const [dotted, value] of Object.entries(changes)) {
    const keys = dotted.split('.');
    if (value === undefined) doc.deleteIn(keys);
    else doc.setIn(keys, doc.createNode(value));
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'variant-'));
  outdirs.push(dir);
  const file = path.join(dir, `${name}.yaml`);
  writeFileSync(file, doc.toString());
  return loadEnvironmentFile(file, name);
}

/** The only resource of a type, or fail. */
export function only(json: TerraformJson, type: string): Record<string, unknown> {
  const all = Object.values(json.resource[type] ?? {});
  if (all.length !== 1) throw new Error(`expected one ${type}, found ${all.length}`);
  return all[0]!;
}

export function all(json: TerraformJson, type: string): Record<string, unknown>[] {
  return Object.values(json.resource[type] ?? {});
}
