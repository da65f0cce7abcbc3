/**
 * One droplet: what it holds (its CPU and memory bounds) and every tuning its files carry. A droplet is tuned
 * for its own full capacity from its size and the request profile only, never from the target, the count or
 * the fleet's bounds, so scaling never changes a running droplet's user data.
 */
import type { DropletSize } from '../catalog.js';
import type { EnvironmentConfig } from '../schema.js';
import { fmt, nextPowerOfTwo, SHARED_CONSTANTS, type PlanIssue } from './shared.js';

export const DROPLET_CONSTANTS = {
  /** Shared-CPU (s-*) droplets are burstable; count them at half a dedicated vCPU. */
  sharedCpuFactor: 0.5,
  /** Gevent workers per vCPU: one busy event loop per core, one more to cover C calls that block the loop. */
  gunicornWorkersPerVcpu: 2,
  /** File descriptors a Gunicorn worker holds besides client sockets: DB and cache pools, logs, the app. */
  gunicornFdReserve: 1024,
  /** Nginx file descriptors besides connections: log files, static files in flight, temp files. */
  nginxFdReserve: 1024,
  /** Idle client connections an Nginx worker keeps besides in-flight ones (LB backend keepalive). */
  nginxIdleConnectionMargin: 512,
  /**
   * Load, as a multiple of the design load, whose client connections Nginx holds while it sheds the excess
   * with 503: past worker_connections it drops connections instead (resets). Measured in the box
   * (bench/results/overload.md): with room for twice the design load, none reset at 2x.
   */
  nginxShedsUpToLoad: 2,
  /** Idle keepalive connections to Gunicorn cached per Nginx worker (unix socket: cheap to reopen). */
  nginxUpstreamKeepalive: 64,
  /** Smallest accept queue we configure; the Linux default 4096 (5.4+) is the floor. */
  minListenBacklog: 4096,
  /** Largest accept queue we configure: Nginx and Gunicorn pass it to listen(2), which the kernel caps at somaxconn. */
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
  /** SQLAlchemy client connections per process to the primary's PgBouncer (transaction pooling multiplexes them). */
  primaryPoolPerProcess: 5,
  primaryOverflowPerProcess: 10,
  /** Of a process's replica connections, this share stays open; the rest are overflow opened under bursts. */
  replicaPoolShare: 1 / 3,
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
  /** Nginx gives up connecting to Gunicorn's unix socket after this long: a local socket answers at once or not at all. */
  proxyConnectTimeoutSeconds: 5,
  /** Request bodies up to this size stay in memory; larger ones spool to disk (the recipe's 10M x 50k clients would need 500 GB). */
  clientBodyBufferKib: 16,
  clientMaxBodyMib: 10,
  /** Requests in flight when the LB stops sending finish within this many p95 times (Gunicorn's graceful_timeout). */
  drainRequestP95Multiple: 2,
  minDrainRequestSeconds: 5,
  /** Nginx's own stop after Gunicorn has finished: its connections are idle by then. */
  nginxStopSeconds: 10,
  /**
   * Nginx gives up on Gunicorn this long before the LB would drop the idle connection
   * (`loadBalancer.httpIdleTimeoutSeconds`): Nginx answers the 504 and logs it, instead of the two racing.
   */
  proxyReadBelowLbIdleSeconds: 5,
  /** Slow requests Nginx waits for: this many p95 times must fit under the proxy read timeout. */
  proxyReadP95Multiple: 4,
  /** libpq connect_timeout: a PgBouncer or replica that does not answer costs a request this long, not forever. */
  dbConnectTimeoutSeconds: 3,
  /** TCP keepalive on database connections: an idle pooled connection to a dead peer is noticed in idle + interval x count. */
  dbKeepaliveIdleSeconds: 5,
  dbKeepaliveIntervalSeconds: 2,
  dbKeepaliveCount: 3,
  /**
   * libpq tcp_user_timeout: sent data unacknowledged this long closes the connection. The server's kernel acks
   * a query at once however long it runs (statement_timeout bounds that), so only a black hole (failover, a
   * dropped route) reaches it; a lossy but live network retransmits well within it.
   */
  dbTcpUserTimeoutSeconds: 5,
  /**
   * Valkey connections per process (redis-py BlockingConnectionPool; its default pool is unbounded). A cache
   * command holds a connection well under a millisecond in the VPC, so 10 serve a worker's ~1,300 cache calls/s
   * many times over, and the cache sees processes x 10 at the fleet's largest size (config/plan/cache.ts).
   */
  cachePoolPerProcess: 10,
  /** Cache socket, connect and pool-wait timeout: a slow cache costs a request this long, then it reads the database. */
  cacheTimeoutSeconds: 0.25,
  /** Of a worker's file reserve (gunicornFdReserve), what its own files take besides client pools: logs, metrics files, modules. */
  gunicornOwnFiles: 256,
  /** Share of the droplet's disk logs may take; the rest is the OS, packages, the app and temp files. */
  logDiskShare: 0.25,
  /** Of the log budget, journald's share (the app's and the units' output; Nginx's access log is the bulk). */
  journalShare: 0.1,
  /**
   * Bytes per access-log line in the JSON format of templates/nginx/nginx.conf: about 230 with a 40-byte
   * path and a 60-byte user agent; 300 covers longer ones.
   */
  accessLogLineBytes: 300,
  /** Rotated files kept per Nginx log (access and error), besides the one being written. */
  logRotateKeep: 8,
  /** How far back the access log should reach on the droplet; beyond the budget, successes are sampled to keep it. */
  logRetentionHours: 24,
  /** logrotate runs at least hourly: Debian's daily timer lets a busy droplet fill its disk first. */
  maxLogCheckMinutes: 60,
  /**
   * Fast 503s one Nginx worker (one vCPU) can answer when it sheds: 48,000-86,000/s in the box's overload
   * runs (bench/results/overload.md, clients that resend at once); 100,000 leaves room for a faster CPU. Shed
   * answers are logged at the share that keeps even this rate at or below the design request rate.
   */
  nginxShedPerSecondPerVcpu: 100_000,
  /** Metric types whose per-worker files child_exit folds (templates/gunicorn/gunicorn.conf.py): counter, histogram, summary. */
  foldedMetricTypes: 3,
} as const;

const C = { ...SHARED_CONSTANTS, ...DROPLET_CONSTANTS };

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
    /**
     * Requests in flight through Nginx above which it sheds at once with 503 and Retry-After (limit_conn),
     * instead of queueing into Gunicorn's backlog until connects fail and health checks with them.
     */
    readonly shedAboveRequests: number;
    readonly shedRetryAfterSeconds: number;
  };
  /** Kernel settings for /etc/sysctl.d; keys are sysctl names. */
  readonly sysctl: Readonly<Record<string, string>>;
  /** The demo app's limits, written into the app's env file. */
  readonly app: {
    /** Longest wait the demo's /io endpoint accepts: half the proxy timeout, so a load test never hits it. */
    readonly ioMaxSeconds: number;
  };
  /** Per-process SQLAlchemy pools and the timeouts of every database connection, written into the app's env file. */
  readonly database: {
    readonly primaryPoolSize: number;
    readonly primaryMaxOverflow: number;
    readonly replicaPoolSize: number;
    readonly replicaMaxOverflow: number;
    readonly poolRecycleSeconds: number;
    /** Longest a request waits for a pooled connection (SQLAlchemy pool_timeout). */
    readonly poolTimeoutSeconds: number;
    readonly connectTimeoutSeconds: number;
    /**
     * statement_timeout, set on the app's role by the release step (PgBouncer refuses the `options` startup
     * parameter): no statement outlasts what the drain gives a request.
     */
    readonly statementTimeoutSeconds: number;
    /** libpq tcp_user_timeout: a query (or pre-ping) sent into a black hole fails after this long. */
    readonly tcpUserTimeoutSeconds: number;
    readonly keepaliveIdleSeconds: number;
    readonly keepaliveIntervalSeconds: number;
    readonly keepaliveCount: number;
  };
  /** The Valkey client of each process (redis-py BlockingConnectionPool). */
  readonly cache: {
    readonly maxConnections: number;
    /** Socket, connect and pool-wait timeout. */
    readonly timeoutSeconds: number;
  };
  /**
   * Outgoing connections one process may hold at most (database pools with overflow, the cache pool), all
   * inside the worker's file reserve.
   */
  readonly clientPoolFiles: number;
  /**
   * Prometheus multiprocess files a /metrics scrape reads at most, however long the droplet runs: one per
   * folded type for each live worker, plus the merged file of each type that gunicorn.conf.py's child_exit
   * folds dead workers into.
   */
  readonly metricFilesMax: number;
  readonly memory: {
    readonly budgetMib: number;
    readonly availableMib: number;
  };
  /**
   * Logs on the droplet's disk: a budget (a share of the disk), Nginx's logs rotated by size as well as daily
   * and checked often enough for the design rate, journald capped, successes sampled when the design rate
   * would not keep `retentionHours` of them within the budget (5xx answers are always logged).
   */
  readonly logs: {
    readonly diskBudgetMib: number;
    /** Requests/s at design load (in flight / typical request time): what the log budget is sized for. */
    readonly designRequestsPerSecond: number;
    /** Access log at design load, all requests logged. */
    readonly designBytesPerSecond: number;
    /** The rate rotation is checked for: twice the design bytes (every answer of the app a 5xx, plus sheds). */
    readonly worstBytesPerSecond: number;
    /** Share of non-5xx requests logged: 1, or less to keep retentionHours within the budget. */
    readonly sampleShare: number;
    /**
     * Share of Nginx's own shed answers (503, Retry-After) logged: their rate is bounded only by how fast Nginx
     * refuses (clients may resend at once), so they are sampled down to at most the design request rate.
     */
    readonly shedSampleShare: number;
    readonly retentionHours: number;
    /** logrotate's maxsize per Nginx log, and how many rotated files it keeps. */
    readonly rotateMaxMib: number;
    readonly rotateKeep: number;
    /**
     * logrotate.timer's period: the live log grows at most one rotateMaxMib between checks at the worst rate,
     * twice the design bytes (every answer of the app a 5xx, never sampled, and sheds at Nginx's fastest).
     */
    readonly rotateCheckMinutes: number;
    /** journald's SystemMaxUse. */
    readonly journalMaxMib: number;
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

/** Processes needed to spread `connections` so no process holds more than `perProcessCap` of them. */
function processesForCap(connections: number, perProcessCap: number): number {
  return Math.ceil(connections / Math.max(1, perProcessCap));
}

/** Replica connections a process keeps open of its share; the rest of the share is overflow. */
export function replicaPoolSizeFor(replicaPerProcess: number): number {
  return Math.max(1, Math.floor(replicaPerProcess * C.replicaPoolShare));
}

/** Gevent workers: a couple per core; more only if one worker's sockets would pass the open-files cap. */
export function gunicornWorkers(size: DropletSize, concurrent: number, maxOpenFilesPerProcess: number): number {
  return Math.max(size.vcpus * C.gunicornWorkersPerVcpu, processesForCap(concurrent * C.unevenShareHeadroom, maxOpenFilesPerProcess - C.gunicornFdReserve));
}

/**
 * The droplet's tuning for a design load of `concurrent` requests (headroom already applied);
 * `replicaPerProcess` is each process's share of a replica's connections (from the database plan).
 */
export function dropletTuning(config: EnvironmentConfig, size: DropletSize, concurrent: number, replicaPerProcess: number): DropletTuning {
  const { capacity, loadBalancer } = config;
  const hc = loadBalancer.healthCheck;
  // The LB marks a droplet down after `unhealthyThreshold` failed checks, the last one possibly waiting its timeout.
  const lbDetectSeconds = hc.checkIntervalSeconds * hc.unhealthyThreshold + hc.responseTimeoutSeconds;
  // Requests in flight when the LB stops sending are bounded by the request profile, not by the proxy timeout.
  const drainRequestSeconds = Math.max(C.minDrainRequestSeconds, Math.ceil(capacity.p95RequestSeconds * C.drainRequestP95Multiple));
  const maxOpen = capacity.maxOpenFilesPerProcess;
  const workers = gunicornWorkers(size, concurrent, maxOpen);
  // workers x worker_connections covers the design load; one worker takes at most its uneven share.
  const workerConnections = Math.ceil((concurrent / workers) * C.unevenShareHeadroom);
  // Each greenlet holds one client socket; the reserve covers DB/cache pools and the app's own files.
  const gunicornNofile = workerConnections + C.gunicornFdReserve;
  // Nginx: a proxied request is two connections (client + upstream); workers split them (reuseport). Under
  // overload it also holds the clients it sheds: room for nginxShedsUpToLoad x the design load's clients.
  const nginxConnectionsTotal = (C.nginxShedsUpToLoad + 1) * concurrent;
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
  // Nginx must give up before the LB drops the idle connection (or the two race and the LB's 504 goes
  // unlogged); dropletTuningIssues refuses a profile whose slow requests need longer.
  const proxyReadTimeoutSeconds = loadBalancer.httpIdleTimeoutSeconds - C.proxyReadBelowLbIdleSeconds;
  const replicaPoolSize = replicaPoolSizeFor(replicaPerProcess);
  const clientPoolFiles = C.primaryPoolPerProcess + C.primaryOverflowPerProcess + replicaPerProcess + C.cachePoolPerProcess;
  const memoryBudgetMib = Math.ceil(baseMemoryMib(workers, nginxWorkers) + (concurrent * C.requestMemoryKib) / 1024);
  const logs = planLogs(size, concurrent / capacity.typicalRequestSeconds);
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
      proxyConnectTimeoutSeconds: C.proxyConnectTimeoutSeconds,
      proxyReadTimeoutSeconds,
      proxySendTimeoutSeconds: proxyReadTimeoutSeconds,
      clientBodyBufferKib: C.clientBodyBufferKib,
      clientMaxBodyMib: C.clientMaxBodyMib,
      // What the droplet is tuned to hold (its capacity plus headroom); Gunicorn's greenlets hold at least that.
      shedAboveRequests: concurrent,
      // A client retries after about one typical request: by then, on average, the in-flight set has turned over.
      shedRetryAfterSeconds: Math.max(1, Math.ceil(capacity.typicalRequestSeconds)),
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
      // No fs.nr_open or fs.file-max: systemd raises both to their maxima at boot (templates/host-tuning.ts);
      // every limit below (at most capacity.maxOpenFilesPerProcess) fits under them.
    },
    app: { ioMaxSeconds: Math.floor(proxyReadTimeoutSeconds / 2) },
    database: {
      primaryPoolSize: C.primaryPoolPerProcess,
      primaryMaxOverflow: C.primaryOverflowPerProcess,
      replicaPoolSize,
      replicaMaxOverflow: replicaPerProcess - replicaPoolSize,
      poolRecycleSeconds: C.poolRecycleSeconds,
      poolTimeoutSeconds: C.dbConnectTimeoutSeconds,
      connectTimeoutSeconds: C.dbConnectTimeoutSeconds,
      statementTimeoutSeconds: drainRequestSeconds,
      tcpUserTimeoutSeconds: C.dbTcpUserTimeoutSeconds,
      keepaliveIdleSeconds: C.dbKeepaliveIdleSeconds,
      keepaliveIntervalSeconds: C.dbKeepaliveIntervalSeconds,
      keepaliveCount: C.dbKeepaliveCount,
    },
    cache: { maxConnections: C.cachePoolPerProcess, timeoutSeconds: C.cacheTimeoutSeconds },
    clientPoolFiles,
    metricFilesMax: (workers + 1) * C.foldedMetricTypes,
    logs,
    memory: { budgetMib: memoryBudgetMib, availableMib: Math.floor(size.memoryMib * C.memoryBudgetShare) },
    drain: {
      lbDetectSeconds,
      requestSeconds: drainRequestSeconds,
      stopBudgetSeconds: lbDetectSeconds + drainRequestSeconds + C.nginxStopSeconds,
    },
  };
}


/**
 * The log budget of a droplet at `requestsPerSecond` (its design load). Disk use is bounded by rotation alone:
 * two Nginx logs (access, error), each at most rotateMaxMib live (checked every rotateCheckMinutes) plus
 * rotateKeep rotated files counted uncompressed, plus journald's cap. Sampling only keeps retention.
 */
export function planLogs(size: DropletSize, requestsPerSecond: number): DropletTuning['logs'] {
  const diskBudgetMib = Math.floor(size.diskGib * 1024 * C.logDiskShare);
  const journalMaxMib = Math.floor(diskBudgetMib * C.journalShare);
  // Two logs, each: rotateKeep rotated files, the live one, and one more for growth between checks.
  const rotateMaxMib = Math.floor((diskBudgetMib - journalMaxMib) / (2 * (C.logRotateKeep + 2)));
  const designBytesPerSecond = Math.ceil(requestsPerSecond * C.accessLogLineBytes);
  // The rotated files hold rotateKeep x rotateMaxMib: sample successes so that covers the retention.
  const keptBytes = C.logRotateKeep * rotateMaxMib * 1024 * 1024;
  const sampleShare = Math.min(1, Math.floor((keptBytes / (designBytesPerSecond * C.logRetentionHours * 3600)) * 1000) / 1000);
  // Sheds logged at most at the design request rate (Nginx's percentages have two decimals: 0.01% at least).
  const shedSampleShare = Math.max(0.0001, Math.min(1, Math.floor((requestsPerSecond / (C.nginxShedPerSecondPerVcpu * size.vcpus)) * 10_000) / 10_000));
  // Between two checks the live log may grow by at most one more rotateMaxMib (the slot counted above) at the
  // worst rate: every answer of the app a 5xx (never sampled) plus the sampled sheds, twice the design bytes.
  const worstBytesPerSecond = 2 * designBytesPerSecond;
  const rotateCheckMinutes = Math.max(1, Math.min(C.maxLogCheckMinutes, Math.floor((rotateMaxMib * 1024 * 1024) / worstBytesPerSecond / 60)));
  return { diskBudgetMib, designRequestsPerSecond: requestsPerSecond, designBytesPerSecond, worstBytesPerSecond, sampleShare, shedSampleShare, retentionHours: C.logRetentionHours, rotateMaxMib, rotateKeep: C.logRotateKeep, rotateCheckMinutes, journalMaxMib };
}

/** What a droplet's tuning cannot honour: slow requests the LB would cut, client pools past the file reserve. */
export function dropletTuningIssues(config: EnvironmentConfig, tuning: DropletTuning): PlanIssue[] {
  const issues: PlanIssue[] = [];
  const { capacity, loadBalancer } = config;
  const slowSeconds = Math.ceil(capacity.p95RequestSeconds * C.proxyReadP95Multiple);
  if (slowSeconds > tuning.nginx.proxyReadTimeoutSeconds) {
    issues.push({
      path: ['loadBalancer', 'httpIdleTimeoutSeconds'],
      message: `${loadBalancer.httpIdleTimeoutSeconds} s leaves Nginx a proxy_read_timeout of ${tuning.nginx.proxyReadTimeoutSeconds} s (it must end ${C.proxyReadBelowLbIdleSeconds} s before the LB's), below the ${slowSeconds} s that ${C.proxyReadP95Multiple} x capacity.p95RequestSeconds (${fmt(capacity.p95RequestSeconds)} s) need. Raise it to at least ${slowSeconds + C.proxyReadBelowLbIdleSeconds} (DigitalOcean: 30-600) or lower capacity.p95RequestSeconds`,
    });
  }
  if (tuning.logs.sampleShare < 0.001) {
    issues.push({
      path: ['fleet', 'sizeSlug'],
      message: `its log budget (${fmt(tuning.logs.diskBudgetMib)} MiB, ${C.logDiskShare * 100}% of the disk) would keep ${C.logRetentionHours} h of access logs only by logging under 0.1% of successful requests at ${fmt(Math.round(tuning.logs.designBytesPerSecond / 1024))} KiB/s. Pick a size with a larger disk or more droplets`,
    });
  }
  const poolRoom = C.gunicornFdReserve - C.gunicornOwnFiles;
  if (tuning.clientPoolFiles > poolRoom) {
    issues.push({
      path: ['fleet', 'maxDroplets'],
      message: `each Gunicorn worker may hold ${fmt(tuning.clientPoolFiles)} database and cache connections, more than the ${fmt(poolRoom)} its open-files reserve leaves for them; Add read replicas or lower fleet.maxDroplets (fewer replica connections per process)`,
    });
  }
  return issues;
}
