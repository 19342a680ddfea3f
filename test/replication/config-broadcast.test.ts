import t from 'tap';
import { join } from 'node:path';
import { Store } from '../../storage/index.ts';
import { ConfigBroadcast, type ConfigFrame } from '../../node/replication/config-broadcast.ts';
import { decodeMessage } from '../../node/wire/codec.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { TEST_TIMERS } from '../helpers/test-timers.ts';

type Test = import('tap').Test;
const res = (i: number) => ({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: `r${i}` }, spec: { i, pad: 'x'.repeat(300) } });

async function setup(t: Test, o: Partial<ConstructorParameters<typeof ConfigBroadcast>[1]> = {}): Promise<{ store: Store; b: ConfigBroadcast }> {
  const store = await Store.open({ path: join(t.testdir(), 'a'), member: 'a', strategy: 'LastWriterWins' });
  const b = new ConfigBroadcast(store, { batchSize: 100, batchBytesMax: 64 * 1024, compress: true, queueFramesMax: 1_000, timers: TEST_TIMERS, ...o });
  t.teardown(async () => { await b.stop(); await store.close(); });
  return { store, b };
}

// The keys a subscriber received, frame by frame, until it has `n` records.
async function take(frames: AsyncIterable<ConfigFrame>, n: number, seen: ConfigFrame[] = []): Promise<string[]> {
  const keys: string[] = [];
  for await (const f of frames) {
    seen.push(f);
    const m = decodeMessage(f.bytes, 1 << 24) as { t: string; records: Array<{ key: string }> };
    if (m.t !== 'records' || m.records.length !== f.records) throw new Error(`bad frame ${JSON.stringify(m).slice(0, 80)}`);
    keys.push(...m.records.map((r) => r.key));
    if (keys.length >= n) break;
  }
  return keys;
}

t.test('every subscriber gets every change once, in order, from one shared encoding', async (t) => {
  const { store, b } = await setup(t);
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  const x = b.subscribe(stop.signal);
  const y = b.subscribe(stop.signal);
  const written: string[] = [];
  // Bursts of concurrent writes, so batches of several records form.
  for (let k = 0; k < 5; k++) {
    const ws = await Promise.all(Array.from({ length: 40 }, (_, i) => store.apply(res(k * 40 + i))));
    written.push(...ws.map((w) => w.view.key));
  }
  const fx: ConfigFrame[] = [];
  const fy: ConfigFrame[] = [];
  const [kx, ky] = await Promise.all([take(x, 200, fx), take(y, 200, fy)]);
  t.same(kx, written, 'subscriber 1: every change, in commit order');
  t.same(ky, written, 'subscriber 2: the same');
  t.equal(fx.length, fy.length);
  t.ok(fx.every((f, i) => f === fy[i]), 'both got the very same frames (encoded once)');
  t.equal(b.frames, fx.length, 'one encoding per frame, whatever the number of subscribers');
  t.ok(fx.length < 200, `changes batched: ${fx.length} frames for 200 records`);
  t.ok(fx.every((f) => f.records <= 100), 'no frame above batchSize');
});

t.test('a subscription covers every change committed after it, and nothing is encoded for nobody', async (t) => {
  const { store, b } = await setup(t, { batchSize: 7 });
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  await Promise.all(Array.from({ length: 10 }, (_, i) => store.apply(res(i))));
  const first = b.subscribe(stop.signal);
  const written = (await Promise.all(Array.from({ length: 30 }, (_, i) => store.apply(res(100 + i))))).map((w) => w.view.key);
  const frames: ConfigFrame[] = [];
  t.same(await take(first, 30, frames), written, 'exactly the changes after the subscription');
  t.ok(frames.every((f) => f.records <= 7), 'batchSize bounds each frame');
  first.end();
  await waitFor('the ended subscription removed', () => b.size === 0, { timeoutMs: 5_000 });
  const before = b.frames;
  await store.apply(res(999));
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  t.equal(b.frames, before, 'no subscriber: nothing encoded');
});

t.test('a subscriber that falls behind is dropped; the others go on', async (t) => {
  const { store, b } = await setup(t, { queueFramesMax: 3, batchSize: 1 });
  const stop = new AbortController();
  t.teardown(() => stop.abort());
  const slow = b.subscribe(stop.signal);
  const fast = b.subscribe(stop.signal);
  const reading = take(fast, 10);
  for (let i = 0; i < 10; i++) await store.apply(res(i));
  t.equal((await reading).length, 10, 'the reading subscriber got all ten');
  await t.rejects((async () => { for await (const _ of slow) { /* drain */ } })(), { code: 'WATCH_OVERFLOW' }, 'the one that never read overflowed');
});

t.test('aborting the signal or stopping the broadcast ends subscriptions', async (t) => {
  const { b } = await setup(t);
  const ac = new AbortController();
  const a = b.subscribe(ac.signal);
  ac.abort();
  for await (const _ of a) t.fail('nothing after abort');
  const pre = new AbortController();
  pre.abort();
  for await (const _ of b.subscribe(pre.signal)) t.fail('nothing on an aborted signal');
  const c = b.subscribe(new AbortController().signal);
  await b.stop();
  for await (const _ of c) t.fail('nothing after stop');
  t.throws(() => b.subscribe(new AbortController().signal), /stopped/);
  t.equal(b.size, 0);
});
