import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * Every tuning number comes from the capacity plan (config/capacity.ts). These patterns find a tuning
 * directive or property followed by a literal number in the templates and constructs; a hit means a
 * number was written down instead of derived.
 */
const TUNING_LITERALS: readonly [string, RegExp][] = [
  ['nginx worker count', /\bworker_processes\s+\d/],
  ['nginx connections', /\bworker_connections\s+\d/],
  ['nginx open files', /\bworker_rlimit_nofile\s+\d/],
  ['nginx keepalive', /\bkeepalive(_timeout)?\s+\d/],
  ['nginx listen backlog', /\bbacklog=\d/],
  ['nginx proxy timeouts', /\bproxy_(read|send|connect)_timeout\s+\d/],
  ['nginx body buffers', /\bclient_(body_buffer|max_body)_size\s+\d/],
  ['gunicorn settings', /^\s*(workers|worker_connections|backlog|keepalive|timeout|graceful_timeout|max_requests|max_requests_jitter)\s*=\s*\d/m],
  ['systemd open files', /\bLimitNOFILE=\d/],
  ['limits.conf nofile', /\bnofile\s+\d/],
  ['sysctl queue sizes', /\b(somaxconn|tcp_max_syn_backlog|netdev_max_backlog|file-max|nr_open)\s*=\s*\d/],
  ['SQLAlchemy pools', /\b(pool_size|max_overflow|POOL_SIZE|MAX_OVERFLOW)\s*=\s*\d/],
  ['TypeScript tuning properties', /\b(workers|workerConnections|workerProcesses|workerRlimitNofile|nofile|backlog|listenBacklog|somaxconn|sizeUnit|poolSize|upstreamKeepalive|maxRequests|count)\s*:\s*\d/],
];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const full = path.join(dir, name);
    return statSync(full).isDirectory() ? files(full) : [full];
  });
}

const scanned = [...files('templates'), ...files('constructs')].filter((f) => !f.endsWith('.html'));

describe('no literal tuning numbers outside the capacity plan', () => {
  it('scans the templates and constructs, and the templates take these settings as placeholders', () => {
    expect(scanned.length).toBeGreaterThan(10);
    const nginx = readFileSync('templates/nginx/nginx.conf', 'utf8');
    expect(nginx).toMatch(/worker_connections \{\{\w+\}\};/);
    expect(readFileSync('templates/gunicorn/gunicorn.conf.py', 'utf8')).toMatch(/^workers = \{\{\w+\}\}$/m);
  });

  it.each(TUNING_LITERALS)('no %s written as a literal', (_what, pattern) => {
    const hits = scanned.flatMap((file) =>
      readFileSync(file, 'utf8').split('\n').flatMap((line, i) => (pattern.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(hits).toEqual([]);
  });

  it('would catch one (the patterns match literal settings)', () => {
    const samples = ['worker_connections 768;', 'workers = 4', 'LimitNOFILE=65536', 'net.core.somaxconn = 4096', 'sizeUnit: 5', 'app soft nofile 65536', 'backlog=511'];
    for (const sample of samples) expect(TUNING_LITERALS.some(([, p]) => p.test(sample)), sample).toBe(true);
  });
});
