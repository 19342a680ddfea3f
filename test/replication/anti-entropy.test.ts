import t from 'tap';
import { join } from 'node:path';
import { duplexPair } from 'it-pair/duplex';
import { lpStream } from 'it-length-prefixed-stream';
import { Store, type StrategyName } from '../../storage/index.ts';
import { fullCopyBytes, runAntiEntropy } from '../../node/replication/anti-entropy-client.ts';
import { TEST_TIMERS } from '../helpers/test-timers.ts';
import { ManualTimers } from '../helpers/manual-timers.ts';
import { DEFAULT_ANTI_ENTROPY_LIMITS } from '../../node/replication/anti-entropy-messages.ts';
import { serveAntiEntropy } from '../../node/replication/anti-entropy-server.ts';
import { MessageStream } from '../../node/wire/message-stream.ts';
import { encodeMessage } from '../../node/wire/codec.ts';
import { STREAM_OPTS, syncPair } from './ae-harness.ts';

const res = (i: number, spec: object = {}) => ({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: `r${i}` }, spec: { pad: 'x'.repeat(300), ...spec } });

const testDirs = new WeakMap<object, string>();
let pairs = 0;
async function twoStores(t: import('tap').Test, strategy: StrategyName = 'LastWriterWins'): Promise<[Store, Store]> {
  if (!testDirs.has(t)) testDirs.set(t, t.testdir());
  const dir = join(testDirs.get(t)!, `pair-${pairs++}`);
  const a = await Store.open({ path: join(dir, 'a'), member: 'a', strategy });
  const b = await Store.open({ path: join(dir, 'b'), member: 'b', strategy });
  t.teardown(async () => { await a.close(); await b.close(); });
  return [a, b];
}

async function dump(s: Store): Promise<string> {
  return JSON.stringify(await s.scanRecords(null, 100_000));
}

t.test('bidirectional repair of differences on both sides, cost grows with the differences', async (t) => {
  const [a, b] = await twoStores(t);
  await Promise.all(Array.from({ length: 2000 }, (_, i) => a.apply(res(i))));
  let r = await syncPair(b, a, 'pull');
  t.equal(r.client.pulled, 2000, 'empty peer: filled by scan');
  t.equal(a.merkle.root(), b.merkle.root());
  // Now 10 differences only on a, 10 only on b, 5 concurrent edits of the same keys.
  for (let i = 0; i < 10; i++) await a.apply(res(i, { side: 'a' }));
  for (let i = 10; i < 20; i++) await b.apply(res(i, { side: 'b' }));
  for (let i = 20; i < 25; i++) { await a.apply(res(i, { both: 'a' })); await b.apply(res(i, { both: 'b' })); }
  r = await syncPair(a, b, 'bidirectional');
  t.equal(r.client.differingKeys, 25);
  t.equal(a.merkle.root(), b.merkle.root(), 'roots equal after one session');
  t.equal(await dump(a), await dump(b), 'stores byte-identical');
  const full = await fullCopyBytes(a);
  const moved = r.client.bytesSent + r.client.bytesReceived;
  t.ok(moved < full / 10, `moved ${moved} bytes vs full copy ${full}`);
  t.ok(r.client.roundTrips <= 1 + 4 + 1 + 2 + 2, `round trips ${r.client.roundTrips}`);
  const again = await syncPair(a, b, 'bidirectional');
  t.ok(again.client.inSync, 'a second session finds the roots equal');
  t.equal(again.client.roundTrips, 1);
});

t.test('pull only changes the client; push only changes the server', async (t) => {
  const [a, b] = await twoStores(t);
  await a.apply(res(1));
  await b.apply(res(2));
  await a.apply(res(3));
  await b.apply(res(3, { other: true }));
  const rootB = b.merkle.root();
  await syncPair(a, b, 'pull');
  t.equal(b.merkle.root(), rootB, 'pull leaves the server unchanged');
  t.ok(await a.get('ProxyRoute/default/r2'));
  const [c, d] = await twoStores(t);
  await c.apply(res(1));
  await d.apply(res(2));
  const rootC = c.merkle.root();
  await syncPair(c, d, 'push');
  t.equal(c.merkle.root(), rootC, 'push leaves the client unchanged');
  t.ok(await d.get('ProxyRoute/default/r1'));
});

t.test('conflicts converge through anti-entropy under every strategy', async (t) => {
  for (const strategy of ['LastWriterWins', 'Merge', 'Manual'] as const) {
    const [a, b] = await twoStores(t, strategy);
    await a.apply(res(1, { x: 0 }));
    await syncPair(b, a, 'pull');
    await a.apply(res(1, { x: 1 }));
    await b.apply(res(1, { x: 2, y: 1 }));
    await syncPair(a, b, 'bidirectional', { compress: true });
    t.equal(await dump(a), await dump(b), `${strategy}: identical`);
    if (strategy === 'Manual') t.equal((await b.conflicts()).length, 1, 'Manual conflict listed on both');
  }
});

// A digest says a key differs, not which side is newer: the session asks the server which way each
// record must go (versions), so the older version of a key is never fetched only to lose the join.
t.test('versions: a record goes only the way it must; concurrent versions both ways; an old server is asked nothing', async (t) => {
  for (const strategy of ['LastWriterWins', 'Merge'] as const) {
    const [a, b] = await twoStores(t, strategy);
    await Promise.all(Array.from({ length: 300 }, (_, i) => a.apply(res(i))));
    await syncPair(b, a, 'pull');
    // a newer on 0-49, b newer on 50-99, concurrent edits on 100-109.
    for (let i = 0; i < 50; i++) await a.apply(res(i, { by: 'a' }));
    for (let i = 50; i < 100; i++) await b.apply(res(i, { by: 'b' }));
    for (let i = 100; i < 110; i++) { await a.apply(res(i, { x: 'a' })); await b.apply(res(i, { y: 'b' })); }
    const r = await syncPair(a, b, 'bidirectional');
    t.equal(r.client.differingKeys, 110, `${strategy}: 110 keys differ`);
    t.equal(r.client.versionsAsked, 110, 'the server was asked about each');
    t.equal(r.client.pulled, 60, 'pulled: b\'s 50 newer versions and the 10 concurrent ones (joined)');
    t.equal(r.client.pushed, 60, 'pushed: a\'s 50 newer versions and the 10 joins');
    t.equal(await dump(a), await dump(b), 'stores identical');
  }
  // The server of a rolling upgrade: its hello lists no features, so the session fetches and joins.
  {
    const [a, b] = await twoStores(t);
    await a.apply(res(1));
    await syncPair(b, a, 'pull');
    await a.apply(res(1, { by: 'a' }));
    const [clientEnd, proxyToClient] = duplexPair<any>();
    const [proxyToServer, serverEnd] = duplexPair<any>();
    const toClient = new MessageStream(proxyToClient, STREAM_OPTS);
    const toServer = new MessageStream(proxyToServer, STREAM_OPTS);
    const forward = async (from: MessageStream, to: MessageStream, rewrite: (m: any) => unknown): Promise<void> => {
      try {
        for (;;) await to.write(rewrite(await from.read()));
      } catch { /* one side ended */ }
    };
    void forward(toClient, toServer, (m) => m);
    void forward(toServer, toClient, (m) => (m?.t === 'hello' ? { t: 'hello', v: m.v, root: m.root, size: m.size } : m));
    const served = serveAntiEntropy(new MessageStream(serverEnd, STREAM_OPTS), b, { limits: DEFAULT_ANTI_ENTROPY_LIMITS, allowPut: true, requestsMax: 100 });
    const r = await runAntiEntropy(new MessageStream(clientEnd, STREAM_OPTS), a, { repairMode: 'bidirectional', batchSize: 100, limits: DEFAULT_ANTI_ENTROPY_LIMITS, timers: TEST_TIMERS });
    await served;
    t.equal(r.versionsAsked, 0, 'a server without the feature is not asked');
    t.equal(r.pushed, 1, 'the newer version is pushed after the older one was fetched and lost the join');
    t.equal(await dump(a), await dump(b), 'stores identical');
  }
});

// A server answers hello only once it holds its session gate (node/replication/session-gate.ts),
// which may take as long as another session: the client waits for the answer up to helloTimeoutMs,
// not the stream's I/O timeout (without it the session failed with FRAME_TIMEOUT, counted as a
// protocol error, and was retried later). The same holds for the server waiting on the client's gate,
// before hello (a client whose name is lower) or after it (higher).
t.test('a session waits for a gate longer than the I/O timeout, up to helloTimeoutMs / gateWaitMs', async (t) => {
  for (const patient of [true, false]) {
    const [a, b] = await twoStores(t);
    await a.apply(res(1));
    const timers = new ManualTimers(0);
    const opts = { ...STREAM_OPTS, ioTimeoutMs: 100, timers };
    const [clientEnd, serverEnd] = duplexPair<any>();
    let openServerGate!: () => void;
    const serverGate = new Promise<void>((r) => { openServerGate = r; });
    let openClientGate!: () => void;
    const clientGate = new Promise<void>((r) => { openClientGate = r; });
    const served = serveAntiEntropy(new MessageStream(serverEnd, opts), b, {
      limits: DEFAULT_ANTI_ENTROPY_LIMITS, allowPut: true, requestsMax: 100, enter: async () => { await serverGate; return () => undefined; },
      ...(patient ? { gateWaitMs: 10_000 } : {}),
    });
    // The client waits for its own gate before hello (its name is lower) for five I/O timeouts.
    if (patient) await timers.advance(500);
    const ran = runAntiEntropy(new MessageStream(clientEnd, opts), a, {
      repairMode: 'bidirectional', batchSize: 100, limits: DEFAULT_ANTI_ENTROPY_LIMITS, timers, afterHello: () => clientGate,
      ...(patient ? { helloTimeoutMs: 10_000 } : {}),
    });
    if (!patient) {
      ran.catch(() => undefined);
      served.catch(() => undefined);
    }
    await timers.advance(500); // five I/O timeouts with the server's gate taken
    openServerGate();
    if (!patient) {
      await t.rejects(ran, { code: 'FRAME_TIMEOUT' }, 'without it: the hello answer times out');
      continue;
    }
    await timers.advance(500); // and five more with the client's gate taken after hello
    openClientGate();
    const report = await ran;
    await served;
    t.equal(report.pushed, 1, 'the session went on once both gates were free');
    t.equal(await dump(a), await dump(b));
  }
});

t.test('a read-only peer (agent) cannot push', async (t) => {
  const [a, b] = await twoStores(t);
  await a.apply(res(1));
  await b.apply(res(2));
  await t.rejects(syncPair(a, b, 'push', { allowPut: false }), { code: 'PROTOCOL' });
  t.equal(await b.get('ProxyRoute/default/r1'), undefined, 'nothing stored');
});

t.test('bad frames end the session with a clear error and change nothing', async (t) => {
  const [, b] = await twoStores(t);
  await b.apply(res(1));
  const root = b.merkle.root();
  const cases: Array<[string, Uint8Array[], string]> = [
    ['not JSON', [Uint8Array.of(0, 123, 34)], 'FRAME_MALFORMED'],
    ['unknown encoding', [Uint8Array.of(7, 1, 2)], 'FRAME_MALFORMED'],
    ['wrong type', [encodeMessage({ t: 'hello', v: '1', depth: 4 }, false)], 'PROTOCOL'],
    ['unknown message', [encodeMessage({ t: 'drop-table' }, false)], 'PROTOCOL'],
    ['no hello first', [encodeMessage({ t: 'get', keys: ['ProxyRoute/default/r1'] }, false)], 'PROTOCOL'],
    ['node out of range', [encodeMessage({ t: 'hello', v: 1, depth: 4 }, false), encodeMessage({ t: 'children', level: 1, nodes: [99] }, false)], 'PROTOCOL'],
    ['too many keys', [encodeMessage({ t: 'hello', v: 1, depth: 4 }, false), encodeMessage({ t: 'get', keys: Array(5000).fill('a') }, false)], 'PROTOCOL'],
    ['versions: not a version vector', [encodeMessage({ t: 'hello', v: 1, depth: 4 }, false), encodeMessage({ t: 'versions', entries: [['ProxyRoute/default/r1', { a: -1 }]] }, false)], 'PROTOCOL'],
    ['versions: not a pair', [encodeMessage({ t: 'hello', v: 1, depth: 4 }, false), encodeMessage({ t: 'versions', entries: [['ProxyRoute/default/r1']] }, false)], 'PROTOCOL'],
    ['versions: too many entries', [encodeMessage({ t: 'hello', v: 1, depth: 4 }, false), encodeMessage({ t: 'versions', entries: Array(5000).fill(['k', { a: 1 }]) }, false)], 'PROTOCOL'],
    ['versions: a vector of too many members', [encodeMessage({ t: 'hello', v: 1, depth: 4 }, false),
      encodeMessage({ t: 'versions', entries: [['k', Object.fromEntries(Array.from({ length: 1025 }, (_, i) => [`m${i}`, 1]))]] }, false)], 'PROTOCOL'],
  ];
  for (const [name, frames, code] of cases) {
    const [client, server] = duplexPair<any>();
    const raw = lpStream(client);
    const served = serveAntiEntropy(new MessageStream(server, STREAM_OPTS), b, { limits: DEFAULT_ANTI_ENTROPY_LIMITS, allowPut: true, requestsMax: 100 });
    const writes = (async () => { for (const f of frames) { await raw.write(f); if (frames.length > 1) await raw.read().catch(() => undefined); } })();
    await t.rejects(served, { code }, name);
    void writes.catch(() => undefined); // the peer never answers after the error: do not wait for it
  }
  // A bad record is not a bad frame: it is refused on its own (counted in the reply), the session goes on.
  {
    const [client, server] = duplexPair<any>();
    const ms = new MessageStream(client, STREAM_OPTS);
    const served = serveAntiEntropy(new MessageStream(server, STREAM_OPTS), b, { limits: DEFAULT_ANTI_ENTROPY_LIMITS, allowPut: true, requestsMax: 100 });
    await ms.write({ t: 'hello', v: 1, depth: 4 });
    await ms.read();
    await ms.write({ t: 'put', records: [{ key: 'x' }] });
    t.match(await ms.read(), { t: 'put', applied: 0, rejected: 1 }, 'bad record refused, session goes on');
    await ms.write({ t: 'bye' });
    await t.resolves(served, 'bad record: the session ends normally');
  }
  // Oversized and truncated frames.
  const [c1, s1] = duplexPair<any>();
  const small = new MessageStream(s1, { ...STREAM_OPTS, frameBytesMax: 1024 });
  const p1 = serveAntiEntropy(small, b, { limits: DEFAULT_ANTI_ENTROPY_LIMITS, allowPut: true, requestsMax: 100 });
  void lpStream(c1).write(new Uint8Array(4096)).catch(() => undefined);
  await t.rejects(p1, { code: 'FRAME_TOO_LARGE' }, 'oversized frame');
  const [c2, s2] = duplexPair<any>();
  const p2 = serveAntiEntropy(new MessageStream(s2, STREAM_OPTS), b, { limits: DEFAULT_ANTI_ENTROPY_LIMITS, allowPut: true, requestsMax: 100 });
  void c2.sink((async function* () { yield Uint8Array.of(50, 0, 1, 2); })());
  await t.rejects(p2, { code: 'FRAME_TRUNCATED' }, 'truncated frame');
  t.equal(b.merkle.root(), root, 'store unchanged');
});
