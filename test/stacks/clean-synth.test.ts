/**
 * A clean synth prints no "[ERROR]" line: cdktf-cli shows everything on the stderr of `terraform version`
 * and of the app as "[ERROR]", and logs a failed telemetry lookup (checkpoint-api.hashicorp.com, offline)
 * the same way, so a newcomer reads a successful synth as a failure. `npm run synth` configures both away
 * (package.json: CHECKPOINT_DISABLE, DISABLE_VERSION_CHECK, TF_CLI_CONFIG_FILE=tools/synth.tfrc).
 * The same checks with a real Terraform on the PATH: test/terraform/clean-synth.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { freshEnv, pathWithoutTerraform, synth } from '../support/cdktf-cli.js';

describe('GIVEN a fresh shell WHEN `npm run synth` runs', () => {
  it('without terraform on the PATH THEN it succeeds with no [ERROR] line, and shows the examples\' placeholder warnings, located', async () => {
    const { code, output } = await synth('npm', ['run', 'synth', '--'], freshEnv({ PATH: pathWithoutTerraform() }));
    expect(code, output).toBe(0);
    expect(output).toContain('Generated Terraform code for the stacks');
    expect(output).toMatch(/config\/production\.yaml:\d+:\d+ domain: warning: example\.com is a documentation name/);
    expect(output).not.toMatch(/\[ERROR\]/);
  }, 120_000);
});
