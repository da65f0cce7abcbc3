/**
 * Render functions for the droplet's logs within the plan's log budget (config/plan/droplet.ts, planLogs):
 * Nginx's access-log sampling, logrotate's Nginx file and timer, journald's cap.
 */
import type { DropletTuning } from '../config/capacity.js';
import { renderTemplate } from './render.js';

/**
 * The `$log_request` variable nginx.conf's access_log tests: 1 for every 5xx, and for other requests at the
 * plan's sample share (split_clients on the random $request_id; Nginx takes percentages to two decimals).
 */
export function renderLogSampling(logs: DropletTuning['logs']): string {
  if (!(logs.sampleShare > 0 && logs.sampleShare <= 1)) throw new Error(`logs.sampleShare must be in (0, 1], got ${logs.sampleShare}`);
  if (logs.sampleShare === 1) {
    return ['    # Every request fits the budget: all are logged.', '    map $status $log_request {', '        default 1;', '    }'].join('\n');
  }
  const percent = Math.max(0.01, Math.floor(logs.sampleShare * 10_000) / 100);
  return [
    `    # ${percent}% of successes keep ${logs.retentionHours} h of logs within the budget at design load.`,
    '    split_clients $request_id $log_sampled {',
    `        ${percent}% 1;`,
    '        * 0;',
    '    }',
    '    map $status $log_request {',
    '        ~^5 1;',
    '        default $log_sampled;',
    '    }',
  ].join('\n');
}

/** `/etc/logrotate.d/nginx`: daily and by size, the plan's maxsize and count. */
export function renderNginxLogrotate(logs: DropletTuning['logs']): string {
  return renderTemplate('logs/logrotate-nginx', { checkMinutes: logs.rotateCheckMinutes, maxSizeMib: logs.rotateMaxMib, keep: logs.rotateKeep }, '#');
}

/** `logrotate.timer.d/often.conf`: logrotate every rotateCheckMinutes. */
export function renderLogrotateTimerDropIn(logs: DropletTuning['logs']): string {
  return renderTemplate('systemd/logrotate-often.conf', { checkMinutes: logs.rotateCheckMinutes }, '#');
}

/** `journald.conf.d/50-budget.conf`: journald's cap. */
export function renderJournaldDropIn(logs: DropletTuning['logs']): string {
  return renderTemplate('systemd/journald-budget.conf', { journalMaxMib: logs.journalMaxMib }, '#');
}
