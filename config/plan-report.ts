/**
 * The capacity plan as people read it: one summary row per environment (printed by synth) and a
 * Markdown report per environment with the reasoning (written to cdktf.out/<env>.plan.md).
 */
import { markdownTable } from 'markdown-table';
import { CATALOG_DATE } from './catalog.js';
import { PLAN_CONSTANTS as C, type Plan } from './capacity.js';

const n = (value: number) => value.toLocaleString('en-US');
const usd = (value: number) => `$${n(value)}`;
const pct = (share: number) => `${Math.round(share * 100)}%`;

/** The monthly cost, or its range for an autoscale pool (minimum to maximum). */
function monthly(plan: Plan): string {
  const { minMonthlyUsd, maxMonthlyUsd } = plan.cost.range;
  return minMonthlyUsd === maxMonthlyUsd ? usd(minMonthlyUsd) : `${usd(minMonthlyUsd)}-${usd(maxMonthlyUsd)}`;
}

function fleetCell(plan: Plan): string {
  return plan.fleet.kind === 'droplets'
    ? `${plan.fleet.count} x ${plan.droplet.sizeSlug}`
    : `${plan.fleet.minInstances}-${plan.fleet.maxInstances} x ${plan.droplet.sizeSlug} (autoscale)`;
}

/** One row per environment: the numbers a reviewer checks first. */
export function planSummaryTable(plans: readonly Plan[]): string {
  return markdownTable([
    ['env', 'target', 'droplets', 'per droplet', 'gunicorn', 'nginx', 'nofile app/nginx', 'somaxconn', 'LB nodes', 'DB conns used/limit', 'monthly'],
    ...plans.map((p) => [
      p.environment,
      n(p.targetConcurrentRequests),
      fleetCell(p),
      n(p.tuning.concurrentRequests),
      `${p.tuning.gunicorn.workers} x ${n(p.tuning.gunicorn.workerConnections)}`,
      `${p.tuning.nginx.workerProcesses} x ${n(p.tuning.nginx.workerConnections)}`,
      `${n(p.tuning.gunicorn.nofile)}/${n(p.tuning.nginx.nofile)}`,
      n(Number(p.tuning.sysctl['net.core.somaxconn'])),
      String(p.loadBalancer.sizeUnit),
      `${n(p.database.pgbouncerPoolSize)}/${n(p.database.primaryConnectionLimit)}`,
      monthly(p),
    ]),
  ], { align: ['l', 'r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'] });
}

/** The full plan for one environment, with the reasoning behind each number. */
export function planReport(plan: Plan): string {
  const t = plan.tuning;
  const d = plan.database;
  const headroom = `${Math.round((C.unevenShareHeadroom - 1) * 100)}%`;
  const fleetLine = plan.fleet.kind === 'droplets'
    ? `${plan.fleet.count} droplets (${plan.fleet.spare} spare: the target fits on ${plan.fleet.count - plan.fleet.spare})`
    : `autoscale pool of ${plan.fleet.minInstances}-${plan.fleet.maxInstances} droplets at ${plan.fleet.targetCpuUtilization * 100}% CPU`;
  return [
    `# Capacity plan: ${plan.environment}`,
    '',
    `Target: **${n(plan.targetConcurrentRequests)} concurrent requests**, about ${n(plan.requestsPerSecond)} requests/s (Little's law: in flight / typical time in flight).`,
    '',
    markdownTable([['what', 'value', 'why'],
      ['droplet', `${plan.droplet.sizeSlug}: ${plan.droplet.vcpus} vCPU, ${n(plan.droplet.memoryMib)} MiB`, plan.droplet.dedicatedCpu ? 'dedicated CPU' : `shared CPU, counted at ${C.sharedCpuFactor} vCPU each`],
      ['one droplet holds', n(plan.dropletCapacity.concurrentRequests), `lower of CPU bound ${n(plan.dropletCapacity.byCpu)} (at ${C.targetCpuUtilization * 100}% CPU) and memory bound ${n(plan.dropletCapacity.byMemory)}, less ${headroom} headroom`],
      ['fleet', fleetLine, 'target / per-droplet capacity, plus spares'],
      ['largest fleet', `${n(plan.fleet.maxDroplets)} droplets${plan.fleet.maxDropletsPinned ? '' : ' (derived: pin fleet.maxDroplets so scaling never changes a running droplet)'}`, 'database pools per process are planned for it; a count or autoscale maximum above it is refused'],
      ['tuned for, per droplet', n(t.concurrentRequests), `what one droplet holds plus ${headroom} for uneven balancing: the droplet's own capacity, the same whatever the target or count`],
      ['gunicorn', `${t.gunicorn.workers} gevent workers x ${n(t.gunicorn.workerConnections)} connections, backlog ${n(t.gunicorn.backlog)}`, `${C.gunicornWorkersPerVcpu} workers per vCPU (more if one would pass the open-files cap); workers x connections covers the load plus ${headroom}`],
      ['gunicorn recycling', `max_requests ${n(t.gunicorn.maxRequests)} +/- ${n(t.gunicorn.maxRequestsJitter)}`, 'about one restart per worker per hour at design load'],
      ['nginx', `${t.nginx.workerProcesses} workers x ${n(t.nginx.workerConnections)} connections, worker_rlimit_nofile ${n(t.nginx.workerRlimitNofile)}`, `a proxied request holds 2 connections, and while Nginx sheds (503) it holds the clients of up to ${C.nginxShedsUpToLoad}x the design load; plus upstream keepalive and idle LB connections`],
      ['open files', `app ${n(t.gunicorn.nofile)}, nginx ${n(t.nginx.nofile)}`, 'systemd LimitNOFILE and limits.d: connections plus files, pools and logs'],
      ['kernel', `somaxconn ${t.sysctl['net.core.somaxconn']}, tcp_max_syn_backlog ${t.sysctl['net.ipv4.tcp_max_syn_backlog']}, fs.nr_open and file-max left at systemd's boot maxima`, 'at least every listen backlog; lower open-files ceilings would only cap the limits'],
      ['client pools and timeouts', `per process: database ${t.database.primaryPoolSize}+${t.database.primaryMaxOverflow} primary, ${t.database.replicaPoolSize}+${t.database.replicaMaxOverflow} replica, cache ${t.cache.maxConnections} (${t.clientPoolFiles} files); connect ${t.database.connectTimeoutSeconds} s, statement ${t.database.statementTimeoutSeconds} s, cache ${t.cache.timeoutSeconds} s; proxy_read_timeout ${t.nginx.proxyReadTimeoutSeconds} s`, `pools fit the worker's ${C.gunicornFdReserve}-file reserve; the statement timeout is the drain's request time; Nginx gives up ${C.proxyReadBelowLbIdleSeconds} s before the LB's idle timeout`],
      ['metric files', `at most ${n(t.metricFilesMax)} read by a scrape`, `${C.foldedMetricTypes} types per live worker plus one merged file per type: Gunicorn's master folds a recycled worker's files at its exit, so the count does not grow with uptime`],
      ['logs per droplet', `${n(t.logs.diskBudgetMib)} MiB of ${n(plan.droplet.diskGib)} GiB disk: Nginx logs rotated at ${n(t.logs.rotateMaxMib)} MiB (or daily), ${t.logs.rotateKeep} kept, checked every ${t.logs.rotateCheckMinutes} min; journald ${n(t.logs.journalMaxMib)} MiB; ${t.logs.sampleShare === 1 ? 'every request logged' : `${(t.logs.sampleShare * 100).toFixed(1)}% of successes and every 5xx logged`}, ${(t.logs.shedSampleShare * 100).toFixed(2)}% of shed 503s`, `${C.logDiskShare * 100}% of the disk; ${n(Math.round(t.logs.designBytesPerSecond / 1024))} KiB/s of access log at design load (${C.accessLogLineBytes} B a line); successes sampled to keep ${t.logs.retentionHours} h`],
      ['memory per droplet', `${n(t.memory.budgetMib)} of ${n(t.memory.availableMib)} MiB`, `${C.requestMemoryKib} KiB per request, ${C.gunicornWorkerMib} MiB per app worker, ${C.nginxWorkerMib} MiB per nginx worker, ${C.osReserveMib} MiB OS`],
      ['drain', `${t.drain.stopBudgetSeconds} s: LB detection ${t.drain.lbDetectSeconds} s, requests ${t.drain.requestSeconds} s, Nginx ${C.nginxStopSeconds} s`, `a leaving droplet fails its health check first; the LB stops sending after interval x unhealthy threshold + timeout; requests get ${C.drainRequestP95Multiple} x p95`],
      ['rollout', `${plan.rollout.batchSize} droplet(s) per batch; gate ${plan.rollout.gatePasses} responses from the new droplet through the LB, at most ${n(plan.rollout.gateTimeoutSeconds)} s; delete timeout ${plan.rollout.deleteTimeoutSeconds} s`, 'no old droplet goes before its replacement serves through the LB; the delete timeout covers the drain'],
      ['load balancer', `${plan.loadBalancer.sizeUnit} nodes; ${n(plan.loadBalancer.tlsHandshakesPerSecond)} new TLS connections/s`, `connections need ${plan.loadBalancer.byConnections}, requests/s ${plan.loadBalancer.byRequests}, new TLS connections/s ${plan.loadBalancer.byTlsHandshakes} (per node ${n(C.lbNodeConnections)}, ${n(C.lbNodeRequestsPerSecond)}/s and ${C.lbNodeTlsHandshakesPerSecond}/s, ${C.lbNodeTlsHandshakesPerSecond4096}/s with a 4096-bit RSA key; plus ${headroom}); TLS handshakes = requests/s / capacity.requestsPerTlsConnection, none without a domain`],
      ['database queries', `${n(d.load.queriesPerSecond)}/s: ${n(d.load.readsPerSecond)} reads (${n(d.load.databaseReadsPerSecond)} reach the database), ${n(d.load.writesPerSecond)} writes`, 'requests/s x capacity.queriesPerRequest; capacity.readShare of them reads; capacity.cacheHitRatio of the reads answered by the cache'],
      ['postgres primary load', `${n(d.primary.queriesPerSecond)} queries/s on ${d.primary.sizeSlug}: ${pct(d.primary.cpuShare)} CPU`, `${d.replicas.count ? 'the writes' : 'writes and reads (no replicas)'} over ${d.primary.vcpus} vCPU x capacity.writeQueriesPerSecondPerVcpu (a local estimate, bench/results/pgbench.md); planned at most ${pct(C.targetCpuUtilization)}`],
      ['postgres replicas load', d.replicas.count ? `${d.replicas.count} replica(s), ${n(d.replicas.readsPerSecondEach)} reads/s each: ${pct(d.replicas.cpuShare)} CPU (${d.replicas.needed} needed)` : 'none: reads go to the primary', `database reads over the replicas plus ${headroom} for uneven spread, x capacity.readQueriesPerSecondPerVcpu (a local estimate); planned at most ${pct(C.targetCpuUtilization)}`],
      ['PgBouncer pool', `${n(d.pgbouncerPoolBusy)} busy of ${n(d.pgbouncerPoolSize)} server connections (limit ${n(d.primaryConnectionLimit)}); ${n(d.pgbouncerClientConnections)} client connections`, `primary queries/s x ${C.transactionSeconds * 1000} ms each (Little's law) plus ${headroom}; 25 per GiB minus 3, ${C.pgAdminConnections} kept for administration; clients = ${n(d.processes)} processes at ${n(plan.fleet.maxDroplets)} droplets x (pool ${plan.tuning.database.primaryPoolSize} + overflow ${plan.tuning.database.primaryMaxOverflow}); DigitalOcean documents no client limit`],
      ['postgres replicas', d.replicaConnectionLimit ? `${n(d.replicaConnectionsUsed)} of ${n(d.replicaConnectionLimit)} connections each` : 'none: reads go to the primary', `each process reads from one replica: ${d.replicaPerProcess || 1} connection(s) each (pool ${plan.tuning.database.replicaPoolSize} + overflow ${plan.tuning.database.replicaMaxOverflow}) at ${n(plan.fleet.maxDroplets)} droplets`],
      ['reconnect after a failover', `primary ${n(d.reconnect.primaryPerSecond)}/s (PgBouncer's pool); ${d.replicas.count ? `each replica ${n(d.reconnect.replicaPerSecondEach)}/s of ~${n(d.reconnect.replicaCapacityPerSecond)}/s it accepts; ` : ''}cache ${n(plan.cache.reconnectPerSecond)}/s`, `every process reopens its pools within ${d.reconnect.windowSeconds} s (one typical request); a node accepts ~${C.newConnectionsPerSecondPerVcpu} new connections/s per vCPU (pgbench -C here, no TLS)`],
      ['valkey load', `${n(plan.cache.opsPerSecond)} of ${n(plan.cache.opsCapacity)} operations/s on ${plan.cache.sizeSlug}`, `a GET per read, a SET per miss; capacity.cacheOpsPerSecondPerVcpu x at most ${C.cacheMaxEffectiveVcpus} vCPUs (Valkey 8's I/O threads) at ${pct(C.targetCpuUtilization)}`],
      ['valkey memory', `${n(plan.cache.workingSetMib)} of ${n(plan.cache.availableMib)} MiB (${n(plan.cache.workingSetKeys)} entries)`, 'assumes every miss writes a new key that lives cache.ttlSeconds: misses/s x TTL x capacity.cacheEntryBytes; available memory per DigitalOcean\'s table (Memory Usage for Valkey Database Clusters)'],
      ['valkey connections', `${n(plan.cache.connections)} of ${n(plan.cache.connectionLimit)}`, `${n(d.processes)} processes at ${n(plan.fleet.maxDroplets)} droplets x ${plan.tuning.cache.maxConnections} each (the app's pool cap); Valkey's default maxclients`],
    ]),
    '',
    `## Monthly cost (estimate, list prices of ${CATALOG_DATE})`,
    '',
    markdownTable([
      ['item', 'quantity', 'unit', 'monthly'],
      ...plan.cost.lines.map((l) => [l.item, String(l.quantity), usd(l.unitMonthlyUsd), usd(l.monthlyUsd)]),
      ['**total**', '', '', `**${usd(plan.cost.monthlyUsd)}**`],
      ...(plan.fleet.kind === 'autoscale'
        ? [[`**autoscale range** (${plan.fleet.minInstances}-${plan.fleet.maxInstances} droplets)`, '', '', `**${monthly(plan)}**`]]
        : []),
    ], { align: ['l', 'r', 'r', 'r'] }),
    '',
    '## DigitalOcean limits',
    '',
    markdownTable([['limit', 'used', 'max', 'source'], ...plan.limits.rows.map((r) => [r.limit, n(r.used), n(r.max), r.source])], { align: ['l', 'r', 'r', 'l'] }),
    '',
    ...(plan.notes.length ? ['**Check before the first apply:**', '', ...plan.notes.map((note) => `- ${note}`), ''] : []),
  ].join('\n');
}
