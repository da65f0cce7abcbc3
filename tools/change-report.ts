/**
 * `npm run changes`: what a change would do to each deployed environment, without credentials.
 *
 *   npm run changes -- --base <git ref>                 synthesize the ref and the working tree, compare
 *   npm run changes -- --base-dir A --head-dir B        compare two existing cdktf.out directories
 *   ... --out report.md                                 also write the Markdown to a file
 *
 * The base is synthesized from `git archive <ref>` unpacked into a temporary directory (this
 * repository's node_modules linked in), with its own config/; the head is the working tree (honours
 * WEB_CONFIG_DIR and WEB_ENVIRONMENTS). Prints a Markdown report per environment (tools/change-markdown.ts).
 * Exit 0 when the report was made (whatever it says), 1 when a synth fails, 2 on a usage error.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { diffStacks, type TerraformDocument } from './change-diff.js';
import { renderReport, type EnvironmentDiff } from './change-markdown.js';

const ROOT = path.resolve(import.meta.dirname, '..');

/** A problem the user fixes by changing the command line: one line, exit 2. */
export class UsageError extends Error {}
/** A step that failed for a reason the message explains: exit 1. */
export class ReportError extends Error {}

const USAGE = 'usage: npm run changes -- (--base <git ref> | --base-dir <cdktf.out> --head-dir <cdktf.out>) [--out <file.md>]';

/** Parsed command line. */
export interface Options {
  readonly base?: string;
  readonly baseDir?: string;
  readonly headDir?: string;
  readonly out?: string;
}

/** Parse `--name value` / `--name=value` pairs; anything else is a usage error. */
export function parseArguments(argv: readonly string[]): Options {
  const flags: Record<string, string> = {};
  const names = { '--base': 'base', '--base-dir': 'baseDir', '--head-dir': 'headDir', '--out': 'out' } as const;
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const key = names[flag as keyof typeof names];
    if (!key) throw new UsageError(`unknown argument ${JSON.stringify(argv[i])}; ${USAGE}`);
    const value = inline ?? argv[++i];
    if (value === undefined || value === '' || (inline === undefined && value.startsWith('--'))) throw new UsageError(`${flag} needs a value; ${USAGE}`);
    if (key in flags) throw new UsageError(`${flag} given twice; ${USAGE}`);
    flags[key] = value;
  }
  const { base, baseDir, headDir } = flags;
  if (base !== undefined && (baseDir !== undefined || headDir !== undefined)) throw new UsageError(`--base compares with the working tree; it cannot be combined with --base-dir/--head-dir`);
  if (base === undefined && (baseDir === undefined || headDir === undefined)) throw new UsageError(`give --base <git ref>, or both --base-dir and --head-dir; ${USAGE}`);
  return flags;
}

/** The `cdk.tf.json` of every stack under `dir/stacks`, keyed by environment (`web-` stripped). */
export function readStacks(dir: string, flag: string): Map<string, TerraformDocument> {
  const stacksDir = path.join(dir, 'stacks');
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw new UsageError(`${flag} ${dir}: no such directory`);
  const stacks = new Map<string, TerraformDocument>();
  for (const stack of existsSync(stacksDir) ? readdirSync(stacksDir).sort() : []) {
    const file = path.join(stacksDir, stack, 'cdk.tf.json');
    if (!existsSync(file)) continue;
    try {
      stacks.set(stack.replace(/^web-/, ''), JSON.parse(readFileSync(file, 'utf8')) as TerraformDocument);
    } catch (error) {
      throw new UsageError(`${flag} ${file}: not valid JSON (${(error as Error).message})`);
    }
  }
  if (stacks.size === 0) throw new UsageError(`${flag} ${dir}: no stacks/<stack>/cdk.tf.json inside; give a cdktf.out directory (run \`npx cdktf synth\`)`);
  return stacks;
}

/** Compare every environment present in either side. */
export function compareStacks(base: Map<string, TerraformDocument>, head: Map<string, TerraformDocument>): EnvironmentDiff[] {
  const names = [...new Set([...base.keys(), ...head.keys()])];
  const order = ['dev', 'staging', 'production'];
  names.sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99) || a.localeCompare(b));
  return names.map((name) => {
    const label = !base.has(name) ? `${name} (new environment)` : !head.has(name) ? `${name} (environment removed)` : name;
    return { name: label, diff: diffStacks(base.get(name), head.get(name)) };
  });
}

function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; input?: Buffer }): { status: number; stdout: Buffer; stderr: string } {
  const result = spawnSync(command, args, { cwd: options.cwd, env: options.env ?? process.env, input: options.input, maxBuffer: 512 * 1024 * 1024 });
  if (result.error) throw new ReportError(`${command} could not run: ${result.error.message}`);
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr.toString() };
}

/** Run the app like `cdktf synth` does, into `outdir`; a failed synth is reported with its own message. */
function synthesize(cwd: string, outdir: string, what: string, env: NodeJS.ProcessEnv): void {
  const tsx = path.join(ROOT, 'node_modules', '.bin', 'tsx');
  const result = run(tsx, ['main.ts'], { cwd, env: { ...env, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1' } });
  if (result.status !== 0) throw new ReportError(`synth of ${what} failed:\n${result.stderr.trim() || result.stdout.toString().trim()}`);
}

/** Unpack `ref` into a temporary directory and synthesize it there; returns its cdktf.out. */
function synthesizeRef(ref: string, scratch: string): string {
  const commit = run('git', ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: ROOT });
  if (commit.status !== 0) throw new UsageError(`--base ${ref}: not a commit in this repository (try a branch, tag or SHA; in CI fetch it first)`);
  const sha = commit.stdout.toString().trim();
  const tree = path.join(scratch, 'base');
  const archive = run('git', ['archive', '--format=tar', '--prefix=base/', sha], { cwd: ROOT });
  if (archive.status !== 0) throw new ReportError(`git archive ${ref} failed: ${archive.stderr.trim()}`);
  const untar = run('tar', ['-x', '-C', scratch], { cwd: scratch, input: archive.stdout });
  if (untar.status !== 0) throw new ReportError(`unpacking ${ref} failed: ${untar.stderr.trim()}`);
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(tree, 'node_modules'), 'dir');
  const outdir = path.join(scratch, 'base.out');
  // The base reads its own config/ so the comparison is ref against working tree.
  const { WEB_CONFIG_DIR: _ignored, ...env } = process.env;
  synthesize(tree, outdir, `${ref} (${sha.slice(0, 12)})`, env);
  return outdir;
}

/** Make the report for the given options; returns the Markdown. */
export function makeReport(options: Options): string {
  if (options.baseDir !== undefined && options.headDir !== undefined) {
    const base = readStacks(options.baseDir, '--base-dir');
    const head = readStacks(options.headDir, '--head-dir');
    return renderReport(compareStacks(base, head), { base: options.baseDir, head: options.headDir });
  }
  const scratch = mkdtempSync(path.join(tmpdir(), 'change-report-'));
  try {
    const baseOut = synthesizeRef(options.base!, scratch);
    const headOut = path.join(scratch, 'head.out');
    synthesize(ROOT, headOut, 'the working tree', process.env);
    return renderReport(compareStacks(readStacks(baseOut, '--base'), readStacks(headOut, 'working tree')), { base: options.base!, head: 'working tree' });
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function main(argv: readonly string[]): number {
  try {
    const options = parseArguments(argv);
    if (options.out !== undefined && !existsSync(path.dirname(path.resolve(options.out)))) throw new UsageError(`--out ${options.out}: its directory does not exist`);
    const markdown = makeReport(options);
    process.stdout.write(markdown);
    if (options.out !== undefined) writeFileSync(options.out, markdown);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`change report: ${error.message}`);
      return 2;
    }
    // Anything else is a bug here, still told in one line rather than a stack trace.
    console.error(`change report: ${error instanceof ReportError ? '' : 'unexpected error: '}${(error as Error).message}`);
    return 1;
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  process.exitCode = main(process.argv.slice(2));
}
