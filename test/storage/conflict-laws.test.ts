// Properties of the conflict rules with member names and field names such as "constructor",
// "__proto__" and "toString" mixed with ordinary ones:
// - the join of any two record versions a history produces is commutative, associative and
//   idempotent, also through the canonical encoding (JSON.parse makes "__proto__" an own key);
// - Merge decides every field by its stamp, a removal included: an oracle computes the outcome of two
//   concurrent edits (sets and removals of nested fields, arrays as values) from the edits alone.
import t from 'tap';
import fc from 'fast-check';
import { canonicalJson, jsonEqual, type Json } from '../../storage/logic/canonical.ts';
import { compareHlc, type HlcStamp } from '../../storage/logic/hlc.ts';
import { joinRecords } from '../../storage/logic/join.ts';
import { buildFromLeaves, encodePath, flattenLeaves } from '../../storage/logic/json-paths.ts';
import { decodeRecord, encodeRecord, type StoredRecord } from '../../storage/logic/record.ts';
import { conflictRule, STRATEGY_NAMES } from '../../storage/logic/rules/index.ts';
import { check, runs } from '../helpers/fc-run.ts';
import { copyJson, editField, FIELD_NAMES, MEMBER_NAMES, REMOVE } from './edits.ts';
import { SimReplica, spec } from './replica-sim.ts';

const K = 'ProxyRoute/default/r1';
type Obj = { [key: string]: Json };

const pathArb = fc.array(fc.constantFrom(...FIELD_NAMES), { minLength: 1, maxLength: 3 });
const valueArb: fc.Arbitrary<Json> = fc.oneof(
  fc.integer({ min: 0, max: 3 }), fc.constantFrom('x', 'y'), fc.constant(null),
  fc.constantFrom<Json>({}, { deep: 1 }, { constructor: { z: 2 } }, [1, 2], [], [{ a: 1 }]),
);
const editArb = fc.record({ path: pathArb, value: fc.oneof({ weight: 2, arbitrary: valueArb }, { weight: 1, arbitrary: fc.constant(REMOVE) }) });

type Op =
  | { kind: 'edit'; w: number; edits: Array<{ path: string[]; value: Json | typeof REMOVE }> }
  | { kind: 'delete'; w: number }
  | { kind: 'resolve'; w: number; keep: 'local' | 'remote' }
  | { kind: 'sync'; from: number; to: number }
  | { kind: 'tick'; ms: number };
const w = fc.nat({ max: MEMBER_NAMES.length - 1 });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('edit' as const), w, edits: fc.array(editArb, { minLength: 1, maxLength: 3 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), w }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resolve' as const), w, keep: fc.constantFrom('local' as const, 'remote' as const) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: w, to: w }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.nat({ max: 3 }) }) },
);

// Every record version a random history of edits, deletes, resolves and syncs produces for one key.
function history(strategy: (typeof STRATEGY_NAMES)[number], members: number, ops: Op[]): StoredRecord[] {
  const rule = conflictRule(strategy);
  const replicas = MEMBER_NAMES.slice(0, members).map((m) => new SimReplica(m, rule));
  const versions: StoredRecord[] = [];
  let now = 1_000_000;
  for (const op of ops) {
    if (op.kind === 'tick') { now += op.ms; continue; }
    if (op.kind === 'sync') {
      const r = replicas[op.from % members]!.records.get(K);
      const to = replicas[op.to % members]!;
      if (r !== undefined && to.receive(r, now)) versions.push(to.records.get(K)!);
      continue;
    }
    const r = replicas[op.w % members]!;
    const cur = r.records.get(K);
    let out: StoredRecord | undefined;
    try {
      if (op.kind === 'edit') {
        let v = (cur === undefined ? null : rule.view(cur, r.clock.member)) ?? (spec(1) as Obj);
        for (const e of op.edits) v = editField(v, e.path, e.value);
        out = r.local(K, { op: 'put', value: v }, now);
      } else if (op.kind === 'delete') {
        out = r.local(K, { op: 'delete' }, now);
      } else {
        out = r.local(K, { op: 'resolve', keep: op.keep }, now);
      }
    } catch (err) {
      if ((err as { code?: string }).code !== 'CONFLICT') throw err;
    }
    if (out !== undefined) versions.push(out);
  }
  return versions;
}

for (const strategy of STRATEGY_NAMES) {
  t.test(`${strategy}: join is commutative, associative and idempotent (names such as constructor and __proto__)`, async (t) => {
    const rule = conflictRule(strategy);
    const pick = fc.tuple(fc.nat(), fc.nat(), fc.nat());
    check(t, fc.property(fc.integer({ min: 2, max: MEMBER_NAMES.length }), fc.array(opArb, { maxLength: 30 }), fc.array(pick, { minLength: 1, maxLength: 8 }),
      (members, ops, picks) => {
        const versions = history(strategy, members, ops);
        if (versions.length === 0) return true;
        const join = (x: StoredRecord, y: StoredRecord): StoredRecord => joinRecords(rule, x, y);
        for (const [i, j, k] of picks) {
          const x = versions[i % versions.length]!;
          const y = versions[j % versions.length]!;
          const z = versions[k % versions.length]!;
          // Through the canonical encoding, as records travel: decoded objects have Object.prototype.
          const xd = decodeRecord(encodeRecord(x));
          if (xd.digest !== x.digest) throw new Error('decode changes the record');
          if (join(x, y).digest !== join(y, xd).digest) throw new Error(`not commutative:\n${encodeRecord(x)}\n${encodeRecord(y)}`);
          if (join(join(x, y), z).digest !== join(x, join(y, z)).digest) throw new Error('not associative');
          if (join(x, xd).digest !== x.digest) throw new Error('not idempotent');
          if (join(join(x, y), y).digest !== join(x, y).digest) throw new Error('joining a part again changes the join');
          const view = canonicalJson(rule.view(join(x, y), 'm1'));
          if (view !== canonicalJson(rule.view(join(y, xd), 'm1'))) throw new Error('views differ');
        }
        return true;
      }), runs(150));
    t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
  });
}

// The stamp a field's current value came from.
interface Leaf { value: Json; stamp: HlcStamp }

t.test('Merge: each field is decided by its stamp, a removal like any other write (oracle from the edits alone)', async (t) => {
  const rule = conflictRule('Merge');
  // Few names, so that the two sides often touch the same fields.
  const path = fc.array(fc.constantFrom('a', '__proto__', 'constructor'), { minLength: 1, maxLength: 2 });
  const baseArb = fc.array(fc.record({ path, value: valueArb }), { maxLength: 6 });
  const sideArb = fc.array(fc.record({ path, value: fc.oneof(valueArb, fc.constant(REMOVE)) }), { minLength: 1, maxLength: 4 });
  let removalsWon = 0;
  let conflicts = 0;
  check(t, fc.property(
    fc.uniqueArray(fc.constantFrom(...MEMBER_NAMES), { minLength: 2, maxLength: 2 }), baseArb, sideArb, sideArb,
    fc.integer({ min: 1_001, max: 1_010 }), fc.integer({ min: 1_001, max: 1_010 }), fc.boolean(),
    ([nameA, nameB], baseEdits, editsA, editsB, atA, atB, aFirst) => {
      let base = spec(1) as Obj;
      for (const e of baseEdits) base = editField(base, e.path, e.value);
      let valueA = base;
      for (const e of editsA) valueA = editField(valueA, e.path, e.value);
      let valueB = base;
      for (const e of editsB) valueB = editField(valueB, e.path, e.value);

      const a = new SimReplica(nameA!, rule);
      const b = new SimReplica(nameB!, rule);
      b.receive(a.local(K, { op: 'put', value: copyJson(base) }, 1_000)!, 1_000);
      const ra = a.local(K, { op: 'put', value: copyJson(valueA) }, atA);
      const rb = b.local(K, { op: 'put', value: copyJson(valueB) }, atB);
      if (aFirst) { if (rb) a.receive(rb, 2_000); if (ra) b.receive(ra, 2_000); } else { if (ra) b.receive(ra, 2_000); if (rb) a.receive(rb, 2_000); }
      if (a.dump() !== b.dump()) throw new Error('replicas differ');

      // The oracle: per leaf path, the base's leaf unless a side changed it (set, changed or removed);
      // changed on both sides, the later stamp's outcome, a conflict when the outcomes differ.
      const stampBase: HlcStamp = { wallMs: 1_000, logical: 0, member: nameA! };
      const stampA: HlcStamp = { wallMs: atA, logical: 0, member: nameA! };
      const stampB: HlcStamp = { wallMs: atB, logical: 0, member: nameB! };
      const l0 = flattenLeaves(base);
      const la = flattenLeaves(valueA);
      const lb = flattenLeaves(valueB);
      const changed = (l: Map<string, Json>, p: string): boolean =>
        l0.has(p) !== l.has(p) || (l.has(p) && !jsonEqual(l0.get(p)!, l.get(p)!));
      const leaves = new Map<string, Leaf | undefined>();
      const wantConflicts: string[] = [];
      for (const p of new Set([...l0.keys(), ...la.keys(), ...lb.keys()])) {
        const ca = changed(la, p);
        const cb = changed(lb, p);
        const sideA = la.has(p) ? { value: la.get(p)!, stamp: stampA } : undefined;
        const sideB = lb.has(p) ? { value: lb.get(p)!, stamp: stampB } : undefined;
        if (ca && cb) {
          const aWins = compareHlc(stampA, stampB) > 0;
          leaves.set(p, aWins ? sideA : sideB);
          if ((sideA === undefined) !== (sideB === undefined) || (sideA && sideB && !jsonEqual(sideA.value, sideB.value))) {
            wantConflicts.push(p);
            if ((aWins ? sideA : sideB) === undefined) removalsWon++;
          }
        } else if (ca) leaves.set(p, sideA);
        else if (cb) leaves.set(p, sideB);
        else leaves.set(p, l0.has(p) ? { value: l0.get(p)!, stamp: stampBase } : undefined);
      }
      // Fields that clash in shape (a leaf above another) are placed by priority: the later stamp first.
      const placed = [...leaves].filter((x): x is [string, Leaf] => x[1] !== undefined)
        .sort(([pa, x], [pb, y]) => compareHlc(y.stamp, x.stamp) || (pa < pb ? -1 : 1))
        .map(([p, x]) => [p, x.value] as const);
      const want = buildFromLeaves(placed).value;
      for (const [r, self] of [[a, nameA!], [b, nameB!]] as const) {
        const rec = r.records.get(K)!;
        const got = rule.view(rec, self);
        if (canonicalJson(got) !== canonicalJson(want)) {
          throw new Error(`view on ${self}:\n${canonicalJson(got)}\nwant\n${canonicalJson(want)}`);
        }
        const gotConflicts = (rule.conflict(rec, self)?.fields ?? []).map((f) => encodePath(f.path)).sort();
        if (JSON.stringify(gotConflicts) !== JSON.stringify(wantConflicts.sort())) {
          throw new Error(`conflicts on ${self}: ${JSON.stringify(gotConflicts)}, want ${JSON.stringify(wantConflicts)}`);
        }
      }
      conflicts += wantConflicts.length;
      return true;
    }), runs(400));
  t.ok(removalsWon > 0 && conflicts > 0, `the runs exercised conflicts (${conflicts}) that a removal won (${removalsWon})`);
});
