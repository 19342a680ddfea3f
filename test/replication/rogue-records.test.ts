// A rogue controller sends the hostile records (issue 17 item 2) by push and by anti-entropy
// put, each batch mixed with good records; a rogue anti-entropy server and a rogue controller serving
// an agent's config stream do the same on the pulling side. Each hostile record is refused: not
// stored, not relayed to the other controllers, counted per peer and reason; the good records of the
// same batches are stored and relayed; the streams go on; the key whose counter the rogue tried to
// max out stays writable on its owner.
import t from 'tap';
import { duplexPair } from 'it-pair/duplex';
import { join } from 'node:path';
import { Store, type StoredRecord } from '../../storage/index.ts';
import { runControllerSession } from '../../node/agent/controller-session.ts';
import { runAntiEntropy } from '../../node/replication/anti-entropy-client.ts';
import { ANTI_ENTROPY_VERSION, DEFAULT_ANTI_ENTROPY_LIMITS } from '../../node/replication/anti-entropy-messages.ts';
import type { RefusalReason } from '../../node/replication/apply-batch.ts';
import { CONFIG_STREAM_VERSION } from '../../node/replication/config-stream-messages.ts';
import { PUSH_VERSION } from '../../node/replication/push-messages.ts';
import { RecordRejections } from '../../node/replication/record-rejections.ts';
import { MessageStream } from '../../node/wire/message-stream.ts';
import { SYSTEM_RECORD_SCHEMAS } from '../../node/votes/registry-record.ts';
import { goodRecords, hostileRecords, route, type HostileRecord } from '../helpers/hostile-records.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { STREAM_OPTS } from './ae-harness.ts';
import { TestNet, type NetNode } from './net-harness.ts';

type Test = import('tap').Test;
const CONTROLLERS = ['c1', 'c2', 'c3'];

/** Reasons and how many records were refused for each. */
function expectedCounts(hostile: HostileRecord[]): Map<RefusalReason, number> {
  const out = new Map<RefusalReason, number>();
  for (const h of hostile) out.set(h.reason, (out.get(h.reason) ?? 0) + 1);
  return out;
}

function checkCounts(t: Test, rejections: RecordRejections, peer: string, hostile: HostileRecord[]): void {
  for (const [reason, n] of expectedCounts(hostile)) t.equal(rejections.count(peer, reason), n, `counted: ${n} × ${reason} from ${peer}`);
  t.equal(rejections.count(peer), hostile.length, 'nothing else counted');
}

async function federation(t: Test): Promise<{ net: TestNet; c1: NetNode }> {
  const net = new TestNet(t.testdir());
  t.teardown(() => net.close());
  for (const n of CONTROLLERS) await net.add(n, CONTROLLERS);
  net.connectAll();
  return { net, c1: net.nodes.get('c1')! };
}

// c1 writes the key the overflow record targets, and every controller gets it.
async function ownedByC1(net: TestNet, c1: NetNode, prefix: string): Promise<string> {
  const res = await c1.store.apply(route(`${prefix}owned`));
  for (const n of net.nodes.values()) {
    await waitFor(`${n.name} holds ${prefix}owned`, () => n.store.holds(res.record.key, res.record.digest), { timeoutMs: 10_000 });
  }
  return res.record.digest;
}

// After the good records reached every controller (they were relayed after the batch was applied),
// no hostile one is anywhere but as the owner's own version.
async function checkNothingStored(t: Test, net: TestNet, hostile: HostileRecord[], good: StoredRecord[], ownedDigest: string): Promise<void> {
  for (const n of net.nodes.values()) {
    for (const g of good) await waitFor(`${n.name} holds ${g.key}`, () => n.store.holds(g.key, g.digest), { timeoutMs: 10_000 });
  }
  for (const n of net.nodes.values()) {
    for (const h of hostile) {
      const held = await n.store.getRecord(h.record.key);
      if (h.record.key.endsWith('owned')) t.equal(held?.digest, ownedDigest, `${n.name}: ${h.name} did not replace the owner's version`);
      else if (h.record.key.startsWith('FederationAgentRegistry/')) t.equal(held, undefined, `${n.name}: ${h.name} not stored`);
      else t.equal(held, undefined, `${n.name}: ${h.name} not stored nor relayed`);
    }
  }
}

t.test('push: hostile records are refused one by one, counted, never stored or relayed; the batch\'s good records are', async (t) => {
  const { net, c1 } = await federation(t);
  const ownedDigest = await ownedByC1(net, c1, 'p-');
  const hostile = hostileRecords('rogue', 'c1', 'p-');
  const good = goodRecords('rogue', 'p-');
  const [mine, theirs] = duplexPair<any>();
  const served = c1.replicator.handlePush(theirs, 'rogue').then(() => undefined, (err: unknown) => err);
  const ms = new MessageStream(mine, STREAM_OPTS);
  await ms.write({ t: 'hello', v: PUSH_VERSION });
  t.match(await ms.read(), { t: 'hello' });
  // One batch: a good record, every hostile one, another good one.
  await ms.write({ t: 'batch', id: 1, records: [good[0], ...hostile.map((h) => h.record), good[1]], have: [] });
  const ack = await ms.read() as { t: string; refused?: Array<[number, string]> };
  t.equal(ack.t, 'ack', 'the batch is answered: a refused record does not end the stream');
  if (ack.refused !== undefined) {
    t.same(ack.refused.map(([i]) => i), hostile.map((_, i) => i + 1), 'the ack names each refused record');
  }
  // The stream goes on: another batch is taken.
  const later = goodRecords('rogue', 'p-later-', 1);
  await ms.write({ t: 'batch', id: 2, records: later, have: [] });
  t.match(await ms.read(), { t: 'ack', id: 2 }, 'and the next batch too');
  await checkNothingStored(t, net, hostile, [...good, ...later], ownedDigest);
  checkCounts(t, c1.replicator.rejections, 'rogue', hostile);
  for (const name of ['c2', 'c3']) t.equal(net.nodes.get(name)!.replicator.rejections.count('c1'), 0, `${name} was relayed nothing to refuse`);
  t.ok((await c1.store.apply(route('p-owned', { host: 'still-mine' }))).changed, 'the owner still writes the key');
  t.equal(c1.replicator.counters.protocolErrors, 0, 'no protocol error was counted against the rogue');
  void served;
});

t.test('anti-entropy put: hostile records are refused, counted, never stored or relayed; the good ones are', async (t) => {
  const { net, c1 } = await federation(t);
  const ownedDigest = await ownedByC1(net, c1, 'ae-');
  const hostile = hostileRecords('rogue', 'c1', 'ae-');
  const good = goodRecords('rogue', 'ae-');
  const [mine, theirs] = duplexPair<any>();
  const served = c1.replicator.handleAntiEntropy(theirs, 'rogue', true).then(() => undefined, (err: unknown) => err);
  const ms = new MessageStream(mine, STREAM_OPTS);
  await ms.write({ t: 'hello', v: ANTI_ENTROPY_VERSION, depth: c1.store.merkle.depth });
  t.match(await ms.read(), { t: 'hello' });
  await ms.write({ t: 'put', records: [good[0], ...hostile.map((h) => h.record), good[1]] });
  t.match(await ms.read(), { t: 'put', applied: 2, rejected: hostile.length }, 'the put reply counts the refusals');
  await ms.write({ t: 'bye' });
  t.equal(await served, undefined, 'the session ended normally, not as a protocol error');
  await checkNothingStored(t, net, hostile, good, ownedDigest);
  checkCounts(t, c1.replicator.rejections, 'rogue', hostile);
  t.ok((await c1.store.apply(route('ae-owned', { host: 'still-mine' }))).changed, 'the owner still writes the key');
});

// A rogue anti-entropy server that answers a pull from an empty replica with `records` (a scan).
async function rogueScanServer(ms: MessageStream, records: unknown[]): Promise<void> {
  const hello = await ms.read() as { t: string };
  if (hello.t !== 'hello') throw new Error(`rogue: expected hello, got ${hello.t}`);
  await ms.write({ t: 'hello', v: ANTI_ENTROPY_VERSION, root: 'f'.repeat(64), size: records.length });
  for (;;) {
    const m = await ms.read() as { t: string };
    if (m.t === 'bye') return;
    if (m.t !== 'scan') throw new Error(`rogue: unexpected ${m.t}`);
    await ms.write({ t: 'records', records, missing: [], next: null });
  }
}

t.test('anti-entropy pull: records a rogue server hands out are refused and counted the same way', async (t) => {
  const store = await Store.open({ path: join(t.testdir(), 'c2'), member: 'c2', strategy: 'LastWriterWins', systemRecords: SYSTEM_RECORD_SCHEMAS });
  t.teardown(() => store.close());
  const hostile = hostileRecords('rogue', 'c2', 'pull-');
  const good = goodRecords('rogue', 'pull-');
  const logged: unknown[] = [];
  const rejections = new RecordRejections({ log: { warn: (o: unknown) => { logged.push(o); } }, nowMs: () => 0 });
  const [a, b] = duplexPair<any>();
  const rogue = rogueScanServer(new MessageStream(b, STREAM_OPTS), [good[0], ...hostile.map((h) => h.record), good[1]]);
  const report = await runAntiEntropy(new MessageStream(a, STREAM_OPTS), store, {
    repairMode: 'pull', batchSize: 100, limits: DEFAULT_ANTI_ENTROPY_LIMITS, source: 'rogue', rejections, timers: STREAM_OPTS.timers,
  });
  await rogue;
  t.equal(report.pulled, 2, 'the good records are stored');
  t.equal(report.rejected, hostile.length, 'the hostile ones are refused');
  t.equal(store.size, 2, 'and nothing else is stored');
  checkCounts(t, rejections, 'rogue', hostile);
  t.equal(logged.length, expectedCounts(hostile).size, 'one warn line per reason');
});

t.test('an agent\'s config stream: hostile records from its controller are refused, counted, not stored', async (t) => {
  const replica = await Store.open({ path: join(t.testdir(), 'edge-1'), member: 'edge-1', strategy: 'LastWriterWins', systemRecords: SYSTEM_RECORD_SCHEMAS });
  t.teardown(() => replica.close());
  const live = hostileRecords('rogue', 'edge-1', 'live-');
  const caught = hostileRecords('rogue', 'edge-1', 'cu-');
  const goodLive = goodRecords('rogue', 'live-');
  const goodCaught = goodRecords('rogue', 'cu-');
  const rejections = new RecordRejections({ log: { warn: () => undefined }, nowMs: () => 0 });
  const ac = new AbortController();
  t.teardown(() => ac.abort());
  let batches = 0;
  const rogueSides: Array<Promise<void>> = [];
  const session = runControllerSession({
    open: async (protocol) => {
      const [mine, theirs] = duplexPair<any>();
      const ms = new MessageStream(theirs, STREAM_OPTS);
      if (protocol === 'anti-entropy') {
        rogueSides.push(rogueScanServer(ms, [goodCaught[0], ...caught.map((h) => h.record), goodCaught[1]]));
      } else {
        rogueSides.push((async () => {
          await ms.read();
          await ms.write({ t: 'hello', v: CONFIG_STREAM_VERSION, member: 'rogue', strategy: 'LastWriterWins' });
          await ms.write({ t: 'records', records: [goodLive[0], ...live.map((h) => h.record), goodLive[1]] });
        })());
      }
      return { duplex: mine, close: async () => {} };
    },
    replica: async () => replica,
    stream: STREAM_OPTS,
    limits: DEFAULT_ANTI_ENTROPY_LIMITS,
    batchSize: 100,
    onHello: () => undefined,
    onCaughtUp: () => undefined,
    onBatch: () => { batches++; },
    rejections,
    signal: ac.signal,
  });
  session.catch(() => undefined);
  await waitFor('the live batch and the catch-up', () => batches === 1 && replica.size === 4, { timeoutMs: 10_000 }, () => ({ batches, size: replica.size }));
  for (const g of [...goodLive, ...goodCaught]) t.ok(replica.holds(g.key, g.digest), `${g.key} stored`);
  for (const h of [...live, ...caught]) t.equal(await replica.getRecord(h.record.key), undefined, `${h.name} not stored`);
  for (const [reason, n] of expectedCounts(live)) t.equal(rejections.count('rogue', reason), 2 * n, `counted: ${2 * n} × ${reason}`);
  ac.abort();
  await Promise.allSettled(rogueSides);
});
