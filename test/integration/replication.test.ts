// Replication over real libp2p on loopback: 3 controllers with certificates, push with relay, a
// non-transitive partition made with the connection-layer fault hook, anti-entropy catch-up after a
// restart, concurrent edits under each strategy, and bad input on the replication protocols.
import t from 'tap';
import { join } from 'node:path';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION, type ReplicationConfig } from '../../node/config/replication-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import type { SplitBrainConfig } from '../../node/controller/write-fence.ts';
import { replicationProtocol } from '../../node/replication/protocol-ids.ts';
import { encodeMessage } from '../../node/wire/codec.ts';
import { lpStream } from 'it-length-prefixed-stream';
import { makeFederation, makeMember, type TestFederation } from '../helpers/cert-fixtures.ts';
import { memberConfig, planMembers, type PlannedMember } from '../helpers/cluster.ts';
import { startMembershipNode } from '../../node/membership/membership-node.ts';
import { waitFor } from '../helpers/wait-for.ts';

const NAMES = ['a', 'b', 'c'];
const res = (i: number, spec: object = {}) => ({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: `r${i}` }, spec: { pad: 'x'.repeat(200), ...spec } });

interface Cluster {
  fed: TestFederation;
  plan: PlannedMember[];
  nodes: Map<string, ControllerNode>;
  start(name: string, repl?: Partial<ReplicationConfig>): Promise<ControllerNode>;
}

async function cluster(t: import('tap').Test, repl: Partial<ReplicationConfig> = {}, splitBrain: SplitBrainConfig = {}): Promise<Cluster> {
  const fed = await makeFederation('repl-fed');
  const plan = await planMembers(fed, NAMES.map((name) => ({ name, role: 'controller' as const })));
  const dir = t.testdir();
  const nodes = new Map<string, ControllerNode>();
  const c: Cluster = {
    fed, plan, nodes,
    async start(name, over = {}) {
      const m = plan.find((p) => p.name === name)!;
      const node = await ControllerNode.start({
        membership: memberConfig(fed, m, plan.filter((p) => p !== m).map((p) => p.addr)),
        replication: { dataDir: join(dir, name), controllers: NAMES, ...repl, ...over },
        splitBrain,
      }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION });
      nodes.set(name, node);
      return node;
    },
  };
  t.teardown(async () => { for (const n of nodes.values()) await n.stop(); });
  for (const n of NAMES) await c.start(n);
  const pushing = repl.sync?.pushEnabled !== false;
  await waitFor('controllers connected', () => [...nodes.values()].every((n) =>
    n.membership.authenticatedPeers().filter((p) => p.role === 'controller').length === NAMES.length - 1 &&
    n.fence.reachable().length === NAMES.length &&
    (!pushing || n.replicator.status().every((s) => s.connected))), { timeoutMs: 10_000 });
  return c;
}

const rootsEqual = (c: Cluster) => new Set([...c.nodes.values()].map((n) => n.store.merkle.root())).size === 1;

t.test('writes on each controller converge to equal stores', async (t) => {
  const c = await cluster(t);
  await Promise.all(NAMES.flatMap((n, k) => Array.from({ length: 50 }, (_, i) => c.nodes.get(n)!.apply(res(k * 100 + i, { by: n })))));
  await waitFor('convergence', () => rootsEqual(c) && c.nodes.get('a')!.store.size === 150, { timeoutMs: 10_000 });
  // A peer is Unknown until its first heartbeat is heard, which under load may come after the data.
  await waitFor('heartbeats heard', () => c.nodes.get('a')!.status().members.every((m) => m.status !== 'Unknown'), { timeoutMs: 10_000 });
  const st = c.nodes.get('a')!.status();
  t.same(st.members.map((m) => [m.name, m.status]), [['a', 'Local'], ['b', 'Healthy'], ['c', 'Healthy']]);
  t.ok(st.members.slice(1).every((m) => (m.lastSyncMs ?? 0) > 0), 'last sync known for each peer');
});

t.test('non-transitive partition: A–C cut, A\'s writes reach C through B within 1 s', async (t) => {
  const c = await cluster(t);
  const a = c.nodes.get('a')!;
  const cc = c.nodes.get('c')!;
  await a.cutLink('c');
  await cc.cutLink('a');
  await waitFor('a–c link down', () => !a.replicator.status().find((s) => s.member === 'c')!.connected, { timeoutMs: 5_000 });
  const w = await a.apply(res(1, { via: 'b' }));
  const t0 = performance.now();
  await waitFor('relay through b', async () => (await cc.get(w.view.key)) !== undefined, { timeoutMs: 1_000 });
  t.comment(`reached c through b in ${(performance.now() - t0).toFixed(1)} ms`);
  t.equal(a.membership.authenticatedPeers().some((p) => p.member === 'c'), false, 'a and c are not connected');
  a.restoreLink('c');
  cc.restoreLink('a');
  await waitFor('link back', () => a.replicator.status().find((s) => s.member === 'c')!.connected, { timeoutMs: 10_000 });
});

t.test('a controller down during 1,000 writes catches up by anti-entropy alone, moving far less than a full copy', async (t) => {
  // Not a fencing test: 3,000 writes in bursts can stall a loaded machine's event loop past the fast
  // profile's 700 ms contact window, and a stalled controller fences until a ping answers again.
  const c = await cluster(t, { sync: { pushEnabled: false } }, { fenceWrites: false });
  const a = c.nodes.get('a')!;
  for (let i = 0; i < 3000; i += 500) await Promise.all(Array.from({ length: 500 }, (_, k) => a.apply(res(i + k))));
  // Under load the link may be re-established right now (liveness closes a connection a stalled event
  // loop left unproven): sync once connected.
  await waitFor('c synced with a', () => c.nodes.get('c')!.sync('a').then(() => true, () => false), { timeoutMs: 15_000 });
  t.equal(c.nodes.get('c')!.store.size, 3000);
  await c.nodes.get('c')!.stop();
  c.nodes.delete('c');
  await Promise.all(Array.from({ length: 1000 }, (_, i) => a.apply(res(i * 3, { updated: true }))));
  const cc = await c.start('c', { sync: { pushEnabled: false } });
  await waitFor('c catches up', () => cc.store.merkle.root() === a.store.merkle.root(), { timeoutMs: 15_000 });
  const runs = cc.replicator.status().map((s) => s.lastAntiEntropy).filter((r) => r !== undefined && !r.inSync);
  const moved = runs.reduce((n, r) => n + r!.bytesSent + r!.bytesReceived, 0);
  const { fullCopyBytes } = await import('../../node/replication/anti-entropy-client.ts');
  const full = await fullCopyBytes(a.store);
  t.ok(moved < full / 2, `anti-entropy moved ${moved} bytes; a full copy is ${full}`);
});

for (const strategy of ['LastWriterWins', 'Merge', 'Manual'] as const) {
  t.test(`${strategy}: concurrent edits on partitioned controllers converge after heal`, async (t) => {
    // a is cut off from both others and keeps writing: a minority write, so fencing is off here.
    const c = await cluster(t, { strategy }, { fenceWrites: false });
    const a = c.nodes.get('a')!;
    const b = c.nodes.get('b')!;
    for (let i = 0; i < 3; i++) await a.apply(res(i, { x: 0, y: 0 }));
    await waitFor('base everywhere', () => rootsEqual(c) && b.store.size === 3, { timeoutMs: 5_000 });
    for (const [x, y] of [['a', 'b'], ['a', 'c']] as const) { await c.nodes.get(x)!.cutLink(y); await c.nodes.get(y)!.cutLink(x); }
    await waitFor('a isolated', () => a.replicator.status().every((s) => !s.connected), { timeoutMs: 5_000 });
    for (let i = 0; i < 3; i++) { await a.apply(res(i, { x: 1, y: 0 })); await b.apply(res(i, { x: 0, y: 2 })); }
    t.ok(a.fence.counters.minorityWrites >= 3, `a's writes without quorum were accepted and counted (${a.fence.counters.minorityWrites})`);
    t.equal(a.fence.counters.fenced, 0, 'nothing refused with fenceWrites off');
    for (const [x, y] of [['a', 'b'], ['a', 'c']] as const) { c.nodes.get(x)!.restoreLink(y); c.nodes.get(y)!.restoreLink(x); }
    await waitFor('convergence after heal', () => rootsEqual(c), { timeoutMs: 10_000 });
    if (strategy === 'Manual') {
      for (const n of c.nodes.values()) t.equal((await n.conflicts()).length, 3, `${n.membership.memberName} lists 3 conflicts`);
      const d = (await c.nodes.get('c')!.describeConflict('ProxyRoute/default/r0'))!;
      t.same([d.local.origin, d.remote.map((r) => r.origin)].flat().sort(), ['a', 'b']);
      await c.nodes.get('c')!.resolveConflict('ProxyRoute/default/r0', 'remote');
      await waitFor('resolution everywhere', async () => (await a.conflicts()).length === 2 && (await b.conflicts()).length === 2, { timeoutMs: 5_000 });
    }
    t.pass('converged');
  });
}

t.test('bad input on the replication protocols is refused and counted; agents cannot push', async (t) => {
  const c = await cluster(t);
  const a = c.nodes.get('a')!;
  const before = a.store.merkle.root();
  // A real controller peer sending garbage on push: the stream closes, the node keeps serving.
  const b = c.nodes.get('b')!;
  const proto = replicationProtocol('repl-fed', 'push');
  for (const frame of [Uint8Array.of(0, 1, 2), encodeMessage({ t: 'hello', v: 99 }, false), encodeMessage({ t: 'batch', id: 1, records: [{ key: 'x' }] }, false)]) {
    const s = await b.membership.libp2p.dialProtocol(a.membership.peerId, proto);
    const lp = lpStream(s);
    await lp.write(frame).catch(() => undefined);
    if (frame[0] === 0 && frame.length > 3) await lp.read({ signal: AbortSignal.timeout(2000) }).catch(() => undefined);
    await lp.write(encodeMessage({ t: 'batch', id: 1, records: [{ key: 'x' }] }, false)).catch(() => undefined);
    await s.close().catch(() => undefined);
  }
  await waitFor('protocol errors counted', () => a.replicator.counters.protocolErrors >= 2, { timeoutMs: 3_000 });
  t.equal(a.store.merkle.root(), before, 'store unchanged');
  await a.apply(res(7));
  await waitFor('a still replicates', async () => (await b.get('ProxyRoute/default/r7')) !== undefined, { timeoutMs: 3_000 });
  // An agent (valid agent certificate) cannot open push at all.
  const plan = await planMembers(c.fed, [{ name: 'agent1', role: 'agent' }]);
  const agent = await startMembershipNode(memberConfig(c.fed, plan[0]!, [c.plan[0]!.addr]), { profile: FAST_PROFILE });
  t.teardown(() => agent.stop());
  await waitFor('agent authenticated', () => agent.authenticatedPeers().some((p) => p.member === 'a'), { timeoutMs: 5_000 });
  const s = await agent.libp2p.dialProtocol(a.membership.peerId, proto);
  const lp = lpStream(s);
  await lp.write(encodeMessage({ t: 'hello', v: 1 }, false)).catch(() => undefined);
  await t.rejects(lp.read({ signal: AbortSignal.timeout(3000) }), 'the stream is reset, no hello back');
  t.equal(a.store.merkle.root(), (await b.store.merkle.root()), 'nothing stored from the agent');
  void makeMember;
});

t.test('one-way cut: A may not dial B, B dials A, and records still flow both ways', async (t) => {
  const c = await cluster(t);
  const a = c.nodes.get('a')!;
  const b = c.nodes.get('b')!;
  await a.cutLink('b', 'outbound');
  await waitFor('b reconnects to a by dialing it', () => {
    const conns = a.membership.libp2p.getConnections().filter((x) => x.remotePeer.toString() === b.membership.peerId.toString());
    return conns.length > 0 && conns.every((x) => x.direction === 'inbound') && a.replicator.status().find((s) => s.member === 'b')!.connected;
  }, { timeoutMs: 10_000 });
  const w = await a.apply(res(1, { oneWay: true }));
  await waitFor('a → b over the b-initiated connection', async () => (await b.get(w.view.key)) !== undefined, { timeoutMs: 3_000 });
  const w2 = await b.apply(res(2, { oneWay: true }));
  await waitFor('b → a', async () => (await a.get(w2.view.key)) !== undefined, { timeoutMs: 3_000 });
  a.restoreLink('b');
  t.pass('one-way cut behaves as a one-way firewall');
});

t.test('Controllers mode: a controller cut off from both others is fenced at once, the majority keeps writing, heal unfences', async (t) => {
  const c = await cluster(t);
  const [a, b, cc] = ['a', 'b', 'c'].map((n) => c.nodes.get(n)!) as [ControllerNode, ControllerNode, ControllerNode];
  t.same(cc.status().quorum, {
    phase: 'Healthy', partitionState: 'None', reachablePeers: '2/2', writesFenced: false, fenceReason: 'NONE', clockSkewedPeers: [],
    readsAllowed: true, quorumMode: 'Controllers', ourVotes: 3, totalVotes: 3, threshold: 2, haveQuorum: true, reachableAgents: 0,
  });
  await a.apply(res(1));
  await waitFor('r1 on c', async () => (await cc.get('ProxyRoute/default/r1')) !== undefined, { timeoutMs: 5_000 });
  for (const x of [a, b]) { await cc.cutLink(x.membership.memberName); await x.cutLink('c'); }
  const t0 = performance.now();
  await waitFor('c fenced', () => cc.status().quorum.writesFenced, { timeoutMs: 5_000 });
  t.comment(`c fenced ${(performance.now() - t0).toFixed(1)} ms after the cut`);
  const before = cc.store.merkle.root();
  await t.rejects(cc.apply(res(2)), { code: 'FENCED', message: /1 of 3 votes, threshold 2/ });
  await t.rejects(cc.delete('ProxyRoute/default/r1'), { code: 'FENCED' });
  t.equal(cc.store.merkle.root(), before, 'nothing stored on the fenced side');
  t.ok(await cc.get('ProxyRoute/default/r1'), 'reads are still served');
  t.match(cc.status().quorum, { reachablePeers: '0/2', haveQuorum: false, ourVotes: 1, phase: 'Suspected' });
  const w = await a.apply(res(3), { durability: 'quorum' });
  t.ok(w.changed, 'the majority side accepts quorum-durable writes');
  for (const x of [a, b]) { cc.restoreLink(x.membership.memberName); x.restoreLink('c'); }
  const t1 = performance.now();
  await waitFor('c unfenced', () => !cc.status().quorum.writesFenced, { timeoutMs: 10_000 });
  t.comment(`c unfenced ${(performance.now() - t1).toFixed(1)} ms after the heal`);
  await waitFor('c converged', () => cc.store.merkle.root() === a.store.merkle.root(), { timeoutMs: 10_000 });
  // A node that hears no peer within the contact window fences itself again, by design: on a
  // machine loaded enough to stall the event loop that long, retry until the heal holds.
  const again = await waitFor('c accepts writes again', () => cc.apply(res(4)).catch((err: { code?: string }) => {
    if (err.code === 'FENCED') return undefined;
    throw err;
  }), { timeoutMs: 10_000 });
  t.ok(again.changed, 'c accepts writes again');
});

t.test('default health checks (10 s heartbeats) keep a healthy federation unfenced between heartbeats', async (t) => {
  // The contact window must outlast the heartbeat interval; a window under it fenced every
  // controller a few seconds after each heartbeat. Checked on the resolved window, not by waiting 10 s.
  const c = await cluster(t);
  const fence = c.nodes.get('a')!.fence;
  // Connected counts from the authentication; the window below is measured from the last proofs of
  // the direct links (liveness pings answered, one per interval).
  const a = c.nodes.get('a')!.membership;
  await waitFor('links proven', () => ['b', 'c'].every((m) => a.linkProvenAtMs(m) !== undefined), { timeoutMs: 5_000 });
  const last = Math.min(...['b', 'c'].map((m) => a.linkProvenAtMs(m)!));
  // With the default profile (interval 10 s, timeout 5 s, 3 failures) peers count for 35 s after
  // their link's last proof; with the fast profile used here, 3 x 200 + 100 = 700 ms.
  t.same(fence.reachable(last + 650).sort(), ['a', 'b', 'c'], 'still reached just inside the window');
  t.same(fence.reachable(last + 10_000), ['a'], 'not reached once the failure detector would give up');
});
