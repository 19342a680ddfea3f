// Faults of the simulated network: a partition makes existing connections silent (nothing arrives,
// nothing closes) and new dials fail, after the dial deadline or at once when refused, and its heal
// delivers what it held, in order; a one-way cut; reset closes both ends with ECONNRESET; a
// half-open connection; pause holds a node's deliveries; a crash leaves silence (then RST once the
// machine is back) or resets its connections.
import t from 'tap';
import type { Stream } from '@libp2p/interface';
import { lpStream } from 'it-length-prefixed-stream';
import { drive, testWorld, type TestWorld } from './net/test-world.ts';
import type { SimHost } from './net/host.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: { subarray(): Uint8Array }): string => new TextDecoder().decode(b.subarray());

interface Pair {
  w: TestWorld;
  a: SimHost;
  b: SimHost;
  /** a's end of an open stream to b. */
  client: Stream;
  /** Messages b received on it, in order (the collector runs until the stream ends). */
  got: string[];
  /** How b's read loop ended, once it did. */
  ended: { how?: string };
  events: string[];
}

// a dials b and opens a stream whose messages b collects; connection events of both are recorded.
async function pair(seed: number, names = ['a', 'b']): Promise<Pair> {
  const w = await testWorld(seed, names, { net: { link: { latencyMinMs: 1, jitterMeanMs: 1 } } });
  const a = w.hosts.a!;
  const b = w.hosts.b!;
  const got: string[] = [];
  const ended: { how?: string } = {};
  await b.handle('/collect/1', ({ stream }) => {
    const lp = lpStream(stream);
    void (async () => {
      for (;;) got.push(dec(await lp.read()));
    })().catch((e: unknown) => { ended.how = (e as Error).name; });
  });
  const events: string[] = [];
  for (const [n, h] of [['a', a], ['b', b]] as const) {
    h.addEventListener('connection:close', () => events.push(`${n} close`));
    h.addEventListener('connection:open', () => events.push(`${n} open`));
  }
  const client = await drive(w.s, a.dialProtocol(b.getMultiaddrs()[0]!, '/collect/1'));
  await w.s.runFor(50);
  return { w, a, b, client, got, ended, events };
}

t.test('a partition: existing connections go silent without closing, new dials time out, the heal delivers in order', async (t) => {
  const p = await pair(21);
  const lp = lpStream(p.client);
  await drive(p.w.s, lp.write(enc('before')));
  await p.w.s.runFor(50);
  p.w.net.partition([['a'], ['b']]);
  for (const m of ['during-1', 'during-2']) await drive(p.w.s, lp.write(enc(m)));
  await p.w.s.runFor(60_000);
  t.same(p.got, ['before'], 'nothing crosses the cut');
  t.same(p.events, ['a open', 'b open'], 'no close on either side: silence');
  t.equal(p.a.getConnections()[0]?.status, 'open');
  t.equal(p.b.getConnections()[0]?.status, 'open');

  // A new dial across the cut (the peer's address known, no connection reused): lost SYNs.
  const c = await drive(p.w.s, p.w.restart('c'));
  p.w.net.partition([['a', 'b'], ['c']]);
  const t0 = p.w.s.nowMs();
  await t.rejects(drive(p.w.s, p.a.dial(c.getMultiaddrs()[0]!)), { name: 'TimeoutError' });
  t.equal(p.w.s.nowMs() - t0, 5_000, 'the dial fails at its deadline (dialTimeoutMs)');
  p.w.net.heal();
  p.w.net.partition([['a', 'b'], ['c']], { mode: 'refuse' });
  const t1 = p.w.s.nowMs();
  await t.rejects(drive(p.w.s, p.a.dial(c.getMultiaddrs()[0]!)), { code: 'ECONNREFUSED' });
  t.ok(p.w.s.nowMs() - t1 < 100, 'a refusing cut fails the dial at once');

  p.w.net.heal();
  await drive(p.w.s, lp.write(enc('after')));
  await p.w.s.runFor(100);
  t.same(p.got, ['before', 'during-1', 'during-2', 'after'], 'held bytes delivered at the heal, in order, before newer ones');
  t.same(p.events, ['a open', 'b open'], 'the connection survived');
});

t.test('a one-way cut: one direction silent, the other flowing', async (t) => {
  const w = await testWorld(22, ['a', 'b'], { net: { link: { latencyMinMs: 1, jitterMeanMs: 0 } } });
  const a = w.hosts.a!;
  const b = w.hosts.b!;
  let server: Stream | undefined;
  await b.handle('/x/1', ({ stream }) => { server = stream; });
  const client = await drive(w.s, a.dialProtocol(b.getMultiaddrs()[0]!, '/x/1'));
  await w.s.runFor(10);
  w.net.cut('a', 'b');
  t.ok(w.net.isCut('a', 'b') && !w.net.isCut('b', 'a'));
  const toB = lpStream(server!);
  const toA = lpStream(client);
  await drive(w.s, toB.write(enc('b to a')));
  t.equal(dec(await drive(w.s, toA.read())), 'b to a', 'b → a flows');
  let arrived = false;
  void toA.write(enc('a to b')).then(() => toB.read()).then(() => { arrived = true; });
  await w.s.runFor(30_000);
  t.notOk(arrived, 'a → b is silent');
  w.net.heal('a', 'b');
  await w.s.runFor(10);
  t.ok(arrived, 'and flows once healed');
});

t.test('resetConnections closes both ends at once with ECONNRESET', async (t) => {
  const p = await pair(23);
  p.w.net.resetConnections('a', 'b');
  await p.w.s.runFor(1);
  t.same(p.events, ['a open', 'b open', 'a close', 'b close']);
  t.equal(p.ended.how, 'ConnectionResetError', 'b\'s reader fails');
  t.equal(p.client.status, 'aborted', 'a\'s stream failed too');
  t.equal(p.a.getConnections().length + p.b.getConnections().length, 0);
});

t.test('halfOpen: one end believes the connection closed, the other keeps it, and what it sends is lost', async (t) => {
  const p = await pair(24);
  p.w.net.halfOpen('a', 'b');
  await p.w.s.runFor(1);
  t.same(p.events, ['a open', 'b open', 'b close'], 'b saw a close, a saw nothing');
  await drive(p.w.s, lpStream(p.client).write(enc('into the void')));
  await p.w.s.runFor(60_000);
  t.equal(p.a.getConnections()[0]?.status, 'open', 'a still believes it open');
  t.same(p.got, [], 'nothing arrives');
  t.same(p.events, ['a open', 'b open', 'b close'], 'and no reset comes back');
});

t.test('pause holds deliveries to the node until resume, then delivers them in order', async (t) => {
  const p = await pair(25);
  p.w.net.pause('b');
  const lp = lpStream(p.client);
  for (const m of ['1', '2', '3']) await drive(p.w.s, lp.write(enc(m)));
  await p.w.s.runFor(30_000);
  t.same(p.got, [], 'a paused node reads nothing');
  t.equal(p.w.s.stats().eventsDeferred > 0, true);
  p.w.net.resume('b');
  await p.w.s.runFor(1);
  t.same(p.got, ['1', '2', '3']);
});

t.test('crash with silence: peers keep the connection; bytes go nowhere; once the node is back, they get RST', async (t) => {
  const p = await pair(26);
  p.w.net.crash('b');
  const lp = lpStream(p.client);
  await drive(p.w.s, lp.write(enc('to a dead node')));
  await p.w.s.runFor(60_000);
  t.same(p.events, ['a open', 'b open'], 'no close: silence');
  t.equal(p.a.getConnections()[0]?.status, 'open');
  await t.rejects(drive(p.w.s, p.a.getConnections()[0]!.newStream('/collect/1')), { name: 'TimeoutError' }, 'a new stream on it times out negotiating');
  const b2 = await drive(p.w.s, p.w.restart('b'));
  await drive(p.w.s, lp.write(enc('after reboot')).catch(() => undefined));
  await p.w.s.runFor(100);
  t.same(p.events, ['a open', 'b open', 'a close'], 'the rebooted machine answers the old connection with RST');
  const conn = await drive(p.w.s, p.a.dial(b2.getMultiaddrs()[0]!));
  t.equal(conn.status, 'open', 'a new connection to the new incarnation');
});

t.test('crash with reset: peers see their connections close; new dials are refused', async (t) => {
  const p = await pair(27);
  p.w.net.crash('b', { peersSee: 'reset' });
  await p.w.s.runFor(100);
  t.same(p.events, ['a open', 'b open', 'a close']);
  await t.rejects(drive(p.w.s, p.a.dial(p.w.net.host('b')!.multiaddr)), { code: 'ECONNREFUSED' });
});

t.test('silence: existing connections carry nothing either way and nobody is told; new connections work', async (t) => {
  const p = await pair(28);
  p.w.net.silence('a', 'b');
  const lp = lpStream(p.client);
  await drive(p.w.s, lp.write(enc('lost')));
  await p.w.s.runFor(60_000);
  t.same(p.got, []);
  t.same(p.events, ['a open', 'b open'], 'no close on either side');
  t.ok(p.w.net.stats().framesSilenced >= 1);
  const conn = p.a.getConnections()[0]!;
  await drive(p.w.s, conn.close({ signal: AbortSignal.any([]) }).catch(() => undefined), 5_000).catch(() => undefined);
  await p.w.s.runFor(10);
  const fresh = await drive(p.w.s, p.a.dialProtocol(p.b.getMultiaddrs()[0]!, '/collect/1'));
  await drive(p.w.s, lpStream(fresh).write(enc('fresh')));
  await p.w.s.runFor(100);
  t.same(p.got, ['fresh'], 'a new connection carries');
});

t.test('uniform link delays within [latencyMinMs, latencyMaxMs]', async (t) => {
  const w = await testWorld(29, ['a', 'b'], { net: { link: { latencyMinMs: 5, latencyMaxMs: 7 } } });
  const t0 = w.s.nowMs();
  await drive(w.s, w.h('a').dial(w.h('b').getMultiaddrs()[0]!));
  const took = w.s.nowMs() - t0;
  t.ok(took >= 20 && took <= 28, `four one-way trips of 5-7 ms (${took})`);
});

// Sweep seeds 100222 and 100231 (at 90f2d33): a pair slowed while the default link was lossy kept
// that loss after the lossy fault was undone (the pair's profile was a copy of the default), so 20–40 %
// of the heartbeats between a and b were lost through the quiet period. A pair keeps only what was set
// for it; the rest follows the default.
t.test('a pair\'s link profile keeps only its own fields; the rest follows the default as it changes', async (t) => {
  const w = await testWorld(7, ['a', 'b']);
  w.net.setDefaultLink({ gossipDropRate: 0.3 });
  w.net.setLink('a', 'b', { latencyMinMs: 50, latencyMaxMs: 80 });
  t.match(w.net.linkProfile('a', 'b'), { gossipDropRate: 0.3, latencyMinMs: 50, latencyMaxMs: 80 });
  w.net.setDefaultLink({ gossipDropRate: 0 });
  t.match(w.net.linkProfile('a', 'b'), { gossipDropRate: 0, latencyMinMs: 50, latencyMaxMs: 80 }, 'the default\'s loss undone for the pair too');
  t.match(w.net.linkProfile('b', 'a'), { gossipDropRate: 0 }, 'one way only');
  w.net.setLink('a', 'b', { gossipDropRate: 0.5 });
  w.net.setDefaultLink({ gossipDropRate: 0.1 });
  t.equal(w.net.linkProfile('a', 'b').gossipDropRate, 0.5, 'a field set for the pair wins over the default');
});
