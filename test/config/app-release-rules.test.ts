/**
 * The release rules of a git app: production pins an exact commit; the release command is one line.
 * (The install and the release step themselves are tested for real in test/tools/git-release.test.ts.)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadEnvironmentFile } from '../../config/load.js';

const dir = mkdtempSync(path.join(tmpdir(), 'app-rules-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A valid production config with a git app; `app` replaces its app section (line 21 on). */
function production(app: string): string {
  return `tier: production
region: nyc3
vpc:
  ipRange: 10.30.0.0/20
domain: shop.acme-widgets.io
fleet:
  sizeSlug: c-8
  count: 6
  sshKeyFingerprints: ["9f:2c:41:d0:7e:55:a3:18:c6:0b:e2:74:5d:93:af:16"]
  maxDroplets: 12
postgres:
  sizeSlug: db-s-4vcpu-8gb
  standbyNodes: 1
cache:
  sizeSlug: db-s-2vcpu-4gb
capacity:
  targetConcurrentRequests: 50000
  typicalRequestSeconds: 1
alerts:
  emails: [ops@acme-widgets.io]
${app}`;
}

function problems(text: string, tier = 'production'): string[] {
  const file = path.join(dir, 'case.yaml');
  writeFileSync(file, text.replace(/^tier: production$/m, `tier: ${tier}`));
  try {
    loadEnvironmentFile(file);
  } catch (error) {
    if (error instanceof ConfigError) return error.message.split('\n').map((l) => l.replace(path.relative(process.cwd(), file), 'case.yaml'));
    throw error;
  }
  return [];
}

const SHA = '3f2c1a9e8b7d6c5f4e3d2c1b0a9f8e7d6c5b4a39';
const gitApp = (ref: string, extra = '') =>
  `app:\n  source: git\n  gitUrl: https://github.com/acme-widgets/shop.git\n  gitRef: ${ref}\n  wsgiModule: shop.wsgi:application\n${extra}`;

describe('git app release rules', () => {
  it('accepts a production git app pinned to a commit, with a release command', () => {
    expect(problems(production(gitApp(SHA, '  releaseCommand: python -m alembic upgrade head\n')))).toEqual([]);
  });

  it('fails when production names a tag, saying how to pin its commit', () => {
    expect(problems(production(gitApp('v1.4.2')))).toEqual([
      `case.yaml:24:11 app.gitRef: production releases pin a commit: a 40-hex commit SHA, got "v1.4.2" (tags and branches move). Pin the commit it names now: git rev-parse 'v1.4.2^{commit}'`,
    ]);
  });

  it('fails when production names an abbreviated or upper-case SHA', () => {
    expect(problems(production(gitApp(SHA.slice(0, 12))))).toHaveLength(1);
    expect(problems(production(gitApp(SHA.toUpperCase())))).toHaveLength(1);
  });

  it('lets staging follow a branch', () => {
    expect(problems(production(gitApp('main')), 'staging').filter((p) => p.includes('gitRef'))).toEqual([]);
  });
});
