// Issue 20: the admin socket pipelines. Many requests in flight on one connection are served at once
// and answered as each completes, in any order, each with its id; at most inFlightPerConnectionMax at
// once (the next waits); a watch waits for the requests before it and then has the connection to
// itself; a client that pipelines and never reads its responses holds the server to its bounds
// (unreadResponseBytesMax, then the queue bound stops reading) while other clients are served; a
// client that goes away with requests in flight leaves nothing behind.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { callAdmin } from '../../node/admin/admin-client.ts';
import { startAdminServer, type AdminServer, type AdminServerOptions } from '../../node/admin/admin-server.ts';
import { defineMethod, Subscription, type MethodTable } from '../../node/admin/method-table.ts';
import { paramsObject, str } from '../../node/admin/params.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { rawAdmin, rpcLine } from '../helpers/admin-wire.ts';
import { mulberry32, testSeed } from '../helpers/seeded-random.ts';
import { tempDir, type Teardownable } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

const WAIT = { timeoutMs: 10_000 };

/** Calls of `slow` held until released by tag. */
class Gates {
  readonly held = new Map<string, (v: unknown) => void>();
  calls = 0;
  release(tag: string): void {
    const r = this.held.get(tag);
    if (r === undefined) throw new Error(`no slow call ${tag} held`);
    this.held.delete(tag);
    r(`late ${tag}`);
  }
  releaseAll(): void {
    for (const tag of [...this.held.keys()]) this.release(tag);
  }
}

function methods(gates: Gates): MethodTable {
  return {
    echo: defineMethod({
      params: (raw) => ({ text: str(paramsObject(raw, ['text']), 'text', 1 << 20) }),
      handler: async ({ text }) => ({ text }),
    }),
    slow: defineMethod({
      params: (raw) => ({ tag: str(paramsObject(raw, ['tag']), 'tag', 64) }),
      handler: ({ tag }) => new Promise((resolve) => { gates.calls++; gates.held.set(tag, resolve); }),
    }),
    ticks: defineMethod({
      stream: true,
      params: () => ({}),
      handler: async () => new Subscription({ ticking: true }, async (sink) => {
        sink.notify('tick', { n: 1 });
        sink.notify('tick', { n: 2 });
        await new Promise((resolve) => sink.signal.addEventListener('abort', resolve, { once: true }));
      }),
    }),
  };
}

async function serve(t: Teardownable, over: Partial<AdminServerOptions> = {}): Promise<{ server: AdminServer; path: string; gates: Gates }> {
  const dir = await tempDir(t, 'nvpipe-');
  const gates = new Gates();
  const path = join(dir, 'admin.sock');
  const server = await startAdminServer({ timers: REAL_TIMERS, socketPath: path, methods: methods(gates), ...over });
  t.teardown(() => { gates.releaseAll(); return server.close(); });
  return { server, path, gates };
}

type Line = { id?: unknown; result?: unknown; error?: { data: { code: string } }; method?: string };
const ids = (lines: unknown[]): unknown[] => (lines as Line[]).map((l) => l.id);

t.test('a fast request answers before a slow one sent earlier on the same connection', async (t) => {
  const { server, path, gates } = await serve(t);
  const c = await rawAdmin(path);
  t.teardown(() => c.socket.destroy());
  c.send(rpcLine('slow', { tag: 'a' }, 'slow') + rpcLine('echo', { text: 'quick' }, 'fast'));
  const first = await c.waitLines(1, 5_000);
  t.same(first[0], { jsonrpc: '2.0', id: 'fast', result: { text: 'quick' } }, 'the later, fast request is answered first');
  t.equal(gates.held.size, 1, 'while the slow one is still being served');
  gates.release('a');
  const both = await c.waitLines(2);
  t.same(both[1], { jsonrpc: '2.0', id: 'slow', result: 'late a' }, 'then the slow one, with its id');
  await waitFor('nothing in flight', () => server.counters().inFlight === 0, WAIT, () => server.counters());
});

t.test('1,000 requests pipelined on one connection are all answered, each with its id', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (replay with SEED=${seed})`);
  const rand = mulberry32(seed);
  const { server, path, gates } = await serve(t);
  const c = await rawAdmin(path);
  t.teardown(() => c.socket.destroy());
  const N = 1000;
  const SLOW = 40; // every 25th request is slow, released in a random order once all are held
  const lines: string[] = [];
  for (let i = 0; i < N; i++) lines.push(i % (N / SLOW) === 0 ? rpcLine('slow', { tag: `s${i}` }, i) : rpcLine('echo', { text: `t${i}` }, i));
  c.send(lines.join(''));
  await waitFor('every slow request held at once', () => gates.held.size === SLOW, WAIT, () => ({ held: gates.held.size, answered: c.lines.length }));
  await c.waitLines(N - SLOW);
  const tags = [...gates.held.keys()];
  for (let i = tags.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [tags[i], tags[j]] = [tags[j]!, tags[i]!];
  }
  for (const tag of tags) gates.release(tag);
  const all = await c.waitLines(N) as Line[];
  t.equal(all.length, N, 'one answer per request');
  t.same([...ids(all)].sort((a, b) => (a as number) - (b as number)), Array.from({ length: N }, (_, i) => i), 'every id answered once');
  const wrong = all.filter((l) => {
    const i = l.id as number;
    return JSON.stringify(l.result) !== JSON.stringify(i % (N / SLOW) === 0 ? `late s${i}` : { text: `t${i}` });
  });
  t.same(wrong, [], 'each answer carries the result of its own request');
  t.notSame(ids(all), Array.from({ length: N }, (_, i) => i), 'answered as they completed, not in request order');
  await waitFor('nothing in flight', () => server.counters().inFlight === 0, WAIT, () => server.counters());
});

t.test('at most inFlightPerConnectionMax requests are served at once; the next waits for a free place', async (t) => {
  const { server, path, gates } = await serve(t, { inFlightPerConnectionMax: 4 });
  const c = await rawAdmin(path);
  t.teardown(() => c.socket.destroy());
  c.send(['s0', 's1', 's2', 's3'].map((tag) => rpcLine('slow', { tag }, tag)).join('') + rpcLine('echo', { text: 'fifth' }, 'e'));
  await waitFor('four slow requests in flight', () => gates.held.size === 4, WAIT, () => ({ held: gates.held.size, counters: server.counters() }));
  t.same(await callAdmin(path, 'echo', { text: 'other connection' }), { text: 'other connection' }, 'another connection is served meanwhile');
  t.equal(c.lines.length, 0, 'the fifth request was not served: four were in flight');
  t.equal(server.counters().inFlight, 4, 'four in flight');
  gates.release('s2');
  const two = await c.waitLines(2);
  t.same(new Set(ids(two)), new Set(['s2', 'e']), 'one answered, then the fifth was served');
  gates.releaseAll();
  t.same(new Set(ids(await c.waitLines(5))), new Set(['s0', 's1', 's2', 's3', 'e']));
  await t.rejects(startAdminServer({ timers: REAL_TIMERS, socketPath: join(path, '..', 'x.sock'), methods: {}, inFlightPerConnectionMax: 0 }), RangeError);
});

t.test('a batch is one request in flight, answered as one array', async (t) => {
  const { path, gates } = await serve(t);
  const c = await rawAdmin(path);
  t.teardown(() => c.socket.destroy());
  c.send(`${JSON.stringify([
    { jsonrpc: '2.0', id: 1, method: 'echo', params: { text: 'a' } },
    { jsonrpc: '2.0', id: 2, method: 'slow', params: { tag: 'b' } },
    { jsonrpc: '2.0', id: 3, method: 'echo', params: { text: 'c' } },
  ])}\n${rpcLine('echo', { text: 'single' }, 4)}`);
  t.same((await c.waitLines(1))[0], { jsonrpc: '2.0', id: 4, result: { text: 'single' } }, 'the request after the batch is not held up by it');
  gates.release('b');
  const batch = (await c.waitLines(2))[1];
  t.same(batch, [
    { jsonrpc: '2.0', id: 1, result: { text: 'a' } },
    { jsonrpc: '2.0', id: 2, result: 'late b' },
    { jsonrpc: '2.0', id: 3, result: { text: 'c' } },
  ], 'the batch answered as one array, in its order');
});

t.test('a watch waits for the requests before it, then has the connection to itself', async (t) => {
  const { server, path, gates } = await serve(t);
  const c = await rawAdmin(path);
  t.teardown(() => c.socket.destroy());
  c.send(rpcLine('slow', { tag: 'w' }, 1) + rpcLine('ticks', {}, 2) + rpcLine('echo', { text: 'after the watch' }, 3));
  await waitFor('the slow request in flight', () => gates.held.size === 1, WAIT);
  t.same(await callAdmin(path, 'echo', { text: 'other connection' }), { text: 'other connection' });
  t.equal(server.counters().watches, 0, 'the watch has not started while a request before it is served');
  t.equal(c.lines.length, 0, 'nothing after the watch was served either');
  gates.release('w');
  const lines = await c.waitLines(4) as Line[];
  t.same(lines.slice(0, 4), [
    { jsonrpc: '2.0', id: 1, result: 'late w' },
    { jsonrpc: '2.0', id: 2, result: { ticking: true } },
    { jsonrpc: '2.0', method: 'tick', params: { n: 1 } },
    { jsonrpc: '2.0', method: 'tick', params: { n: 2 } },
  ], 'the earlier answer, the watch response, then only notifications');
  t.same(await callAdmin(path, 'echo', { text: 'round trip' }), { text: 'round trip' });
  t.equal(c.lines.length, 4, 'the request after the watch is not served');
  c.socket.destroy();
  await waitFor('watch released', () => server.counters().watches === 0 && server.counters().inFlight === 0, WAIT, () => server.counters());
});

t.test('a watch refused (watchesMax) is answered in its place and the connection goes on pipelining', async (t) => {
  const { server, path } = await serve(t, { watchesMax: 0 });
  const c = await rawAdmin(path);
  t.teardown(() => c.socket.destroy());
  c.send(rpcLine('ticks', {}, 1) + rpcLine('echo', { text: 'a' }, 2) + rpcLine('echo', { text: 'b' }, 3));
  const lines = await c.waitLines(3) as Line[];
  t.equal(lines[0]!.id, 1, 'the watch is answered first');
  t.equal(lines[0]!.error?.data.code, 'BUSY');
  t.same(new Set(ids(lines.slice(1))), new Set([2, 3]), 'the requests after it are served');
  t.equal(server.counters().watches, 0);
});

t.test('a client that disconnects with requests in flight leaves nothing behind', async (t) => {
  const { server, path, gates } = await serve(t);
  const c = await rawAdmin(path);
  const tags = Array.from({ length: 10 }, (_, i) => `d${i}`);
  c.send(tags.map((tag) => rpcLine('slow', { tag }, tag)).join('') + rpcLine('echo', { text: 'x'.repeat(1000) }, 'queued').repeat(100));
  await waitFor('ten in flight', () => gates.held.size === 10, WAIT, () => server.counters());
  t.equal(server.counters().inFlight >= 10, true, 'the server counts them');
  c.socket.destroy();
  gates.releaseAll(); // the answers have nowhere to go
  await waitFor('connection gone, nothing in flight', () => server.counters().connections === 0 && server.counters().inFlight === 0, WAIT, () => server.counters());
  t.same(await callAdmin(path, 'echo', { text: 'fine' }), { text: 'fine' }, 'the server goes on');
  const k = server.counters();
  t.equal(k.inFlight, 0);
  t.equal(k.errors.INTERNAL ?? 0, 0, 'no failure');
});

// A client that writes requests as fast as it can and never reads: count the bytes it got out.
async function neverReading(path: string): Promise<Socket> {
  const s = connect(path);
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject); });
  s.on('error', () => undefined);
  s.pause(); // never reads
  return s;
}

t.test('a client that pipelines thousands of requests and never reads holds the server to its bounds', async (t) => {
  const UNREAD_MAX = 64 * 1024;
  const REQUEST_BYTES_MAX = 64 * 1024;
  const IN_FLIGHT_MAX = 8;
  const { server, path } = await serve(t, { unreadResponseBytesMax: UNREAD_MAX, requestBytesMax: REQUEST_BYTES_MAX, inFlightPerConnectionMax: IN_FLIGHT_MAX });
  const text = 'r'.repeat(4096);
  const responseBytes = `${JSON.stringify({ jsonrpc: '2.0', id: 99_999, result: { text } })}\n`.length;
  const s = await neverReading(path);
  t.teardown(() => s.destroy());
  const REQUESTS = 4000; // ~16 MiB of responses if they were all written
  let chunk = '';
  for (let i = 0; i < REQUESTS; i++) chunk += rpcLine('echo', { text }, i);
  s.write(chunk);
  chunk = '';
  // The server stops starting requests at the unread bound, its queue fills, and it stops reading:
  // the rest of the requests stay in the client's own buffer.
  await waitFor('the server holds back requests and stops reading', () => {
    const k = server.counters();
    return k.responsesPaused >= 1 && k.readsPaused >= 1 && k.inFlight === 0 && s.writableLength > 0;
  }, WAIT, () => ({ counters: server.counters(), unsent: s.writableLength }));
  t.same(await callAdmin(path, 'echo', { text: 'other client' }, { timeoutMs: 5_000 }), { text: 'other client' }, 'another client is served meanwhile');
  const k = server.counters();
  const bound = UNREAD_MAX + (IN_FLIGHT_MAX + 1) * responseBytes;
  t.ok(k.responseBufferedBytesPeak <= bound, `the server held at most ${bound} bytes of unread responses (${k.responseBufferedBytesPeak})`);
  t.ok(s.writableLength > REQUESTS * text.length / 2, `most requests were never read by the server (${s.writableLength} bytes unsent)`);
  s.destroy();
  await waitFor('connection gone, nothing in flight', () => server.counters().connections === 0 && server.counters().inFlight === 0, WAIT, () => server.counters());
  t.equal(server.counters().responseBufferedBytesPeak, k.responseBufferedBytesPeak, 'nothing more was buffered');
});
