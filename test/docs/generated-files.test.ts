import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { environmentJsonSchema, JSON_SCHEMA_FILE } from '../../config/json-schema.js';
import { environmentNames } from '../../config/load.js';
import { README, renderReadme } from '../../tools/readme.js';

describe('generated files are up to date', () => {
  it('config/environment.schema.json matches the zod schema (run `npm run schema`)', () => {
    expect(readFileSync(JSON_SCHEMA_FILE, 'utf8')).toBe(environmentJsonSchema());
  });

  it('README.md\'s plan and configuration reference match the code (run `npm run readme`)', () => {
    const readme = readFileSync(README, 'utf8');
    expect(renderReadme(readme)).toBe(readme);
  });

  it.each(environmentNames())('config/%s.yaml points editors at the JSON Schema', (name) => {
    expect(readFileSync(`config/${name}.yaml`, 'utf8')).toMatch(/^# yaml-language-server: \$schema=\.\/environment\.schema\.json$/m);
  });
});

describe('README', () => {
  const readme = readFileSync(README, 'utf8');
  it('gives the synth and test commands on its first screen, and .ci/run runs that test command', () => {
    const firstScreen = readme.split('\n').slice(0, 30).join('\n');
    // The main job as a newcomer types it; `npm run synth` is the same with cdktf-cli's network lookups off
    // (test/stacks/clean-synth.test.ts).
    expect(firstScreen).toContain('npm ci && npx cdktf synth');
    expect((JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts.synth).toMatch(/ cdktf synth$/);
    expect(firstScreen).toMatch(/^npm test\s/m);
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/^npm test$/m);
  });
});
