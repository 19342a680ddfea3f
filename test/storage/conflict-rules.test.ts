// What each strategy decides for concurrent edits, with two in-memory replicas.
import t from 'tap';
import { conflictRule, type StrategyName } from '../../storage/logic/rules/index.ts';
import { compareVv } from '../../storage/logic/version-vector.ts';
import { SimReplica, spec } from './replica-sim.ts';

const K = 'ProxyRoute/default/r1';

// A and B share a base version, then edit concurrently at the given times; returns both, unsynced.
function forked(strategy: StrategyName, editA: Record<string, unknown> | null, atA: number, editB: Record<string, unknown> | null, atB: number) {
  const rule = conflictRule(strategy);
  const a = new SimReplica('a', rule);
  const b = new SimReplica('b', rule);
  b.receive(a.local(K, { op: 'put', value: spec(1, { x: 0, y: 0, keep: 'same' }) as never }, 1000)!, 1000);
  const ra = a.local(K, editA === null ? { op: 'delete' } : { op: 'put', value: spec(1, editA) as never }, atA)!;
  const rb = b.local(K, editB === null ? { op: 'delete' } : { op: 'put', value: spec(1, editB) as never }, atB)!;
  t.equal(compareVv(ra.vv, rb.vv), 'concurrent', 'the two edits are concurrent');
  return { rule, a, b, ra, rb, heal: () => { a.receive(rb, 3000); b.receive(ra, 3000); } };
}

t.test('LastWriterWins: the higher stamp wins on both sides', async (t) => {
  const f = forked('LastWriterWins', { x: 1, y: 0, keep: 'same' }, 2000, { x: 2, y: 2, keep: 'same' }, 2001);
  f.heal();
  t.equal(f.a.dump(), f.b.dump());
  t.same(f.rule.view(f.a.records.get(K)!, 'a')!.spec, { x: 2, y: 2, keep: 'same' }, "b's later write wins everywhere");
  t.equal(f.rule.conflict(f.a.records.get(K)!, 'a'), undefined, 'nothing left pending');
  t.equal(f.a.records.get(K)!.entries.length, 1);
});

t.test('LastWriterWins: a later delete beats an earlier concurrent update', async (t) => {
  const f = forked('LastWriterWins', { x: 1 }, 2000, null, 2500);
  f.heal();
  t.equal(f.rule.view(f.a.records.get(K)!, 'a'), null);
  t.ok(f.rule.deleted(f.b.records.get(K)!));
});

t.test('Merge: fields changed on one side each keep their change, no conflict', async (t) => {
  const f = forked('Merge', { x: 1, y: 0, keep: 'same' }, 2000, { x: 0, y: 2, keep: 'same' }, 1500);
  f.heal();
  t.equal(f.a.dump(), f.b.dump());
  t.same(f.rule.view(f.a.records.get(K)!, 'a')!.spec, { x: 1, y: 2, keep: 'same' });
  t.equal(f.rule.conflict(f.a.records.get(K)!, 'a'), undefined);
});

t.test('Merge: a field changed on both sides takes the higher stamp and is recorded as a conflict', async (t) => {
  const f = forked('Merge', { x: 1, y: 0, keep: 'same' }, 2000, { x: 2, y: 0, keep: 'same', added: true }, 2100);
  f.heal();
  const rec = f.a.records.get(K)!;
  t.same(f.rule.view(rec, 'a')!.spec, { x: 2, y: 0, keep: 'same', added: true });
  const c = f.rule.conflict(rec, 'a')!;
  t.equal(c.strategy, 'Merge');
  t.same(c.fields!.map((x) => x.path), [['spec', 'x']]);
  t.same(c.fields![0]!.versions.map((v) => [v.origin, v.value]), [['b', 2], ['a', 1]], 'both values kept, newest first');
  // Resolving keeps a's value for the conflicted field, on every replica once synced.
  const resolved = f.a.local(K, { op: 'resolve', keep: 'local' }, 4000)!;
  f.b.receive(resolved, 4000);
  t.equal(f.rule.conflict(f.b.records.get(K)!, 'b'), undefined, 'cleared on the other replica');
  t.same(f.rule.view(f.b.records.get(K)!, 'b')!.spec, { x: 1, y: 0, keep: 'same', added: true });
});

t.test('Merge: removing a field on one side removes it; concurrent delete vs update resolves by stamp', async (t) => {
  const f = forked('Merge', { x: 0, keep: 'same' }, 2000, { x: 0, y: 0, keep: 'changed' }, 2100);
  f.heal();
  t.same(f.rule.view(f.a.records.get(K)!, 'a')!.spec, { x: 0, keep: 'changed' }, 'y removed by a, keep changed by b');
  const d = forked('Merge', null, 2000, { x: 5, y: 0, keep: 'same' }, 1900);
  d.heal();
  t.equal(d.rule.view(d.a.records.get(K)!, 'a'), null, 'the later delete wins, no half resource');
  const u = forked('Merge', null, 2000, { x: 5, y: 0, keep: 'same' }, 2100);
  u.heal();
  t.same(u.rule.view(u.a.records.get(K)!, 'a')!.spec, { x: 5, y: 0, keep: 'same' }, 'the later update wins whole');
});

t.test('Merge: concurrent type change of a field resolves by stamp, deterministically', async (t) => {
  const f = forked('Merge', { x: 0, y: 0, keep: 'same', n: 7 }, 2000, { x: 0, y: 0, keep: 'same', n: { deep: 1 } }, 2100);
  f.heal();
  t.equal(f.a.dump(), f.b.dump());
  t.same(f.rule.view(f.a.records.get(K)!, 'a')!.spec, { x: 0, y: 0, keep: 'same', n: { deep: 1 } });
  t.same(f.rule.view(f.b.records.get(K)!, 'b'), f.rule.view(f.a.records.get(K)!, 'a'));
});

t.test('Manual: siblings kept, each side serves its own until resolved; resolve clears it everywhere', async (t) => {
  const f = forked('Manual', { x: 1, y: 0, keep: 'same' }, 2000, { x: 2, y: 0, keep: 'same' }, 2100);
  f.heal();
  t.equal(f.a.dump(), f.b.dump(), 'replicated state converges');
  const rec = f.a.records.get(K)!;
  t.equal(rec.entries.length, 2);
  t.same(f.rule.view(rec, 'a')!.spec, { x: 1, y: 0, keep: 'same' }, 'a serves its own side');
  t.same(f.rule.view(rec, 'b')!.spec, { x: 2, y: 0, keep: 'same' }, 'b serves its own side');
  t.same(f.rule.view(rec, 'c')!.spec, { x: 2, y: 0, keep: 'same' }, 'a third member serves the newest');
  const c = f.rule.conflict(rec, 'a')!;
  t.same([c.local.origin, c.remote.map((v) => v.origin)], ['a', ['b']]);
  t.throws(() => f.a.local(K, { op: 'put', value: spec(1, { x: 9 }) as never }, 3000), { code: 'CONFLICT' }, 'plain writes refused while pending');
  const resolved = f.a.local(K, { op: 'resolve', keep: 'remote' }, 4000)!;
  t.equal(compareVv(resolved.vv, f.b.records.get(K)!.vv), 'after', 'the resolution dominates both sides');
  f.b.receive(resolved, 4000);
  t.equal(f.a.dump(), f.b.dump());
  t.equal(f.rule.conflict(f.b.records.get(K)!, 'b'), undefined, 'cleared on b');
  t.same(f.rule.view(f.b.records.get(K)!, 'b')!.spec, { x: 2, y: 0, keep: 'same' }, "b's value kept");
});

t.test('re-applying the same value changes nothing', async (t) => {
  for (const s of ['LastWriterWins', 'Merge', 'Manual'] as const) {
    const r = new SimReplica('a', conflictRule(s));
    t.ok(r.local(K, { op: 'put', value: spec(1, { x: 1 }) as never }, 1000), `${s}: first write`);
    t.equal(r.local(K, { op: 'put', value: spec(1, { x: 1 }) as never }, 1001), undefined, `${s}: same value is a no-op`);
    t.equal(r.local('ProxyRoute/default/none', { op: 'delete' }, 1002), undefined, `${s}: deleting nothing is a no-op`);
  }
});

t.test('a "__proto__" field is data, never a prototype, in every strategy', async (t) => {
  const text = '{"apiVersion":"v1","kind":"ProxyRoute","metadata":{"name":"p"},"spec":{"__proto__":{"polluted":true},"a":1}}';
  const { parseResource } = await import('../../storage/logic/resource.ts');
  for (const s of ['LastWriterWins', 'Merge', 'Manual'] as const) {
    const rule = conflictRule(s);
    const r = new SimReplica('a', rule);
    const rec = r.local('ProxyRoute/default/p', { op: 'put', value: parseResource(text).resource as never }, 1000)!;
    const shown = rule.view(rec, 'a')!.spec as Record<string, unknown>;
    t.ok(Object.hasOwn(shown, '__proto__'), `${s}: kept as an own field`);
    t.same(JSON.parse(JSON.stringify(shown)), JSON.parse('{"__proto__":{"polluted":true},"a":1}'), `${s}: round-trips`);
    t.equal(({} as Record<string, unknown>).polluted, undefined, `${s}: no prototype pollution`);
  }
});
