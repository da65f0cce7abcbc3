/**
 * The kernel's own view of the sysctl file (every key exists under /proc/sys, every value has the shape
 * of the current one), limits.conf entries as pam_limits reads them, open-files limits within the
 * kernel's fs.nr_open, the env file as systemd reads EnvironmentFile=, and the git installer by `sh -n`.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { renderLimitsConf, renderSysctlConf, SYSTEMD_BOOT_FILE_LIMITS } from '../../templates/host-tuning.js';
import { allRendered, GIT_APP, rendered } from '../templates/fixtures.js';
import { removeTempDirs, requireTools, run, tempDir } from './tools.js';

afterAll(removeTempDirs);

const settingLines = (text: string) => text.split('\n').filter((l) => l.trim() && !l.startsWith('#'));

/** Problems of a sysctl.d file, checked against this kernel's /proc/sys. */
function sysctlProblems(text: string): string[] {
  return settingLines(text).flatMap((line) => {
    const m = /^([\w.-]+) = (.+)$/.exec(line);
    if (!m) return [`not "key = value": ${line}`];
    const file = path.join('/proc/sys', m[1]!.replaceAll('.', '/'));
    if (!existsSync(file)) return [`${m[1]}: no ${file} in this kernel`];
    const current = readFileSync(file, 'utf8').trim().split(/\s+/);
    const wanted = m[2]!.split(' ');
    if (wanted.some((v) => !/^-?\d+$/.test(v))) return [`${m[1]}: ${m[2]} is not integers`];
    if (wanted.length !== current.length) return [`${m[1]}: ${wanted.length} value(s) given, the kernel has ${current.length} (${current.join(' ')})`];
    return [];
  });
}

const LIMIT_ITEMS = ['core', 'data', 'fsize', 'memlock', 'nofile', 'rss', 'stack', 'cpu', 'nproc', 'as', 'maxlogins', 'maxsyslogins', 'priority', 'locks', 'sigpending', 'msgqueue', 'nice', 'rtprio'];

/** Problems of a limits.d file, per limits.conf(5): `<domain> <type> <item> <value>`. */
function limitsProblems(text: string): string[] {
  return settingLines(text).flatMap((line) => {
    const fields = line.trim().split(/\s+/);
    if (fields.length !== 4) return [`expected 4 fields: ${line}`];
    const [domain, type, item, value] = fields as [string, string, string, string];
    const problems: string[] = [];
    if (!/^(\*|%?@?[a-z_][a-z0-9_-]*|\d+:\d*)$/.test(domain)) problems.push(`domain ${domain}`);
    if (!['soft', 'hard', '-'].includes(type)) problems.push(`type ${type}`);
    if (!LIMIT_ITEMS.includes(item)) problems.push(`item ${item}`);
    if (!/^(\d+|unlimited|infinity|-1)$/.test(value)) problems.push(`value ${value}`);
    return problems.map((p) => `${p} is not valid in: ${line}`);
  });
}

/** Problems of an EnvironmentFile as systemd parses our subset: KEY=value or KEY="escaped value". */
function envFileProblems(text: string): string[] {
  return settingLines(text).filter((l) => !/^[A-Za-z_][A-Za-z0-9_]*=("([^"\\]|\\.)*"|[^\s"'\\]*)$/.test(l)).map((l) => `not KEY=value: ${l}`);
}

describe.each(allRendered())('host tuning, $environment', ({ byName, files }) => {
  it('every sysctl key exists in /proc/sys and every value has its shape', () => {
    expect(sysctlProblems(byName['99-tuning.conf']!)).toEqual([]);
  });

  it('limits entries are well-formed', () => {
    expect(limitsProblems(byName['90-app.conf']!)).toEqual([]);
  });

  it('no open-files limit exceeds the fs.nr_open systemd sets at boot, which the droplet leaves alone', () => {
    expect(byName['99-tuning.conf']).not.toMatch(/^fs\.(nr_open|file-max)/m);
    const nrOpen = Number(SYSTEMD_BOOT_FILE_LIMITS['fs.nr_open']);
    const limits = [...files.map((f) => f.content).join('\n').matchAll(/(?:LimitNOFILE=|nofile |worker_rlimit_nofile )(\d+)/g)].map((m) => Number(m[1]));
    expect(limits.length).toBeGreaterThanOrEqual(4);
    for (const limit of limits) expect(limit).toBeLessThanOrEqual(nrOpen);
  });

  it('the env file is KEY=value lines systemd reads', () => {
    expect(envFileProblems(byName['app.env']!)).toEqual([]);
  });
});

describe('host tuning, broken renderings', () => {
  it('finds a sysctl key this kernel does not have', () => {
    const text = renderSysctlConf({ 'net.core.somaxconnn': '4096' });
    expect(sysctlProblems(text)).toEqual(['net.core.somaxconnn: no /proc/sys/net/core/somaxconnn in this kernel']);
  });

  it('finds a sysctl value of the wrong shape', () => {
    expect(sysctlProblems(renderSysctlConf({ 'net.ipv4.ip_local_port_range': '10240' }))[0]).toMatch(/^net\.ipv4\.ip_local_port_range: 1 value\(s\) given, the kernel has 2/);
  });

  it('refuses to render a value that is not integers', () => {
    expect(() => renderSysctlConf({ 'net.core.somaxconn': 'lots' })).toThrow('sysctl net.core.somaxconn: value "lots" must be integers separated by single spaces');
  });

  it('finds a limits entry with an unknown item', () => {
    const text = renderLimitsConf([{ domain: 'app', type: 'soft', item: 'nofile', value: 1024 }]).replace('nofile', 'openfiles');
    expect(limitsProblems(text)).toEqual(['item openfiles is not valid in: app soft openfiles 1024']);
  });

  it('finds an env file line systemd would misread', () => {
    expect(envFileProblems('DATABASE_URL=postgresql://a b\n')).toEqual(['not KEY=value: DATABASE_URL=postgresql://a b']);
  });
});

describe('git app installer', () => {
  const script = rendered('production', GIT_APP).byName['app-install']!;

  it('parses with sh -n, and keeps hostile values one literal word', (ctx) => {
    requireTools(ctx, 'sh');
    const hostile = rendered('production', { ...GIT_APP, gitRef: "v1'; rm -rf / #" }).byName['app-install']!;
    for (const text of [script, hostile]) {
      const file = path.join(tempDir('install'), 'app-install');
      writeFileSync(file, text);
      expect(run('sh', ['-n', file]).stderr).toBe('');
    }
    expect(hostile).toContain(`GIT_REF='v1'\\''; rm -rf / #'`);
  });

  it('fails sh -n on a broken rendering, with the shell\'s message', (ctx) => {
    requireTools(ctx, 'sh');
    const file = path.join(tempDir('install'), 'app-install');
    writeFileSync(file, script.replace('fi\n', '\n'));
    const r = run('sh', ['-n', file]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Syntax error/);
  });
});
