import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArguments, UsageError } from '../../tools/change-report.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const temp: string[] = [];
afterAll(() => temp.forEach((d) => rmSync(d, { recursive: true, force: true })));

function scratch(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'changes-test-'));
  temp.push(dir);
  return dir;
}

/** A cdktf.out-shaped directory holding the given stacks. */
function outDir(stacks: Record<string, unknown>): string {
  const dir = scratch();
  for (const [name, doc] of Object.entries(stacks)) {
    mkdirSync(path.join(dir, 'stacks', name), { recursive: true });
    writeFileSync(path.join(dir, 'stacks', name, 'cdk.tf.json'), JSON.stringify(doc));
  }
  return dir;
}

function changes(...args: string[]) {
  const r = spawnSync(path.join(ROOT, 'node_modules/.bin/tsx'), ['tools/change-report.ts', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const droplet = (image: string) => ({ image, name: 'web-1', region: 'nyc3', size: 's-1vcpu-1gb' });
const doc = (image: string, extra: Record<string, unknown> = {}) => ({ resource: { digitalocean_droplet: { web: droplet(image) }, ...extra } });

describe('the command line', () => {
  it.each([
    [[], /^give --base <git ref>, or both --base-dir and --head-dir; usage: /],
    [['--base-dir', 'a'], /^give --base <git ref>, or both/],
    [['--base', 'main', '--head-dir', 'b'], /^--base compares with the working tree; it cannot be combined/],
    [['--base'], /^--base needs a value/],
    [['--base', '--out', 'x'], /^--base needs a value/],
    [['--bsae', 'main'], /^unknown argument "--bsae"/],
    [['--out', 'a', '--out=b', '--base', 'main'], /^--out given twice/],
  ])('fails when given %j', (argv, message) => {
    expect(() => parseArguments(argv)).toThrow(UsageError);
    expect(() => parseArguments(argv)).toThrow(message);
  });

  it('accepts --name value and --name=value', () => {
    expect(parseArguments(['--base-dir=a', '--head-dir', 'b', '--out', 'r.md'])).toEqual({ baseDir: 'a', headDir: 'b', out: 'r.md' });
  });
});

describe('GIVEN two cdktf.out directories WHEN compared', () => {
  it('THEN it prints the Markdown report per environment, writes the same to --out, and exits 0', () => {
    const base = outDir({ 'web-dev': doc('debian-12-x64'), 'web-production': doc('debian-12-x64') });
    const head = outDir({ 'web-dev': doc('debian-12-x64'), 'web-production': doc('ubuntu-24-04-x64', { digitalocean_tag: { t: { name: 'web' } } }), 'web-staging': doc('debian-12-x64') });
    const out = path.join(scratch(), 'report.md');
    const { code, stdout, stderr } = changes('--base-dir', base, '--head-dir', head, '--out', out);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(stdout);
    // Environments in tier order, each with its plain-English line first.
    expect(stdout).toContain(['- dev: no changes', '- staging (new environment): 1 droplet created; nothing replaced', '- production: 1 tag created; 1 droplet replaced'].join('\n'));
    expect(stdout.indexOf('## dev')).toBeLessThan(stdout.indexOf('## staging'));
    expect(stdout.indexOf('## staging')).toBeLessThan(stdout.indexOf('## production'));
    expect(stdout).toMatch(/## production\n\n\*\*production: 1 tag created; 1 droplet replaced\*\*\n\n### Needs attention\n\n- \*\*DROPLET REPLACED\*\* `digitalocean_droplet.web`: forced by `image`\n/);
    expect(stdout).toMatch(/### Created \(1\)\n\n- `digitalocean_tag.t` \(tag\)\n/);
  });

  it.each([
    [['--base-dir', '/nonexistent/a', '--head-dir', '/nonexistent/b'], /^change report: --base-dir \/nonexistent\/a: no such directory\n$/],
    [['--base-dir', ROOT, '--head-dir', ROOT], /^change report: --base-dir .*: no stacks\/<stack>\/cdk.tf.json inside; give a cdktf.out directory/],
    [['--base', 'no-such-ref-4711'], /^change report: --base no-such-ref-4711: not a commit in this repository/],
    [['--base-dir', '.', '--head-dir', '.', '--out', '/nonexistent/r.md'], /^change report: --out \/nonexistent\/r.md: its directory does not exist\n$/],
  ])('fails with exit 2 and one line when given %j', (argv, message) => {
    const { code, stdout, stderr } = changes(...argv);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(message);
    expect(stderr.trim().split('\n')).toHaveLength(1);
  });

  it('fails with exit 2 on a stack that is not JSON, naming the file', () => {
    const broken = outDir({ 'web-dev': doc('debian-12-x64') });
    writeFileSync(path.join(broken, 'stacks/web-dev/cdk.tf.json'), '{ not json');
    const { code, stderr } = changes('--base-dir', broken, '--head-dir', broken);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^change report: --base-dir .*stacks\/web-dev\/cdk.tf.json: not valid JSON/);
  });
});

describe('GIVEN a git ref WHEN `npm run changes -- --base <ref>` runs', () => {
  it('THEN it synthesizes the ref and the working tree and reports every environment', () => {
    const { code, stdout, stderr } = changes('--base', 'HEAD');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^# Change report: HEAD -> working tree\n/);
    for (const env of ['dev', 'staging', 'production']) expect(stdout).toMatch(new RegExp(`^## ${env}\\n\\n\\*\\*${env}: `, 'm'));
  }, 120_000);
});
