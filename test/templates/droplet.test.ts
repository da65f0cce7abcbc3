import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkUserDataSize, dropletFiles, renderUserData, USER_DATA_MAX_BYTES } from '../../templates/droplet.js';
import { TEMPLATES_DIR } from '../../templates/render.js';
import { allRendered, dropletInput, EXAMPLE_CONNECTIONS, GIT_APP, rendered, snapshotName } from './fixtures.js';

const SNAPSHOTS = path.join(import.meta.dirname, '..', '__snapshots__');

describe.each(allRendered())('droplet files of $environment', ({ environment, files, byName, userData }) => {
  it.each(Object.keys(byName))('%s matches its file snapshot', async (name) => {
    await expect(byName[name]).toMatchFileSnapshot(path.join(SNAPSHOTS, environment, snapshotName(name, byName[name]!)));
  });

  it('user data matches its file snapshot', async () => {
    await expect(userData).toMatchFileSnapshot(path.join(SNAPSHOTS, environment, 'user-data.yaml'));
  });

  it('every file says where it comes from', () => {
    for (const f of files) expect(f.content, f.path).toMatch(/Rendered from templates\/\S+ by this project's cdktf synth\. Do not edit on the host/);
  });

  it('only the env files carry the connection strings; the admin\'s only the root-only one', () => {
    const { databaseAdminUrl, ...appUrls } = EXAMPLE_CONNECTIONS;
    for (const f of files) {
      const carries = Object.values(appUrls).some((url) => f.content.includes(url));
      expect(carries, f.path).toBe(f.path === '/etc/app/app.env');
      expect(f.content.includes(databaseAdminUrl), f.path).toBe(f.path === '/etc/app/admin.env');
    }
  });

  it('files owned by a user cloud-init creates are written after users-groups (defer)', () => {
    for (const f of files) if (!/^root:root$/.test(f.owner)) expect(f.defer, f.path).toBe(true);
  });

  it('nothing in the rendered files is a Terraform interpolation', () => {
    for (const f of files) expect(f.content, f.path).not.toMatch(/[$%]\{/);
  });
});

describe('dropletFiles', () => {
  it('gives the env file mode 0640, owner root:app', () => {
    const env = dropletFiles(dropletInput('production'), EXAMPLE_CONNECTIONS).find((f) => f.path === '/etc/app/app.env');
    expect(env).toMatchObject({ owner: 'root:app', permissions: '0640', defer: true });
  });

  it('gives the admin env file mode 0600, owner root:root: the app (user app, group www-data) cannot read it', () => {
    const admin = dropletFiles(dropletInput('production'), EXAMPLE_CONNECTIONS).find((f) => f.path === '/etc/app/admin.env');
    expect(admin).toMatchObject({ owner: 'root:root', permissions: '0600', defer: true });
  });

  it('writes the plan numbers, not template numbers', () => {
    const { byName } = rendered('production');
    const { tuning } = dropletInput('production');
    expect(byName['nginx.conf']).toContain(`worker_processes ${tuning.nginx.workerProcesses};`);
    expect(byName['nginx.conf']).toContain(`worker_connections ${tuning.nginx.workerConnections};`);
    expect(byName['app.conf']).toContain(`listen 80 default_server reuseport backlog=${tuning.nginx.listenBacklog};`);
    expect(byName['gunicorn.conf.py']).toContain(`worker_connections = ${tuning.gunicorn.workerConnections}`);
    expect(byName['app.service']).toContain(`LimitNOFILE=${tuning.gunicorn.nofile}`);
    expect(byName['nofile.conf']).toContain(`LimitNOFILE=${tuning.nginx.nofile}`);
  });

  it('templates hold no number of the plan', () => {
    const numbers = new Set<string>();
    const collect = (value: unknown): void => {
      if (typeof value === 'number' && value >= 10) numbers.add(String(value));
      else if (value && typeof value === 'object') Object.values(value).forEach(collect);
    };
    for (const env of ['dev', 'staging', 'production']) collect(dropletInput(env).tuning);
    const templates = readdirSync(TEMPLATES_DIR, { recursive: true, encoding: 'utf8' })
      .filter((f) => !f.endsWith('.ts') && statSync(path.join(TEMPLATES_DIR, f)).isFile());
    for (const f of templates) {
      // Figures in prose (38,924 failed requests) are measurements, and versions (PostgreSQL 15) names, not settings.
      const text = readFileSync(path.join(TEMPLATES_DIR, f), 'utf8').replace(/\b\d{1,3}(,\d{3})+\b/g, '').replace(/PostgreSQL \d+/g, '');
      const literals = text.match(/\b\d+\b/g) ?? [];
      expect(literals.filter((n) => numbers.has(n)), f).toEqual([]);
    }
  });

  it('puts the git app into a virtualenv and runs its installer before the services start', () => {
    const input = dropletInput('production', GIT_APP);
    const paths = dropletFiles(input, EXAMPLE_CONNECTIONS).map((f) => f.path);
    expect(paths).toContain('/usr/local/sbin/app-install');
    expect(paths).not.toContain('/opt/app/demo/demo_app.py');
    const userData = renderUserData(input, EXAMPLE_CONNECTIONS);
    expect(userData.indexOf('- [/usr/local/sbin/app-install]')).toBeLessThan(userData.indexOf('- [systemctl, restart, app.service]'));
    const byPath = Object.fromEntries(dropletFiles(input, EXAMPLE_CONNECTIONS).map((f) => [f.path, f.content]));
    // Debian's Gunicorn module, run by the virtualenv's Python so the app's locked packages import.
    expect(byPath['/etc/systemd/system/app.service']).toContain('ExecStart=/opt/app/venv/bin/python3 -m gunicorn --config /etc/app/gunicorn.conf.py');
    expect(userData).toContain('DJANGO_SETTINGS_MODULE="shop.settings.production"');
  });

  it('fails when an extra variable redefines one the platform sets', () => {
    const app = { ...GIT_APP, env: { DATABASE_URL: 'postgresql://elsewhere' } };
    expect(() => dropletFiles(dropletInput('dev', app), EXAMPLE_CONNECTIONS)).toThrow('app.env: DATABASE_URL is set by the platform; pick another name');
  });
});

describe('user data size', () => {
  it('every environment fits DigitalOcean\'s 64 KiB with room to spare', () => {
    // A quarter of the limit stays free for what the files may still gain; the Terraform references' worst-case
    // lengths are reserved by the synth-time check itself (WebStack.checkUserDataSize).
    for (const { userData } of allRendered()) expect(Buffer.byteLength(userData)).toBeLessThan(USER_DATA_MAX_BYTES * 0.75);
  });

  it('fails when the user data exceeds 64 KiB, saying by how much and what to do', () => {
    expect(() => checkUserDataSize('x'.repeat(USER_DATA_MAX_BYTES + 1))).toThrow(
      'droplet user data is 65537 bytes; DigitalOcean accepts at most 65536 (64 KiB). Shrink the rendered files, or give large write_files contents encoding gz+b64 (constructs/cloud-config.ts).',
    );
  });

  it('counts bytes, not characters, and a reserve for Terraform references', () => {
    expect(() => checkUserDataSize('é'.repeat(USER_DATA_MAX_BYTES / 2))).not.toThrow();
    expect(() => checkUserDataSize('é'.repeat(USER_DATA_MAX_BYTES / 2 + 1))).toThrow('65538 bytes');
    expect(() => checkUserDataSize('x'.repeat(USER_DATA_MAX_BYTES - 10), 11)).toThrow('(+11 reserved)');
  });
});
