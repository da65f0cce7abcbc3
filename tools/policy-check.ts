/**
 * `npm run check`: the policy check over the synthesized stacks (run `npx cdktf synth` first).
 *
 *   npx tsx tools/policy-check.ts [dir]     dir holds stacks/<stack>/cdk.tf.json; default cdktf.out
 *
 * Prints one line per finding: severity, stack, Terraform address, rule, what is wrong, and what to
 * change (a key of config/<env>.yaml, or the construct that hard-codes it). Exit codes: 0 no high
 * finding (medium ones are printed for a person to judge), 1 at least one high finding, 2 nothing to
 * check (no synthesized stacks).
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { checkStack, type Finding, type StackJson } from './policy.js';

/** Findings of every stack under `dir/stacks`, keyed by stack name. */
export function checkDirectory(dir: string): Map<string, Finding[]> {
  const stacksDir = path.join(dir, 'stacks');
  const result = new Map<string, Finding[]>();
  if (!existsSync(stacksDir)) return result;
  for (const stack of readdirSync(stacksDir).sort()) {
    const file = path.join(stacksDir, stack, 'cdk.tf.json');
    if (!existsSync(file)) continue;
    result.set(stack, checkStack(stack, JSON.parse(readFileSync(file, 'utf8')) as StackJson));
  }
  return result;
}

/** One finding as a line a person can act on. */
export function formatFinding(stack: string, f: Finding): string {
  const where = f.change.startsWith('code:') ? f.change : `${f.change} in config/${stack.replace(/^web-/, '')}.yaml`;
  return `${f.severity.toUpperCase().padEnd(6)} ${stack} ${f.address}\n       ${f.rule}: ${f.message}\n       change: ${where}`;
}

function main(dir: string): number {
  const results = checkDirectory(dir);
  if (results.size === 0) {
    console.error(`policy check: no stacks under ${path.join(dir, 'stacks')}; run \`npx cdktf synth\` first`);
    return 2;
  }
  let high = 0;
  for (const [stack, findings] of results) {
    high += findings.filter((f) => f.severity === 'high').length;
    console.log(`${stack}: ${findings.length === 0 ? 'no findings' : `${findings.length} finding(s)`}`);
    for (const f of findings) console.log(formatFinding(stack, f));
  }
  if (high > 0) console.error(`policy check: ${high} high finding(s); fix them before deploying`);
  return high > 0 ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  process.exitCode = main(process.argv[2] ?? 'cdktf.out');
}
