// What each strategy decides for concurrent edits, with two in-memory replicas.
import t from 'tap';
import { conflictRule, type StrategyName } from '../../storage/logic/rules/index.ts';
import { compareVv } from '../../storage/logic/version-vector.ts';
import { SimReplica, spec } from './replica-sim.ts';

const K = 'ProxyRoute/default/r1';

// A Merge record as encoded before field removals were stamped: a put of {x:0, y:0, keep} by a at
// 1000, then b's put of {x:0, keep} at 1500, which dropped y's entry instead of stamping a removal.
const OLD_MERGE_RECORD = String.raw`{"digest":"a68788095b771efcbbd1917ad5b7cc015427967c1a5bbd53bfaf6405af795e75","entries":[{"counter":1,"hlc":{"logical":0,"member":"b","wallMs":1500},"path":"","value":true},{"counter":1,"hlc":{"logical":0,"member":"a","wallMs":1000},"path":"[\"apiVersion\"]","value":"novaedge.io/v1alpha1"},{"counter":1,"hlc":{"logical":0,"member":"a","wallMs":1000},"path":"[\"kind\"]","value":"ProxyRoute"},{"counter":1,"hlc":{"logical":0,"member":"a","wallMs":1000},"path":"[\"metadata\",\"name\"]","value":"r1"},{"counter":1,"hlc":{"logical":0,"member":"a","wallMs":1000},"path":"[\"metadata\",\"namespace\"]","value":"default"},{"counter":1,"hlc":{"logical":0,"member":"a","wallMs":1000},"path":"[\"spec\",\"keep\"]","value":"same"},{"counter":1,"hlc":{"logical":0,"member":"a","wallMs":1000},"path":"[\"spec\",\"x\"]","value":0}],"key":"ProxyRoute/default/r1","vv":{"a":1,"b":1}}`;

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

t.test('Merge: a removal is a stamped field write: LWW against a concurrent change, recorded as a conflict', async (t) => {
  // Base {x:0, y:0}; b sets x=1 at t=1500; a removes x at t=2000. The later removal wins on both
  // replicas, whichever record each sees first, and the field is listed as a conflict.
  const f = forked('Merge', { y: 0, keep: 'same' }, 2000, { x: 1, y: 0, keep: 'same' }, 1500);
  f.heal();
  t.equal(f.a.dump(), f.b.dump(), 'both replicas hold the same bytes');
  for (const [r, self] of [[f.a, 'a'], [f.b, 'b']] as const) {
    const rec = r.records.get(K)!;
    t.same(f.rule.view(rec, self)!.spec, { y: 0, keep: 'same' }, `${self}: x removed (stamp 2000 beats 1500)`);
    const c = f.rule.conflict(rec, self);
    t.ok(c, `${self}: a conflict is recorded`);
    t.same(c?.fields?.map((x) => x.path), [['spec', 'x']], `${self}: on spec.x`);
    t.same(c?.fields?.[0]?.versions.map((v) => [v.origin, v.value, v.removed ?? false]), [['a', null, true], ['b', 1, false]],
      `${self}: both versions kept, the removal first`);
  }
  // Both delivery orders to a third replica give the same record.
  const ab = new SimReplica('c', f.rule);
  ab.receive(f.ra, 3000); ab.receive(f.rb, 3000);
  const ba = new SimReplica('c', f.rule);
  ba.receive(f.rb, 3000); ba.receive(f.ra, 3000);
  t.equal(ab.dump(), ba.dump(), 'order of arrival does not matter');
  t.equal(ab.dump(), f.a.dump());

  // The same edits with the stamps swapped: the later change wins, still a conflict.
  const g = forked('Merge', { y: 0, keep: 'same' }, 1500, { x: 1, y: 0, keep: 'same' }, 2000);
  g.heal();
  t.equal(g.a.dump(), g.b.dump());
  t.same(g.rule.view(g.a.records.get(K)!, 'a')!.spec, { x: 1, y: 0, keep: 'same' }, 'change at 2000 beats removal at 1500');
  t.same(g.rule.conflict(g.b.records.get(K)!, 'b')?.fields?.map((x) => x.path), [['spec', 'x']]);

  // Resolving towards the removal removes the field everywhere and clears the conflict.
  const resolved = g.a.local(K, { op: 'resolve', keep: 'local' }, 4000)!;
  g.b.receive(resolved, 4000);
  t.same(g.rule.view(g.b.records.get(K)!, 'b')!.spec, { y: 0, keep: 'same' }, "a's removal kept");
  t.equal(g.rule.conflict(g.b.records.get(K)!, 'b'), undefined, 'cleared');
});

t.test('Merge: removing the same field on both sides, or setting it to the same value, is no conflict', async (t) => {
  const f = forked('Merge', { y: 2, keep: 'same' }, 2000, { y: 1, keep: 'same' }, 1500);
  f.heal();
  t.same(f.rule.view(f.a.records.get(K)!, 'a')!.spec, { y: 2, keep: 'same' }, 'x removed by both, y by stamp');
  t.same(f.rule.conflict(f.a.records.get(K)!, 'a')?.fields?.map((x) => x.path), [['spec', 'y']], 'only y, written differently, conflicts');
  const same = forked('Merge', { x: 7, y: 0, keep: 'same' }, 2000, { x: 7, y: 0, keep: 'same' }, 1500);
  same.heal();
  t.equal(same.rule.conflict(same.a.records.get(K)!, 'a'), undefined);
});

t.test('Merge: records written before removals were stamped read the same and take removals', async (t) => {
  // Encoded by the code before field removals were stamped (a put, then b's put removing y).
  const { decodeRecord } = await import('../../storage/logic/record.ts');
  const rule = conflictRule('Merge');
  const old = decodeRecord(OLD_MERGE_RECORD);
  t.same(rule.view(old, 'a'), { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: 'r1', namespace: 'default' }, spec: { keep: 'same', x: 0 } });
  t.equal(rule.conflict(old, 'a'), undefined);
  const r = new SimReplica('a', rule);
  r.receive(old, 5000);
  const next = r.local(K, { op: 'put', value: spec(1, { keep: 'same' }) as never }, 5000)!;
  t.same(rule.view(next, 'a')!.spec, { keep: 'same' }, 'a removal on top of an old record');
  t.equal(r.local(K, { op: 'put', value: spec(1, { keep: 'same' }) as never }, 5001), undefined, 'and writing it again changes nothing');
});

t.test('a member named "constructor" numbers its writes 1, 2, 3 in every strategy', async (t) => {
  for (const s of ['LastWriterWins', 'Merge', 'Manual'] as const) {
    const rule = conflictRule(s);
    const other = new SimReplica('a', rule);
    const r = new SimReplica('constructor', rule);
    r.receive(other.local(K, { op: 'put', value: spec(1, { x: 0 }) as never }, 1000)!, 1000);
    for (let i = 1; i <= 3; i++) {
      const rec = r.local(K, { op: 'put', value: spec(1, { x: i }) as never }, 1000 + i)!;
      t.same(rec.vv, { a: 1, constructor: i }, `${s}: vv after write ${i}`);
      const own = rec.entries.filter((e) => e.hlc.member === 'constructor').map((e) => e.counter);
      t.equal(Math.max(...own), i, `${s}: its newest entry is its write ${i}`);
    }
  }
});


t.test('Merge: a record keeps at most FIELD_REMOVALS_MAX field removals, the newest', async (t) => {
  const { FIELD_REMOVALS_MAX } = await import('../../storage/logic/rules/field-tombstone.ts');
  const rule = conflictRule('Merge');
  const r = new SimReplica('a', rule);
  const fields = (from: number, n: number): Record<string, number> => Object.fromEntries(Array.from({ length: n }, (_, i) => [`f${from + i}`, 1]));
  // Field names churn: every write replaces 600 fields with 600 new ones.
  for (let round = 0; round < 4; round++) r.local(K, { op: 'put', value: spec(1, fields(round * 600, 600)) as never }, 1000 + round);
  const rec = r.records.get(K)!;
  const removals = rec.entries.filter((e) => typeof e.value === 'object' && e.value !== null && '$removed' in e.value);
  t.equal(removals.length, FIELD_REMOVALS_MAX, 'bounded');
  t.same(Object.keys(rule.view(rec, 'a')!.spec as object).length, 600, 'the resource is whole');
  t.ok(removals.every((e) => e.hlc.wallMs >= 1002), 'the newest removals are the ones kept');
  t.equal(r.local(K, { op: 'put', value: spec(1, fields(1800, 600)) as never }, 2000), undefined, 'writing it again changes nothing');
});
