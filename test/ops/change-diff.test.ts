import { describe, expect, it } from 'vitest';
import { diffStacks, interpolations, referencesIn, type TerraformDocument } from '../../tools/change-diff.js';
import { cloudConfigChanges } from '../../tools/cloud-config-diff.js';
import { attentionItems, renderEnvironment, summaryLine } from '../../tools/change-markdown.js';

type Body = Record<string, unknown>;

/** A small stack: a VPC, a cloud-init document, a droplet using both, a database cluster and a project. */
function stack(change: (doc: { resource: Record<string, Record<string, Body>>; data: Record<string, Record<string, Body>> }) => void = () => {}): TerraformDocument {
  const doc = {
    resource: {
      digitalocean_vpc: { vpc: { name: 'v', region: 'nyc3', ip_range: '10.0.0.0/20' } },
      digitalocean_droplet: {
        web: {
          image: 'debian-12-x64', region: 'nyc3', size: 'c-8', name: 'web-1', ipv6: false,
          user_data: '${data.cloudinit_config.boot.rendered}',
          vpc_uuid: '${digitalocean_vpc.vpc.id}',
          lifecycle: { create_before_destroy: true },
        },
      },
      digitalocean_database_cluster: { db: { name: 'db', engine: 'pg', version: '17', size: 'db-s-1vcpu-1gb', node_count: 1, region: 'nyc3', private_network_uuid: '${digitalocean_vpc.vpc.id}' } },
      digitalocean_project: { project: { name: 'p', resources: ['${digitalocean_droplet.web.urn}', '${digitalocean_database_cluster.db.urn}'] } },
    } as Record<string, Record<string, Body>>,
    data: {
      cloudinit_config: { boot: { gzip: false, part: [{ content: '#cloud-config\nDATABASE_URL=${digitalocean_database_cluster.db.private_uri}\n' }] } },
    } as Record<string, Record<string, Body>>,
  };
  change(doc);
  return doc;
}

const actions = (base: TerraformDocument, head: TerraformDocument) =>
  Object.fromEntries(diffStacks(base, head).resources.map((r) => [r.address, r.action]));

describe('references', () => {
  it('reads ${...} and %{...} bodies and skips the escaped $${ and %%{', () => {
    expect(interpolations('a ${x.y.z} $${literal} %{ if a.b } %%{not} ${f(a.b, {c = 1})}')).toEqual(['x.y.z', ' if a.b ', 'f(a.b, {c = 1})']);
  });

  it('keeps only known addresses, with the attribute read', () => {
    const known = (a: string) => ['digitalocean_droplet.fleet_droplet-1_AA727104', 'data.cloudinit_config.fleet_user-data_8274C98F'].includes(a);
    expect(referencesIn({ a: ['${digitalocean_droplet.fleet_droplet-1_AA727104.id}'], b: '${data.cloudinit_config.fleet_user-data_8274C98F.rendered} ${var.x} ${join(",", local.y)}' }, known)).toEqual([
      { address: 'digitalocean_droplet.fleet_droplet-1_AA727104', attribute: 'id' },
      { address: 'data.cloudinit_config.fleet_user-data_8274C98F', attribute: 'rendered' },
    ]);
  });
});

describe('GIVEN two small stacks WHEN diffed', () => {
  it('THEN identical stacks have no changes', () => {
    expect(diffStacks(stack(), stack())).toEqual({ resources: [], data: [] });
    expect(summaryLine({ name: 'dev', diff: diffStacks(stack(), stack()) })).toBe('dev: no changes');
  });

  it('THEN a ForceNew argument (image) replaces the droplet, and the project that lists its URN is updated', () => {
    const head = stack((d) => { d.resource.digitalocean_droplet!.web!.image = 'ubuntu-24-04-x64'; });
    const diff = diffStacks(stack(), head);
    expect(actions(stack(), head)).toEqual({ 'digitalocean_droplet.web': 'replace', 'digitalocean_project.project': 'update' });
    expect(diff.resources[0]!.forcedBy).toEqual(['image']);
    expect(diff.resources[1]!.changes).toEqual([expect.objectContaining({ name: 'resources', how: 'unknown', via: [{ address: 'digitalocean_droplet.web.urn', reason: expect.stringMatching(/^replaced/) }] })]);
    expect(attentionItems(diff)).toEqual([expect.stringMatching(/^\*\*DROPLET REPLACED\*\* `digitalocean_droplet.web`: forced by `image`$/)]);
  });

  it('THEN a size change updates the droplet in place, loudly (hard power-off)', () => {
    const head = stack((d) => { d.resource.digitalocean_droplet!.web!.size = 'g-8vcpu-32gb'; });
    expect(actions(stack(), head)).toEqual({ 'digitalocean_droplet.web': 'update' });
    expect(attentionItems(diffStacks(stack(), head))).toEqual([expect.stringMatching(/^\*\*DROPLET SIZE CHANGES IN PLACE\*\* .*powers the droplet off hard/)]);
  });

  it('THEN ipv6 true -> false replaces but false -> true updates (the provider\'s ForceNewIfChange)', () => {
    const on = stack((d) => { d.resource.digitalocean_droplet!.web!.ipv6 = true; });
    expect(actions(stack(), on)).toEqual({ 'digitalocean_droplet.web': 'update' });
    expect(actions(on, stack())).toEqual({ 'digitalocean_droplet.web': 'replace', 'digitalocean_project.project': 'update' });
  });

  it('THEN a cloud-init content change replaces the droplet through user_data, though its text is the same', () => {
    const head = stack((d) => { (d.data.cloudinit_config!.boot!.part as Body[])[0]!.content = '#cloud-config\nRELEASE=2\n'; });
    const diff = diffStacks(stack(), head);
    const droplet = diff.resources.find((r) => r.address === 'digitalocean_droplet.web')!;
    expect(droplet.action).toBe('replace');
    expect(droplet.changes).toEqual([expect.objectContaining({ name: 'user_data', how: 'unknown', forcesReplacement: true, via: [{ address: 'data.cloudinit_config.boot.rendered', reason: 'read again with changed arguments (part #1 changed)' }] })]);
    expect(diff.data.map((d) => d.address)).toEqual(['data.cloudinit_config.boot']);
  });

  it('THEN a replaced VPC propagates: the database (ForceNew private_network_uuid) and the droplet (vpc_uuid) are replaced, the project updated', () => {
    const head = stack((d) => { d.resource.digitalocean_vpc!.vpc!.ip_range = '10.1.0.0/20'; });
    expect(actions(stack(), head)).toEqual({
      'digitalocean_database_cluster.db': 'replace',
      'digitalocean_droplet.web': 'replace',
      'digitalocean_project.project': 'update',
      'digitalocean_vpc.vpc': 'replace',
    });
    // Transitively: the replaced cluster changes private_uri, so the cloud-init document is read again too.
    expect(diffStacks(stack(), head).data.map((d) => d.address)).toEqual(['data.cloudinit_config.boot']);
    const items = attentionItems(diffStacks(stack(), head));
    expect(items).toContainEqual(expect.stringMatching(/^\*\*VPC REPLACED\*\* `digitalocean_vpc.vpc`: forced by `ip_range` \(a new private network/));
    expect(items[0]).toMatch(/^\*\*STATEFUL DATABASE CLUSTER \(PG\) REPLACED\*\* `digitalocean_database_cluster.db`: forced by `private_network_uuid` \(unknown until apply: `digitalocean_vpc.vpc.id` is replaced.*\(every database on it is deleted/);
  });

  it('THEN an in-place update of a referenced resource changes only what reads a changed argument', () => {
    // node_count is updated in place; private_uri (computed) stays, so cloud-init and the droplet stay.
    const head = stack((d) => { d.resource.digitalocean_database_cluster!.db!.node_count = 2; });
    expect(actions(stack(), head)).toEqual({ 'digitalocean_database_cluster.db': 'update' });
    expect(attentionItems(diffStacks(stack(), head))).toEqual([expect.stringMatching(/^\*\*STATEFUL DATABASE CLUSTER \(PG\) UPDATED IN PLACE\*\* .*`node_count`/)]);
  });

  it('THEN a data source that depends_on a changing resource is read at apply, so what reads it is unknown', () => {
    // Terraform defers the read: the droplet's user_data becomes unknown and replaces it.
    const withDependency = (nodes: number) => stack((d) => {
      d.data.cloudinit_config!.boot!.depends_on = ['digitalocean_database_cluster.db'];
      d.resource.digitalocean_database_cluster!.db!.node_count = nodes;
    });
    const diff = diffStacks(withDependency(1), withDependency(2));
    expect(actions(withDependency(1), withDependency(2))).toEqual({ 'digitalocean_database_cluster.db': 'update', 'digitalocean_droplet.web': 'replace', 'digitalocean_project.project': 'update' });
    expect(diff.data[0]!.changes).toEqual([expect.objectContaining({ name: 'depends_on', how: 'unknown', via: [{ address: 'digitalocean_database_cluster.db', reason: 'has changes (update), so the read waits until apply' }] })]);
    // Without the dependency the same node_count change leaves the droplet alone (see above).
  });

  it('THEN lifecycle, provisioner, depends_on and timeouts changes are updates, never replacements', () => {
    const head = stack((d) => {
      Object.assign(d.resource.digitalocean_droplet!.web!, {
        lifecycle: { create_before_destroy: true, ignore_changes: ['tags'] },
        provisioner: [{ 'local-exec': { command: 'node gate.mjs' } }],
        depends_on: ['digitalocean_vpc.vpc'],
        timeouts: { delete: '5m' },
      });
    });
    const [droplet] = diffStacks(stack(), head).resources;
    expect(droplet).toMatchObject({ action: 'update', forcedBy: [] });
    expect(droplet!.changes.map((c) => [c.name, c.meta])).toEqual([['depends_on', true], ['lifecycle', true], ['provisioner', true], ['timeouts', true]]);
    expect(attentionItems(diffStacks(stack(), head))).toEqual([]);
  });

  it('THEN a type not in the table is "changed (replacement unknown)" and flagged', () => {
    const base = stack((d) => { d.resource.digitalocean_kubernetes_cluster = { k: { name: 'k', version: '1.30' } }; });
    const head = stack((d) => { d.resource.digitalocean_kubernetes_cluster = { k: { name: 'k', version: '1.31' } }; });
    const diff = diffStacks(base, head);
    expect(actions(base, head)).toEqual({ 'digitalocean_kubernetes_cluster.k': 'unknown' });
    expect(summaryLine({ name: 'dev', diff })).toBe('dev: nothing replaced; 1 kubernetes cluster changed (replacement unknown: not in the table)');
    expect(attentionItems(diff)).toEqual([expect.stringMatching(/^\*\*CHANGED, REPLACEMENT UNKNOWN\*\* `digitalocean_kubernetes_cluster.k`: changes `version` \(`digitalocean_kubernetes_cluster` is not in the replacement table/)]);
  });

  it('THEN created and destroyed resources are listed, and a moved block renames instead', () => {
    const head = stack((d) => {
      d.resource.digitalocean_droplet!.web2 = { ...d.resource.digitalocean_droplet!.web!, name: 'web-2' };
      d.resource.digitalocean_tag = { renamed: { name: 't' } };
      (d as TerraformDocument).moved = [{ from: 'digitalocean_tag.old', to: 'digitalocean_tag.renamed' }];
    });
    const base = stack((d) => { d.resource.digitalocean_tag = { old: { name: 't' }, gone: { name: 'g' } }; });
    const diff = diffStacks(base, head);
    expect(actions(base, head)).toEqual({ 'digitalocean_droplet.web2': 'create', 'digitalocean_tag.gone': 'destroy' });
    expect(summaryLine({ name: 'production', diff })).toBe('production: 1 droplet created; nothing replaced; 1 tag destroyed');
  });

  it('THEN replace_triggered_by replaces a resource when the referenced one changes', () => {
    const withTrigger = (d: { resource: Record<string, Record<string, Body>> }) => {
      d.resource.terraform_data = { release: { input: 'v1' }, migrate: { input: 'x', lifecycle: { replace_triggered_by: ['terraform_data.release'] } } };
    };
    const head = stack((d) => { withTrigger(d); d.resource.terraform_data!.release!.input = 'v2'; });
    const diff = diffStacks(stack(withTrigger), head);
    expect(actions(stack(withTrigger), head)).toEqual({ 'terraform_data.migrate': 'replace', 'terraform_data.release': 'update' });
    expect(diff.resources[0]!.forcedBy).toEqual(['lifecycle.replace_triggered_by (terraform_data.release changes)']);
  });

  it('THEN a whole new environment is all creates, a removed one all destroys (stateful ones flagged)', () => {
    expect(new Set(Object.values(actions(undefined as never, stack())))).toEqual(new Set(['create']));
    const removed = diffStacks(stack(), undefined);
    expect(new Set(removed.resources.map((r) => r.action))).toEqual(new Set(['destroy']));
    expect(attentionItems(removed)).toEqual([expect.stringMatching(/^\*\*STATEFUL DATABASE CLUSTER \(PG\) DESTROYED\*\* .*every database on it is deleted/)]);
  });
});

describe('what a reviewer learns about a cloud-init document', () => {
  const doc = (files: Record<string, string>, extra = '') => ({
    part: [{ filename: 'cloud-config.yaml', content: `#cloud-config\n${extra}packages: [nginx]\nwrite_files:\n${Object.entries(files).map(([p, c]) => `  - path: ${p}\n    content: "${c}"\n`).join('')}` }],
  });

  it('names the files written that changed, were added or removed, and other keys', () => {
    const before = doc({ '/etc/app/app.env': 'A=1', '/etc/nginx/nginx.conf': 'x', '/etc/old': 'o' });
    const after = { part: [{ filename: 'cloud-config.yaml', content: doc({ '/etc/app/app.env': 'A=2', '/etc/nginx/nginx.conf': 'x', '/etc/new': 'n' }).part[0]!.content.replace('[nginx]', '[nginx, git]') }] };
    expect(cloudConfigChanges(before, after)).toEqual(['file /etc/app/app.env changed', 'file /etc/new added', 'file /etc/old removed', 'key packages changed']);
  });

  it('says so when only comments differ (a value written as a comment still changes the user data)', () => {
    expect(cloudConfigChanges(doc({ '/a': '1' }, '# size c-8\n'), doc({ '/a': '1' }, '# size g-8vcpu-32gb\n'))).toEqual(['part cloud-config.yaml: comments or layout only']);
  });

  it('reads Terraform-escaped $${ as the literal ${ it becomes', () => {
    expect(cloudConfigChanges(doc({ '/a': '$${HOME}' }), doc({ '/a': '$${HOME}' }))).toEqual([]);
    expect(cloudConfigChanges(doc({ '/a': '$${HOME}' }), doc({ '/a': '$${USER}' }))).toEqual(['file /a changed']);
  });
});

describe('the attention list', () => {
  it('puts resources flagged for the same reason on one line, naming each', () => {
    const three = (image: string) => stack((d) => {
      for (const n of ['web', 'web2', 'web3']) d.resource.digitalocean_droplet![n] = { ...d.resource.digitalocean_droplet!.web!, image, name: n };
    });
    const diff = diffStacks(three('debian-12-x64'), three('ubuntu-24-04-x64'));
    expect(attentionItems(diff)).toEqual([
      '**3 DROPLETS REPLACED** `digitalocean_droplet.web`, `digitalocean_droplet.web2` and `digitalocean_droplet.web3`: forced by `image`',
    ]);
    // The section lists them on one line too, each address named.
    expect(renderEnvironment({ name: 'dev', diff })).toContain('### Replaced (3)\n\n- `digitalocean_droplet.web`, `digitalocean_droplet.web2` and `digitalocean_droplet.web3` (3 droplets): forced by `image`\n');
  });
});

describe('an autoscale pool', () => {
  const pool = (content: string, max: number): TerraformDocument => ({
    resource: { digitalocean_droplet_autoscale: { pool: { name: 'p', config: [{ min_instances: 2, max_instances: max }], droplet_template: [{ size: 'c-8', region: 'nyc3', image: 'debian-12-x64', ssh_keys: ['k'], user_data: '${data.cloudinit_config.boot.rendered}' }] } } },
    data: { cloudinit_config: { boot: { part: [{ filename: 'c.yaml', content }] } } },
  });

  it('updates in place when its bounds change, with nothing to flag', () => {
    const diff = diffStacks(pool('#cloud-config\na: 1\n', 6), pool('#cloud-config\na: 1\n', 8));
    expect(diff.resources).toEqual([expect.objectContaining({ action: 'update', changes: [expect.objectContaining({ name: 'config' })] })]);
    expect(attentionItems(diff)).toEqual([]);
  });

  it('is flagged when its template changes through the user data: the pool rolls every member, time-gated', () => {
    const diff = diffStacks(pool('#cloud-config\na: 1\n', 6), pool('#cloud-config\na: 2\n', 6));
    expect(diff.resources).toEqual([expect.objectContaining({ action: 'update', changes: [expect.objectContaining({ name: 'droplet_template', how: 'unknown' })] })]);
    expect(attentionItems(diff)).toEqual([expect.stringMatching(/^\*\*DROPLET AUTOSCALE POOL DROPLET_TEMPLATE CHANGES IN PLACE\*\* `digitalocean_droplet_autoscale.pool`: the pool rolls every member/)]);
  });
});
