/**
 * The load balancer: nodes (`size_unit`) for the target's connections, requests/s and new TLS connections/s.
 *
 * Per node, DigitalOcean documents 10,000 simultaneous connections, 10,000 requests/s and 250 new SSL
 * connections/s (50 for certificates with 4096-bit RSA keys), and up to 200 nodes per load balancer "if your
 * account limits allow it" (DigitalOcean docs, "How to Scale Regional Load Balancers",
 * docs.digitalocean.com/products/networking/load-balancers/how-to/scale). Past the new-SSL-connection rate
 * "the underlying connection is closed" (DigitalOcean docs, "Load Balancers Limits").
 */
import type { EnvironmentConfig } from '../schema.js';
import { fmt, percent, SHARED_CONSTANTS, type PlanIssue } from './shared.js';

export const LOAD_BALANCER_CONSTANTS = {
  lbNodeConnections: 10_000,
  lbNodeRequestsPerSecond: 10_000,
  /** New TLS connections/s one node accepts with a 2048-bit RSA or ECDSA certificate (the managed Let's Encrypt one). */
  lbNodeTlsHandshakesPerSecond: 250,
  /** The same with a 4096-bit RSA certificate. */
  lbNodeTlsHandshakesPerSecond4096: 50,
  lbMaxSizeUnit: 200,
} as const;

const C = { ...SHARED_CONSTANTS, ...LOAD_BALANCER_CONSTANTS };

export interface LoadBalancerPlan {
  readonly sizeUnit: number;
  readonly byConnections: number;
  readonly byRequests: number;
  /** Nodes the new TLS connections/s need (0 without a domain: plain HTTP). */
  readonly byTlsHandshakes: number;
  /** New TLS connections/s at the target: requests/s over requests per connection (0 without TLS). */
  readonly tlsHandshakesPerSecond: number;
}

/** Load balancer nodes for a load: connections, requests/s and new TLS connections/s, each with headroom. */
export function loadBalancerNodes(concurrent: number, requestsPerSecond: number, tlsHandshakesPerSecond = 0): { byConnections: number; byRequests: number; byTlsHandshakes: number } {
  return {
    byConnections: Math.ceil((concurrent * C.unevenShareHeadroom) / C.lbNodeConnections),
    byRequests: Math.ceil((requestsPerSecond * C.unevenShareHeadroom) / C.lbNodeRequestsPerSecond),
    byTlsHandshakes: Math.ceil((tlsHandshakesPerSecond * C.unevenShareHeadroom) / C.lbNodeTlsHandshakesPerSecond),
  };
}

export function planLoadBalancer(config: EnvironmentConfig, requestsPerSecond: number, issues: PlanIssue[]): LoadBalancerPlan {
  const target = config.capacity.targetConcurrentRequests;
  // TLS ends at the LB only with a domain; each client connection carries requestsPerTlsConnection requests.
  const tlsHandshakesPerSecond = config.domain ? Math.ceil(requestsPerSecond / config.capacity.requestsPerTlsConnection) : 0;
  const lb = loadBalancerNodes(target, requestsPerSecond, tlsHandshakesPerSecond);
  const needed = Math.max(lb.byConnections, lb.byRequests, lb.byTlsHandshakes, 1);
  const binding = needed === lb.byTlsHandshakes && lb.byTlsHandshakes > Math.max(lb.byConnections, lb.byRequests)
    ? `${fmt(tlsHandshakesPerSecond)} new TLS connections/s (capacity.requestsPerTlsConnection ${config.capacity.requestsPerTlsConnection}; ${C.lbNodeTlsHandshakesPerSecond} per node)`
    : `${fmt(target)} concurrent requests at ${fmt(requestsPerSecond)} requests/s`;
  if (needed > C.lbMaxSizeUnit) {
    issues.push({
      path: ['capacity', 'targetConcurrentRequests'],
      message: `${binding} need ${needed} load balancer nodes (with ${percent(C.unevenShareHeadroom - 1)} headroom); one DigitalOcean load balancer has at most ${C.lbMaxSizeUnit}. Split the fleet over several regional load balancers behind a global load balancer (type GLOBAL), raise capacity.requestsPerTlsConnection if clients reuse connections longer, or lower the target`,
    });
  }
  const sizeUnit = config.loadBalancer.sizeUnit ?? Math.min(needed, C.lbMaxSizeUnit);
  if (config.loadBalancer.sizeUnit !== undefined && sizeUnit < needed && needed <= C.lbMaxSizeUnit) {
    issues.push({
      path: ['loadBalancer', 'sizeUnit'],
      message: `${sizeUnit} nodes carry ${fmt(sizeUnit * C.lbNodeConnections)} connections, ${fmt(sizeUnit * C.lbNodeRequestsPerSecond)} requests/s and ${fmt(sizeUnit * C.lbNodeTlsHandshakesPerSecond)} new TLS connections/s; ${binding} need ${needed} (with ${percent(C.unevenShareHeadroom - 1)} headroom). Raise sizeUnit or omit it to use the plan's`,
    });
  }
  return { sizeUnit, ...lb, tlsHandshakesPerSecond };
}
