/**
 * Kernel and login-session limits as typed data, rendered to `/etc/sysctl.d/` and
 * `/etc/security/limits.d/` text. The values come from the capacity plan; this file only formats them.
 */
import { renderedHeader } from './render.js';

/** One line of a limits.conf file (pam_limits): `<domain> <type> <item> <value>`. */
export interface LimitEntry {
  /** A user name, `@group`, or `*`. */
  readonly domain: string;
  readonly type: 'soft' | 'hard' | '-';
  /** The limited resource; this project sets open files only. */
  readonly item: 'nofile' | 'nproc' | 'memlock' | 'core' | 'stack';
  readonly value: number | 'unlimited';
}

/**
 * What systemd (v240 and later: Debian 12 has 252, Ubuntu 24.04 255) raises the open-files ceilings to at boot,
 * before any sysctl.d file is read: fs.nr_open to the kernel's largest (1073741816 on 64-bit) and fs.file-max
 * to LONG_MAX (systemd NEWS for v240; `bump_file_max_and_nr_open()` in src/core/main.c). A sysctl.d value
 * below them only lowers the ceiling, so the droplet leaves both to systemd and this renderer refuses them.
 */
export const SYSTEMD_BOOT_FILE_LIMITS: Readonly<Record<string, bigint>> = {
  'fs.nr_open': 1_073_741_816n,
  'fs.file-max': 9_223_372_036_854_775_807n,
};

const SYSCTL_KEY = /^[a-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/;
const SYSCTL_VALUE = /^-?\d+( -?\d+)*$/;

/**
 * Render sysctl settings as `key = value` lines, sorted for stable diffs.
 * Throws when a key is not a dotted sysctl name or a value is not whitespace-separated integers.
 */
export function renderSysctlConf(settings: Readonly<Record<string, string>>): string {
  const lines = Object.keys(settings)
    .sort()
    .map((key) => {
      const value = settings[key]!;
      if (!SYSCTL_KEY.test(key)) throw new Error(`sysctl key ${JSON.stringify(key)} is not a dotted name such as net.core.somaxconn`);
      if (!SYSCTL_VALUE.test(value)) throw new Error(`sysctl ${key}: value ${JSON.stringify(value)} must be integers separated by single spaces`);
      const boot = SYSTEMD_BOOT_FILE_LIMITS[key];
      if (boot !== undefined && BigInt(value) < boot) {
        throw new Error(`sysctl ${key} = ${value} would lower the ${boot} systemd sets at boot; leave ${key} out`);
      }
      return `${key} = ${value}`;
    });
  return [
    renderedHeader('host-tuning.ts', '#').trimEnd(),
    '# Kernel settings for many concurrent connections; values from the capacity plan (config/capacity.ts).',
    '# Applied at boot by systemd-sysctl, and by cloud-init (`sysctl --system`) on the first boot.',
    '# fs.nr_open and fs.file-max are left at the maxima systemd sets at boot (lower values would only cap them).',
    ...lines,
    '',
  ].join('\n');
}

/** Render limits.conf entries. Throws on a domain with whitespace or a value that is not a positive integer. */
export function renderLimitsConf(entries: readonly LimitEntry[]): string {
  const lines = entries.map((e) => {
    if (!/^(\*|@?[a-z_][a-z0-9_-]*)$/.test(e.domain)) throw new Error(`limits domain ${JSON.stringify(e.domain)} must be a user, @group or *`);
    if (e.value !== 'unlimited' && !(Number.isInteger(e.value) && e.value > 0)) throw new Error(`limits ${e.domain} ${e.item}: value must be a positive integer, got ${e.value}`);
    return `${e.domain} ${e.type} ${e.item} ${e.value}`;
  });
  return [
    renderedHeader('host-tuning.ts', '#').trimEnd(),
    '# Open files for login sessions of the app user (pam_limits), e.g. a shell opened to debug the app.',
    '# systemd services ignore this file: app.service and nginx.service set LimitNOFILE themselves.',
    ...lines,
    '',
  ].join('\n');
}

/** The app user's limits.d entries: the same open-files limit its systemd unit has. */
export function appUserLimits(user: string, nofile: number): LimitEntry[] {
  return [
    { domain: user, type: 'soft', item: 'nofile', value: nofile },
    { domain: user, type: 'hard', item: 'nofile', value: nofile },
  ];
}
