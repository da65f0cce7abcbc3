/**
 * The change report on production's real day-2 changes (issue 10's table): the shipped config is the
 * deployed base, a changed copy of it the head, both synthesized through the real loader and stack.
 */
import { describe, expect, it } from 'vitest';
import { diffStacks, type ResourceChange, type StackDiff, type TerraformDocument } from '../../tools/change-diff.js';
import { attentionItems, summaryLine } from '../../tools/change-markdown.js';
import { REPLACEMENT_RULES } from '../../tools/force-new.js';
import { synthEnvironment, synthShipped, variant } from '../support/synth.js';

const production = synthShipped('production');
const dropletCount = Object.keys(production.resource.digitalocean_droplet ?? {}).length;

function report(changes: Record<string, unknown>, base: TerraformDocument = production) {
  const diff = diffStacks(base, synthEnvironment(variant('production', changes)));
  return { diff, summary: summaryLine({ name: 'production', diff }), attention: attentionItems(diff) };
}
const ofType = (diff: StackDiff, type: string, action?: string): ResourceChange[] =>
  diff.resources.filter((r) => r.type === type && (action === undefined || r.action === action));
const actionsOf = (diff: StackDiff, type: string) => [...new Set(ofType(diff, type).map((r) => r.action))];

describe('the replacement table', () => {
  it('covers every resource type the stacks synthesize (a new type needs its ForceNew flags read first)', () => {
    const stacks = [
      ...['dev', 'staging', 'production'].map((name) => synthShipped(name)),
      synthEnvironment(variant('production', { 'fleet.autoscale': { minInstances: dropletCount, maxInstances: dropletCount + 2 }, 'fleet.maxDroplets': 10 })),
      synthEnvironment(variant('production', { app: { source: 'git', gitUrl: 'https://example.com/acme/shop.git', gitRef: 'a'.repeat(40), wsgiModule: 'shop.wsgi:application' } })),
    ];
    const types = new Set(stacks.flatMap((json) => Object.keys(json.resource ?? {})));
    expect([...types].filter((type) => !(type in REPLACEMENT_RULES))).toEqual([]);
    expect(types.has('digitalocean_droplet_autoscale')).toBe(true);
  });
});

describe('GIVEN production as deployed', () => {
  it('THEN the shipped config against itself has no changes', () => {
    expect(diffStacks(production, synthShipped('production')).resources).toEqual([]);
    expect(dropletCount).toBeGreaterThanOrEqual(2);
  });
});

describe('WHEN the fleet is scaled THEN the report shows droplet creates only: no existing droplet is replaced or updated', () => {
  it('raise capacity.targetConcurrentRequests by 20 %', () => {
    const { diff, summary, attention } = report({ 'capacity.targetConcurrentRequests': 60_000 });
    expect(actionsOf(diff, 'digitalocean_droplet')).toEqual(['create']);
    expect(ofType(diff, 'digitalocean_droplet', 'create').length).toBeGreaterThanOrEqual(1);
    expect(summary).toMatch(/^production: \d+ droplets? created; nothing replaced; /);
    expect(diff.resources.filter((r) => r.action !== 'create').map((r) => r.type).sort()).toEqual(['digitalocean_loadbalancer', 'digitalocean_project']);
    expect(ofType(diff, 'digitalocean_loadbalancer')[0]!.changes.map((c) => c.name)).toEqual(['size_unit']);
    expect(attention).toEqual([]);
  });

  it('pin fleet.count and add one droplet', () => {
    const { diff, summary, attention } = report({ 'fleet.count': dropletCount + 1 });
    expect(summary).toBe('production: 1 droplet created; nothing replaced; 1 project updated in place');
    expect(ofType(diff, 'digitalocean_droplet')).toEqual([expect.objectContaining({ action: 'create', address: expect.stringMatching(new RegExp(`^digitalocean_droplet\\.fleet_droplet-${dropletCount + 1}_`)) })]);
    // The project lists the new droplet's URN: an in-place update, not a replacement.
    expect(ofType(diff, 'digitalocean_project')[0]!.changes.map((c) => c.name)).toEqual(['resources']);
    expect(attention).toEqual([]);
  });

  it('raise an autoscale pool\'s bounds: the pool\'s config updates in place; its droplet template is unchanged, so no member is rolled', () => {
    const pool = (min: number, max: number) => ({ 'fleet.autoscale': { minInstances: min, maxInstances: max }, 'fleet.maxDroplets': 10 });
    // The minimum must hold the target (the plan refuses less), so the bounds move up from the plan's count.
    const { diff, summary, attention } = report(pool(dropletCount + 1, dropletCount + 4), synthEnvironment(variant('production', pool(dropletCount, dropletCount + 2))));
    expect(summary).toBe('production: nothing replaced; 1 droplet autoscale pool updated in place');
    expect(ofType(diff, 'digitalocean_droplet_autoscale')[0]!.changes.map((c) => c.name)).toEqual(['config']);
    expect(attention).toEqual([]);
  });

  it('scale in by one (from a pinned count one higher): one droplet destroyed, none replaced', () => {
    const base = synthEnvironment(variant('production', { 'fleet.count': dropletCount + 1 }));
    const { diff, summary } = report({ 'fleet.count': dropletCount }, base);
    expect(summary).toBe('production: nothing replaced; 1 project updated in place; 1 droplet destroyed');
    expect(actionsOf(diff, 'digitalocean_droplet')).toEqual(['destroy']);
  });
});

describe('WHEN the droplets themselves change THEN every droplet is replaced, flagged first', () => {
  const expectFleetReplaced = (diff: StackDiff, attention: string[]) => {
    const droplets = ofType(diff, 'digitalocean_droplet');
    expect(droplets).toHaveLength(dropletCount);
    for (const d of droplets) {
      expect(d.action).toBe('replace');
      // user_data is the same `${data.cloudinit_config...rendered}` text: the change comes through the reference.
      expect(d.forcedBy).toEqual(['user_data']);
      expect(d.changes.find((c) => c.name === 'user_data')).toMatchObject({ how: 'unknown', via: [{ address: expect.stringMatching(/^data\.cloudinit_config\..*\.rendered$/), reason: expect.stringMatching(/^read again with changed arguments/) }] });
    }
    // One loud line names them all, with the cause once.
    expect(attention.filter((a) => a.includes('DROPLET'))).toEqual([
      expect.stringMatching(new RegExp(`^\\*\\*${dropletCount} DROPLETS REPLACED\\*\\* (\`digitalocean_droplet\\.fleet_droplet-\\d+_\\w+\`(, | and )?){${dropletCount}}: forced by \`user_data\` \\(unknown until apply: \`data\\.cloudinit_config\\.`)),
    ]);
  };

  it('add one read replica: the replica is created (stateful, flagged) and the fleet rolls (its env file lists the replicas)', () => {
    const replicas = (production.resource.digitalocean_database_replica ? Object.keys(production.resource.digitalocean_database_replica).length : 0);
    const { diff, summary, attention } = report({ 'postgres.readReplicas': Array.from({ length: replicas + 1 }, () => ({ sizeSlug: 'db-s-4vcpu-8gb' })) });
    expect(summary).toBe(`production: 1 read replica created; ${dropletCount} droplets replaced; 1 project updated in place`);
    expect(attention[0]).toMatch(new RegExp(`^\\*\\*STATEFUL READ REPLICA CREATED\\*\\* \`digitalocean_database_replica\\.postgres_replica-${replicas + 1}_`));
    expectFleetReplaced(diff, attention);
    expect(ofType(diff, 'digitalocean_database_cluster')).toEqual([]);
  });

  it('new app release (an app.env marker of the demo app)', () => {
    const { diff, summary, attention } = report({ 'app.env': { RELEASE_MARKER: '2026-12-01' } });
    expect(summary).toBe(`production: ${dropletCount} droplets replaced; 1 project updated in place`);
    expectFleetReplaced(diff, attention);
    // The reviewer learns why: the one file of the user data that changed.
    expect(diff.data).toEqual([expect.objectContaining({ type: 'cloudinit_config', detail: ['file /etc/app/app.env changed'] })]);
  });

  it('new app release (a git app\'s gitRef moves to another commit)', () => {
    const app = (ref: string) => ({ app: { source: 'git', gitUrl: 'https://example.com/acme/shop.git', gitRef: ref, wsgiModule: 'shop.wsgi:application' } });
    const base = synthEnvironment(variant('production', app('a'.repeat(40))));
    const { diff, summary, attention } = report(app('b'.repeat(40)), base);
    expect(summary).toBe(`production: ${dropletCount} droplets replaced; 1 project updated in place`);
    expectFleetReplaced(diff, attention);
  });

  it('fleet.sizeSlug c-8 -> g-8vcpu-32gb replaces (the size is in the user data), never resizes a serving droplet in place', () => {
    const { diff, summary, attention } = report({ 'fleet.sizeSlug': 'g-8vcpu-32gb' });
    expect(summary).toBe(`production: ${dropletCount} droplets replaced; 1 project updated in place`);
    expectFleetReplaced(diff, attention);
    expect(ofType(diff, 'digitalocean_droplet', 'update')).toEqual([]);
    expect(attention.some((a) => a.includes('CHANGES IN PLACE'))).toBe(false);
    // The new droplets are created at the new size (in-place resize would power each off hard).
    expect(ofType(diff, 'digitalocean_droplet')[0]!.changes.map((c) => c.name)).toContain('size');
  });
});

describe('WHEN only settings around the fleet change THEN they update in place', () => {
  it('add an alert e-mail: alerts updated, nothing replaced, nothing to flag', () => {
    const emails = shippedEmails();
    const { diff, summary, attention } = report({ 'alerts.emails': [...emails, 'oncall@example.org'] });
    expect(summary).toMatch(/^production: nothing replaced; \d+ monitor alerts and \d+ uptime alerts updated in place$/);
    expect(new Set(diff.resources.map((r) => r.action))).toEqual(new Set(['update']));
    expect(attention).toEqual([]);
  });

  it('change the LB health interval: the LB updates in place; the droplets roll, because their drain waits on that interval', () => {
    const { diff, attention } = report({ 'loadBalancer.healthCheck.checkIntervalSeconds': 15 });
    expect(ofType(diff, 'digitalocean_loadbalancer')).toEqual([expect.objectContaining({ action: 'update', changes: [expect.objectContaining({ name: 'healthcheck', how: 'text' })] })]);
    expect(actionsOf(diff, 'digitalocean_droplet')).toEqual(['replace']);
    expect(diff.data[0]!.detail).toEqual(expect.arrayContaining([expect.stringMatching(/^file \S*drain\S* changed$/)]));
    expect(attention).toEqual([expect.stringMatching(new RegExp(`^\\*\\*${dropletCount} DROPLETS REPLACED\\*\\* `))]);
  });
});

/** The alert recipients production ships with (kept so the test adds exactly one). */
function shippedEmails(): string[] {
  const alert = Object.values(production.resource.digitalocean_monitor_alert ?? {})[0] as { alerts?: { email?: string[] }[] } | undefined;
  return alert?.alerts?.[0]?.email ?? [];
}
