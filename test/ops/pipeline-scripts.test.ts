/**
 * The scripts the workflow runs: the plan summary (on a real `terraform show -json` of Terraform 1.11.4,
 * test/ops/fixtures/) and the webhook notice (against a server on 127.0.0.1).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without types; the test pins its behaviour.
import { settingsProblems, workflowSecrets } from '../../.github/scripts/check-settings.mjs';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SUMMARY = path.join(ROOT, '.github/scripts/plan-summary.mjs');
const NOTIFY = path.join(ROOT, '.github/scripts/notify.mjs');
const FIXTURE = path.join(import.meta.dirname, 'fixtures/terraform-plan.json');
const tmp = mkdtempSync(path.join(tmpdir(), 'pipeline-scripts-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const run = async (script: string, args: string[], env: Record<string, string> = {}) => {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [script, ...args], { env: { PATH: process.env.PATH, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
};

describe('GIVEN a saved plan with every kind of change (plan-summary.mjs)', () => {
  it('WHEN summarized THEN replacements come first, then destroys, creates and updates, with counts and reasons', async () => {
    const { code, stdout } = await run(SUMMARY, [FIXTURE, '--stack', 'web-production']);
    expect(code).toBe(0);
    expect(stdout.split('\n')[0]).toBe('### Plan for web-production: 2 to replace, 2 to destroy, 1 to create, 1 to update in place');
    const order = ['**Replaced', '**Destroyed', '**Created', '**Updated in place'].map((h) => stdout.indexOf(h));
    expect(order.every((at, i) => at > 0 && (i === 0 || at > order[i - 1]!))).toBe(true);
    expect(stdout).toContain('- `terraform_data.replace` (destroy before create; an attribute that cannot change in place changed; forced by `triggers_replace`)');
    expect(stdout).toContain('- `terraform_data.replace_cbd` (create before destroy;');
    expect(stdout).toContain('- `terraform_data.counted[1]` (count lowered)');
    expect(stdout).toContain('- `terraform_data.gone` (no longer in the configuration)');
    expect(stdout).not.toContain('terraform_data.keep');
  });

  it('WHEN summarized in any form THEN no value of the plan is printed (the plan JSON holds the sensitive output in clear text)', async () => {
    expect(readFileSync(FIXTURE, 'utf8')).toContain('s3cr3t-password');
    for (const args of [[], ['--format', 'text'], ['--mode', 'drift'], ['--mode', 'drift', '--format', 'text']]) {
      const { stdout } = await run(SUMMARY, [FIXTURE, '--stack', 's', ...args]);
      expect(stdout).not.toMatch(/s3cr3t|"v2"|hello/);
    }
  });

  it('WHEN the text form goes to a webhook THEN it lists replacements and destroys, cut at 15 lines', async () => {
    const { stdout } = await run(SUMMARY, [FIXTURE, '--stack', 'web-production', '--format', 'text']);
    expect(stdout.trim().split('\n')).toEqual([
      'web-production: 2 to replace, 2 to destroy, 1 to create, 1 to update in place',
      'replace terraform_data.replace',
      'replace terraform_data.replace_cbd',
      'destroy terraform_data.counted[1]',
      'destroy terraform_data.gone',
    ]);
    const many = { resource_changes: Array.from({ length: 40 }, (_, i) => ({ address: `x.d${i}`, change: { actions: ['delete'] } })) };
    writeFileSync(path.join(tmp, 'many.json'), JSON.stringify(many));
    const cut = (await run(SUMMARY, [path.join(tmp, 'many.json'), '--stack', 's', '--format', 'text'])).stdout.trim().split('\n');
    expect(cut).toHaveLength(17);
    expect(cut.at(-1)).toBe('... and 25 more');
  });

  it('WHEN it is a drift check THEN resources changed outside Terraform are listed, and the text names every changed address', async () => {
    const drift = {
      resource_drift: [{ address: 'digitalocean_firewall.fleet', change: { actions: ['update'] } }],
      resource_changes: [{ address: 'digitalocean_firewall.fleet', change: { actions: ['update'] } }],
    };
    writeFileSync(path.join(tmp, 'drift.json'), JSON.stringify(drift));
    const md = (await run(SUMMARY, [path.join(tmp, 'drift.json'), '--stack', 'web-staging', '--mode', 'drift'])).stdout;
    expect(md).toMatch(/^### Drift in web-staging: 1 to update in place/);
    expect(md).toMatch(/\*\*Changed outside Terraform \(found on refresh\)\*\*\n\n- `digitalocean_firewall\.fleet`/);
    const txt = (await run(SUMMARY, [path.join(tmp, 'drift.json'), '--stack', 'web-staging', '--mode', 'drift', '--format', 'text'])).stdout;
    expect(txt).toContain('change digitalocean_firewall.fleet');
  });

  it('WHEN there are no changes THEN it says so', async () => {
    writeFileSync(path.join(tmp, 'none.json'), JSON.stringify({ resource_changes: [{ address: 'a.b', change: { actions: ['no-op'] } }] }));
    expect((await run(SUMMARY, [path.join(tmp, 'none.json'), '--stack', 's'])).stdout).toMatch(/^### Plan for s: no changes\n/);
  });

  it('fails when the input is not plan JSON, with one line and no stack trace', async () => {
    writeFileSync(path.join(tmp, 'bad.json'), '{ not json');
    const bad = await run(SUMMARY, [path.join(tmp, 'bad.json'), '--stack', 's']);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/^plan-summary: .*bad\.json: not the JSON of `terraform show -json <plan>`/);
    expect((await run(SUMMARY, [FIXTURE, '--mode', 'apply'])).stderr).toBe('plan-summary: --mode must be plan or drift, got apply\n');
  });
});

describe('GIVEN a chat webhook (notify.mjs)', () => {
  const serve = async (status: number) => {
    const bodies: string[] = [];
    const server = createServer((req: IncomingMessage, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(body);
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, bodies, close: () => server.close() };
  };

  it('WHEN a notice is sent THEN the webhook gets {"text"} with the title, the details and the run link', async () => {
    const hook = await serve(200);
    writeFileSync(path.join(tmp, 'plan.txt'), 'web-production: 1 to replace\nreplace digitalocean_droplet.fleet\n');
    const env = { NOTIFY_WEBHOOK_URL: hook.url, GITHUB_SERVER_URL: 'https://github.com', GITHUB_REPOSITORY: 'o/r', GITHUB_RUN_ID: '42' };
    const r = await run(NOTIFY, ['production plan for abc1234 waits for approval', path.join(tmp, 'plan.txt')], env);
    hook.close();
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('notified: production plan for abc1234 waits for approval\n');
    expect(hook.bodies.map((b) => JSON.parse(b) as unknown)).toEqual([
      { text: 'production plan for abc1234 waits for approval\nweb-production: 1 to replace\nreplace digitalocean_droplet.fleet\nhttps://github.com/o/r/actions/runs/42' },
    ]);
  });

  it('WHEN there is no webhook, or it fails THEN the job gets a warning and is not failed by the notice', async () => {
    const none = await run(NOTIFY, ['apply failed']);
    expect(none).toMatchObject({ code: 0, stdout: "::warning::notify: no NOTIFY_WEBHOOK_URL in this environment's secrets; not sent: apply failed\n" });
    const hook = await serve(500);
    const failing = await run(NOTIFY, ['apply failed'], { NOTIFY_WEBHOOK_URL: hook.url });
    hook.close();
    expect(failing).toMatchObject({ code: 0, stdout: '::warning::notify: webhook answered 500; not delivered: apply failed\n' });
  });
});

describe('GIVEN a failed apply (save-errored-state.sh, with a stand-in `aws` that records its arguments)', () => {
  const SAVE = path.join(ROOT, '.github/scripts/save-errored-state.sh');
  const stack = (errored: boolean) => {
    const dir = mkdtempSync(path.join(tmp, 'stack-'));
    const backend = { s3: { bucket: 'acme-production-tfstate', key: 'web-production/terraform.tfstate', endpoints: { s3: 'https://nyc3.digitaloceanspaces.com' } } };
    writeFileSync(path.join(dir, 'cdk.tf.json'), JSON.stringify({ terraform: { backend } }));
    if (errored) writeFileSync(path.join(dir, 'errored.tfstate'), '{"serial": 7}');
    return dir;
  };
  const fakeAws = (exitCode: number) => {
    const bin = mkdtempSync(path.join(tmp, 'bin-'));
    writeFileSync(path.join(bin, 'aws'), `#!/bin/sh\necho "$@" >> ${bin}/calls\nexit ${exitCode}\n`, { mode: 0o755 });
    return { PATH: `${bin}:${process.env.PATH}`, calls: () => readFileSync(path.join(bin, 'calls'), 'utf8').trim().split('\n') };
  };
  const save = async (dir: string, PATH: string) => {
    try {
      const { stdout } = await promisify(execFile)('bash', [SAVE, dir], { env: { PATH, GITHUB_RUN_ID: '99', GITHUB_RUN_ATTEMPT: '2', SAVE_ERRORED_RETRY_SECONDS: '0' } });
      return { code: 0, stdout };
    } catch (error) {
      return { code: (error as { code: number }).code, stdout: (error as { stdout: string }).stdout };
    }
  };

  it('WHEN Terraform left errored.tfstate THEN it is copied beside the state in the bucket, private, per run and attempt', async () => {
    const aws = fakeAws(0);
    const r = await save(stack(true), aws.PATH);
    expect(r.code).toBe(0);
    expect(aws.calls()).toEqual([
      's3 cp errored.tfstate s3://acme-production-tfstate/web-production/terraform.tfstate.errored-99-2 --endpoint-url https://nyc3.digitaloceanspaces.com --region us-east-1 --only-show-errors',
    ]);
    expect(r.stdout).toMatch(/^::error::The apply could not save its state\. errored\.tfstate is at s3:\/\/acme-production-tfstate\/web-production\/terraform\.tfstate\.errored-99-2/m);
  });

  it('WHEN there is no errored.tfstate THEN nothing is uploaded', async () => {
    const aws = fakeAws(0);
    const r = await save(stack(false), aws.PATH);
    expect(r).toMatchObject({ code: 0 });
    expect(r.stdout).toMatch(/^No errored\.tfstate in /);
    expect(() => aws.calls()).toThrow(/ENOENT/);
  });

  it('fails when the bucket refuses five times, saying the state is lost with the runner', async () => {
    const aws = fakeAws(1);
    const r = await save(stack(true), aws.PATH);
    expect(r.code).toBe(1);
    expect(aws.calls()).toHaveLength(5);
    expect(r.stdout).toMatch(/::error::errored\.tfstate could NOT be saved/);
  });
});

describe('GIVEN the repository settings as the GitHub API reports them (check-settings.mjs)', () => {
  const secrets = workflowSecrets(readFileSync(path.join(ROOT, '.github/workflows/infrastructure.yml'), 'utf8')) as string[];
  const env = (name: string) => ({
    environment: {
      name,
      can_admins_bypass: false,
      deployment_branch_policy: { protected_branches: false, custom_branch_policies: true },
      protection_rules: name === 'production' ? [{ type: 'required_reviewers', prevent_self_review: true, reviewers: [{ type: 'Team' }] }] : [{ type: 'branch_policy' }],
    },
    branchPolicies: [{ name: 'main', type: 'branch' }],
    secrets: [...secrets],
  });
  const good = () => ({
    environments: Object.fromEntries(['staging-plan', 'staging', 'production-plan', 'production'].map((n) => [n, env(n)])) as Record<string, ReturnType<typeof env> | null>,
    repoSecrets: ['SOMETHING_ELSE'],
  });
  const problems = (data: ReturnType<typeof good>) => (settingsProblems(data, { reviewed: ['production'], secrets }) as string[]).join('\n');

  it('WHEN everything is as the checklist says THEN there is no problem; the secrets are read from the workflow', () => {
    expect(secrets).toEqual(['DIGITALOCEAN_TOKEN', 'NOTIFY_WEBHOOK_URL', 'PLAN_ENCRYPTION_KEY', 'SPACES_ACCESS_KEY_ID', 'SPACES_SECRET_ACCESS_KEY']);
    expect(problems(good())).toBe('');
  });

  it('fails when a cloud credential is a repository secret, an environment is missing or open to other branches, or production can be self-approved', () => {
    const data = good();
    data.repoSecrets.push('DIGITALOCEAN_TOKEN');
    data.environments['staging-plan'] = null;
    data.environments.staging!.branchPolicies.push({ name: 'release/*', type: 'branch' });
    data.environments['production-plan']!.environment.deployment_branch_policy = null as never;
    (data.environments.production!.environment.protection_rules[0] as { prevent_self_review: boolean }).prevent_self_review = false;
    data.environments.production!.environment.can_admins_bypass = true;
    data.environments.production!.secrets = ['DIGITALOCEAN_TOKEN'];
    expect(problems(data).split('\n')).toEqual([
      'repository secret DIGITALOCEAN_TOKEN: a repository secret reaches every branch; keep it only in the environments',
      'environment staging-plan: missing',
      'environment staging: deployments must be limited to the branch main (Selected branches and tags -> main), found branch:main, branch:release/*',
      'environment production-plan: deployments must be limited to the branch main (Selected branches and tags -> main), found all branches',
      'environment production: administrators may bypass its rules; turn that off',
      'environment production: turn on "Prevent self-review"',
      'environment production: missing secrets PLAN_ENCRYPTION_KEY, SPACES_ACCESS_KEY_ID, SPACES_SECRET_ACCESS_KEY',
    ]);
  });

  it('fails when production has no required reviewers', () => {
    const data = good();
    data.environments.production!.environment.protection_rules = [];
    expect(problems(data)).toBe('environment production: needs required reviewers');
  });
});
