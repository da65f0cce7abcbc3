#!/usr/bin/env node
// Checks the repository settings the pipeline relies on (docs/operations.md, settings checklist) through
// the GitHub API, with the GitHub CLI's login:
//
//   node .github/scripts/check-settings.mjs <owner/repo> [staging,production]
//
// Prints one line per problem and exits 1, or "settings ok" and exits 0. Reads only; needs a token that
// may read the repository's administration settings (a repository admin's `gh auth login`).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const WORKFLOW = path.join(path.dirname(new URL(import.meta.url).pathname), '../workflows/infrastructure.yml');

/** The secret names the workflow uses, read from the workflow itself. */
export function workflowSecrets(text) {
  return [...new Set([...text.matchAll(/\bsecrets\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]))].sort();
}

/**
 * Problems in the settings, from the API answers:
 *   environments: { [name]: { environment, branchPolicies, secrets } | null (missing) }, repoSecrets: [names]
 */
export function settingsProblems({ environments, repoSecrets }, { reviewed, secrets }) {
  const out = [];
  for (const name of repoSecrets.filter((s) => secrets.includes(s))) {
    out.push(`repository secret ${name}: a repository secret reaches every branch; keep it only in the environments`);
  }
  for (const [name, got] of Object.entries(environments)) {
    if (!got) {
      out.push(`environment ${name}: missing`);
      continue;
    }
    const policy = got.environment.deployment_branch_policy;
    const branches = (got.branchPolicies ?? []).map((p) => `${p.type ?? 'branch'}:${p.name}`);
    if (!policy || !policy.custom_branch_policies || branches.join(',') !== 'branch:main') {
      out.push(`environment ${name}: deployments must be limited to the branch main (Selected branches and tags -> main), found ${policy ? (policy.protected_branches ? 'protected branches' : branches.join(', ') || 'no branch rule') : 'all branches'}`);
    }
    if (got.environment.can_admins_bypass) out.push(`environment ${name}: administrators may bypass its rules; turn that off`);
    const reviewers = (got.environment.protection_rules ?? []).find((r) => r.type === 'required_reviewers');
    if (reviewed.includes(name)) {
      if (!reviewers || (reviewers.reviewers ?? []).length === 0) out.push(`environment ${name}: needs required reviewers`);
      else if (!reviewers.prevent_self_review) out.push(`environment ${name}: turn on "Prevent self-review"`);
    }
    const missing = secrets.filter((s) => s !== 'NOTIFY_WEBHOOK_URL' && !(got.secrets ?? []).includes(s));
    if (missing.length) out.push(`environment ${name}: missing secrets ${missing.join(', ')}`);
  }
  return out;
}

function gh(route) {
  try {
    return JSON.parse(execFileSync('gh', ['api', route], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch (error) {
    if (/HTTP 404/.test(String(error.stderr))) return null;
    throw new Error(`gh api ${route}: ${String(error.stderr || error.message).trim().split('\n')[0]}`);
  }
}

function main([repo, envList = 'staging,production']) {
  if (!repo || !/^[\w.-]+\/[\w.-]+$/.test(repo)) {
    console.error('usage: check-settings.mjs <owner/repo> [staging,production]');
    return 2;
  }
  const secrets = workflowSecrets(readFileSync(WORKFLOW, 'utf8'));
  const names = envList.split(',').flatMap((e) => [`${e}-plan`, e]);
  try {
    const environments = {};
    for (const name of names) {
      const environment = gh(`repos/${repo}/environments/${name}`);
      environments[name] = environment && {
        environment,
        branchPolicies: gh(`repos/${repo}/environments/${name}/deployment-branch-policies`)?.branch_policies ?? [],
        secrets: (gh(`repos/${repo}/environments/${name}/secrets`)?.secrets ?? []).map((s) => s.name),
      };
    }
    const repoSecrets = (gh(`repos/${repo}/actions/secrets`)?.secrets ?? []).map((s) => s.name);
    const problems = settingsProblems({ environments, repoSecrets }, { reviewed: ['production'], secrets });
    for (const p of problems) console.log(p);
    if (problems.length === 0) console.log('settings ok');
    return problems.length ? 1 : 0;
  } catch (error) {
    console.error(`check-settings: ${error.message}`);
    return 2;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) process.exitCode = main(process.argv.slice(2));
