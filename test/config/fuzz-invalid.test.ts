/**
 * Bad input at scale: fast-check generates invalid environment files of every kind (wrong types,
 * out-of-range values, unknown keys, missing keys, broken YAML, empty or missing files, contradictory
 * settings) and each must be refused with located lines only: no stack trace, nothing written.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ConfigError, loadEnvironmentFile } from '../../config/load.js';

const ROOT = path.resolve(import.meta.dirname, '../..');
const LOCATED_LINE = /^\S+:\d+:\d+( \S+)?: .+/;
const RUNS = 1200;

/** A valid production config (no placeholders: production refuses them); every case breaks it in one way. */
const BASE = {
  tier: 'production', region: 'nyc3', vpc: { ipRange: '10.30.0.0/20' }, domain: 'shop.acme-widgets.io',
  fleet: { sizeSlug: 'c-8', count: 6, sshKeyFingerprints: ['9f:2c:41:d0:7e:55:a3:18:c6:0b:e2:74:5d:93:af:16'], adminSshCidrs: [] },
  loadBalancer: { httpIdleTimeoutSeconds: 60, healthCheck: { checkIntervalSeconds: 10 } },
  postgres: { sizeSlug: 'db-s-4vcpu-8gb', standbyNodes: 1, readReplicas: [{ sizeSlug: 'db-s-4vcpu-8gb' }], pool: { mode: 'transaction' }, maintenanceWindow: { day: 'sunday', hour: '04:00' } },
  cache: { sizeSlug: 'db-s-2vcpu-4gb', evictionPolicy: 'allkeys_lru', ttlSeconds: 300 },
  app: { source: 'demo' },
  alerts: { emails: ['ops@acme-widgets.io'] },
  capacity: { targetConcurrentRequests: 50000, typicalRequestSeconds: 1, p95RequestSeconds: 4, readShare: 0.8 },
  state: { backend: 'local' },
};
type Config = Record<string, unknown>;

function set(config: Config, dotted: string | string[], value: unknown): Config {
  const copy = structuredClone(config);
  const keys = Array.isArray(dotted) ? dotted : dotted.split('.');
  let node = copy as Record<string, unknown>;
  for (const key of keys.slice(0, -1)) node = node[key] as Record<string, unknown>;
  if (value === undefined) delete node[keys.at(-1)!];
  // defineProperty, not assignment: a generated key may be `__proto__`.
  else Object.defineProperty(node, keys.at(-1)!, { value, enumerable: true, writable: true, configurable: true });
  return copy;
}
const yaml = (config: Config) => stringify(config);

/** Numeric keys with their DigitalOcean or schema bounds, and whether they must be whole numbers. */
const NUMBERS: [string, number, number, boolean][] = [
  ['loadBalancer.sizeUnit', 1, 200, true], ['loadBalancer.httpIdleTimeoutSeconds', 30, 600, true],
  ['loadBalancer.healthCheck.checkIntervalSeconds', 3, 300, true], ['loadBalancer.healthCheck.healthyThreshold', 2, 10, true],
  ['fleet.count', 1, 100, true], ['postgres.standbyNodes', 0, 2, true], ['cache.ttlSeconds', 1, 86400, true],
  ['capacity.targetConcurrentRequests', 1, 2_000_000, true], ['capacity.readShare', 0, 1, false],
  ['capacity.requestsPerSecondPerVcpu', 50, 50_000, true], ['capacity.maxOpenFilesPerProcess', 4096, 1_048_576, true],
];
const SCALARS = ['tier', 'region', 'vpc.ipRange', 'domain', 'fleet.sizeSlug', 'postgres.version', 'postgres.sizeSlug', 'postgres.pool.mode',
  'postgres.maintenanceWindow.day', 'postgres.maintenanceWindow.hour', 'cache.sizeSlug', 'cache.evictionPolicy', 'app.source', 'state.backend'];
const OBJECTS = ['vpc', 'fleet', 'loadBalancer', 'loadBalancer.healthCheck', 'postgres', 'postgres.pool', 'cache', 'alerts', 'capacity', 'state', 'app'];
const LISTS = ['fleet.sshKeyFingerprints', 'fleet.adminSshCidrs', 'postgres.readReplicas', 'alerts.emails'];
const REQUIRED = ['tier', 'region', 'vpc', 'vpc.ipRange', 'fleet', 'fleet.sizeSlug', 'fleet.sshKeyFingerprints', 'postgres', 'postgres.sizeSlug', 'cache', 'cache.sizeSlug', 'capacity', 'capacity.targetConcurrentRequests'];
const KNOWN_KEYS = new Set(JSON.stringify(BASE).match(/"(\w+)":/g)!.map((k) => k.slice(1, -2)).concat(['$schema', 'dnsZone', 'image', 'autoscale', 'sizeUnit', 'responseTimeoutSeconds', 'unhealthyThreshold', 'path', 'version', 'databaseName', 'userName', 'size', 'engine', 'env', 'slackWebhooks', 'p95RequestSeconds', 'key', 'bucket', 'example', 'storageAutoscale', 'logSinks', 'evictionVia']));

const wrongScalar = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { minLength: 1, maxLength: 3 }), fc.dictionary(fc.string({ minLength: 1, maxLength: 5 }), fc.integer(), { minKeys: 1, maxKeys: 2 }));
const outOfRange = ([key, min, max, integer]: [string, number, number, boolean]) =>
  fc.oneof(
    fc.integer({ min: min - 1_000_000, max: min - 1 }),
    fc.integer({ min: max + 1, max: max + 1_000_000 }),
    fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
    ...(integer ? [fc.double({ min, max, noNaN: true }).filter((v) => !Number.isInteger(v))] : []),
  ).map((value) => ({ kind: 'out of range', text: yaml(set(BASE, key, value)) }));

/** The YAML of a valid config with a broken fragment inserted at some line. */
const BROKEN_FRAGMENTS = ['key: [unclosed', 'key: "unterminated', '\tindented: with a tab', 'a: b: c', '{', ']', '- item in a map', 'tier: production', '*undefined_alias', '---\nsecond: document', 'x: &a [1]\ny: *b', `bomb: &b0 [x, x]\n${Array.from({ length: 12 }, (_, i) => `b${i + 1}: &b${i + 1} [*b${i}, *b${i}]`).join('\n')}`, '  bad: indent\n bad2: indent'];
const brokenYaml = fc.tuple(fc.constantFrom(...BROKEN_FRAGMENTS), fc.nat()).map(([fragment, at]) => {
  const lines = yaml(BASE).split('\n');
  lines.splice(at % lines.length, 0, fragment);
  return { kind: 'broken YAML', text: lines.join('\n') };
});

/** Settings each valid alone, contradictory together (DigitalOcean's refusals and the production rules). */
const CONTRADICTIONS: Config[] = [
  set(BASE, 'fleet.autoscale', { minInstances: 2, maxInstances: 6 }),
  set(set(BASE, 'fleet.count', undefined), 'fleet.autoscale', { minInstances: 8, maxInstances: 4 }),
  set(BASE, 'domain', undefined),
  set(set(BASE, 'domain', undefined), 'dnsZone', 'example.com'),
  set(BASE, 'dnsZone', 'example.org'),
  set(BASE, 'postgres.standbyNodes', 0),
  set(set(BASE, 'postgres.sizeSlug', 'db-s-1vcpu-1gb'), 'tier', 'staging'),
  set(BASE, 'postgres.readReplicas', [{ sizeSlug: 'db-s-1vcpu-2gb' }]),
  set(BASE, 'fleet.count', 1),
  set(BASE, 'fleet.adminSshCidrs', ['0.0.0.0/0']),
  set(BASE, 'vpc.ipRange', '8.8.0.0/16'),
  set(BASE, 'fleet.sizeSlug', 'c-999'),
  set(BASE, 'capacity.targetConcurrentRequests', 2_000_000),
  set(BASE, 'state', { backend: 'local', bucket: 'example-tfstate' }),
];

type Case = { kind: string; text?: string; missing?: true };
const cases: fc.Arbitrary<Case> = fc.oneof(
  // postgres.version 16 or 17 typed as a number is a right type, not a wrong one.
  fc.tuple(fc.constantFrom(...SCALARS, ...LISTS), wrongScalar).filter(([key, v]) => !(LISTS.includes(key) && Array.isArray(v)) && !(key === 'postgres.version' && (v === 16 || v === 17))).map(([key, v]) => ({ kind: 'wrong type', text: yaml(set(BASE, key, v)) })),
  fc.tuple(fc.constantFrom(...OBJECTS), fc.oneof(fc.integer(), fc.string(), fc.boolean(), fc.constant(null), fc.constant([]))).map(([key, v]) => ({ kind: 'wrong type', text: yaml(set(BASE, key, v)) })),
  fc.constantFrom(...NUMBERS).chain(outOfRange),
  fc.tuple(fc.constantFrom('', ...OBJECTS), fc.oneof(fc.string({ minLength: 1, maxLength: 16 }).filter((k) => !KNOWN_KEYS.has(k)), fc.constantFrom('__proto__', 'constructor', 'toString', 'hasOwnProperty', ' ', 'a.b', '')), fc.jsonValue({ maxDepth: 1 }))
    .map(([at, key, v]) => ({ kind: 'unknown key', text: yaml(at ? set(BASE, [...at.split('.'), key], v ?? 1) : { ...BASE, [key]: v ?? 1 }) })),
  fc.constantFrom(...REQUIRED).map((key) => ({ kind: 'missing key', text: yaml(set(BASE, key, undefined)) })),
  brokenYaml,
  fc.constantFrom('', '\n\n', '   \n', '# only a comment\n', '~\n', 'null\n', '---\n', '- a\n- b\n', '42\n', '"a string"\n').map((text) => ({ kind: 'empty or not a mapping', text })),
  fc.constant<Case>({ kind: 'missing file', missing: true }),
  fc.constantFrom(...CONTRADICTIONS).map((config) => ({ kind: 'contradiction', text: yaml(config) })),
);

const dir = mkdtempSync(path.join(tmpdir(), 'fuzz-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('GIVEN generated invalid configs WHEN loaded', () => {
  it(`THEN each of ${RUNS} is refused with located lines only, no stack trace, nothing written`, () => {
    const file = path.join(dir, 'case.yaml');
    const seen = new Map<string, number>();
    fc.assert(
      fc.property(cases, (c) => {
        rmSync(file, { force: true });
        if (!c.missing) writeFileSync(file, c.text!);
        let error: unknown;
        try {
          loadEnvironmentFile(file, 'case');
        } catch (e) {
          error = e;
        }
        expect(error, `${c.kind} was accepted:\n${c.text}`).toBeInstanceOf(ConfigError);
        const message = (error as ConfigError).message;
        for (const line of message.split('\n')) expect(line, `${c.kind}:\n${c.text}`).toMatch(LOCATED_LINE);
        expect(message).not.toMatch(/\n\s+at |node_modules|\.ts:\d+/);
        expect(readdirSync(dir)).toEqual(c.missing ? [] : ['case.yaml']);
        seen.set(c.kind, (seen.get(c.kind) ?? 0) + 1);
      }),
      { numRuns: RUNS },
    );
    expect([...seen.values()].reduce((a, b) => a + b, 0)).toBe(RUNS);
    expect([...seen.keys()].sort()).toEqual(['broken YAML', 'contradiction', 'empty or not a mapping', 'missing file', 'missing key', 'out of range', 'unknown key', 'wrong type']);
  });
});

describe('GIVEN an invalid environment WHEN the app (main.ts) runs', () => {
  const run = (text: string) => new Promise<{ code: number | null; stderr: string; outdir: string }>((resolve) => {
    const configDir = mkdtempSync(path.join(dir, 'app-'));
    writeFileSync(path.join(configDir, 'broken.yaml'), text);
    const outdir = path.join(configDir, 'out');
    const child = spawn(process.execPath, ['--import', 'tsx', 'main.ts'], { cwd: ROOT, env: { ...process.env, WEB_CONFIG_DIR: configDir, CDKTF_OUTDIR: outdir, CHECKPOINT_DISABLE: '1' } });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stderr, outdir }));
  });

  it('THEN it exits 1 with located lines only and writes no output, for broken YAML and for a contradiction', async () => {
    const results = await Promise.all([run('tier: production\nregion: [nyc3\n'), run(yaml(CONTRADICTIONS[0]!))]);
    for (const { code, stderr, outdir } of results) {
      expect(code).toBe(1);
      const [first, ...rest] = stderr.trim().split('\n');
      expect(first).toBe('Invalid configuration, nothing synthesized:');
      for (const line of rest) expect(line).toMatch(LOCATED_LINE);
      expect(existsSync(outdir)).toBe(false);
    }
  });
});

describe('what the fuzzer found, pinned', () => {
  const problems = (text: string) => {
    const file = path.join(dir, 'pinned.yaml');
    writeFileSync(file, text);
    try {
      loadEnvironmentFile(file, 'pinned');
    } catch (error) {
      if (error instanceof ConfigError) return error.message.split('\n').map((l) => l.replace(path.relative(process.cwd(), file), 'pinned.yaml'));
      throw error;
    }
    return [];
  };

  it('fails when an alias has no anchor, at the alias, instead of crashing with a ReferenceError', () => {
    expect(problems(`x: &a [1]\ny: *b\n${yaml(BASE)}`)).toEqual(['pinned.yaml:2:4: YAML: Unresolved alias (the anchor must be set before the alias): b']);
  });

  it('fails when aliases expand without bound (an alias bomb), instead of crashing', () => {
    const bomb = `b0: &b0 [x, x]\n${Array.from({ length: 12 }, (_, i) => `b${i + 1}: &b${i + 1} [*b${i}, *b${i}]`).join('\n')}\n`;
    expect(problems(bomb)).toEqual(['pinned.yaml:1:1: YAML: Excessive alias count indicates a resource exhaustion attack']);
  });

  it('fails when an unknown key holds a space or a dot, quoting it so the line keeps its file:line:column key: shape', () => {
    expect(problems(yaml(set(BASE, ['vpc', 'ip range'], 1)))).toEqual(['pinned.yaml:5:3 vpc["ip\\u0020range"]: unknown key; allowed here: ipRange']);
    expect(problems(yaml(set(BASE, ['vpc', 'a.b'], 1)))).toEqual(['pinned.yaml:5:3 vpc["a.b"]: unknown key; allowed here: ipRange']);
  });
});
