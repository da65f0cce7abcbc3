/**
 * Render functions for the droplet's logs within the plan's log budget (config/plan/droplet.ts, planLogs):
 * Nginx's access-log sampling, logrotate's Nginx file and timer, journald's cap.
 */
import type { DropletTuning } from '../config/capacity.js';
import { renderTemplate } from './render.js';

/** A share as Nginx's split_clients percentage (two decimals, 0.01% at least). */
function percentOf(name: string, share: number): number {
  if (!(share > 0 && share <= 1)) throw new Error(`logs.${name} must be in (0, 1], got ${share}`);
  return Math.max(0.01, Math.floor(share * 10_000) / 100);
}

/**
 * The variables the access logs test: `$log_request` (nginx.conf) is 1 for every 5xx and for other requests
 * at the plan's sample share; `$log_shed` (the site's shed location) at the shed share. Both split_clients on
 * the random $request_id.
 */
export function renderLogSampling(logs: DropletTuning['logs']): string {
  const shed = percentOf('shedSampleShare', logs.shedSampleShare);
  const shedLines = [
    `    # Nginx's own 503s when it sheds: ${shed}% keep them at or below the design request rate, however fast clients resend.`,
    '    split_clients $request_id $log_shed {',
    `        ${shed}% 1;`,
    '        * 0;',
    '    }',
  ];
  const percent = percentOf('sampleShare', logs.sampleShare);
  if (percent === 100) {
    return ['    # Every request fits the budget: all are logged.', '    map $status $log_request {', '        default 1;', '    }', ...shedLines].join('\n');
  }
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
    ...shedLines,
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
