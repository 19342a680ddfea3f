// Quorum durability over in-memory replicators: only copies a peer stored count; refusals and
// unreachable controllers fail the write as soon as a majority can no longer hold it; the quorum
// deadline is its own setting, apart from the stream deadline.
import t from 'tap';
import { duplexPair } from 'it-pair/duplex';
import { join } from 'node:path';
import { TestNet, FAST } from './net-harness.ts';
import { Store } from '../../storage/index.ts';
import { Replicator, type PeerLinks, type ReplicatorOptions } from '../../node/replication/replicator.ts';
import { toRpcError } from '../../node/admin/admin-errors.ts';
import { waitFor } from '../helpers/wait-for.ts';

const C = ['a', 'b', 'c'];
const res = (i: number) => ({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: `r${i}` }, spec: { i } });
const SKEW_MS = 8_000; // the writer's clock ahead; receivers allow 5 s (the store default)

async function skewedNet(t: import('tap').Test, cMaxOffsetMs?: number): Promise<TestNet> {
  const n = new TestNet(t.testdir());
  t.teardown(() => n.close());
  await n.add('a', C, 'LastWriterWins', { quorumTimeoutMs: 60_000 }, { nowMs: () => Date.now() + SKEW_MS });
  await n.add('b', C);
  await n.add('c', C, 'LastWriterWins', {}, cMaxOffsetMs === undefined ? {} : { maxClockOffsetMs: cMaxOffsetMs });
  n.connectAll();
  await waitFor('push streams up', () => [...n.nodes.values()].every((x) => x.replicator.status().every((s) => s.connected)), { timeoutMs: 5_000 });
  return n;
}

t.test('peers refusing the record for clock skew: the quorum write fails with their reasons, nothing counts as acked', async (t) => {
  const n = await skewedNet(t);
  const a = n.nodes.get('a')!;
  const w = await a.store.apply(res(1));
  const err = await a.replicator.waitForQuorum(w.record).then(() => undefined, (e: unknown) => e);
  t.match(err, { code: 'REFUSED_BY_PEERS', message: /refused by .*clock_skew.*1 of 3 controllers hold it/ }, 'not acknowledged');
  t.same([...(err as { refusals: Array<{ member: string; reason: string }> }).refusals].sort((x, y) => x.member.localeCompare(y.member)),
    [{ member: 'b', reason: 'clock_skew' }, { member: 'c', reason: 'clock_skew' }]);
  await waitFor('both acks in', () => a.replicator.status().every((s) => s.recordsRefused >= 1), { timeoutMs: 5_000 });
  for (const s of a.replicator.status()) {
    t.equal(s.recordsAcked, 0, `recordsAcked (the ACKED column) does not count ${s.member}'s refusal`);
    t.ok(await n.nodes.get(s.member)!.store.getRecord(w.view.key) === undefined, `${s.member} does not hold it`);
    t.equal(n.nodes.get(s.member)!.replicator.rejections.count('a', 'clock_skew'), s.recordsRefused, `${s.member} counted the refusal`);
  }
  const rpc = toRpcError(err);
  t.same([rpc.data.code, rpc.data.cause], ['UNAVAILABLE', 'REFUSED_BY_PEERS'], 'the admin API reports it as UNAVAILABLE, cause REFUSED_BY_PEERS');
});

t.test('one peer refuses, another stores: the stored copy makes the quorum, the refusal is not counted', async (t) => {
  const n = await skewedNet(t, 10_000); // c allows 10 s: it stores what b refuses
  const a = n.nodes.get('a')!;
  const w = await a.store.apply(res(1));
  await a.replicator.waitForQuorum(w.record);
  t.ok(await n.nodes.get('c')!.store.getRecord(w.view.key), 'c holds it');
  await waitFor('b\'s ack in', () => a.replicator.status().find((s) => s.member === 'b')!.recordsRefused === 1, { timeoutMs: 5_000 });
  t.match(Object.fromEntries(a.replicator.status().map((s) => [s.member, [s.recordsAcked, s.recordsRefused]])), { b: [0, 1], c: [1, 0] });
});

t.test('QUORUM_UNAVAILABLE at once when the reachable controllers cannot form the durability quorum', async (t) => {
  const n = new TestNet(t.testdir());
  t.teardown(() => n.close());
  // Two controllers, as AgentAssisted's two datacenters: the durability quorum is both.
  for (const name of ['a', 'b']) await n.add(name, ['a', 'b'], 'LastWriterWins', { quorumTimeoutMs: 60_000 });
  n.connectAll();
  const a = n.nodes.get('a')!;
  const w1 = await a.store.apply(res(1));
  await a.replicator.waitForQuorum(w1.record);
  n.cut('a', 'b');
  t.throws(() => a.replicator.checkQuorumAvailable(), { code: 'QUORUM_UNAVAILABLE', stored: false, message: /^QUORUM_UNAVAILABLE: needs 2 of 2 controllers, 1 reachable; nothing was stored/ });
  const w2 = await a.store.apply(res(2));
  // The deadline is a minute: an answer now is the reachability check, not a timeout.
  await t.rejects(a.replicator.waitForQuorum(w2.record), { code: 'QUORUM_UNAVAILABLE', stored: true, message: /needs 2 of 2 controllers, 1 reachable; the write is durable here/ });
  t.equal(toRpcError(await a.replicator.waitForQuorum(w2.record).catch((e: unknown) => e)).data.code, 'QUORUM_UNAVAILABLE', 'its own admin code');
  n.restore('a', 'b');
  a.replicator.checkQuorumAvailable();
  t.pass('available again once b is back');
});

t.test('a waiting quorum write fails with QUORUM_UNAVAILABLE when reachability drops below the quorum', async (t) => {
  let reachable = ['a', 'b', 'c'];
  const store = await Store.open({ path: join(t.testdir(), 'a'), member: 'a', strategy: 'LastWriterWins' });
  // Peers that are "reachable" but never take a stream: the write can only wait.
  const links: PeerLinks = { open: async () => { throw new Error('no stream'); } };
  const r = new Replicator(store, links, { ...FAST, self: 'a', controllers: C, quorumTimeoutMs: 60_000, reachable: () => reachable });
  r.start();
  t.teardown(async () => { await r.stop(0); await store.close(); });
  const w = await store.apply(res(1));
  const outcome = r.waitForQuorum(w.record).then(() => 'acknowledged', (e: { code?: string; message: string }) => `${e.code}: ${e.message}`);
  reachable = ['a'];
  t.match(await outcome, /^QUORUM_UNAVAILABLE: .*needs 2 of 3 controllers, 1 reachable/);
});

// A replicator `a` whose links to `b` can be stalled: the stream opens, and nothing ever answers.
async function stallable(t: import('tap').Test, opts: Partial<ReplicatorOptions>): Promise<{ a: Replicator; b: Replicator; aStore: Store; stall: { on: boolean } }> {
  const dir = t.testdir();
  const aStore = await Store.open({ path: join(dir, 'a'), member: 'a', strategy: 'LastWriterWins' });
  const bStore = await Store.open({ path: join(dir, 'b'), member: 'b', strategy: 'LastWriterWins' });
  const stall = { on: true };
  const stalled: Array<{ sink: (source: AsyncIterable<unknown>) => Promise<void> }> = [];
  const controllers = ['a', 'b'];
  const b = new Replicator(bStore, { open: async () => { throw new Error('b does not dial'); } }, { ...FAST, self: 'b', controllers });
  const links: PeerLinks = {
    open: async (_member, protocol) => {
      const [mine, theirs] = duplexPair<any>();
      if (!stall.on) void (protocol === 'push' ? b.handlePush(theirs, 'a') : b.handleAntiEntropy(theirs, 'a', true)).catch(() => undefined);
      else {
        // A stalled peer: it takes every byte and never answers.
        void (async () => { for await (const _ of theirs.source) { /* dropped */ } })().catch(() => undefined);
        stalled.push(theirs);
      }
      return { duplex: mine, close: async () => {} };
    },
  };
  const a = new Replicator(aStore, links, { ...FAST, ...opts, self: 'a', controllers, reachable: () => controllers });
  a.start();
  b.start();
  t.teardown(async () => {
    // End the stalled streams: reads still waiting on them (anti-entropy's) finish at once.
    for (const s of stalled) void s.sink((async function* () {})()).catch(() => undefined);
    await a.stop(0); await b.stop(0);
    await aStore.close(); await bStore.close();
  });
  return { a, b, aStore, stall };
}

t.test('the quorum deadline is sync.quorumTimeout, not the stream deadline', async (t) => {
  const { a, aStore } = await stallable(t, { syncTimeoutMs: 5_000, quorumTimeoutMs: 200 });
  a.peerUp('b');
  const w = await aStore.apply(res(1));
  await t.rejects(a.waitForQuorum(w.record), { code: 'QUORUM_TIMEOUT', message: /1 of 2 controllers acknowledged within 200 ms/ });
});

t.test('a quorum write outlives stream deadlines: streams that time out and are reopened do not fail it', async (t) => {
  const { a, aStore, stall } = await stallable(t, { syncTimeoutMs: 150, quorumTimeoutMs: 30_000, retryMs: 10 });
  a.peerUp('b');
  const w = await aStore.apply(res(1));
  const outcome = a.waitForQuorum(w.record).then(() => 'acknowledged', (e: { code?: string }) => e.code);
  // Two stream deadlines pass (b never answers the push hello) while the write waits.
  await waitFor('two push streams timed out', () => a.status()[0]!.failures >= 2, { timeoutMs: 10_000 });
  stall.on = false;
  t.equal(await outcome, 'acknowledged', 'acknowledged once b answers');
});
