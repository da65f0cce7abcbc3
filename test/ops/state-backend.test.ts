import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { synthShipped } from '../support/synth.js';

const run = promisify(execFile);

describe('state per environment', () => {
  it('GIVEN production (state on Spaces) WHEN synthesized THEN the S3 backend points at the region endpoint, with its own key and S3-native locking', () => {
    const backend = (synthShipped('production').terraform.backend as Record<string, Record<string, unknown>>).s3;
    expect(backend).toMatchObject({
      bucket: 'example-production-tfstate',
      key: 'web-production/terraform.tfstate',
      endpoints: { s3: 'https://nyc3.digitaloceanspaces.com' },
      region: 'us-east-1',
      skip_s3_checksum: true,
      use_lockfile: true,
    });
    // Credentials never enter the synthesized JSON: they come from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
    expect(Object.keys(backend!)).not.toEqual(expect.arrayContaining(['access_key']));
    expect(Object.keys(backend!)).not.toEqual(expect.arrayContaining(['secret_key']));
  });

  it('GIVEN staging and production WHEN synthesized THEN each has its own state key', () => {
    const key = (env: string) => (synthShipped(env).terraform.backend as Record<string, Record<string, unknown>>).s3!.key;
    expect(key('staging')).toBe('web-staging/terraform.tfstate');
    expect(key('staging')).not.toBe(key('production'));
  });

  it('GIVEN dev (local state) WHEN synthesized THEN its state lives in state/ at the project root, outside cdktf.out', () => {
    expect(synthShipped('dev').terraform.backend).toEqual({ local: { path: '../../../state/terraform.web-dev.tfstate' } });
  });

  it('GIVEN a deployed dev WHEN other environments are synthesized and cdktf.out is cleaned THEN its local state is untouched', async () => {
    // A project root of its own: cdktf.out inside it, as `npx cdktf synth` lays it out.
    const root = mkdtempSync(path.join(tmpdir(), 'state-'));
    try {
      const outdir = path.join(root, 'cdktf.out');
      await run('npx', ['tsx', 'main.ts'], { env: { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1', WEB_ENVIRONMENTS: 'dev' } });
      const stackDir = path.join(outdir, 'stacks', 'web-dev');
      const { path: statePath } = (JSON.parse(readFileSync(path.join(stackDir, 'cdk.tf.json'), 'utf8')).terraform.backend.local) as { path: string };
      // What `terraform apply` in the stack folder would write.
      const stateFile = path.resolve(stackDir, statePath);
      expect(path.relative(outdir, stateFile).startsWith('..')).toBe(true);
      mkdirSync(path.dirname(stateFile), { recursive: true });
      writeFileSync(stateFile, '{"version": 4, "serial": 7}');

      await run('npx', ['tsx', 'main.ts'], { env: { ...process.env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1', WEB_ENVIRONMENTS: 'staging,production' } });
      rmSync(outdir, { recursive: true, force: true });

      expect(readFileSync(stateFile, 'utf8')).toBe('{"version": 4, "serial": 7}');
      expect(stateFile).toBe(path.join(root, 'state', 'terraform.web-dev.tfstate'));
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }, 60_000);
});
