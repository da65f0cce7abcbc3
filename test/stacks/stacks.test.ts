import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { environmentNames } from '../../config/load.js';
import { synthShipped } from '../support/synth.js';

const run = promisify(execFile);
const temp: string[] = [];
afterAll(() => temp.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe.each(environmentNames())('stack web-%s', (name) => {
  it('matches its reviewed snapshot', async () => {
    await expect(`${JSON.stringify(synthShipped(name), null, 2)}\n`).toMatchFileSnapshot(`../__snapshots__/stacks/web-${name}.tf.json`);
  });
});

/** Run the app the way `cdktf synth` does, into a fresh outdir. */
async function synthApp(env: Record<string, string>): Promise<{ outdir: string; code: number; stdout: string; stderr: string }> {
  const outdir = mkdtempSync(path.join(tmpdir(), 'synth-'));
  temp.push(outdir);
  try {
    const { stdout, stderr } = await run('npx', ['tsx', 'main.ts'], { env: { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1', ...env } });
    return { outdir, code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { outdir, code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('the app', () => {
  it('synthesizes every environment, prints the plan and writes <env>.plan.md', async () => {
    const { outdir, code, stdout } = await synthApp({});
    expect(code).toBe(0);
    expect(readdirSync(path.join(outdir, 'stacks')).sort()).toEqual(['web-dev', 'web-production', 'web-staging']);
    for (const env of ['dev', 'staging', 'production']) expect(existsSync(path.join(outdir, `${env}.plan.md`))).toBe(true);
    expect(readFileSync(path.join(outdir, 'production.plan.md'), 'utf8')).toMatch(/^# Capacity plan: production\n[\s\S]*\| load balancer +\| 13 nodes[\s\S]*```mermaid\nflowchart LR\n/);
    expect(stdout).toMatch(/\| production +\| +50,000 \|/);
  });

  it('synthesizes only the environments named in WEB_ENVIRONMENTS', async () => {
    const { outdir, code } = await synthApp({ WEB_ENVIRONMENTS: 'dev' });
    expect(code).toBe(0);
    expect(readdirSync(path.join(outdir, 'stacks'))).toEqual(['web-dev']);
  });

  it('fails when one environment is invalid: every problem located, no stack trace, nothing written', async () => {
    const configDir = mkdtempSync(path.join(tmpdir(), 'configs-'));
    temp.push(configDir);
    cpSync('config', configDir, { recursive: true });
    const staging = path.join(configDir, 'staging.yaml');
    writeFileSync(staging, readFileSync(staging, 'utf8').replace('region: nyc3', 'region: mars1'));
    const { outdir, code, stderr } = await synthApp({ WEB_CONFIG_DIR: configDir });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^Invalid configuration, nothing synthesized:\n.*staging\.yaml:8:9 region: must be one of "nyc1", .*got "mars1"$/m);
    expect(stderr).not.toMatch(/\n\s+at /);
    expect(readdirSync(outdir)).toEqual([]);
  });
});
