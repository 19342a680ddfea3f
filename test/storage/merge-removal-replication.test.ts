// Field removals under Merge are entries like any other and must replicate like them: a peer store
// takes a record whose removals include the deepest field a resource may hold (its removal marker
// sits one level below the field), as the record and as decoded from the wire.
import t from 'tap';
import { join } from 'node:path';
import { Store } from '../../storage/index.ts';
import { spec } from './replica-sim.ts';

type Test = import('tap').Test;

async function open(t: Test, member: string): Promise<Store> {
  const s = await Store.open({ path: join(t.testdir(), member), member, strategy: 'Merge' });
  t.teardown(() => s.close());
  return s;
}

// A value `levels` objects deep: under spec.deep its leaf is 2 + levels fields down (32: the limit).
function nested(levels: number): unknown {
  return JSON.parse('{"a":'.repeat(levels) + '1' + '}'.repeat(levels));
}

t.test('a record removing the deepest field and a top-level one replicates', async (t) => {
  const a = await open(t, 'a');
  const b = await open(t, 'b');
  const c = await open(t, 'c');
  const K = 'ProxyRoute/default/r1';
  const first = await a.apply(spec(1, { x: 1, keep: 'k', deep: nested(30) }));
  t.ok((await b.applyRemote(first.record, { source: 'a' })).changed);
  const removed = await a.apply(spec(1, { keep: 'k' }));
  t.ok(removed.changed);
  t.ok((await b.applyRemote(removed.record, { source: 'a' })).changed, 'the peer takes the removals');
  t.same((await b.get(K))!.value!.spec, { keep: 'k' });
  t.ok((await c.applyRemote(JSON.parse(JSON.stringify(removed.record)), { source: 'a' })).changed, 'also decoded from JSON');
  t.equal(c.merkle.root(), a.merkle.root());
  t.equal(b.merkle.root(), a.merkle.root());
});
