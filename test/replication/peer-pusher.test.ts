// The push sender alone, against a scripted receiver on an in-memory duplex: which records an ack
// makes count as stored copies, and what a queue overflow does to the flag, the counters and the lag.
import t from 'tap';
import { duplexPair } from 'it-pair/duplex';
import { join } from 'node:path';
import { Store, type StoredRecord } from '../../storage/index.ts';
import { PeerPusher, type PusherOptions } from '../../node/replication/peer-pusher.ts';
import { PUSH_VERSION } from '../../node/replication/push-messages.ts';
import { MessageStream } from '../../node/wire/message-stream.ts';
import { STREAM_OPTS } from './ae-harness.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { TEST_TIMERS } from '../helpers/test-timers.ts';

const res = (i: number) => ({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: `r${i}` }, spec: { i } });

async function records(t: import('tap').Test, n: number): Promise<StoredRecord[]> {
  const store = await Store.open({ path: join(t.testdir(), 'store'), member: 'a', strategy: 'LastWriterWins' });
  t.teardown(() => store.close());
  const out: StoredRecord[] = [];
  for (let i = 0; i < n; i++) out.push((await store.apply(res(i))).record);
  return out;
}

function pusher(over: Partial<PusherOptions> = {}): PeerPusher {
  return new PeerPusher('b', { batchSize: 100, windowMax: 4, queueMax: 10_000, batchBytesMax: 1 << 20, relayLingerMs: 0, nowMs: Date.now, timers: TEST_TIMERS, ...over });
}

// `p` running against a test peer that has answered hello: the peer's stream, the run's outcome
// (its error, if any) and a stop (also at teardown).
async function connected(t: import('tap').Test, p: PeerPusher): Promise<{ peer: MessageStream; running: Promise<unknown>; stop: AbortController }> {
  const [mine, theirs] = duplexPair<any>();
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  const running = p.run(new MessageStream(mine, STREAM_OPTS), stop.signal).catch((err: unknown) => err);
  const peer = new MessageStream(theirs, STREAM_OPTS);
  await peer.read();
  await peer.write({ t: 'hello', v: PUSH_VERSION });
  return { peer, running, stop };
}

t.test('an ack that refuses one record of a batch: only the others are stored copies', async (t) => {
  const recs = await records(t, 3);
  const p = pusher();
  const acked: string[] = [];
  const refused: Array<[string, string]> = [];
  p.onAck((r) => acked.push(r.key));
  p.onRefused((r, reason) => refused.push([r.key, reason]));
  // A receiver that refuses the second record for clock skew. It also sends the counts version 1
  // had, so the sender from before per-record acks reads this ack too.
  const { peer, running, stop } = await connected(t, p);
  for (const r of recs) p.enqueue(r);
  const batch = await peer.read() as { id: number; records: unknown[] };
  t.equal(batch.records.length, 3, 'one batch of three');
  await peer.write({ t: 'ack', id: batch.id, applied: 2, unchanged: 0, rejected: 1, refused: [[1, 'clock_skew']], want: [] });
  await waitFor('the ack handled', () => p.status.batchesAcked === 1, { timeoutMs: 5_000 });
  t.same(acked, [recs[0]!.key, recs[2]!.key], 'ack listeners hear the two stored records only');
  t.same(refused, [[recs[1]!.key, 'clock_skew']], 'the refused one is reported with its reason');
  t.equal(p.status.recordsAcked, 2, 'recordsAcked counts stored copies only');
  t.equal(p.status.recordsRefused, 1);
  stop.abort();
  await running;
});

t.test('an ack refusing a record the batch does not have, or with an unknown reason, ends the stream', async (t) => {
  const recs = await records(t, 1);
  for (const refused of [[[1, 'clock_skew']], [[0, 'NOPE']], [[0]]]) {
    const p = pusher();
    const [mine, theirs] = duplexPair<any>();
    const running = p.run(new MessageStream(mine, STREAM_OPTS), new AbortController().signal).then(() => undefined, (err: unknown) => err);
    const peer = new MessageStream(theirs, STREAM_OPTS);
    await peer.read();
    await peer.write({ t: 'hello', v: PUSH_VERSION });
    p.enqueue(recs[0]!);
    const batch = await peer.read() as { id: number };
    await peer.write({ t: 'ack', id: batch.id, refused, want: [] });
    t.match(await running, { code: 'PROTOCOL' }, `refused ${JSON.stringify(refused)} is a protocol error`);
    t.equal(p.status.recordsAcked, 0, 'and counts nothing as stored');
  }
});

t.test('a queue overflow is counted, reported at once, and its records count in the lag until a repair completes', async (t) => {
  const recs = await records(t, 3);
  let now = 1_000_000;
  const overflows: number[] = [];
  const p = pusher({ queueMax: 2, timers: { ...TEST_TIMERS, nowMs: () => now }, onOverflow: (dropped) => overflows.push(dropped) });
  p.enqueue(recs[0]!);
  p.enqueue(recs[1]!);
  now += 1_000;
  p.enqueue(recs[2]!); // the queue is full: its two records are dropped, this one is queued
  t.same(overflows, [2], 'the overflow is reported with the records dropped');
  t.match(p.status, { overflows: 1, failures: 1, needsRepair: true, queued: 1 });
  now += 4_000;
  t.equal(p.lagMs(), 5_000, 'lag: the age of the oldest dropped record, not of the oldest still queued');
  p.beginRepair();
  t.equal(p.status.needsRepair, false, 'a repair run takes the flag');
  t.equal(p.lagMs(), 5_000, 'the dropped records count until that run completes');
  p.endRepair(false);
  t.equal(p.status.needsRepair, true, 'a failed run leaves the peer flagged');
  t.equal(p.lagMs(), 5_000);
  p.beginRepair();
  p.endRepair(true);
  t.equal(p.lagMs(), 4_000, 'repaired: the lag is the queued record\'s age again');
});

t.test('sync lag is how far behind the peer is now: a batch acknowledged late leaves no lag once nothing is pending', async (t) => {
  const recs = await records(t, 2);
  let now = 1_000_000;
  const p = pusher({ nowMs: () => now, timers: { ...TEST_TIMERS, nowMs: () => now } });
  const { peer, running, stop } = await connected(t, p);
  t.equal(p.lagMs(), 0, 'nothing written: no lag');
  p.enqueue(recs[0]!);
  const batch = await peer.read() as { id: number };
  // The ack takes 6 s (a link that held the bytes for a while): the lag grows meanwhile.
  now += 6_000;
  t.equal(p.lagMs(), 6_000, 'in flight for 6 s: 6 s behind');
  await peer.write({ t: 'ack', id: batch.id, refused: [], want: [] });
  await waitFor('the ack handled', () => p.status.batchesAcked === 1, { timeoutMs: 5_000 });
  t.equal(p.lagMs(), 0, 'acknowledged, nothing else pending: the peer holds everything, lag 0');
  now += 60_000;
  t.equal(p.lagMs(), 0, 'and it stays 0 on an idle link (no stale lag until the next write)');
  t.equal(p.status.lastSyncMs, 1_006_000, 'the last sync is when the ack came');
  p.enqueue(recs[1]!);
  now += 250;
  t.equal(p.lagMs(), 250, 'a new write not yet acknowledged: its age');
  stop.abort();
  await running;
});

t.test('a step of the physical clock neither delays relay offers nor changes the lag: both are on the monotonic clock', async (t) => {
  const recs = await records(t, 1);
  let wall = Date.now();
  const p = pusher({ relayLingerMs: 20, nowMs: () => wall });
  const { peer, running, stop } = await connected(t, p);
  // A relayed record (offered, lingering for company), then the wall clock steps back 10 s.
  p.enqueue(recs[0]!, true);
  wall -= 10_000;
  let offered = false;
  const got = peer.read().then((m) => { offered = true; return m as { have: Array<[string, string]> }; });
  await waitFor('the offer is sent after its linger, not after the clock step', () => offered, { timeoutMs: 3_000 });
  t.same((await got).have, [[recs[0]!.key, recs[0]!.digest]]);
  // In flight, not acknowledged yet; the wall clock steps 30 s ahead: the peer is not 30 s behind.
  wall += 30_000;
  t.ok(p.lagMs() < 1_000, `a forward step does not make the peer look behind (${p.lagMs()} ms)`);
  stop.abort();
  await running;
});

t.test('records queued one microtask apart in one turn go out in one batch', async (t) => {
  // The relay loop hands a synced store batch's changes to the pusher one at a time, each after an
  // await; a pump that cut a batch as soon as the first arrived would send it alone.
  const recs = await records(t, 5);
  const p = pusher();
  const { peer, stop, running } = await connected(t, p);
  for (const r of recs) {
    p.enqueue(r);
    await Promise.resolve();
  }
  const batch = await peer.read() as { id: number; records: unknown[] };
  t.equal(batch.records.length, 5, 'one batch of five');
  stop.abort();
  await running;
});
