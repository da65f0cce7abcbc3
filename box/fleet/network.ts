/**
 * The fleet box's network: one VPC bridge, a network namespace per droplet, one for the load balancer,
 * one for the load generator. Every droplet gets its own namespace and its own VPC address, never reused
 * (a new droplet has a new address, as on DigitalOcean).
 *
 *   host (root ns)  bridge dobox-vpcbr 10.213.0.1/24   PostgreSQL, Redis (box/services.ts)
 *   LB ns           eth0 10.213.0.2/24 on the bridge    HAProxy health-checks and proxies to the droplets
 *                   eth1 10.213.1.2-.6/24               HAProxy's frontend, the LB's public side
 *   load ns         lb0  10.213.1.1/24                  wrk and the rollout gate
 *   droplet ns n    eth0 10.213.0.(10+n)/24 on the bridge
 *
 * No route leaves these namespaces. The names share the prefix of the single-droplet box (box/network.ts),
 * and one lock (/run/do-web-box.lock) keeps the two from running at once.
 */
import { readdirSync } from 'node:fs';
import { run } from '../lib/proc.js';
import { NET } from '../network.js';

export const FLEET_NET = {
  bridge: 'dobox-vpcbr',
  /** Locally administered (02:...), fixed for the run. */
  bridgeMac: '02:00:0a:d5:00:01',
  lbNs: 'dobox-lb',
  /** The load namespace of the single-droplet box: bench/load.ts and box/http.ts already run there. */
  loadNs: NET.loadNs,
  hostAddress: NET.hostAddress,
  lbVpcAddress: '10.213.0.2',
  loadAddress: NET.loadAddress,
  /** HAProxy's frontend addresses; load spreads over them like over an LB's nodes. */
  lbFrontendAddresses: NET.dropletLoadAddresses,
  /** Droplet namespaces are `dobox-d<n>`; addresses 10.213.0.(10+n). */
  dropletNsPrefix: 'dobox-d',
  firstDropletHost: 10,
  /** Droplets one run may create (HAProxy declares a server for each: box/fleet/haproxy.ts). */
  maxDroplets: 40,
} as const;

const ip = (...args: string[]) => run('ip', args, { timeoutMs: 10_000 });
const ipq = (...args: string[]) => run('ip', args, { timeoutMs: 10_000, allowFailure: true });

/** Namespace and address of the n-th droplet of a run (n from 1; never reused within a run). */
export function dropletNet(n: number): { ns: string; address: string; hostIf: string } {
  if (!Number.isInteger(n) || n < 1 || n > FLEET_NET.maxDroplets) throw new Error(`droplet slot ${n} is outside 1-${FLEET_NET.maxDroplets}`);
  return { ns: `${FLEET_NET.dropletNsPrefix}${n}`, address: `10.213.0.${FLEET_NET.firstDropletHost + n}`, hostIf: `dobox-v${n}` };
}

/** Remove every namespace and link a fleet run (or the single-droplet box) may have left. */
export async function removeFleetNetwork(): Promise<void> {
  let names: string[] = [];
  try {
    names = readdirSync('/run/netns');
  } catch {
    /* none yet */
  }
  // Deleting a namespace deletes its end of each veth pair, and with it the host's end.
  for (const ns of names.filter((n) => n.startsWith('dobox-'))) await ipq('netns', 'del', ns);
  // The host ends of the veth pairs: deleting a namespace removes them only once the kernel has let go of
  // the namespace, which may be after `ip netns del` returned.
  const links = (await ipq('-o', 'link', 'show')).stdout.split('\n').map((l) => /^\d+:\s+([^:@\s]+)/.exec(l)?.[1]).filter((n): n is string => !!n && n.startsWith('dobox-'));
  for (const l of links) await ipq('link', 'del', l);
}

/** The bridge, the LB and load namespaces and the link between them. */
export async function createFleetNetwork(): Promise<void> {
  await removeFleetNetwork();
  await ip('link', 'add', FLEET_NET.bridge, 'type', 'bridge');
  // A fixed MAC: a bridge otherwise takes the lowest MAC of its ports and changes it when that port goes, so
  // removing a droplet changed the MAC of 10.213.0.1 and the other droplets, with the old one in their ARP
  // caches, could not reach PostgreSQL and Redis for ~30 s (their writes answered 503). A VPC's gateway keeps its.
  await ip('link', 'set', FLEET_NET.bridge, 'address', FLEET_NET.bridgeMac);
  await ip('addr', 'add', `${FLEET_NET.hostAddress}/24`, 'dev', FLEET_NET.bridge);
  await ip('link', 'set', FLEET_NET.bridge, 'up');
  await ip('netns', 'add', FLEET_NET.lbNs);
  await ip('netns', 'add', FLEET_NET.loadNs);
  // LB <-> VPC bridge.
  await ip('link', 'add', 'dobox-lbv', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', FLEET_NET.lbNs);
  await ip('link', 'set', 'dobox-lbv', 'master', FLEET_NET.bridge);
  await ip('link', 'set', 'dobox-lbv', 'up');
  await ip('-n', FLEET_NET.lbNs, 'addr', 'add', `${FLEET_NET.lbVpcAddress}/24`, 'dev', 'eth0');
  // Load <-> LB frontend.
  await ip('-n', FLEET_NET.loadNs, 'link', 'add', 'lb0', 'type', 'veth', 'peer', 'name', 'eth1', 'netns', FLEET_NET.lbNs);
  await ip('-n', FLEET_NET.loadNs, 'addr', 'add', `${FLEET_NET.loadAddress}/24`, 'dev', 'lb0');
  for (const a of FLEET_NET.lbFrontendAddresses) await ip('-n', FLEET_NET.lbNs, 'addr', 'add', `${a}/24`, 'dev', 'eth1');
  for (const [ns, dev] of [[FLEET_NET.lbNs, 'eth0'], [FLEET_NET.lbNs, 'eth1'], [FLEET_NET.lbNs, 'lo'], [FLEET_NET.loadNs, 'lb0'], [FLEET_NET.loadNs, 'lo']] as const) {
    await ip('-n', ns, 'link', 'set', dev, 'up');
  }
  // Both sides open thousands of connections: the whole port range, reuse of TIME_WAIT.
  for (const ns of [FLEET_NET.loadNs, FLEET_NET.lbNs]) {
    await run('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_local_port_range=1024 65535', 'net.ipv4.tcp_tw_reuse=1'], { timeoutMs: 10_000 });
  }
}

/** A droplet's namespace, plugged into the VPC bridge with its own address. */
export async function addDropletNetwork(n: number): Promise<{ ns: string; address: string }> {
  const { ns, address, hostIf } = dropletNet(n);
  await ipq('netns', 'del', ns);
  await ip('netns', 'add', ns);
  await ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  await ip('link', 'set', hostIf, 'master', FLEET_NET.bridge);
  await ip('link', 'set', hostIf, 'up');
  await ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
  await ip('-n', ns, 'link', 'set', 'eth0', 'up');
  await ip('-n', ns, 'link', 'set', 'lo', 'up');
  return { ns, address };
}

/** Remove a droplet's namespace (its veth pair goes with it). */
export async function removeDropletNetwork(n: number): Promise<void> {
  await ipq('netns', 'del', dropletNet(n).ns);
}
