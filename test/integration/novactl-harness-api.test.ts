// What tools and harnesses need from the admin API, against three controllers on loopback: a write's
// result carries its HLC and version vector, a quorum write names the controllers that acknowledged
// it; `federation status` reports this controller's Merkle root and record count, and compares each
// member's root with ours (equal once converged, different while a member is cut off); federation.watch
// and `novactl federation events` report fence, quorum and phase transitions.
import t from 'tap';
import { join } from 'node:path';
import { callAdmin } from '../../node/admin/admin-client.ts';
import { startAdminServer } from '../../node/admin/admin-server.ts';
import type { ApplyResult, FederationEvent, StatusResult, WriteOutcome } from '../../node/admin/controller-api.ts';
import { watchAdmin } from '../../node/admin/admin-watch.ts';
import { controllerMethods } from '../../node/admin/controller-methods.ts';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION } from '../../node/config/replication-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { makeFederation } from '../helpers/cert-fixtures.ts';
import { memberConfig, planMembers } from '../helpers/cluster.ts';
import { novactl } from '../helpers/novactl-run.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

t.setTimeout(240_000);

const NAMES = ['a', 'b', 'c'];
const WAIT = { timeoutMs: 30_000 };

const fed = await makeFederation('harness-fed');
const plan = await planMembers(fed, NAMES.map((name) => ({ name, role: 'controller' as const })));
const dir = await tempDir(t, 'hrns-');
const nodes = new Map<string, ControllerNode>();
t.teardown(async () => { for (const n of nodes.values()) await n.stop(); });
for (const name of NAMES) {
  const m = plan.find((p) => p.name === name)!;
  nodes.set(name, await ControllerNode.start({
    membership: memberConfig(fed, m, plan.filter((p) => p !== m).map((p) => p.addr), { region: `region-${name}` }),
    replication: { dataDir: join(dir, name), controllers: NAMES, strategy: 'LastWriterWins' },
  }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION }));
}
const node = (name: string): ControllerNode => nodes.get(name)!;
const socket = join(dir, 'a.sock');
const admin = await startAdminServer({ timers: REAL_TIMERS, socketPath: socket, methods: controllerMethods(node('a')) });
t.teardown(() => admin.close());
await waitFor('controllers connected', () => [...nodes.values()].every((n) =>
  n.fence.reachable().length === NAMES.length && n.replicator.status().every((s) => s.connected)), WAIT);
await node('a').ready();

const route = (name: string, spec: object): object => ({ apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name, namespace: 'default' }, spec });

t.test('apply results carry the HLC and version vector; a quorum write names who acknowledged it', async (t) => {
  const local = await callAdmin<ApplyResult>(socket, 'resources.apply', { resources: [route('r1', { v: 1 })] });
  const r1 = local.results[0]!;
  const held = await node('a').get('ProxyRoute/default/r1');
  t.same(r1.hlc, held!.hlc, 'the write\'s HLC stamp');
  t.same(r1.vv, held!.vv, 'the write\'s version vector');
  t.equal(r1.hlc!.member, 'a');
  t.equal(r1.acknowledgedBy, undefined, 'a local write names no acknowledgements');

  const q = await callAdmin<ApplyResult>(socket, 'resources.apply', { resources: [route('r2', { v: 1 })], durability: 'quorum' });
  const acks = q.results[0]!.acknowledgedBy!;
  t.ok(Array.isArray(acks), 'a quorum write names the controllers holding it');
  t.equal(acks[0], 'a', 'the writer first');
  t.ok(acks.length >= 2 && new Set(acks).size === acks.length && acks.every((m) => NAMES.includes(m)), `a majority of distinct controllers: ${acks.join(', ')}`);

  // With c cut off, the majority can only be a and b.
  await node('a').cutLink('c');
  await node('c').cutLink('a');
  t.teardown(() => { node('a').restoreLink('c'); node('c').restoreLink('a'); });
  await waitFor('c unreachable from a', () => !node('a').fence.reachable().includes('c'), WAIT);
  const del = await callAdmin<WriteOutcome>(socket, 'resources.delete', { key: 'ProxyRoute/default/r1', durability: 'quorum' });
  t.same(del.acknowledgedBy, ['a', 'b'], 'the acknowledging controllers, c excluded');
  t.same(del.vv, (await node('a').store.getRecord('ProxyRoute/default/r1'))!.vv, 'the tombstone\'s version vector');

  const cli = await novactl(['apply', '-f', '-', '--durability', 'quorum', '-o', 'json'], { socket, input: JSON.stringify(route('r3', { v: 3 })) });
  t.equal(cli.code, 0, cli.stderr);
  t.same((JSON.parse(cli.stdout) as ApplyResult).results[0]!.acknowledgedBy, ['a', 'b'], 'novactl apply -o json shows them');
  node('a').restoreLink('c');
  node('c').restoreLink('a');
});

t.test('federation status reports our Merkle root and record count, and compares members\' roots', async (t) => {
  await waitFor('c back', () => NAMES.every((n) => node(n).fence.reachable().length === NAMES.length), WAIT);
  const st = await callAdmin<StatusResult>(socket, 'federation.status');
  t.equal(st.node.merkleRoot, node('a').store.merkle.root(), 'this controller\'s root');
  t.equal(st.node.storeSize, node('a').store.size, 'and its record count');

  const converged = await waitFor('every member reports our root', async () => {
    const s = await callAdmin<StatusResult>(socket, 'federation.status');
    return s.members.every((m) => m.sameRoot === true) ? s : false;
  }, WAIT);
  t.ok(converged.members.every((m) => m.merkleRoot === converged.node.merkleRoot && typeof m.rootAgoMs === 'number'));
  const table = await novactl(['federation', 'status', '--compare'], { socket });
  t.equal(table.code, 0, table.stderr);
  t.match(table.stdout, /MERKLE ROOT\s+ROOT AGE\s+SAME ROOT/);
  t.match(table.stdout, new RegExp(`Merkle Root: ${converged.node.merkleRoot} \\(\\d+ records\\)`));

  // c cut off misses a write: its root (from its last heartbeat) differs from ours.
  await node('a').cutLink('c');
  await node('c').cutLink('a');
  await node('b').cutLink('c');
  await node('c').cutLink('b');
  t.teardown(() => { for (const [x, y] of [['a', 'c'], ['c', 'a'], ['b', 'c'], ['c', 'b']] as const) node(x).restoreLink(y); });
  await callAdmin(socket, 'resources.apply', { resources: [route('while-c-away', { v: 1 })] });
  const split = await waitFor('c differs, b agrees', async () => {
    const s = await callAdmin<StatusResult>(socket, 'federation.status');
    const by = new Map(s.members.map((m) => [m.name, m]));
    return by.get('c')?.sameRoot === false && by.get('b')?.sameRoot === true ? s : false;
  }, WAIT);
  t.not(split.members.find((m) => m.name === 'c')!.merkleRoot, split.node.merkleRoot, 'c\'s root is not ours');
  const cmp = await novactl(['federation', 'status', '--compare'], { socket });
  t.match(cmp.stdout, /\n\s+c\s.*\bNo\s*(\n|$)/, 'the table says No for c');
});

t.test('federation.watch: the state now, then fence, quorum and phase transitions as they happen', async (t) => {
  await waitFor('all reachable', () => NAMES.every((n) => node(n).fence.reachable().length === NAMES.length), WAIT);
  const events: FederationEvent[] = [];
  const stop = new AbortController();
  const run = watchAdmin(socket, 'federation.watch', {}, { signal: stop.signal, onNotification: (m, p) => { if (m === 'federation.event') events.push(p as FederationEvent); } });
  await waitFor('the state', () => events.length >= 1, WAIT);
  t.match(events[0], { type: 'state', seq: 1, writesFenced: false, haveQuorum: true });
  // a cut off from both others: quorum lost, writes fenced, the phase moves on.
  for (const other of ['b', 'c']) { await node('a').cutLink(other); await node(other).cutLink('a'); }
  t.teardown(() => { for (const other of ['b', 'c']) { node('a').restoreLink(other); node(other).restoreLink('a'); } });
  await waitFor('fence, quorum and phase events', () => ['fence', 'quorum', 'phase'].every((type) => events.some((e) => e.type === type)), WAIT);
  t.match(events.find((e) => e.type === 'fence'), { fenced: true, reason: 'NO_QUORUM' });
  t.match(events.find((e) => e.type === 'quorum'), { haveQuorum: false });
  t.ok(events.every((e, i) => e.seq === i + 1), 'numbered in order');
  stop.abort();
  await run;

  const once = await novactl(['federation', 'events'], { socket });
  t.equal(once.code, 0, once.stderr);
  t.match(once.stdout, /state\s+phase \w+, writes fenced \(NO_QUORUM\), quorum lost/, 'without -w: the state now');
});
