/**
 * The box's own network: two network namespaces and two veth pairs, with addresses of our own.
 *
 *   host (root ns)  dobox-vpc 10.213.0.1/24  <-->  eth0 10.213.0.2/24   droplet ns (the container)
 *   load ns         lb0      10.213.1.1/24   <-->  eth1 10.213.1.2/24   (+ .3-.6 for spreading load)
 *
 * PostgreSQL and Redis listen on 10.213.0.1 (the "VPC" side); load generators run in the load namespace
 * (the "load balancer" side) so their sysctls (port range) are theirs alone and the host's stay untouched.
 * No route leaves these namespaces: the droplet reaches nothing but the box's own services.
 */
import { run } from './lib/proc.js';

export const NET = {
  dropletNs: 'dobox-droplet',
  loadNs: 'dobox-load',
  vpcHostIf: 'dobox-vpc',
  hostAddress: '10.213.0.1',
  dropletVpcAddress: '10.213.0.2',
  /** The range the box's config declares as its VPC: both sides of the box are inside it. */
  vpcRange: '10.213.0.0/16',
  loadAddress: '10.213.1.1',
  /** Addresses Nginx is reached at; load spreads over them (one wrk process per address). */
  dropletLoadAddresses: ['10.213.1.2', '10.213.1.3', '10.213.1.4', '10.213.1.5', '10.213.1.6'],
} as const;

export const nsPath = (ns: string) => `/run/netns/${ns}`;

const ip = (...args: string[]) => run('ip', args, { timeoutMs: 10_000 });
const ipq = (...args: string[]) => run('ip', args, { timeoutMs: 10_000, allowFailure: true });
/** Run a command inside a namespace the box created. */
export const inNs = (ns: string, cmd: string, args: string[], timeoutMs = 10_000) =>
  run('ip', ['netns', 'exec', ns, cmd, ...args], { timeoutMs });

/** Remove whatever an earlier, killed run left behind (same fixed names). */
export async function removeNetwork(): Promise<void> {
  await ipq('link', 'del', NET.vpcHostIf);
  await ipq('netns', 'del', NET.dropletNs);
  await ipq('netns', 'del', NET.loadNs);
}

export async function createNetwork(): Promise<void> {
  await removeNetwork();
  await ip('netns', 'add', NET.dropletNs);
  await ip('netns', 'add', NET.loadNs);
  // VPC side: host <-> droplet.
  await ip('link', 'add', NET.vpcHostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', NET.dropletNs);
  await ip('addr', 'add', `${NET.hostAddress}/24`, 'dev', NET.vpcHostIf);
  await ip('link', 'set', NET.vpcHostIf, 'up');
  await ip('-n', NET.dropletNs, 'addr', 'add', `${NET.dropletVpcAddress}/24`, 'dev', 'eth0');
  // Load side: load ns <-> droplet.
  await ip('-n', NET.loadNs, 'link', 'add', 'lb0', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', NET.dropletNs);
  await ip('-n', NET.loadNs, 'addr', 'add', `${NET.loadAddress}/24`, 'dev', 'lb0');
  for (const a of NET.dropletLoadAddresses) await ip('-n', NET.dropletNs, 'addr', 'add', `${a}/24`, 'dev', 'eth1');
  for (const [ns, dev] of [[NET.dropletNs, 'eth0'], [NET.dropletNs, 'eth1'], [NET.dropletNs, 'lo'], [NET.loadNs, 'lb0'], [NET.loadNs, 'lo']] as const) {
    await ip('-n', ns, 'link', 'set', dev, 'up');
  }
  // The load namespace opens tens of thousands of connections: the whole port range, reuse of TIME_WAIT.
  await inNs(NET.loadNs, 'sysctl', ['-q', '-w', 'net.ipv4.ip_local_port_range=1024 65535', 'net.ipv4.tcp_tw_reuse=1']);
}

/**
 * Apply the rendered sysctl file's per-namespace keys (net.*) to the droplet's namespace before boot.
 * Inside an nspawn container /proc/sys is read-only, so systemd-sysctl.service is skipped at boot
 * (ConditionPathIsReadWrite=/proc/sys); on a droplet it applies the file itself. fs.* keys are global to
 * the machine (as are a few net.* keys) and are reported, not applied: the box does not retune its host.
 */
export async function applySysctl(settings: Record<string, string>, ns: string = NET.dropletNs): Promise<{ applied: string[]; skipped: string[] }> {
  const applied: string[] = [];
  const skipped: string[] = [];
  for (const [k, v] of Object.entries(settings)) {
    if (!k.startsWith('net.')) {
      skipped.push(`${k}=${v}`);
      continue;
    }
    const r = await run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', `${k}=${v}`], { timeoutMs: 10_000, allowFailure: true });
    // Some net.* keys exist only in the machine's first namespace (net.core.netdev_max_backlog).
    if (r.code !== 0 && /cannot stat/.test(r.stderr)) skipped.push(`${k}=${v}`);
    else if (r.code !== 0) throw new Error(`sysctl ${k}=${v} in the droplet's namespace: ${r.stderr.trim()}`);
    else applied.push(`${k}=${v}`);
  }
  return { applied, skipped };
}
