/**
 * The cdktf app: one WebStack per environment (config/<env>.yaml). Only wiring lives here.
 *
 *   npx cdktf synth                              all environments
 *   WEB_ENVIRONMENTS=dev,staging npx cdktf synth  only those
 *   WEB_CONFIG_DIR=elsewhere npx cdktf synth      environments from another directory
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { App } from 'cdktf';
import { diagramSection } from './config/diagram.js';
import { CONFIG_DIR, ConfigError, environmentNames, formatProblem, loadEnvironments } from './config/load.js';
import { planReport, planSummaryTable } from './config/plan-report.js';
import { WebStack } from './constructs/web-stack.js';

const configDir = process.env.WEB_CONFIG_DIR ? path.resolve(process.env.WEB_CONFIG_DIR) : CONFIG_DIR;

function selectedEnvironments(): string[] {
  const all = environmentNames(configDir);
  const wanted = process.env.WEB_ENVIRONMENTS?.split(',').map((s) => s.trim()).filter(Boolean);
  if (!wanted) return all;
  const unknown = wanted.filter((name) => !all.includes(name));
  if (unknown.length > 0) {
    throw new ConfigError(unknown.map((name) => ({ file: path.relative(process.cwd(), path.join(configDir, `${name}.yaml`)), line: 0, column: 0, key: '', message: `WEB_ENVIRONMENTS names an environment without a file; environments: ${all.join(', ')}` })));
  }
  return wanted;
}

try {
  const environments = loadEnvironments(selectedEnvironments(), configDir);
  const warnings = environments.flatMap((env) => env.warnings);
  // Placeholders outside production (or in a shipped example) do not stop synth, but must not go unseen.
  // stdout, not stderr: cdktf-cli prints a synth's stderr as "[ERROR]" lines, and these are not errors.
  if (warnings.length > 0) console.log(`Placeholder values (warnings here; errors in production unless its file is marked example: true):\n${warnings.map(formatProblem).join('\n')}\n`);
  const app = new App();
  // Build every stack before writing anything, so an error leaves no half-written output.
  for (const env of environments) new WebStack(app, `web-${env.name}`, env);
  app.synth();
  mkdirSync(app.outdir, { recursive: true });
  for (const env of environments) writeFileSync(path.join(app.outdir, `${env.name}.plan.md`), `${planReport(env.plan)}\n${diagramSection(env)}`);
  console.log(`Capacity plan (details in ${path.relative(process.cwd(), app.outdir) || app.outdir}/<env>.plan.md):\n${planSummaryTable(environments.map((e) => e.plan))}`);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`Invalid configuration, nothing synthesized:\n${error.message}`);
  process.exitCode = 1;
}
