/**
 * Overload in the droplet box (`npx tsx bench/overload.ts [env]`, default dev): wrk at 1.5x and 2x the
 * droplet's in-flight limit (the plan's `nginx.shedAboveRequests`) on slow requests (/io?seconds=2, a backend
 * twice as slow as usual), while the load balancer's health check is polled every second. Reports per step:
 * served (200), shed (503 with Retry-After), failed by connect/read/timeout, and the health checks' answers.
 * Expected: every health check 200, the excess shed with 503, none failed by timeout or reset.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bootBox } from '../box/box.js';
import { httpRequest } from '../box/http.js';
import { log, Run } from '../box/lib/stages.js';
import { runStep } from './load.js';

async function main(target: string): Promise<number> {
  const r = new Run(`overload ${target}`);
  return r.execute('overload', async () => {
    const box = await bootBox(r, target);
    const limit = box.env.plan.tuning.nginx.shedAboveRequests;
    const scratchDir = join(box.runDir, 'overload');
    mkdirSync(scratchDir, { recursive: true });
    await r.stage(`1.5x and 2x of ${limit} in flight`, async () => {
      for (const factor of [1.5, 2]) {
        const health: Record<string, number> = {};
        let polling = true;
        const poller = (async () => {
          while (polling) {
            const h = await httpRequest('GET', `${box.urls[0]}/healthz`, 5000).catch(() => ({ status: 0 }));
            health[String(h.status)] = (health[String(h.status)] ?? 0) + 1;
            await new Promise((res) => setTimeout(res, 1000));
          }
        })();
        const step = await runStep({ concurrency: Math.round(limit * factor), durationSeconds: 20, handlerSeconds: 2, path: '/io?seconds=2', scratchDir, rampSeconds: 2 });
        polling = false;
        await poller;
        const e = step.errors;
        log(`  ${factor}x (${Math.round(limit * factor)} connections): statuses ${JSON.stringify(step.statuses)}; failed connect ${e.connect}, read ${e.read}, write ${e.write}, timeout ${e.timeout}; ` +
          `p50 ${step.latencySeconds.p50.toFixed(2)} s, p99 ${step.latencySeconds.p99.toFixed(2)} s; health checks ${JSON.stringify(health)}`);
      }
    }, { timeoutMs: 300_000, logs: () => box.droplet.logs() });
  });
}

main(process.argv[2] ?? 'dev').then((code) => process.exit(code));
