/**
 * `npm run synth` with a real Terraform on the PATH (see test/terraform/example-guard.test.ts for why these
 * run only under `npm run test:terraform`): cdktf-cli runs `terraform version` and shows its stderr as
 * [ERROR]; the script's TF_CLI_CONFIG_FILE keeps Terraform quiet even when the shell names a missing file.
 */
import path from 'node:path';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { freshEnv, MISSING_CLI_CONFIG, synth } from '../support/cdktf-cli.js';
import { requireTools } from '../tools/tools.js';

describe('GIVEN a fresh shell with terraform on the PATH', () => {
  it('WHEN `npm run synth` runs (and TF_CLI_CONFIG_FILE names a missing file) THEN it succeeds with no [ERROR] line', async (ctx) => {
    requireTools(ctx, 'terraform');
    const { code, output, outdir } = await synth('npm', ['run', 'synth', '--'], freshEnv({ TF_CLI_CONFIG_FILE: MISSING_CLI_CONFIG }));
    expect(code, output).toBe(0);
    expect(output).toContain('Generated Terraform code for the stacks: web-dev, web-production, web-staging');
    expect(output).not.toMatch(/\[ERROR\]/);
    expect(existsSync(path.join(outdir, 'stacks/web-production/cdk.tf.json'))).toBe(true);
  }, 120_000);

  it('WHEN cdktf synth runs without the npm script\'s settings THEN cdktf-cli prints Terraform\'s warning as [ERROR] (what the script prevents)', async (ctx) => {
    requireTools(ctx, 'terraform');
    const { code, output } = await synth('npx', ['cdktf', 'synth'], freshEnv({ TF_CLI_CONFIG_FILE: MISSING_CLI_CONFIG, CHECKPOINT_DISABLE: '1' }));
    expect(code, output).toBe(0);
    expect(output).toMatch(/\[ERROR\][\s\S]*problems with the CLI configuration/);
  }, 120_000);
});
