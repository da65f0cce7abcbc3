/**
 * The droplet's root filesystem: Debian 12 built once with debootstrap and cached outside the repo, then
 * a fresh overlay of it for every boot (the cache is never written by a boot).
 *
 * What goes in: minbase plus what a DigitalOcean Debian 12 image has that minbase lacks (systemd as init,
 * dbus, cloud-init, locales, iproute2, ...), plus every package the rendered cloud-config installs, so the
 * boot needs no network: cloud-init's package step then finds them installed and does nothing. The apt
 * lists of the build stay in the image for that reason. The cache key is a hash of the suite, the mirror,
 * the package list and the build steps' version, so changing any of them builds a new image.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync, copyFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './lib/proc.js';
import { progress } from './lib/stages.js';

export const SUITE = 'bookworm';
export const MIRROR = process.env.BOX_MIRROR ?? 'http://deb.debian.org/debian';
export const CACHE_DIR = process.env.BOX_CACHE_DIR ?? '/var/cache/do-web-box';
/** Per-boot scratch (overlay upper dirs, logs); one directory per run, removed at teardown. */
export const RUN_DIR = process.env.BOX_RUN_DIR ?? '/var/tmp/do-web-box';

/** In a DigitalOcean Debian 12 image but not in debootstrap's minbase. */
export const IMAGE_PACKAGES = [
  'systemd', 'systemd-sysv', 'dbus', 'cloud-init', 'locales', 'iproute2', 'ca-certificates', 'sudo', 'curl',
  'openssh-server', 'procps', 'less',
] as const;

/** What the rendered cloud-config's `packages:` installs; preinstalled so the boot needs no mirror. */
export const APP_PACKAGES = [
  'nginx', 'gunicorn', 'python3-gevent', 'python3-sqlalchemy', 'python3-psycopg2', 'python3-redis',
  'python3-prometheus-client', 'python3-psycogreen', 'logrotate',
] as const;

/** Bump when the build steps below change in a way the package list does not show. */
const BUILD_VERSION = 2;

export function rootfsKey(): string {
  const h = createHash('sha256');
  h.update(JSON.stringify({ SUITE, MIRROR, IMAGE_PACKAGES, APP_PACKAGES, BUILD_VERSION }));
  return h.digest('hex').slice(0, 12);
}

export function rootfsPath(): string {
  return join(CACHE_DIR, `rootfs-${SUITE}-${rootfsKey()}`);
}

/** Packages a rendered cloud-config installs that the image lacks (each would need the mirror at boot). */
export function missingFromImage(packages: readonly string[]): string[] {
  const have = new Set<string>([...IMAGE_PACKAGES, ...APP_PACKAGES]);
  return packages.filter((p) => !have.has(p));
}

const APT_SOURCES = `# Written by box/rootfs.ts: the sources a DigitalOcean Debian 12 image uses.
deb ${MIRROR} ${SUITE} main
deb ${MIRROR} ${SUITE}-updates main
deb http://deb.debian.org/debian-security ${SUITE}-security main
`;

/**
 * Build the image if the cache lacks it. Builds into a temporary directory and renames it into place, so
 * an interrupted build never leaves a half image under the final name.
 */
export async function ensureRootfs(logFile: string): Promise<{ path: string; built: boolean }> {
  const path = rootfsPath();
  if (existsSync(join(path, 'etc/os-release'))) return { path, built: false };
  mkdirSync(CACHE_DIR, { recursive: true });
  // Earlier interrupted builds leave *.tmp directories behind; they are never used.
  for (const name of readdirSync(CACHE_DIR)) {
    if (name.endsWith('.tmp')) rmSync(join(CACHE_DIR, name), { recursive: true, force: true });
  }
  const tmp = `${path}.tmp`;
  const show = progress('debootstrap');
  // Phase 1: minbase. Phase 2: apt-get in the chroot, which resolves virtual packages that debootstrap's
  // own resolver gets wrong (e.g. cloud-init -> python3-cryptography -> python3-cffi-backend-api-*).
  await run('debootstrap', ['--variant=minbase', SUITE, tmp, MIRROR], {
    timeoutMs: 15 * 60_000,
    logFile,
    onOutput: (s) => {
      const last = s.trim().split('\n').pop();
      if (last) show(last);
    },
  });
  writeFileSync(join(tmp, 'etc/apt/sources.list'), APT_SOURCES);
  // No daemon starts inside the chroot during the build (nginx's postinst would try).
  writeFileSync(join(tmp, 'usr/sbin/policy-rc.d'), '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  copyFileSync('/etc/resolv.conf', join(tmp, 'etc/resolv.conf'));
  const chroot = async (script: string, timeoutMs: number) =>
    run('unshare', ['--mount', '--fork', '--', 'sh', '-ec', `mount -t proc proc ${tmp}/proc; mount --rbind /dev ${tmp}/dev; exec chroot ${tmp} sh -ec '${script}'`], {
      timeoutMs,
      logFile,
      env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', DEBIAN_FRONTEND: 'noninteractive', LANG: 'C.UTF-8' },
      onOutput: (s) => {
        const last = s.trim().split('\n').pop();
        if (last) show(last);
      },
    });
  await chroot('apt-get update', 5 * 60_000);
  await chroot(`apt-get install -y ${[...IMAGE_PACKAGES, ...APP_PACKAGES].join(' ')}`, 20 * 60_000);
  // Like the cloud image: C.UTF-8 locale, no daemon start blocker, no build-host resolver.
  await chroot('apt-get clean; rm -f /usr/sbin/policy-rc.d; echo LANG=C.UTF-8 > /etc/default/locale; : > /etc/machine-id', 60_000);
  rmSync(join(tmp, 'etc/resolv.conf'), { force: true });
  if (process.stdout.isTTY) process.stdout.write('\n');
  renameSync(tmp, path);
  return { path, built: true };
}

/** Size of a directory tree in MiB (for the stage line). */
export async function sizeMib(path: string): Promise<number> {
  const r = await run('du', ['-sm', path], { timeoutMs: 60_000, allowFailure: true });
  return Number.parseInt(r.stdout, 10) || 0;
}

export function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
