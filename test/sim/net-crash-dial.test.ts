// A dial in flight when its node crashes dies with it: the node's next incarnation dials afresh
// instead of joining the dead dial (which never settles: its timers were the crashed node's).
import t from 'tap';
import { drive, testWorld } from './net/test-world.ts';

t.test('a dial pending at a crash does not hold the next incarnation\'s dials', async (t) => {
  const w = await testWorld(3, ['a', 'b'], { net: { link: { latencyMinMs: 1, jitterMeanMs: 1 } } });
  w.net.cut('a', 'b', { mode: 'silent' });
  // The SYN is lost in the cut: the dial is still waiting when a crashes.
  void w.h('a').dial(w.h('b').getMultiaddrs()[0]!).catch(() => undefined);
  await w.s.runFor(100);
  w.net.crash('a', { peersSee: 'reset' });
  w.net.heal();
  await w.restart('a');
  const again = w.h('a').dial(w.h('b').getMultiaddrs()[0]!).then(() => 'connected', (e: unknown) => `failed: ${String(e)}`);
  t.equal(await drive(w.s, again, 10_000, 'the new dial'), 'connected');
});
