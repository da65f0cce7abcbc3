/**
 * `cloud-init schema -c` on each environment's user data, and a check that every top-level key is one
 * cloud-init knows (22.4 lets unknown keys pass the schema check).
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { allRendered, rendered } from '../templates/fixtures.js';
import { PYTHON, removeTempDirs, requireTools, rewriteOnce, run, tempDir } from './tools.js';

afterAll(removeTempDirs);

function cloudInitSchema(userData: string) {
  const file = path.join(tempDir('cloud-init'), 'user-data.yaml');
  writeFileSync(file, userData);
  const r = run('cloud-init', ['schema', '-c', file]);
  return { ...r, output: r.stdout + r.stderr };
}

let known: Set<string> | undefined;
/** Top-level keys the installed cloud-init's schema defines. */
function knownKeys(): Set<string> {
  if (!known) {
    const r = run(PYTHON, [path.join(import.meta.dirname, 'known-cloud-config-keys.py')]);
    if (r.status !== 0) throw new Error(`reading cloud-init's schema failed: ${r.stderr}`);
    known = new Set(r.stdout.split('\n').filter(Boolean));
  }
  return known;
}

/** Top-level keys of the user data that cloud-init does not know. */
function unknownKeys(userData: string): string[] {
  return Object.keys(parse(userData) as object).filter((key) => !knownKeys().has(key));
}

describe.each(allRendered())('cloud-init, $environment', ({ userData }) => {
  it('passes cloud-init schema', (ctx) => {
    requireTools(ctx, 'cloud-init');
    const r = cloudInitSchema(userData);
    expect(r.output).toContain('Valid cloud-config');
    expect(r.status).toBe(0);
  });

  it('uses only top-level keys cloud-init knows', (ctx) => {
    requireTools(ctx, 'cloud-init', PYTHON);
    expect(unknownKeys(userData)).toEqual([]);
  });

  it('starts with #cloud-config, the line cloud-init reads the type from', () => {
    expect(userData.split('\n')[0]).toBe('#cloud-config');
  });
});

describe('cloud-init, broken renderings', () => {
  const { userData } = rendered('production');

  it('fails on an unquoted mode, which YAML reads as the integer 420', (ctx) => {
    requireTools(ctx, 'cloud-init');
    const broken = userData.replace("permissions: '0644'", 'permissions: 0644');
    const r = cloudInitSchema(broken);
    expect(r.status).not.toBe(0);
    expect(r.output).toMatch(/write_files\.0\.permissions: 420 is not of type 'string'/);
  });

  it('finds a misspelt top-level key that cloud-init schema lets pass', (ctx) => {
    requireTools(ctx, 'cloud-init');
    const broken = rewriteOnce(userData, '\nwrite_files:\n', '\nwrite_file:\n');
    expect(cloudInitSchema(broken).status).toBe(0);
    expect(unknownKeys(broken)).toEqual(['write_file']);
  });
});
