// A peer re-peered over a second connection to the same node keeps the topics it is known to
// subscribe to: the other end is peered already, so it does not send them again. (Seed 20 of the
// random runs: b re-peered with a and c after a pause, forgot their subscriptions and flood-published
// its heartbeats to nobody; a showed b Unknown and c showed it Unhealthy for the whole quiet period.)
import t from 'tap';
import { multiaddr } from '@multiformats/multiaddr';
import { drive, testWorld, TEST_TOPIC } from './net/test-world.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

t.test('a second connection between two peered nodes does not lose the subscriptions either knows', async (t) => {
  const w = await testWorld(41, ['a', 'b'], { net: { link: { latencyMinMs: 1, jitterMeanMs: 1 } } });
  const a = w.h('a');
  const b = w.h('b');
  for (const h of [a, b]) h.services.pubsub.subscribe(TEST_TOPIC);
  // a dials b and identifies: they peer over that connection and learn each other's subscriptions.
  const ab = await drive(w.s, a.dial(b.getMultiaddrs()[0]!));
  await drive(w.s, a.services.identify.identify(ab));
  await w.s.runFor(100);
  t.same(b.services.pubsub.getSubscribers(TEST_TOPIC).map(String), [a.peerId.toString()], 'b knows a subscribes');
  // Later b dials a as well (both ends of a pair redial; an address without a peer ID opens a new
  // connection) and identifies: b peers over its own connection.
  const ba = await drive(w.s, b.dial(multiaddr('/memory/a')));
  await drive(w.s, b.services.identify.identify(ba));
  await w.s.runFor(100);
  t.equal(b.getConnections(a.peerId).length, 2, 'two connections');
  t.same(b.services.pubsub.getSubscribers(TEST_TOPIC).map(String), [a.peerId.toString()], 'b still knows a subscribes');
  const r = await drive(w.s, b.services.pubsub.publish(TEST_TOPIC, enc('heartbeat')));
  t.same(r.recipients.map(String), [a.peerId.toString()], 'and b\'s messages reach a');
});
