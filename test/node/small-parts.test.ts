// Small parts of the node: deny list bounds, emitter isolation.

import t from 'tap';
import { DenyList } from '../../node/auth/deny-list.ts';
import { Emitter } from '../../node/util/emitter.ts';

t.test('deny list: expiry and bound', async (t) => {
  const d = new DenyList(3);
  d.deny('a', 100);
  t.ok(d.isDenied('a', 99));
  t.notOk(d.isDenied('a', 100), 'expires at its time');
  for (const p of ['p1', 'p2', 'p3', 'p4']) d.deny(p, 1000);
  t.equal(d.size, 3, 'bounded');
  t.notOk(d.isDenied('p1', 0), 'oldest dropped first');
  t.ok(d.isDenied('p4', 0));
  d.prune(2000);
  t.equal(d.size, 0);
});

t.test('emitter: a throwing listener does not stop the others or the emitter', async (t) => {
  const errors: unknown[] = [];
  const e = new Emitter<{ tick: (n: number) => void }>((err) => errors.push(err));
  const seen: number[] = [];
  e.on('tick', () => { throw new Error('listener bug'); });
  const off = e.on('tick', (n) => seen.push(n));
  e.emit('tick', 1);
  off();
  e.emit('tick', 2);
  t.same(seen, [1]);
  t.equal(errors.length, 2);
});
