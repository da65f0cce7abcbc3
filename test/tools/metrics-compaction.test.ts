/**
 * Metrics that stay cheap: the rendered gunicorn.conf.py's child_exit folds a dead worker's counter and
 * histogram files into one file per type, so a /metrics scrape after a week of hourly worker recycles costs
 * at most twice one after an hour, and loses no count. Simulated with prometheus_client's own multiprocess
 * files (test/tools/metrics-week.py); the old behaviour (mark_process_dead only) is measured beside it.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DROPLET_CONSTANTS } from '../../config/plan/droplet.js';
import { rendered } from '../templates/fixtures.js';
import { pythonHas, PYTHON, removeTempDirs, requireTools, run, tempDir } from './tools.js';

afterAll(removeTempDirs);

interface Week { files: number; scrapeSeconds: number; served: number; reported: number }

function simulate(hours: number, fold: boolean): Week {
  const dir = tempDir('metrics-week');
  const conf = path.join(dir, 'gunicorn.conf.py');
  writeFileSync(conf, rendered('production').byName['gunicorn.conf.py']!);
  const metrics = path.join(dir, 'metrics');
  run('mkdir', [metrics]);
  const r = run(PYTHON, [path.join(import.meta.dirname, 'metrics-week.py'), conf, metrics, String(hours), '2', fold ? '1' : '0'], { timeout: 120_000 });
  if (r.status !== 0) throw new Error(`metrics-week.py failed:\n${r.stdout}${r.stderr}`);
  return JSON.parse(r.stdout) as Week;
}

describe('metric files of recycled workers', () => {
  it('a scrape after a week of hourly recycles costs at most twice one after an hour, and counts every request', (ctx) => {
    requireTools(ctx, PYTHON);
    if (!pythonHas('prometheus_client')) {
      if (process.env.CI === 'true') throw new Error('python3-prometheus-client missing: CI must install it (.ci/run)');
      ctx.skip('python3-prometheus-client not installed');
    }
    const hour = simulate(1, true);
    const week = simulate(168, true);
    const unfolded = simulate(168, false);
    console.log(`scrape after 1 h: ${(hour.scrapeSeconds * 1000).toFixed(2)} ms (${hour.files} files); after 168 h: ${(week.scrapeSeconds * 1000).toFixed(2)} ms (${week.files} files); ` +
      `without folding after 168 h: ${(unfolded.scrapeSeconds * 1000).toFixed(2)} ms (${unfolded.files} files)`);
    expect(week.files).toBe(hour.files);
    // Within the plan's bound for 2 workers (the plan report's "metric files" row).
    expect(week.files).toBeLessThanOrEqual((2 + 1) * DROPLET_CONSTANTS.foldedMetricTypes);
    expect(week.scrapeSeconds).toBeLessThanOrEqual(2 * hour.scrapeSeconds);
    expect(week.reported).toBe(week.served);
    expect(hour.reported).toBe(hour.served);
    // The old behaviour, for the record: files grow with every recycle.
    expect(unfolded.files).toBeGreaterThan(100 * hour.files / 2);
  }, 180_000);
});
