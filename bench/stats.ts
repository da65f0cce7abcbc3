/**
 * What the bench reads from the machine and the droplet: machine facts for the results, and the droplet's
 * memory (its Nginx and Gunicorn processes, and the kernel's TCP buffers of its network namespace).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { cpus } from 'node:os';

export interface MachineFacts {
  readonly cores: number;
  readonly cpuModel: string;
  readonly memoryGib: number;
  readonly openFilesHardLimit: string;
  readonly kernel: string;
  readonly date: string;
  readonly node: string;
  readonly wrk: string;
  readonly nginxInDroplet?: string;
}

export function machineFacts(): MachineFacts {
  const limits = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files')) ?? '';
  // "Max open files            20000                20000                files"
  const [, soft, hard] = limits.trim().split(/\s{2,}/);
  const mem = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1] ?? 0);
  let wrk = 'unknown';
  try {
    wrk = execFileSync('wrk', ['-v'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!.trim();
  } catch (err) {
    // wrk -v exits 1 after printing its version.
    const out = (err as { stdout?: string }).stdout ?? '';
    wrk = out.split('\n')[0]?.trim() || wrk;
  }
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGib: Math.round(mem / 1024 / 1024),
    openFilesHardLimit: `${hard ?? 'unknown'} (soft ${soft ?? 'unknown'})`,
    kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
    date: new Date().toISOString(),
    node: process.version,
    wrk,
  };
}

export interface MemorySample {
  /** Proportional set size (shared pages split between sharers), KiB, by command. */
  readonly pssKib: Record<string, number>;
  readonly rssKib: Record<string, number>;
  readonly processes: Record<string, number>;
  /** Kernel memory of TCP sockets in the droplet's network namespace, KiB (sockstat `mem`, pages). */
  readonly tcpKib: number;
  /** Sockets in the droplet's namespace (sockstat `inuse`). */
  readonly tcpSockets: number;
}

const COMMANDS = ['nginx', 'gunicorn'];

/** Memory of the droplet's Nginx and Gunicorn processes (host view of the container's PID namespace). */
export function sampleMemory(pid1: number): MemorySample {
  const pssKib: Record<string, number> = {};
  const rssKib: Record<string, number> = {};
  const processes: Record<string, number> = {};
  const ns = readlinkSync(`/proc/${pid1}/ns/pid`);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const comm = readFileSync(`/proc/${d}/comm`, 'utf8').trim();
      if (!COMMANDS.includes(comm) || readlinkSync(`/proc/${d}/ns/pid`) !== ns) continue;
      const rollup = readFileSync(`/proc/${d}/smaps_rollup`, 'utf8');
      pssKib[comm] = (pssKib[comm] ?? 0) + Number(/^Pss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      rssKib[comm] = (rssKib[comm] ?? 0) + Number(/^Rss:\s+(\d+)/m.exec(rollup)?.[1] ?? 0);
      processes[comm] = (processes[comm] ?? 0) + 1;
    } catch {
      /* gone */
    }
  }
  // /proc/<pid>/net is the network namespace of that process: the droplet's.
  const sockstat = readFileSync(`/proc/${pid1}/net/sockstat`, 'utf8');
  const tcp = /^TCP: inuse (\d+) orphan \d+ tw \d+ alloc \d+ mem (\d+)/m.exec(sockstat);
  return { pssKib, rssKib, processes, tcpKib: Number(tcp?.[2] ?? 0) * 4, tcpSockets: Number(tcp?.[1] ?? 0) };
}

/** Memory the load added over an idle sample, per request in flight, KiB. */
export function memoryPerRequestKib(idle: MemorySample, loaded: MemorySample, inFlight: number): { processes: number; tcp: number; total: number } {
  const sum = (r: Record<string, number>) => Object.values(r).reduce((a, b) => a + b, 0);
  const processes = (sum(loaded.pssKib) - sum(idle.pssKib)) / inFlight;
  const tcp = (loaded.tcpKib - idle.tcpKib) / inFlight;
  return { processes: round1(processes), tcp: round1(tcp), total: round1(processes + tcp) };
}

export const round1 = (n: number) => Math.round(n * 10) / 10;
