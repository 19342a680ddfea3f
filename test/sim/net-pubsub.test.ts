// Gossip on the simulated network: peering after the dialer's identify, subscription-change events,
// flood publish to subscribed peers, relay of accepted messages with the author kept apart from the
// forwarder, dedupe, a validator's reject stopping delivery and relay, the score gate on
// unauthenticated peers, and datagram faults (loss, duplication).
import t from 'tap';
import type { GossipsubMessage } from '@chainsafe/libp2p-gossipsub';
import { drive, testWorld, TEST_TOPIC, type TestWorld } from './net/test-world.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

interface Got {
  from: string;
  via: string;
  data: string;
}

// a–b and b–c connected (a and b dialed), identified, all subscribed; receipts recorded by name.
async function line(seed: number, o: { triangle?: boolean; link?: Parameters<typeof testWorld>[2] } = {}): Promise<{ w: TestWorld; got: Record<string, Got[]>; subs: string[] }> {
  const w = await testWorld(seed, ['a', 'b', 'c'], o.link);
  const names = new Map(Object.entries(w.hosts).map(([n, h]) => [h.peerId.toString(), n]));
  const got: Record<string, Got[]> = { a: [], b: [], c: [] };
  const subs: string[] = [];
  for (const [n, h] of Object.entries(w.hosts)) {
    h.services.pubsub.subscribe(TEST_TOPIC);
    h.services.pubsub.addEventListener('gossipsub:message', (e) => {
      const { propagationSource, msg } = (e as CustomEvent<GossipsubMessage>).detail;
      if (msg.type !== 'signed') throw new Error('unsigned');
      got[n]!.push({ from: names.get(msg.from.toString())!, via: names.get(propagationSource.toString())!, data: new TextDecoder().decode(msg.data) });
    });
    h.services.pubsub.addEventListener('subscription-change', (e) => {
      const d = (e as CustomEvent<{ peerId: { toString(): string }; subscriptions: Array<{ topic: string; subscribe: boolean }> }>).detail;
      subs.push(`${n} sees ${names.get(d.peerId.toString())} ${d.subscriptions.map((s) => `${s.subscribe ? '+' : '-'}${s.topic}`).join(',')}`);
    });
  }
  const links: Array<[string, string]> = [['a', 'b'], ['b', 'c']];
  if (o.triangle === true) links.push(['a', 'c']);
  for (const [x, y] of links) {
    const conn = await drive(w.s, w.hosts[x]!.dial(w.hosts[y]!.getMultiaddrs()[0]!));
    await drive(w.s, w.hosts[x]!.services.identify.identify(conn));
  }
  await w.s.runFor(100);
  return { w, got, subs };
}

t.test('peering after identify, subscription-change, publish, relay with author and forwarder apart', async (t) => {
  const { w, got, subs } = await line(31);
  t.same(subs.sort(), ['a sees b +test-topic', 'b sees a +test-topic', 'b sees c +test-topic', 'c sees b +test-topic']);
  t.same(w.hosts.b!.services.pubsub.getSubscribers(TEST_TOPIC).map(String).sort(), [w.hosts.a!.peerId.toString(), w.hosts.c!.peerId.toString()].sort());
  const r = await drive(w.s, w.hosts.a!.services.pubsub.publish(TEST_TOPIC, enc('hello')));
  t.same(r.recipients.map(String), [w.hosts.b!.peerId.toString()], 'a floods to the subscribed peers it has');
  await w.s.runFor(100);
  t.same(got.b, [{ from: 'a', via: 'a', data: 'hello' }]);
  t.same(got.c, [{ from: 'a', via: 'b', data: 'hello' }], 'c got it relayed by b, authored by a');
  t.same(got.a, [], 'no echo to the author');
});

t.test('dedupe: a message reaching a node twice is delivered once', async (t) => {
  const { w, got } = await line(32, { triangle: true });
  await drive(w.s, w.hosts.a!.services.pubsub.publish(TEST_TOPIC, enc('once')));
  await w.s.runFor(100);
  t.equal(got.c!.length, 1);
  t.equal(got.b!.length, 1);
  t.ok(w.hosts.c!.services.pubsub.stats().duplicates + w.hosts.b!.services.pubsub.stats().duplicates >= 1, 'the second copy was seen and dropped');
});

t.test('a validator\'s reject: no delivery, no relay; ignore likewise', async (t) => {
  const { w, got } = await line(33);
  const verdicts: string[] = [];
  w.hosts.b!.services.pubsub.topicValidators.set(TEST_TOPIC, async (source, msg) => {
    verdicts.push(`${source.equals(w.hosts.a!.peerId) ? 'from a' : 'other'} ${msg.type}`);
    return new TextDecoder().decode(msg.data) === 'bad' ? 'reject' as never : 'accept' as never;
  });
  await drive(w.s, w.hosts.a!.services.pubsub.publish(TEST_TOPIC, enc('bad')));
  await drive(w.s, w.hosts.a!.services.pubsub.publish(TEST_TOPIC, enc('good')));
  await w.s.runFor(100);
  t.same(verdicts, ['from a signed', 'from a signed']);
  t.same(got.b!.map((g) => g.data), ['good']);
  t.same(got.c!.map((g) => g.data), ['good'], 'the rejected message was not relayed');
  t.equal(w.hosts.b!.services.pubsub.stats().rejected, 1);
});

t.test('an unauthenticated peer is not published to (score below publishThreshold)', async (t) => {
  const { w, got } = await line(34);
  w.unauthenticated.b!.add(w.hosts.c!.peerId.toString());
  await w.s.runFor(1_000); // the score cache turns over once per gossip heartbeat
  await drive(w.s, w.hosts.a!.services.pubsub.publish(TEST_TOPIC, enc('m')));
  await w.s.runFor(100);
  t.same(got.b!.map((g) => g.data), ['m']);
  t.same(got.c, [], 'b did not forward to c');
});

t.test('datagram faults: loss and duplication', async (t) => {
  const lossy = await line(35, { link: { net: { link: { gossipDropRate: 1 } } } });
  await drive(lossy.w.s, lossy.w.hosts.a!.services.pubsub.publish(TEST_TOPIC, enc('lost')));
  await lossy.w.s.runFor(1_000);
  t.same(lossy.got.b, [], 'every message datagram lost');
  t.ok(lossy.w.net.stats().gossipDropped >= 1);
  const dup = await line(36, { link: { net: { link: { gossipDupRate: 1, gossipReorderRate: 0.5 } } } });
  for (const m of ['x', 'y', 'z']) await drive(dup.w.s, dup.w.hosts.a!.services.pubsub.publish(TEST_TOPIC, enc(m)));
  await dup.w.s.runFor(1_000);
  t.same(dup.got.b!.map((g) => g.data).sort(), ['x', 'y', 'z'], 'each delivered once despite duplicates');
  t.ok(dup.w.hosts.b!.services.pubsub.stats().duplicates >= 3);
});

t.test('a cut holds gossip like any bytes of the connection; a closed connection ends the peering', async (t) => {
  const { w, got } = await line(37);
  w.net.cut('a', 'b');
  await drive(w.s, w.hosts.a!.services.pubsub.publish(TEST_TOPIC, enc('held')));
  await w.s.runFor(10_000);
  t.same(got.b, []);
  w.net.heal();
  await w.s.runFor(100);
  t.same(got.b!.map((g) => g.data), ['held']);
  await drive(w.s, w.hosts.a!.getConnections()[0]!.close());
  await w.s.runFor(100);
  t.same(w.hosts.b!.services.pubsub.getSubscribers(TEST_TOPIC).map(String), [w.hosts.c!.peerId.toString()]);
  const r = await drive(w.s, w.hosts.a!.services.pubsub.publish(TEST_TOPIC, enc('alone')));
  t.same(r.recipients, []);
});

t.test('two nodes that dialed each other peer once each way and exchange messages', async (t) => {
  const w = await testWorld(38, ['a', 'b']);
  const [a, b] = [w.h('a'), w.h('b')];
  for (const h of [a, b]) h.services.pubsub.subscribe(TEST_TOPIC);
  const got: string[] = [];
  for (const [n, h] of [['a', a], ['b', b]] as const) {
    h.services.pubsub.addEventListener('gossipsub:message', (e) => got.push(`${n} ${new TextDecoder().decode((e as CustomEvent<GossipsubMessage>).detail.msg.data)}`));
  }
  // Both dial at once (a reconnector on each side): two connections, each identified by its dialer.
  const [ab, ba] = await drive(w.s, Promise.all([a.dial(b.getMultiaddrs()[0]!), b.dial(a.getMultiaddrs()[0]!)]));
  t.not(ab.id, ba.id);
  await drive(w.s, Promise.all([a.services.identify.identify(ab), b.services.identify.identify(ba)]));
  await w.s.runFor(100);
  t.same(a.services.pubsub.getSubscribers(TEST_TOPIC).map(String), [b.peerId.toString()]);
  t.same(b.services.pubsub.getSubscribers(TEST_TOPIC).map(String), [a.peerId.toString()]);
  await drive(w.s, a.services.pubsub.publish(TEST_TOPIC, enc('from a')));
  await drive(w.s, b.services.pubsub.publish(TEST_TOPIC, enc('from b')));
  await w.s.runFor(100);
  t.same(got.sort(), ['a from b', 'b from a']);
});
