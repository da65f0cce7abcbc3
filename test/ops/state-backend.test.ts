import { describe, expect, it } from 'vitest';
import { synthShipped } from '../support/synth.js';

describe('state per environment', () => {
  it('GIVEN production (state on Spaces) WHEN synthesized THEN the S3 backend points at the region endpoint, with its own key and S3-native locking', () => {
    const backend = (synthShipped('production').terraform.backend as Record<string, Record<string, unknown>>).s3;
    expect(backend).toMatchObject({
      bucket: 'example-tfstate',
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

  it('GIVEN dev (no state key) WHEN synthesized THEN state stays local beside the stack', () => {
    expect(synthShipped('dev').terraform.backend).toEqual({ local: { path: 'terraform.web-dev.tfstate' } });
  });
});
