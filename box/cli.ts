/**
 * The box's command line (run with tsx):
 *
 *   box up <env> [--minutes N]   boot a droplet of <env> and keep it until Ctrl-C (at most N minutes, default 60)
 *   box smoke <env>              boot, check /healthz, a write, a replica read and a cache hit, tear down
 *   box clean                    remove what a killed run left (processes, mount, namespaces)
 *
 * <env> is an environment of config/ (dev, staging, production), `box` for box/box.yaml, or a path.
 * Every stage prints its time; a failing stage prints its logs and the command exits non-zero.
 */
import { bootBox } from './box.js';
import { sleep } from './lib/proc.js';
import { log, Run } from './lib/stages.js';
import { smoke } from './smoke.js';
import { NET } from './network.js';

const USAGE = 'usage: box up <env> [--minutes N] | box smoke <env> | box clean';

async function main(argv: string[]): Promise<number> {
  const [command, target = 'dev', ...rest] = argv;
  if (command === 'clean') {
    const r = new Run('box clean');
    const { cleanLeftovers } = await import('./box.js');
    await r.stage('clean', cleanLeftovers, { timeoutMs: 60_000 });
    return 0;
  }
  if (command !== 'up' && command !== 'smoke') {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  const r = new Run(`box ${command} ${target}`);
  return r.execute('box', async () => {
    const box = await bootBox(r, target);
    if (command === 'smoke') {
      await r.stage('smoke checks through Nginx', () => smoke(box), { timeoutMs: 120_000, logs: () => box.droplet.logs() });
    } else {
      const minutes = Number(rest[rest.indexOf('--minutes') + 1] ?? 60) || 60;
      log(`droplet ${box.env.name} is up: ${box.urls.join(' ')} (from the load namespace: ip netns exec ${NET.loadNs} curl ${box.urls[0]}/healthz)`);
      log(`shell inside: nsenter -t ${box.droplet.pid()} -a bash; database: ${box.services.urls.databaseUrl}`);
      log(`Ctrl-C tears it down; it stops by itself after ${minutes} minutes`);
      await sleep(minutes * 60_000);
    }
  });
}

main(process.argv.slice(2)).then((code) => process.exit(code));
