/**
 * ShellCheck on every `run:` block of the infrastructure workflow and on the pipeline's shell script, as
 * GitHub runs them (bash -e). Expressions (`${{ ... }}`) are replaced by a plain word first: GitHub
 * substitutes them before the shell sees the script.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { removeTempDirs, requireTools, run, tempDir } from './tools.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const workflow = parse(readFileSync(path.join(ROOT, '.github/workflows/infrastructure.yml'), 'utf8')) as {
  jobs: Record<string, { steps?: Array<{ run?: string; shell?: string }> }>;
};
afterAll(removeTempDirs);

const scripts = Object.entries(workflow.jobs).flatMap(([job, j]) =>
  (j.steps ?? []).flatMap((s, i) => (s.run ? [{ name: `${job}.steps.${i}`, text: s.run, shell: s.shell }] : [])),
);

/** ShellCheck's findings for one run block, written as GitHub's default shell runs it. */
function shellcheck(dir: string, name: string, text: string): string {
  const file = path.join(dir, `${name}.sh`);
  const script = `#!/bin/bash\nset -e\n${text.replace(/\$\{\{[\s\S]*?\}\}/g, 'EXPR')}`;
  writeFileSync(file, script);
  const r = run('shellcheck', ['--format=gcc', file]);
  return r.stdout.replaceAll(`${dir}/`, '');
}

describe('GIVEN the workflow\'s shell', () => {
  it('WHEN ShellCheck reads every run block and save-errored-state.sh THEN it finds nothing', (ctx) => {
    requireTools(ctx, 'shellcheck');
    expect(scripts.length).toBeGreaterThan(20);
    for (const s of scripts) expect(s.shell ?? 'bash', s.name).toBe('bash');
    const dir = tempDir('workflow-shell');
    const findings = scripts.map((s) => shellcheck(dir, s.name, s.text)).filter(Boolean);
    const own = readdirSync(path.join(ROOT, '.github/scripts')).filter((f) => f.endsWith('.sh'));
    for (const f of own) findings.push(run('shellcheck', ['--format=gcc', path.join(ROOT, '.github/scripts', f)]).stdout);
    expect(own).toContain('save-errored-state.sh');
    expect(findings.filter(Boolean)).toEqual([]);
  });

  it('WHEN a run block loses its quotes THEN ShellCheck reports it (the check is live)', (ctx) => {
    requireTools(ctx, 'shellcheck');
    const plan = scripts.find((s) => s.text.includes('rm "$RUNNER_TEMP/plan.json"'))!;
    const broken = plan.text.replace('rm "$RUNNER_TEMP/plan.json"', 'rm $RUNNER_TEMP/plan.json');
    expect(shellcheck(tempDir('workflow-shell'), 'broken', broken)).toMatch(/SC2086/);
  });
});
