/**
 * The capacity plan: one target concurrency (and a request profile) in, every tuning number out.
 *
 * This is the only place a tuning number is derived. Constructs and templates receive a `Plan` and copy
 * its numbers; they never compute one. Each formula has a one-line comment saying why. A config the plan
 * cannot satisfy yields `PlanIssue`s naming the config key to change, how far off it is, and the way out.
 */
import { DATABASE_SIZES, DROPLET_SIZES, LOAD_BALANCER_NODE_PRICE_MONTHLY_USD, type DatabaseSize, type DropletSize } from './catalog.js';
import type { EnvironmentConfig } from './schema.js';

/** Per-item costs and policy constants; each states where it comes from. */
export const PLAN_CONSTANTS = {
  /** Plan droplets at this share of their CPU ceiling, leaving room for bursts and deploys. */
  targetCpuUtilization: 0.7,
  /** Shared-CPU (s-*) droplets are burstable; count them at half a dedicated vCPU. */
  sharedCpuFactor: 0.5,
  /** Load above the even share a droplet, a Gunicorn worker or an Nginx worker must absorb (uneven balancing). */
  unevenShareHeadroom: 1.25,
  /** One LB node: 10,000 concurrent connections and 10,000 requests/s (DO docs, load-balancers/how-to/scale). */
  lbNodeConnections: 10_000,
  lbNodeRequestsPerSecond: 10_000,
  lbMaxSizeUnit: 200,
  /** Gevent workers per vCPU: one busy event loop per core, one more to cover C calls that block the loop. */
  gunicornWorkersPerVcpu: 2,
  /** File descriptors a Gunicorn worker holds besides client sockets: DB and cache pools, logs, the app. */
  gunicornFdReserve: 1024,
  /** Nginx file descriptors besides connections: log files, static files in flight, temp files. */
  nginxFdReserve: 1024,
  /** Idle client connections an Nginx worker keeps besides in-flight ones (LB backend keepalive). */
  nginxIdleConnectionMargin: 512,
  /** Idle keepalive connections to Gunicorn cached per Nginx worker (unix socket: cheap to reopen). */
  nginxUpstreamKeepalive: 64,
  /** Smallest accept queue we configure; the Linux default 4096 (5.4+) is the floor. */
  minListenBacklog: 4096,
  maxListenBacklog: 65_535,
  /**
   * Memory per in-flight request, KiB: 25 measured as process memory (Nginx + Gunicorn PSS over idle) at
   * 50,000 in flight in the droplet box (bench/results/bench.md, 2026-11-24), plus 23 for the kernel
   * socket buffers of a real network (loopback in the box showed none): two sockets per request.
   */
  requestMemoryKib: 48,
  /** Resident memory of one Gunicorn gevent worker with the app, SQLAlchemy and redis loaded, MiB. */
  gunicornWorkerMib: 80,
  nginxWorkerMib: 8,
  /** Kernel, systemd, journald, do-agent, sshd, MiB. */
  osReserveMib: 512,
  /** Plan memory up to this share of RAM; the rest is page cache and slack. */
  memoryBudgetShare: 0.8,
  /** Managed PostgreSQL: 25 backend connections per GiB of RAM, 3 reserved (FACTS.md). */
  pgConnectionsPerGib: 25,
  pgReservedConnections: 3,
  /** Server connections left outside the app's PgBouncer pool: admin, migrations, monitoring. */
  pgAdminConnections: 5,
  /** SQLAlchemy client connections per process to the primary's PgBouncer (transaction pooling multiplexes them). */
  primaryPoolPerProcess: 5,
  primaryOverflowPerProcess: 10,
  /** Recycle DB connections hourly so failovers and PgBouncer restarts are picked up. */
  poolRecycleSeconds: 3600,
  /** Restart each Gunicorn worker about once an hour at design load (bounds slow leaks without churn). */
  workerRecycleSeconds: 3600,
  /** Gunicorn's heartbeat timeout: a worker whose event loop is blocked this long is killed. */
  gunicornTimeoutSeconds: 30,
  /** Nginx closes idle client connections this long after the LB would (the LB must close first). */
  keepaliveBeyondLbSeconds: 5,
  /** Nginx -> Gunicorn idle keepalive; Gunicorn keeps connections longer so Nginx always closes first. */
  upstreamKeepaliveTimeoutSeconds: 60,
  /** Request bodies up to this size stay in memory; larger ones spool to disk (the recipe's 10M x 50k clients would need 500 GB). */
  clientBodyBufferKib: 16,
  clientMaxBodyMib: 10,
  /** Spare droplets per tier: production survives the loss or replacement of one droplet (N+1). */
  spareDroplets: { development: 0, staging: 0, production: 1 } as const,
  /** Largest fleet, when `fleet.maxDroplets` is not set: this many times the fleet's count. */
  maxDropletsPerCount: 2,
  /** A droplet is replaced a quarter of the fleet at a time: the first batch is the canary. */
  rolloutBatchShare: 0.25,
  /** DigitalOcean creates at most 10 droplets at the same time per request (DO docs, "Droplet limits"). */
  rolloutBatchMax: 10,
  /** Responses through the load balancer that must come from a new droplet before its batch counts as serving. */
  gatePasses: 3,
  gateIntervalSeconds: 2,
  /** A real droplet's cloud-init (packages, app, venv) takes minutes; a new droplet not serving by then fails the apply. */
  gateTimeoutSeconds: 900,
  /** Requests in flight when the LB stops sending finish within this many p95 times (Gunicorn's graceful_timeout). */
  drainRequestP95Multiple: 2,
  minDrainRequestSeconds: 5,
  /** Nginx's own stop after Gunicorn has finished: its connections are idle by then. */
  nginxStopSeconds: 10,
  /** Slack on top of a droplet's graceful stop before the provider's delete timeout: ACPI shutdown, power off. */
  shutdownMarginSeconds: 60,
  /** An autoscale pool destroys a droplet this long after shutting it down (DO docs, "Autoscale pools"). */
  autoscaleShutdownSeconds: 60,
} as const;

/** Every tuning a droplet's files carry. Templates copy these numbers; they derive none. */
export interface DropletTuning {
  /** Concurrent requests this droplet is tuned to hold (its design load with headroom). */
  readonly concurrentRequests: number;
  readonly gunicorn: {
    readonly workers: number;
    readonly workerConnections: number;
    readonly backlog: number;
    readonly keepaliveSeconds: number;
    readonly timeoutSeconds: number;
    readonly gracefulTimeoutSeconds: number;
    /** systemd's TimeoutStopSec: the drain, plus time for the master to reap its workers. */
    readonly stopTimeoutSeconds: number;
    readonly maxRequests: number;
    readonly maxRequestsJitter: number;
    /** LimitNOFILE of the app's systemd unit and the app user's limits.d nofile. */
    readonly nofile: number;
  };
  readonly nginx: {
    readonly workerProcesses: number;
    readonly workerConnections: number;
    readonly workerRlimitNofile: number;
    /** LimitNOFILE of the nginx.service drop-in (the master raises workers to workerRlimitNofile). */
    readonly nofile: number;
    readonly listenBacklog: number;
    readonly keepaliveTimeoutSeconds: number;
    readonly upstreamKeepalive: number;
    readonly upstreamKeepaliveTimeoutSeconds: number;
    readonly proxyConnectTimeoutSeconds: number;
    readonly proxyReadTimeoutSeconds: number;
    readonly proxySendTimeoutSeconds: number;
    readonly clientBodyBufferKib: number;
    readonly clientMaxBodyMib: number;
  };
  /** Kernel settings for /etc/sysctl.d; keys are sysctl names. */
  readonly sysctl: Readonly<Record<string, string>>;
  /** The demo app's limits, written into the app's env file. */
  readonly app: {
    /** Longest wait the demo's /io endpoint accepts: half the proxy timeout, so a load test never hits it. */
    readonly ioMaxSeconds: number;
  };
  /** Per-process SQLAlchemy pools, written into the app's env file. */
  readonly database: {
    readonly primaryPoolSize: number;
    readonly primaryMaxOverflow: number;
    readonly replicaPoolSize: number;
    readonly replicaMaxOverflow: number;
    readonly poolRecycleSeconds: number;
  };
  readonly memory: {
    readonly budgetMib: number;
    readonly availableMib: number;
  };
  /** A droplet leaving the fleet: fail the LB check, wait until the LB stops sending, finish requests, stop. */
  readonly drain: {
    /** The LB stops sending once /healthz fails: check interval x unhealthy threshold + response timeout. */
    readonly lbDetectSeconds: number;
    /** Gunicorn's graceful_timeout: requests in flight when the LB stopped sending finish within it (from the p95). */
    readonly requestSeconds: number;
    /** The whole graceful stop: LB detection, requests, Nginx's stop. */
    readonly stopBudgetSeconds: number;
  };
}

export interface DatabasePlan {
  readonly primaryConnectionLimit: number;
  /** Server connections of the app's PgBouncer pool on the primary. */
  readonly pgbouncerPoolSize: number;
  /** Client connections the fleet opens to the PgBouncer pool. */
  readonly pgbouncerClientConnections: number;
  readonly replicaConnectionLimit: number;
  /** Direct connections the fleet opens to each replica, at most. */
  readonly replicaConnectionsUsed: number;
}

/** How droplets are replaced: in health-gated batches, each old droplet drained before it goes. */
export interface RolloutPlan {
  /** Droplets created (and gated) at a time; the next batch waits for this one. */
  readonly batchSize: number;
  readonly gatePasses: number;
  readonly gateIntervalSeconds: number;
  readonly gateTimeoutSeconds: number;
  /** Terraform's delete timeout for a droplet: its whole graceful stop, plus the power-off. */
  readonly deleteTimeoutSeconds: number;
}

export interface CostLine {
  readonly item: string;
  readonly quantity: number;
  readonly unitMonthlyUsd: number;
  readonly monthlyUsd: number;
}

/** Fixed droplets, or an autoscale pool. */
export type FleetShape =
  | { readonly kind: 'droplets'; readonly count: number; readonly spare: number }
  | { readonly kind: 'autoscale'; readonly minInstances: number; readonly maxInstances: number; readonly spare: number; readonly targetCpuUtilization: number; readonly cooldownMinutes: number };

export interface Plan {
  readonly environment: string;
  readonly targetConcurrentRequests: number;
  readonly requestsPerSecond: number;
  readonly droplet: { readonly sizeSlug: string } & DropletSize;
  /** What one droplet can hold: the lower of its CPU and memory bounds. */
  readonly dropletCapacity: { readonly byCpu: number; readonly byMemory: number; readonly concurrentRequests: number };
  readonly fleet: FleetShape & {
    /** Droplets the target needs, spares included. */
    readonly needed: number;
    /** The largest fleet the environment may reach; per-process pools are planned for it. */
    readonly maxDroplets: number;
    /** Whether maxDroplets comes from the config (scaling then never changes a droplet's user data). */
    readonly maxDropletsPinned: boolean;
  };
  readonly rollout: RolloutPlan;
  readonly tuning: DropletTuning;
  readonly loadBalancer: { readonly sizeUnit: number; readonly byConnections: number; readonly byRequests: number };
  readonly database: DatabasePlan;
  readonly cost: { readonly lines: readonly CostLine[]; readonly monthlyUsd: number };
}

/** A config the plan cannot satisfy: the key to change and what to do. */
export interface PlanIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
}

export type PlanResult = { readonly ok: true; readonly plan: Plan } | { readonly ok: false; readonly issues: readonly PlanIssue[] };

const C = PLAN_CONSTANTS;
const fmt = (n: number) => n.toLocaleString('en-US');
const droplets = (n: number) => `${fmt(n)} droplet${n === 1 ? '' : 's'}`;

/** Smallest power of two >= n: kernel and Nginx queue sizes read best as powers of two. */
export function nextPowerOfTwo(n: number): number {
  return 2 ** Math.ceil(Math.log2(Math.max(1, n)));
}

/** Backend connections of a managed PostgreSQL node: 25 per GiB of RAM, 3 reserved (FACTS.md). */
export function postgresConnectionLimit(size: DatabaseSize): number {
  return Math.floor((size.memoryMib / 1024) * C.pgConnectionsPerGib) - C.pgReservedConnections;
}

/** Concurrency one droplet holds at the planned CPU share: Little's law, in-flight = rate x time. */
export function concurrencyByCpu(size: DropletSize, requestsPerSecondPerVcpu: number, typicalRequestSeconds: number): number {
  const effectiveVcpus = size.vcpus * (size.dedicatedCpu ? 1 : C.sharedCpuFactor);
  return Math.floor(effectiveVcpus * requestsPerSecondPerVcpu * C.targetCpuUtilization * typicalRequestSeconds);
}

/** Fixed memory of a droplet before any request: OS plus one Gunicorn and one Nginx worker per process slot. */
function baseMemoryMib(gunicornWorkers: number, nginxWorkers: number): number {
  return C.osReserveMib + gunicornWorkers * C.gunicornWorkerMib + nginxWorkers * C.nginxWorkerMib;
}

/** Concurrency one droplet's memory budget holds once its processes are resident. */
export function concurrencyByMemory(size: DropletSize): number {
  const workersAtMinimum = size.vcpus * C.gunicornWorkersPerVcpu;
  const freeMib = size.memoryMib * C.memoryBudgetShare - baseMemoryMib(workersAtMinimum, size.vcpus);
  return Math.max(0, Math.floor((freeMib * 1024) / C.requestMemoryKib));
}

/** Load balancer nodes for a load: each node carries 10,000 connections and 10,000 requests/s, with headroom. */
export function loadBalancerNodes(concurrent: number, requestsPerSecond: number): { byConnections: number; byRequests: number } {
  return {
    byConnections: Math.ceil((concurrent * C.unevenShareHeadroom) / C.lbNodeConnections),
    byRequests: Math.ceil((requestsPerSecond * C.unevenShareHeadroom) / C.lbNodeRequestsPerSecond),
  };
}

/** Processes needed to spread `connections` so no process holds more than `perProcessCap` of them. */
function processesForCap(connections: number, perProcessCap: number): number {
  return Math.ceil(connections / Math.max(1, perProcessCap));
}

/** The droplet's tuning for a design load of `concurrent` requests (headroom already applied). */
export function dropletTuning(config: EnvironmentConfig, size: DropletSize, concurrent: number, replicaPerProcess: number): DropletTuning {
  const { capacity, loadBalancer } = config;
  const hc = loadBalancer.healthCheck;
  // The LB marks a droplet down after `unhealthyThreshold` failed checks, the last one possibly waiting its timeout.
  const lbDetectSeconds = hc.checkIntervalSeconds * hc.unhealthyThreshold + hc.responseTimeoutSeconds;
  // Requests in flight when the LB stops sending are bounded by the request profile, not by the proxy timeout.
  const drainRequestSeconds = Math.max(C.minDrainRequestSeconds, Math.ceil(capacity.p95RequestSeconds * C.drainRequestP95Multiple));
  const maxOpen = capacity.maxOpenFilesPerProcess;
  // Gevent: a couple of workers per core; more only if one worker's sockets would pass the open-files cap.
  const workers = Math.max(size.vcpus * C.gunicornWorkersPerVcpu, processesForCap(concurrent * C.unevenShareHeadroom, maxOpen - C.gunicornFdReserve));
  // workers x worker_connections covers the design load; one worker takes at most its uneven share.
  const workerConnections = Math.ceil((concurrent / workers) * C.unevenShareHeadroom);
  // Each greenlet holds one client socket; the reserve covers DB/cache pools and the app's own files.
  const gunicornNofile = workerConnections + C.gunicornFdReserve;
  // Nginx: a proxied request is two connections (client + upstream); workers split them (reuseport).
  const nginxConnectionsTotal = 2 * concurrent;
  // Connections one Nginx worker may hold so that 2 x (connections + idle) + reserve stays under the cap.
  const nginxWorkerCap = Math.floor((maxOpen - C.nginxFdReserve) / 2) - C.nginxUpstreamKeepalive - C.nginxIdleConnectionMargin;
  const nginxWorkers = Math.max(size.vcpus, processesForCap(nginxConnectionsTotal * C.unevenShareHeadroom, nginxWorkerCap));
  const nginxWorkerConnections =
    Math.ceil((nginxConnectionsTotal / nginxWorkers) * C.unevenShareHeadroom) + C.nginxUpstreamKeepalive + C.nginxIdleConnectionMargin;
  // worker_rlimit_nofile >= 2 x worker_connections: a connection may also hold a file (static, temp body).
  const workerRlimitNofile = 2 * nginxWorkerConnections + C.nginxFdReserve;
  // The accept queues absorb a burst of a quarter of the design load arriving at once.
  const listenBacklog = Math.min(C.maxListenBacklog, Math.max(C.minListenBacklog, nextPowerOfTwo(concurrent / 4)));
  // Gunicorn's workers share one socket, so its queue absorbs the same droplet-wide burst as Nginx's
  // (the box: a 4,096 queue dropped connections under a burst of 50,000 that 16,384 held, bench/README.md).
  const gunicornBacklog = listenBacklog;
  // somaxconn caps every listen backlog, so it must be at least the largest one.
  const somaxconn = listenBacklog;
  // Requests one worker serves per hour at design load; restarting after that many bounds leaks without churn.
  const perWorkerRps = concurrent / capacity.typicalRequestSeconds / workers;
  const maxRequests = Math.max(1000, Math.round(perWorkerRps * C.workerRecycleSeconds));
  // Slow requests must finish inside the proxy and drain timeouts: several p95s, never under a minute.
  const proxyReadTimeoutSeconds = Math.max(60, Math.ceil(capacity.p95RequestSeconds * 4));
  const totalFiles = workers * gunicornNofile + nginxWorkers * workerRlimitNofile;
  const memoryBudgetMib = Math.ceil(baseMemoryMib(workers, nginxWorkers) + (concurrent * C.requestMemoryKib) / 1024);
  return {
    concurrentRequests: concurrent,
    gunicorn: {
      workers,
      workerConnections,
      backlog: gunicornBacklog,
      keepaliveSeconds: C.upstreamKeepaliveTimeoutSeconds + C.keepaliveBeyondLbSeconds,
      timeoutSeconds: C.gunicornTimeoutSeconds,
      gracefulTimeoutSeconds: drainRequestSeconds,
      // After the drain the master needs its heartbeat timeout to reap workers before systemd kills them.
      stopTimeoutSeconds: drainRequestSeconds + C.gunicornTimeoutSeconds,
      maxRequests,
      maxRequestsJitter: Math.round(maxRequests / 10),
      nofile: gunicornNofile,
    },
    nginx: {
      workerProcesses: nginxWorkers,
      workerConnections: nginxWorkerConnections,
      workerRlimitNofile,
      nofile: workerRlimitNofile,
      listenBacklog,
      keepaliveTimeoutSeconds: loadBalancer.httpIdleTimeoutSeconds + C.keepaliveBeyondLbSeconds,
      upstreamKeepalive: C.nginxUpstreamKeepalive,
      upstreamKeepaliveTimeoutSeconds: C.upstreamKeepaliveTimeoutSeconds,
      proxyConnectTimeoutSeconds: 5,
      proxyReadTimeoutSeconds,
      proxySendTimeoutSeconds: proxyReadTimeoutSeconds,
      clientBodyBufferKib: C.clientBodyBufferKib,
      clientMaxBodyMib: C.clientMaxBodyMib,
    },
    sysctl: {
      'net.core.somaxconn': String(somaxconn),
      // SYNs waiting for the handshake: as deep as the accept queue they feed.
      'net.ipv4.tcp_max_syn_backlog': String(somaxconn),
      // Packets queued per CPU before the stack drains them: bursts of LB traffic.
      'net.core.netdev_max_backlog': String(somaxconn),
      'net.ipv4.tcp_tw_reuse': '1',
      'net.ipv4.tcp_fin_timeout': '15',
      // Outgoing connections are few (Gunicorn is on a unix socket; only DB and cache pools dial out),
      // so the range stays clear of the ports below 10240 that local services may listen on.
      'net.ipv4.ip_local_port_range': '10240 65535',
      'net.ipv4.tcp_keepalive_time': '600',
      'net.ipv4.tcp_keepalive_probes': '5',
      'net.ipv4.tcp_keepalive_intvl': '15',
      // System-wide open files: every process at its limit, twice over for everything else.
      'fs.file-max': String(Math.max(2_097_152, nextPowerOfTwo(totalFiles * 2))),
      'fs.nr_open': String(Math.max(1_048_576, maxOpen)),
    },
    app: { ioMaxSeconds: Math.floor(proxyReadTimeoutSeconds / 2) },
    database: {
      primaryPoolSize: C.primaryPoolPerProcess,
      primaryMaxOverflow: C.primaryOverflowPerProcess,
      replicaPoolSize: Math.max(1, Math.floor(replicaPerProcess / 3)),
      replicaMaxOverflow: replicaPerProcess - Math.max(1, Math.floor(replicaPerProcess / 3)),
      poolRecycleSeconds: C.poolRecycleSeconds,
    },
    memory: { budgetMib: memoryBudgetMib, availableMib: Math.floor(size.memoryMib * C.memoryBudgetShare) },
    drain: {
      lbDetectSeconds,
      requestSeconds: drainRequestSeconds,
      stopBudgetSeconds: lbDetectSeconds + drainRequestSeconds + C.nginxStopSeconds,
    },
  };
}

/** Derive the plan for one environment, or say which keys make it impossible. */
export function planCapacity(environment: string, config: EnvironmentConfig): PlanResult {
  const issues: PlanIssue[] = [];
  const { capacity, fleet } = config;
  const size = DROPLET_SIZES[fleet.sizeSlug];
  const pgSize = DATABASE_SIZES[config.postgres.sizeSlug];
  const cacheSize = DATABASE_SIZES[config.cache.sizeSlug];
  if (!size || !pgSize || !cacheSize) {
    // The loader reports unknown slugs with their location before planning; this guards direct callers.
    return { ok: false, issues: [{ path: ['fleet', 'sizeSlug'], message: 'unknown size slug' }] };
  }
  const target = capacity.targetConcurrentRequests;
  // Little's law: requests/s = requests in flight / time each is in flight.
  const requestsPerSecond = Math.ceil(target / capacity.typicalRequestSeconds);
  const byCpu = concurrencyByCpu(size, capacity.requestsPerSecondPerVcpu, capacity.typicalRequestSeconds);
  const byMemory = concurrencyByMemory(size);
  // Each droplet is tuned for its load plus headroom, so its capacity is what it holds divided by that headroom.
  const perDroplet = Math.floor(Math.min(byCpu, byMemory) / C.unevenShareHeadroom);
  const spare = C.spareDroplets[config.tier];
  if (perDroplet < 1) {
    issues.push({ path: ['fleet', 'sizeSlug'], message: `${fleet.sizeSlug} cannot hold a single request at ${capacity.typicalRequestSeconds} s each; pick a larger size` });
    return { ok: false, issues };
  }
  // Enough droplets that the target fits on all but the spares (N+1 in production).
  const needed = Math.ceil(target / perDroplet) + spare;
  let fleetShape: FleetShape;
  if (fleet.autoscale) {
    // Unset bounds come from the same arithmetic: keep what the target needs, grow to twice that (within maxDroplets).
    const minInstances = fleet.autoscale.minInstances ?? needed;
    const maxInstances = fleet.autoscale.maxInstances
      ?? Math.min(1000, fleet.maxDroplets ?? Infinity, Math.max(minInstances, C.maxDropletsPerCount * needed));
    if (maxInstances < needed) {
      issues.push({
        path: ['fleet', 'autoscale', 'maxInstances'],
        message: `${droplets(maxInstances)} of ${fleet.sizeSlug} hold ${fmt(perDroplet * Math.max(0, maxInstances - spare))} concurrent requests; capacity.targetConcurrentRequests ${fmt(target)} needs at least ${needed}${spare ? ` (including ${spare} spare)` : ''}. Raise maxInstances or pick a larger fleet.sizeSlug`,
      });
    }
    fleetShape = { kind: 'autoscale', minInstances, maxInstances, spare, targetCpuUtilization: fleet.autoscale.targetCpuUtilization, cooldownMinutes: fleet.autoscale.cooldownMinutes };
  } else {
    const count = fleet.count ?? needed;
    if (count < needed) {
      issues.push({
        path: ['fleet', 'count'],
        message: `${droplets(count)} of ${fleet.sizeSlug} hold ${fmt(perDroplet * Math.max(0, count - spare))} concurrent requests; capacity.targetConcurrentRequests ${fmt(target)} needs ${needed}${spare ? ` (including ${spare} spare)` : ''}. Raise count, omit it to use the plan's, or pick a larger fleet.sizeSlug`,
      });
    }
    fleetShape = { kind: 'droplets', count, spare };
  }
  // The largest fleet this environment may reach: per-process pools are planned for it, so scaling up to it
  // never changes what a running droplet was given.
  const fleetSize = fleetShape.kind === 'droplets' ? fleetShape.count : fleetShape.maxInstances;
  const maxDroplets = fleet.maxDroplets ?? (fleetShape.kind === 'autoscale' ? fleetSize : C.maxDropletsPerCount * fleetSize);
  if (fleet.maxDroplets !== undefined && fleetSize > fleet.maxDroplets) {
    // Blame the key the person set: the count (or pool maximum) if pinned, else maxDroplets against the target.
    const pinned = fleetShape.kind === 'droplets' ? fleet.count !== undefined : fleet.autoscale?.maxInstances !== undefined;
    issues.push({
      path: !pinned ? ['fleet', 'maxDroplets'] : fleetShape.kind === 'droplets' ? ['fleet', 'count'] : ['fleet', 'autoscale', 'maxInstances'],
      message: `${droplets(fleetSize)} exceed fleet.maxDroplets ${fleet.maxDroplets}, the largest fleet the database pools are planned for. Raise fleet.maxDroplets (every droplet is replaced once, through the health gate, because its pools shrink) or stay at or below it`,
    });
  }
  const fleetPlan: Plan['fleet'] = { ...fleetShape, needed, maxDroplets, maxDropletsPinned: fleet.maxDroplets !== undefined };
  // Each droplet is tuned for its own full capacity: the share it carries at the target plus headroom for
  // uneven balancing. It depends on the droplet's size and the request profile only, never on the fleet's
  // count or the target, so scaling adds or removes droplets and changes no running one.
  const designPerDroplet = Math.ceil(perDroplet * C.unevenShareHeadroom);
  const lb = loadBalancerNodes(target, requestsPerSecond);
  const lbNeeded = Math.max(lb.byConnections, lb.byRequests, 1);
  if (lbNeeded > C.lbMaxSizeUnit) {
    issues.push({
      path: ['capacity', 'targetConcurrentRequests'],
      message: `${fmt(target)} concurrent requests (${fmt(requestsPerSecond)} requests/s) need ${lbNeeded} load balancer nodes; one DigitalOcean load balancer has at most ${C.lbMaxSizeUnit}. Split the fleet over several regional load balancers behind a global load balancer (type GLOBAL), or lower the target`,
    });
  }
  const sizeUnit = config.loadBalancer.sizeUnit ?? Math.min(lbNeeded, C.lbMaxSizeUnit);
  if (config.loadBalancer.sizeUnit !== undefined && config.loadBalancer.sizeUnit < lbNeeded && lbNeeded <= C.lbMaxSizeUnit) {
    issues.push({
      path: ['loadBalancer', 'sizeUnit'],
      message: `${sizeUnit} nodes carry ${fmt(sizeUnit * C.lbNodeConnections)} connections; ${fmt(target)} concurrent requests at ${fmt(requestsPerSecond)} requests/s need ${lbNeeded} (with ${Math.round((C.unevenShareHeadroom - 1) * 100)}% headroom). Raise sizeUnit or omit it to use the plan's`,
    });
  }
  // Database: the largest fleet's processes share the primary through PgBouncer and the replicas directly.
  const provisional = dropletTuning(config, size, designPerDroplet, 1);
  const processes = maxDroplets * provisional.gunicorn.workers;
  const primaryLimit = postgresConnectionLimit(pgSize);
  const poolSize = config.postgres.pool.size ?? primaryLimit - C.pgAdminConnections;
  if (poolSize > primaryLimit - C.pgAdminConnections) {
    issues.push({
      path: ['postgres', 'pool', 'size'],
      message: `${poolSize} server connections exceed what ${config.postgres.sizeSlug} allows the app (${primaryLimit} minus ${C.pgAdminConnections} kept for administration = ${primaryLimit - C.pgAdminConnections}). Lower pool.size, omit it, or pick a larger postgres.sizeSlug`,
    });
  }
  if (config.postgres.pool.mode !== 'transaction' && processes * (C.primaryPoolPerProcess + C.primaryOverflowPerProcess) > poolSize) {
    issues.push({
      path: ['postgres', 'pool', 'mode'],
      message: `${config.postgres.pool.mode} pooling gives each of the fleet's ${fmt(processes)} processes its own server connection: ${fmt(processes * (C.primaryPoolPerProcess + C.primaryOverflowPerProcess))} needed, ${poolSize} in the pool (by ${fmt(processes * (C.primaryPoolPerProcess + C.primaryOverflowPerProcess) - poolSize)}). Use transaction pooling, fewer workers, or a larger postgres.sizeSlug`,
    });
  }
  const replicas = config.postgres.readReplicas;
  let replicaLimit = 0;
  let replicaPerProcess = 1;
  if (replicas.length > 0) {
    replicaLimit = Math.min(...replicas.map((r) => postgresConnectionLimit(DATABASE_SIZES[r.sizeSlug] ?? pgSize)));
    // Each process opens its replica engine to one replica; processes spread evenly over the replicas.
    const processesPerReplica = Math.ceil(processes / replicas.length);
    replicaPerProcess = Math.floor((replicaLimit - C.pgAdminConnections) / processesPerReplica);
    if (replicaPerProcess < 1) {
      issues.push({
        path: ['postgres', 'readReplicas'],
        message: `${fmt(processesPerReplica)} app processes per replica need at least one connection each, a replica of this size allows ${replicaLimit - C.pgAdminConnections} (short by ${fmt(processesPerReplica - (replicaLimit - C.pgAdminConnections))}). Add replicas, pick a larger replica size, or use fewer or smaller droplets`,
      });
      replicaPerProcess = 1;
    }
  }
  const tuning = dropletTuning(config, size, designPerDroplet, replicaPerProcess);
  // A fleet already too small overloads each droplet's memory too; that message would only repeat it.
  const fleetTooSmall = issues.some((i) => i.path[0] === 'fleet');
  if (!fleetTooSmall && tuning.memory.budgetMib > tuning.memory.availableMib) {
    issues.push({
      path: ['fleet', 'sizeSlug'],
      message: `${fleet.sizeSlug} has ${fmt(tuning.memory.availableMib)} MiB to plan with; ${fmt(designPerDroplet)} concurrent requests per droplet need ${fmt(tuning.memory.budgetMib)} MiB. Pick a size with more memory or add droplets`,
    });
  }
  // An autoscale pool destroys a droplet a fixed time after shutting it down: the drain must fit inside.
  if (fleetPlan.kind === 'autoscale' && tuning.drain.stopBudgetSeconds > C.autoscaleShutdownSeconds) {
    const d = tuning.drain;
    issues.push({
      path: ['fleet', 'autoscale'],
      message: `a pool droplet's graceful stop takes ${d.stopBudgetSeconds} s (LB detection ${d.lbDetectSeconds} s = loadBalancer.healthCheck interval x unhealthyThreshold + responseTimeout, requests ${d.requestSeconds} s from capacity.p95RequestSeconds, Nginx ${C.nginxStopSeconds} s); DigitalOcean destroys a pool droplet ${C.autoscaleShutdownSeconds} s after its shutdown. Shorten the health check (interval, unhealthyThreshold, responseTimeout) or use fixed droplets (fleet.count)`,
    });
  }
  if (issues.length > 0) return { ok: false, issues };

  const rolloutSize = fleetPlan.kind === 'droplets' ? fleetPlan.count : fleetPlan.maxInstances;
  const rollout: RolloutPlan = {
    batchSize: Math.min(C.rolloutBatchMax, Math.max(1, Math.floor(rolloutSize * C.rolloutBatchShare))),
    gatePasses: C.gatePasses,
    gateIntervalSeconds: C.gateIntervalSeconds,
    gateTimeoutSeconds: C.gateTimeoutSeconds,
    // The drain, Gunicorn's stop timeout (it covers the request drain and the reaping), Nginx, then power-off.
    deleteTimeoutSeconds: tuning.drain.lbDetectSeconds + tuning.gunicorn.stopTimeoutSeconds + C.nginxStopSeconds + C.shutdownMarginSeconds,
  };

  const lines: CostLine[] = [];
  const line = (item: string, quantity: number, unitMonthlyUsd: number) => {
    if (quantity > 0) lines.push({ item, quantity, unitMonthlyUsd, monthlyUsd: quantity * unitMonthlyUsd });
  };
  line(`droplet ${fleet.sizeSlug}${fleetPlan.kind === 'autoscale' ? ' (autoscale minimum)' : ''}`, fleetPlan.kind === 'droplets' ? fleetPlan.count : fleetPlan.minInstances, size.priceMonthlyUsd);
  line('load balancer node', sizeUnit, LOAD_BALANCER_NODE_PRICE_MONTHLY_USD);
  line(`postgres ${config.postgres.sizeSlug} (primary + standby)`, 1 + config.postgres.standbyNodes, pgSize.priceMonthlyUsd);
  for (const r of replicas) line(`postgres replica ${r.sizeSlug}`, 1, DATABASE_SIZES[r.sizeSlug]?.priceMonthlyUsd ?? 0);
  line(`valkey ${config.cache.sizeSlug}`, 1, cacheSize.priceMonthlyUsd);

  return {
    ok: true,
    plan: {
      environment,
      targetConcurrentRequests: target,
      requestsPerSecond,
      droplet: { sizeSlug: fleet.sizeSlug, ...size },
      dropletCapacity: { byCpu, byMemory, concurrentRequests: perDroplet },
      fleet: fleetPlan,
      rollout,
      tuning,
      loadBalancer: { sizeUnit, byConnections: lb.byConnections, byRequests: lb.byRequests },
      database: {
        primaryConnectionLimit: primaryLimit,
        pgbouncerPoolSize: poolSize,
        pgbouncerClientConnections: processes * (C.primaryPoolPerProcess + C.primaryOverflowPerProcess),
        replicaConnectionLimit: replicaLimit,
        replicaConnectionsUsed: replicas.length > 0 ? Math.ceil(processes / replicas.length) * replicaPerProcess : 0,
      },
      cost: { lines, monthlyUsd: lines.reduce((sum, l) => sum + l.monthlyUsd, 0) },
    },
  };
}
