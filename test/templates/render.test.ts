import { describe, expect, it } from 'vitest';
import { envFileValue, shellQuote } from '../../templates/app.js';
import { appUserLimits, renderLimitsConf } from '../../templates/host-tuning.js';
import { fillPlaceholders, renderTemplate, TemplateError } from '../../templates/render.js';

describe('fillPlaceholders', () => {
  it('fills every placeholder, numbers in decimal', () => {
    expect(fillPlaceholders('workers {{workers}}; name {{ name }}', { workers: 4, name: 'app' }, 't')).toBe('workers 4; name app');
  });

  it('fails when a placeholder has no value, naming the template', () => {
    expect(() => fillPlaceholders('{{a}} {{b}}', { a: 1 }, 'templates/x.conf')).toThrow(new TemplateError('templates/x.conf: no value for {{b}}'));
  });

  it('fails when a value is not used by the template', () => {
    expect(() => fillPlaceholders('{{a}}', { a: 1, extra: 2 }, 'templates/x.conf')).toThrow('templates/x.conf: values not used by the template: extra');
  });

  it('fails on a number that is not finite', () => {
    expect(() => fillPlaceholders('{{a}}', { a: Number.NaN }, 't')).toThrow('t: {{a}} must be a finite number, got NaN');
  });

  it('leaves braces that are not placeholders alone', () => {
    expect(fillPlaceholders('map { {{a}} } ${x} {{"k": 1}}', { a: 1 }, 't')).toBe('map { 1 } ${x} {{"k": 1}}');
  });
});

describe('renderTemplate', () => {
  it('puts the header after a #! line', () => {
    const text = renderTemplate('app/install-git-app.sh', { gitUrl: "'u'", gitRef: "'r'", lockFile: "'q'", srcDir: "'s'", venvDir: "'v'", releaseIdFile: "'i'" }, '#');
    expect(text.split('\n').slice(0, 2)).toEqual([
      '#!/bin/sh',
      "# Rendered from templates/app/install-git-app.sh by this project's cdktf synth. Do not edit on the host: droplets are replaced, not patched.",
    ]);
  });
});

describe('quoting', () => {
  it('double-quotes env file values, escaping backslash and quote only', () => {
    expect(envFileValue('a"b\\c $HOME ${X}')).toBe('"a\\"b\\\\c $HOME ${X}"');
  });

  it('fails on an env file value with a line break', () => {
    expect(() => envFileValue('a\nB=1')).toThrow('an env file value cannot contain a line break');
  });

  it('single-quotes shell words', () => {
    expect(shellQuote("it's")).toBe("'it'\\''s'");
  });
});

describe('limits', () => {
  it('renders soft and hard nofile for the app user', () => {
    expect(renderLimitsConf(appUserLimits('app', 2001))).toContain('app soft nofile 2001\napp hard nofile 2001\n');
  });

  it('fails on a value that is not a positive integer', () => {
    expect(() => renderLimitsConf([{ domain: 'app', type: 'soft', item: 'nofile', value: 0 }])).toThrow('limits app nofile: value must be a positive integer, got 0');
  });
});
