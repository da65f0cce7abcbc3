import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { toCloudConfigYaml } from '../../constructs/cloud-config.js';

describe('toCloudConfigYaml', () => {
  const text = toCloudConfigYaml(
    {
      package_update: true,
      packages: ['nginx', 'yes'],
      write_files: [{ path: '/etc/x.conf', content: 'a ${b}\n  indented\n', owner: 'root:app', permissions: '0640', defer: true }],
      runcmd: [['systemctl', 'restart', 'nginx.service'], 'echo done: ok'],
    },
    'Rendered from a test',
  );

  it('starts with #cloud-config, then the comment', () => {
    expect(text.split('\n').slice(0, 2)).toEqual(['#cloud-config', '# Rendered from a test']);
  });

  it('writes modes as quoted octal strings, never YAML integers', () => {
    expect(text).toContain("permissions: '0640'");
  });

  it('writes multi-line contents as block literals, unescaped', () => {
    expect(text).toContain('    content: |\n      a ${b}\n        indented\n');
  });

  it('quotes strings YAML 1.1 (cloud-init\'s PyYAML) would read as booleans', () => {
    expect(text).toContain('  - "yes"');
  });

  it('writes argv commands on one line', () => {
    expect(text).toContain('  - [systemctl, restart, nginx.service]\n');
  });

  it('round-trips to the same data', () => {
    expect(parse(text)).toMatchObject({ packages: ['nginx', 'yes'], write_files: [{ permissions: '0640', content: 'a ${b}\n  indented\n', defer: true }] });
  });

  it('never folds long lines', () => {
    const long = 'x '.repeat(200).trim();
    expect(toCloudConfigYaml({ runcmd: [long] })).toContain(`  - ${long}\n`);
  });
});
