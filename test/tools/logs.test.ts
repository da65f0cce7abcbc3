/**
 * Logs that fit: the plan's log budget per droplet and the files that enforce it. logrotate reads and runs
 * the rendered Nginx file for real (a small budget, a log past its maxsize), systemd verifies the timer
 * drop-in, and the budget holds for every environment: rotated plus live Nginx logs plus journald within
 * the share of the disk, the live log checked before it can pass one maxsize at the design rate.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DROPLET_SIZES } from '../../config/catalog.js';
import { DROPLET_CONSTANTS } from '../../config/plan/droplet.js';
import { renderLogSampling, renderNginxLogrotate } from '../../templates/logs.js';
import { allRendered, dropletInput, rendered } from '../templates/fixtures.js';
import { removeTempDirs, requireTools, run, tempDir } from './tools.js';

afterAll(removeTempDirs);

describe.each(['dev', 'staging', 'production'])('log budget of %s', (environment) => {
  const { tuning } = dropletInput(environment);
  const logs = tuning.logs;
  const mib = 1024 * 1024;

  it('rotated and live Nginx logs plus journald fit the budget, and the budget its share of the disk', () => {
    const worst = 2 * (logs.rotateKeep + 2) * logs.rotateMaxMib + logs.journalMaxMib;
    expect(worst).toBeLessThanOrEqual(logs.diskBudgetMib);
  });

  it('checks often enough: at the worst rate (every app answer a 5xx, never sampled, plus sheds) the live log grows at most one maxsize between checks', () => {
    expect(logs.worstBytesPerSecond).toBe(2 * logs.designBytesPerSecond);
    expect(logs.rotateCheckMinutes * 60 * logs.worstBytesPerSecond).toBeLessThanOrEqual(logs.rotateMaxMib * mib);
  });

  it('logs Nginx\'s sheds at a share that keeps them at or below the design request rate at Nginx\'s fastest', () => {
    const { vcpus } = DROPLET_SIZES[dropletInput(environment).sizeSlug]!;
    const fastestShedsPerSecond = DROPLET_CONSTANTS.nginxShedPerSecondPerVcpu * vcpus;
    expect(logs.shedSampleShare * fastestShedsPerSecond).toBeLessThanOrEqual(logs.designRequestsPerSecond * 1.0001);
    expect(logs.shedSampleShare).toBeGreaterThanOrEqual(0.0001);
    expect(rendered(environment).byName['app.conf']).toContain('access_log /var/log/nginx/access.log app buffer=32k flush=5s if=$log_shed;');
  });

  it('samples successes just enough to keep the planned hours in the rotated files', () => {
    const logged = logs.designBytesPerSecond * logs.sampleShare * logs.retentionHours * 3600;
    expect(logged).toBeLessThanOrEqual(logs.rotateKeep * logs.rotateMaxMib * mib);
    expect(logs.sampleShare).toBeGreaterThan(0);
  });

  it('writes the numbers into the rendered files', () => {
    const { byName } = rendered(environment);
    expect(byName.nginx).toContain(`maxsize ${logs.rotateMaxMib}M`);
    expect(byName.nginx).toContain(`rotate ${logs.rotateKeep}`);
    expect(byName['often.conf']).toContain(`OnCalendar=*:0/${logs.rotateCheckMinutes}`);
    expect(byName['50-budget.conf']).toContain(`SystemMaxUse=${logs.journalMaxMib}M`);
    expect(byName['nginx.conf']).toContain('access_log /var/log/nginx/access.log app buffer=32k flush=5s if=$log_request;');
  });
});

describe('access-log sampling', () => {
  const logs = dropletInput('production').tuning.logs;

  it('logs every 5xx and the plan\'s share of the rest, at Nginx\'s two-decimal percentages', () => {
    expect(renderLogSampling({ ...logs, sampleShare: 0.022 })).toContain('        2.2% 1;');
    expect(renderLogSampling({ ...logs, sampleShare: 0.00004 })).toContain('        0.01% 1;');
    expect(renderLogSampling({ ...logs, sampleShare: 0.022 })).toContain('        ~^5 1;');
    expect(renderLogSampling({ ...logs, sampleShare: 1 })).toContain('        default 1;');
  });

  it('samples sheds in either case, at their own share', () => {
    for (const sampleShare of [0.022, 1]) {
      const text = renderLogSampling({ ...logs, sampleShare, shedSampleShare: 0.0105 });
      expect(text).toContain('    split_clients $request_id $log_shed {\n        1.05% 1;\n        * 0;\n    }');
    }
    expect(() => renderLogSampling({ ...logs, shedSampleShare: 0 })).toThrow('logs.shedSampleShare must be in (0, 1], got 0');
  });

  it('fails on a share outside (0, 1]', () => {
    expect(() => renderLogSampling({ ...logs, sampleShare: 0 })).toThrow('logs.sampleShare must be in (0, 1], got 0');
  });

  it('the budget\'s constants are what the README states', () => {
    expect([DROPLET_CONSTANTS.logDiskShare, DROPLET_CONSTANTS.accessLogLineBytes, DROPLET_CONSTANTS.logRetentionHours]).toEqual([0.25, 300, 24]);
  });
});

describe('logrotate and systemd on the rendered files', () => {
  it('logrotate rotates an Nginx log past its maxsize (a 1 MiB budget for the test) and keeps the planned count', (ctx) => {
    requireTools(ctx, '/usr/sbin/logrotate');
    const dir = tempDir('logrotate');
    const logDir = path.join(dir, 'nginx');
    mkdirSync(logDir, { mode: 0o755 });
    const small = { ...dropletInput('production').tuning.logs, rotateMaxMib: 1, rotateKeep: 2 };
    const conf = renderNginxLogrotate(small)
      .replace('/var/log/nginx/*.log', `${logDir}/*.log`)
      // No Nginx to signal here.
      .replace('invoke-rc.d nginx rotate >/dev/null 2>&1', 'true');
    writeFileSync(path.join(dir, 'nginx.conf'), conf);
    const state = path.join(dir, 'state');
    for (let round = 1; round <= 4; round++) {
      writeFileSync(path.join(logDir, 'access.log'), `${'x'.repeat(1023)}\n`.repeat(1536));
      const r = run('/usr/sbin/logrotate', ['-s', state, path.join(dir, 'nginx.conf')]);
      expect(r.stderr, `round ${round}`).toBe('');
      expect(r.status).toBe(0);
    }
    const files = readdirSync(logDir).sort();
    expect(files).toEqual(['access.log', 'access.log.1.gz', 'access.log.2.gz']);
    expect(statSync(path.join(logDir, 'access.log')).size).toBe(0);
  });

  it('logrotate.timer with the drop-in passes systemd-analyze verify', (ctx) => {
    requireTools(ctx, 'systemd-analyze');
    const unit = '/lib/systemd/system/logrotate.timer';
    if (!existsSync(unit)) {
      if (process.env.CI === 'true') throw new Error('logrotate is not installed: CI must install it (.ci/debian-packages.txt)');
      ctx.skip('logrotate not installed (apt-get install logrotate)');
    }
    const dir = tempDir('logrotate-timer');
    copyFileSync(unit, path.join(dir, 'logrotate.timer'));
    copyFileSync('/lib/systemd/system/logrotate.service', path.join(dir, 'logrotate.service'));
    mkdirSync(path.join(dir, 'logrotate.timer.d'));
    writeFileSync(path.join(dir, 'logrotate.timer.d', 'often.conf'), rendered('production').byName['often.conf']!);
    const r = run('systemd-analyze', ['verify', '--man=no', path.join(dir, 'logrotate.timer')], { cwd: dir });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });

  it('every environment renders the three log files', () => {
    for (const { byName, environment } of allRendered()) {
      expect(Object.keys(byName), environment).toEqual(expect.arrayContaining(['nginx', 'often.conf', '50-budget.conf']));
    }
  });
});
