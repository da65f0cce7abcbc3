/**
 * A git app's release for real, offline: the rendered install script (app-install) clones a local bare
 * repository over file:// at a commit and installs the app's hashed lock from a local wheelhouse
 * (`PIP_NO_INDEX`, `PIP_FIND_LINKS`: no index is reachable here), into a virtualenv that sees Debian's
 * Gunicorn, gevent and psycogreen. A second commit is a release, the first again a rollback.
 *
 * The wheel is built here from a tiny source tree with `pip wheel --no-build-isolation` (Debian's
 * setuptools). The script's SRC, VENV and RELEASE_ID_FILE point into the temp dir.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { renderGitInstallScript } from '../../templates/app.js';
import { PYTHON, pythonHas, removeTempDirs, requireTools, run, runAsync, setShellVariable, tempDir } from './tools.js';

afterAll(removeTempDirs);

const GIT_ENV = { GIT_AUTHOR_NAME: 'test', GIT_AUTHOR_EMAIL: 'test@localhost', GIT_COMMITTER_NAME: 'test', GIT_COMMITTER_EMAIL: 'test@localhost' };

interface Fixture {
  dir: string;
  remote: string;
  wheelhouse: string;
  /** Commits by name: v1, v2 (a release), unhashed (a lock without hashes), tampered (a wrong hash), nolock. */
  commits: Record<string, string>;
}
let fixture: Fixture | undefined;

function must(r: { status: number | null; stdout: string; stderr: string }, what: string): string {
  if (r.status !== 0) throw new Error(`${what} failed: ${r.stdout}${r.stderr}`);
  return r.stdout.trim();
}

function requirePython(ctx: TestContext): Fixture {
  requireTools(ctx, 'git', PYTHON, '/usr/bin/gunicorn');
  const missing = ['venv', 'pip', 'setuptools', 'wheel', 'gevent', 'psycogreen'].filter((m) => !pythonHas(m));
  if (missing.length > 0) {
    const reason = `Python modules ${missing.join(', ')} missing (apt-get install python3-venv python3-pip python3-setuptools python3-wheel python3-gevent python3-psycogreen)`;
    if (process.env.CI === 'true') throw new Error(`${reason}: CI must install them (.ci/debian-packages.txt)`);
    ctx.skip(reason);
  }
  if (!fixture) throw new Error('the git fixture was not built (see beforeAll)');
  return fixture;
}

beforeAll(() => {
  if (run('sh', ['-c', 'command -v git']).status !== 0 || !['venv', 'pip', 'setuptools', 'wheel'].every(pythonHas)) return;
  const dir = tempDir('git-release');
  // The app's one dependency, as a wheel in a local wheelhouse.
  const lib = path.join(dir, 'tinylib');
  mkdirSync(path.join(lib, 'tinylib'), { recursive: true });
  writeFileSync(path.join(lib, 'pyproject.toml'), '[build-system]\nrequires = ["setuptools"]\nbuild-backend = "setuptools.build_meta"\n\n[project]\nname = "tinylib"\nversion = "1.0.0"\n');
  writeFileSync(path.join(lib, 'tinylib', '__init__.py'), 'GREETING = "hello from tinylib"\n');
  const wheelhouse = path.join(dir, 'wheelhouse');
  must(run(PYTHON, ['-m', 'pip', 'wheel', '--quiet', '--no-index', '--no-build-isolation', '--no-deps', '--wheel-dir', wheelhouse, lib], { cwd: dir, timeout: 60_000 }), 'pip wheel');
  const wheel = readdirSync(wheelhouse).find((f) => f.endsWith('.whl'))!;
  const sha256 = createHash('sha256').update(readFileSync(path.join(wheelhouse, wheel))).digest('hex');

  // The app's repository: a work tree pushed to a bare repository, reached over file:// like a git host.
  const work = path.join(dir, 'work');
  const remote = path.join(dir, 'shop.git');
  const git = (...args: string[]) => must(run('git', args, { cwd: work, env: { ...process.env, ...GIT_ENV } }), `git ${args.join(' ')}`);
  must(run('git', ['init', '--quiet', '--bare', remote]), 'git init --bare');
  mkdirSync(path.join(work, 'shop'), { recursive: true });
  git('init', '--quiet', '--initial-branch=main');
  const commit = (version: string, lock: string | undefined) => {
    writeFileSync(path.join(work, 'shop', '__init__.py'), `VERSION = "${version}"\n`);
    writeFileSync(path.join(work, 'shop', 'wsgi.py'), 'import tinylib\n\n\ndef application(environ, start_response):\n    start_response("200 OK", [])\n    return [tinylib.GREETING.encode()]\n');
    if (lock === undefined) run('git', ['rm', '--quiet', '--ignore-unmatch', 'requirements.lock'], { cwd: work });
    else writeFileSync(path.join(work, 'requirements.lock'), lock);
    git('add', '-A');
    git('commit', '--quiet', '-m', version);
    return git('rev-parse', 'HEAD');
  };
  const hashed = `# pip-compile --generate-hashes\ntinylib==1.0.0 \\\n    --hash=sha256:${sha256}\n`;
  const commits = {
    v1: commit('1', hashed),
    v2: commit('2', hashed),
    unhashed: commit('3-unhashed', 'tinylib==1.0.0\n'),
    tampered: commit('4-tampered', `tinylib==1.0.0 --hash=sha256:${'0'.repeat(64)}\n`),
    nolock: commit('5-nolock', undefined),
  };
  git('push', '--quiet', remote, 'main');
  fixture = { dir, remote, wheelhouse, commits };
}, 120_000);

/** The rendered install script for `ref`, with its droplet paths in `root`; run it offline from the wheelhouse. */
async function install(f: Fixture, root: string, ref: string) {
  let script = renderGitInstallScript({ gitUrl: `file://${f.remote}`, gitRef: ref, requirementsFile: 'requirements.lock' });
  script = setShellVariable(script, 'SRC', path.join(root, 'src'));
  script = setShellVariable(script, 'VENV', path.join(root, 'venv'));
  script = setShellVariable(script, 'RELEASE_ID_FILE', path.join(root, 'release-id'));
  const file = path.join(root, 'app-install');
  writeFileSync(file, script, { mode: 0o755 });
  const env = { PATH: `/usr/bin:/bin:/usr/sbin:/sbin`, HOME: root, PIP_NO_INDEX: '1', PIP_FIND_LINKS: f.wheelhouse, PIP_NO_CACHE_DIR: '1' };
  return runAsync('sh', [file], { env, timeoutMs: 120_000 });
}

/** What the installed release is: checkout, release id, and what the virtualenv's Python imports. */
function inspect(root: string) {
  const py = (code: string) => must(run(path.join(root, 'venv', 'bin', 'python3'), ['-c', code], { cwd: path.join(root, 'src') }), 'venv python');
  return {
    head: must(run('git', ['-C', path.join(root, 'src'), 'rev-parse', 'HEAD']), 'rev-parse'),
    releaseId: readFileSync(path.join(root, 'release-id'), 'utf8').trim(),
    version: py('import shop; print(shop.VERSION)'),
    greeting: py('import shop.wsgi, tinylib; print(tinylib.GREETING)'),
  };
}

// Each case installs into its own root: run them side by side (each is mostly pip's start-up).
describe.concurrent('git app install (app-install), offline', () => {
  it('installs the pinned commit with its hashed lock over Debian\'s Gunicorn, gevent and psycogreen', async (ctx) => {
    const f = requirePython(ctx);
    const root = tempDir('install-v1');
    const r = await install(f, root, f.commits.v1!);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`app-install: release ${f.commits.v1} installed in ${root}/venv`);
    expect(inspect(root)).toEqual({ head: f.commits.v1, releaseId: f.commits.v1, version: '1', greeting: 'hello from tinylib' });
    // The runtime is Debian's, the one the rendered files are tested against; the app's own package is the venv's.
    const where = must(run(path.join(root, 'venv', 'bin', 'python3'), ['-c', 'import gunicorn, gevent, psycogreen, tinylib; print(gunicorn.__file__); print(gevent.__file__); print(tinylib.__file__)']), 'imports').split('\n');
    expect(where[0]).toMatch(/^\/usr\/lib\/python3\/dist-packages\/gunicorn\//);
    expect(where[1]).toMatch(/^\/usr\/lib\/python3\/dist-packages\/gevent\//);
    expect(where[2]).toContain(`${root}/venv/lib/`);
    // app.service's ExecStart: the venv's Python running Debian's Gunicorn module.
    expect(must(run(path.join(root, 'venv', 'bin', 'python3'), ['-m', 'gunicorn', '--version']), 'gunicorn --version')).toMatch(/\(version 20\.1\.0\)$/);
  }, 120_000);

  it('a release then a rollback move the same droplet\'s checkout and release id (re-run with another commit)', async (ctx) => {
    const f = requirePython(ctx);
    const root = tempDir('install-release');
    expect((await install(f, root, f.commits.v1!)).status).toBe(0);
    const release = await install(f, root, f.commits.v2!);
    expect(release.status).toBe(0);
    expect(inspect(root)).toMatchObject({ head: f.commits.v2, releaseId: f.commits.v2, version: '2' });
    const rollback = await install(f, root, f.commits.v1!);
    expect(rollback.status).toBe(0);
    expect(inspect(root)).toMatchObject({ head: f.commits.v1, releaseId: f.commits.v1, version: '1' });
  }, 180_000);

  it('fails on a lock without hashes: no unpinned, unchecked install', async (ctx) => {
    const f = requirePython(ctx);
    const r = await install(f, tempDir('install-unhashed'), f.commits.unhashed!);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Hashes are required in --require-hashes mode/);
  }, 120_000);

  it('fails when a wheel does not match its hash', async (ctx) => {
    const f = requirePython(ctx);
    const r = await install(f, tempDir('install-tampered'), f.commits.tampered!);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/THESE PACKAGES DO NOT MATCH THE HASHES/);
  }, 120_000);

  it('fails, saying what is missing, when the commit has no lock file', async (ctx) => {
    const f = requirePython(ctx);
    const r = await install(f, tempDir('install-nolock'), f.commits.nolock!);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`app-install: requirements.lock not found in file://${f.remote} at ${f.commits.nolock} (app.requirementsFile: a lock file with hashes, e.g. pip-compile --generate-hashes)`);
  }, 120_000);

  it('fails on a commit the repository does not have', async (ctx) => {
    const f = requirePython(ctx);
    const r = await install(f, tempDir('install-unknown'), 'f'.repeat(40));
    expect(r.status).not.toBe(0);
  }, 120_000);
});
