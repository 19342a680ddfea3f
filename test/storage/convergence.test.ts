// Property: for each strategy, any set of record versions delivered to any number of replicas, in
// any order, with duplicates, ends in byte-identical replicas with equal Merkle roots. Writers are
// named like Object.prototype members ("constructor", "__proto__", ...) as well as plainly, and edits
// set and remove fields (also named "__proto__"), nested objects and arrays as values.
import t from 'tap';
import fc from 'fast-check';
import { conflictRule, STRATEGY_NAMES } from '../../storage/logic/rules/index.ts';
import type { StoredRecord } from '../../storage/logic/record.ts';
import { SimReplica, spec } from './replica-sim.ts';
import { check, runs } from '../helpers/fc-run.ts';
import { editField, MEMBER_NAMES, REMOVE } from './edits.ts';

const numRuns = runs(150);

type Op =
  | { kind: 'put'; w: number; key: number; field: string; value: unknown }
  | { kind: 'unset'; w: number; key: number; field: string }
  | { kind: 'delete'; w: number; key: number }
  | { kind: 'sync'; from: number; to: number; key: number }
  | { kind: 'resolve'; w: number; key: number; keep: 'local' | 'remote' }
  | { kind: 'tick'; ms: number };

const w = fc.nat({ max: 3 });
const key = fc.nat({ max: 2 });
const value = fc.oneof(fc.integer({ min: 0, max: 3 }), fc.constantFrom('x', 'y'), fc.constant({ deep: 1 }), fc.constant([1, 2]));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ kind: fc.constant('put' as const), w, key, field: fc.constantFrom('a', 'b', 'n.x', 'n', '__proto__', 'n.constructor'), value }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('unset' as const), w, key, field: fc.constantFrom('a', 'n.x', 'n', '__proto__', 'n.constructor') }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), w, key }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('sync' as const), from: w, to: w, key }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('resolve' as const), w, key, keep: fc.constantFrom('local' as const, 'remote' as const) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('tick' as const), ms: fc.nat({ max: 3 }) }) },
);

// Small deterministic PRNG for delivery orders (mulberry32).
function rng(s: number): () => number {
  let a = s >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

function withField(base: Record<string, unknown> | null, i: number, field: string, v: unknown): Record<string, unknown> {
  return editField((base ?? spec(i)) as never, field.split('.'), v as never);
}

for (const strategy of STRATEGY_NAMES) {
  t.test(`${strategy}: replicas converge byte for byte whatever the delivery order`, async (t) => {
    const rule = conflictRule(strategy);
    const property = fc.property(
      fc.integer({ min: 2, max: 4 }), fc.array(opArb, { maxLength: 40 }), fc.integer({ min: 1, max: 3 }), fc.integer(),
      fc.array(fc.integer({ min: -50, max: 50 }), { minLength: 4, maxLength: 4 }),
      (members, ops, receivers, orderSeed, skewMs) => {
        const writers = Array.from({ length: members }, (_, i) => new SimReplica(MEMBER_NAMES[i]!, rule));
        const versions: StoredRecord[] = [];
        let now = 1_000_000;
        for (const op of ops) {
          if (op.kind === 'tick') { now += op.ms; continue; }
          if (op.kind === 'sync') {
            const from = writers[op.from % members]!;
            const to = writers[op.to % members]!;
            const r = from.records.get(`ProxyRoute/default/r${op.key}`);
            if (r !== undefined && to.receive(r, now + skewMs[op.to % members]!)) versions.push(to.records.get(r.key)!);
            continue;
          }
          const writer = writers[op.w % members]!;
          const k = `ProxyRoute/default/r${op.key}`;
          const at = now + skewMs[op.w % members]!;
          let out: StoredRecord | undefined;
          try {
            if (op.kind === 'put' || op.kind === 'unset') {
              const cur = writer.records.get(k);
              const shown = cur === undefined ? null : rule.view(cur, writer.clock.member);
              const v = op.kind === 'put' ? op.value : REMOVE;
              out = writer.local(k, { op: 'put', value: withField(shown, op.key, op.field, v) as never }, at);
            } else if (op.kind === 'delete') {
              out = writer.local(k, { op: 'delete' }, at);
            } else {
              out = writer.local(k, { op: 'resolve', keep: op.keep }, at);
            }
          } catch (err) {
            if ((err as { code?: string }).code !== 'CONFLICT') throw err;
          }
          if (out !== undefined) versions.push(out);
        }
        const random = rng(orderSeed);
        const deliver = (r: SimReplica): void => {
          const order = versions.map((v) => [random(), v] as const).sort((a, b) => a[0] - b[0]).map(([, v]) => v);
          for (const v of order) {
            r.receive(v, now + 100);
            if (random() < 0.3) r.receive(order[Math.floor(random() * order.length)]!, now + 100);
          }
        };
        const fresh = Array.from({ length: receivers }, (_, i) => new SimReplica(`recv${i}`, rule));
        for (const r of [...fresh, ...writers]) deliver(r);
        const want = fresh[0]!.dump();
        const root = fresh[0]!.merkle.root();
        for (const r of [...fresh, ...writers]) {
          if (r.dump() !== want) throw new Error(`replica ${r.clock.member} differs:\n${r.dump()}\n---\n${want}`);
          if (r.merkle.root() !== root) throw new Error(`replica ${r.clock.member} has another Merkle root`);
        }
        // Manual keeps one view per member; LWW and Merge serve the same value everywhere.
        if (strategy !== 'Manual') {
          for (const [k, rec] of fresh[0]!.records) {
            const v = JSON.stringify(rule.view(rec, 'recv0'));
            for (const r of writers) if (JSON.stringify(rule.view(r.records.get(k)!, r.clock.member)) !== v) throw new Error(`view of ${k} differs`);
          }
        }
      });
    check(t, property, numRuns);
  });
}

t.test('the stored encoding is the canonical JSON of the record, and decodes to an equal record', async (t) => {
  const { encodeRecord, decodeRecord } = await import('../../storage/logic/record.ts');
  const { canonicalJson } = await import('../../storage/logic/canonical.ts');
  const r = new SimReplica('a', conflictRule('Merge'));
  const rec = r.local('ProxyRoute/default/r1', { op: 'put', value: spec(1, { z: 1, a: [2, { b: 1 }] }) as never }, 5)!;
  t.equal(encodeRecord(rec), canonicalJson(rec));
  const back = decodeRecord(encodeRecord(rec));
  t.equal(encodeRecord(back), encodeRecord(rec), 'encoding of a decoded record (no cache) is the same');
  t.equal(back.digest, rec.digest);
});
