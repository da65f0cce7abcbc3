/**
 * Checks that need a real Terraform (>= 1.10) on the PATH. Terraform is in neither Debian's nor npm's
 * registry, so `npm test` (and CI on a bare machine) cannot run them; `npm run test:terraform` does, where
 * Terraform is installed. Each asserts what only Terraform itself can show; the synthesized JSON they read
 * is asserted by the default suite too (test/constructs/provider-overrides.test.ts, test/stacks/).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { synthShipped, type TerraformJson } from '../support/synth.js';
import { removeTempDirs, requireTools, run, tempDir } from '../tools/tools.js';

afterAll(removeTempDirs);

const guard = (json: TerraformJson) => json.output.example_config_guard;

describe('the example guard under real Terraform', () => {
  it('GIVEN the guard WHEN real terraform plans it THEN the plan fails with the message; with the marker false it passes', (ctx) => {
    requireTools(ctx, 'terraform');
    const json = synthShipped('production');
    // Only the guard: the providers and the backend need the network, the guard does not.
    const plan = (marker: boolean) => {
      const dir = tempDir('example-guard');
      writeFileSync(path.join(dir, 'main.tf.json'), JSON.stringify({ locals: { example_config: marker }, output: { example_config_guard: guard(json) } }));
      const env = { ...process.env, CHECKPOINT_DISABLE: '1', TF_IN_AUTOMATION: '1', TF_CLI_CONFIG_FILE: '' };
      const init = run('terraform', ['init', '-input=false', '-no-color'], { cwd: dir, env });
      expect(init.status, init.stderr).toBe(0);
      return run('terraform', ['plan', '-input=false', '-no-color'], { cwd: dir, env });
    };
    const refused = plan(true);
    expect(refused.status).toBe(1);
    expect(refused.stderr.replace(/\s+/g, ' ')).toContain('config/production.yaml is a shipped example (example: true): its values are placeholders, so nothing is planned or applied.');
    expect(plan(false).status).toBe(0);
  });
});
