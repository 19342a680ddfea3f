import t from 'tap';
import fc from 'fast-check';
import {
  compareVv, incrementVv, mergeVv, vvCount, vvCovers, VV_COUNTER_MAX, type Causality, type VersionVector,
} from '../../storage/logic/version-vector.ts';
import { canonicalJson } from '../../storage/logic/canonical.ts';
import { check, runs } from '../helpers/fc-run.ts';

// Names of Object.prototype members mixed with ordinary ones: "constructor" is a valid DNS-1123
// member name, and a peer can send any of them as JSON keys.
const PROTO_NAMES = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'isPrototypeOf'];
const NAMES = [...PROTO_NAMES, 'a', 'b', 'c'];

t.test('compareVv gives four distinct answers', async (t) => {
  const cases: Array<[VersionVector, VersionVector, Causality]> = [
    [{}, {}, 'equal'],
    [{ a: 1 }, { a: 1 }, 'equal'],
    [{ a: 1, b: 2 }, { b: 2, a: 1 }, 'equal'],
    [{}, { a: 1 }, 'before'],
    [{ a: 1 }, {}, 'after'],
    [{ a: 1 }, { a: 2 }, 'before'],
    [{ a: 2, b: 1 }, { a: 2 }, 'after'],
    [{ a: 1 }, { b: 1 }, 'concurrent'],
    [{ a: 2, b: 1 }, { a: 1, b: 2 }, 'concurrent'],
    [{ a: 1, c: 5 }, { a: 1, b: 1, c: 5 }, 'before'],
  ];
  for (const [a, b, want] of cases) t.equal(compareVv(a, b), want, `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
});

t.test('members named like Object.prototype keys count like any other member', async (t) => {
  t.equal(compareVv({}, { constructor: 1 }), 'before', 'compareVv({}, {constructor: 1})');
  t.equal(compareVv({ constructor: 1 }, {}), 'after');
  t.same(incrementVv({}, 'constructor'), { constructor: 1 }, "incrementVv({}, 'constructor')");
  t.same(incrementVv({ constructor: 4 }, 'constructor'), { constructor: 5 });
  t.equal(vvCovers({}, 'toString', 1), false, 'an absent toString covers nothing');
  t.equal(vvCount({}, 'valueOf'), 0);
  // "__proto__" both ways: decoded from JSON it is an own key; built here it must stay one.
  const decoded = JSON.parse('{"__proto__":2,"a":1}') as VersionVector;
  t.equal(compareVv({}, decoded), 'before');
  t.equal(compareVv(decoded, { a: 1 }), 'after');
  t.equal(vvCount(decoded, '__proto__'), 2);
  const built = incrementVv(decoded, '__proto__');
  t.ok(Object.hasOwn(built, '__proto__'), 'the built vector holds __proto__ as an own entry');
  t.equal(Object.getPrototypeOf(built), Object.prototype, 'and its prototype is untouched');
  t.equal(canonicalJson(built), '{"__proto__":3,"a":1}', 'it encodes as data');
  t.equal(compareVv(built, decoded), 'after');
  t.same(Object.keys(incrementVv({}, '__proto__')), ['__proto__']);
  t.equal(compareVv({ hasOwnProperty: 1 }, { hasOwnProperty: 1 }), 'equal');
  t.equal(compareVv({ toString: 1 }, { valueOf: 1 }), 'concurrent');
});

t.test('counter overflow throws instead of wrapping', async (t) => {
  t.throws(() => incrementVv({ a: VV_COUNTER_MAX }, 'a'), RangeError);
});

// Vectors over a pool of names, built both as decoded JSON and through the module's own functions.
const vvArb: fc.Arbitrary<VersionVector> = fc
  .array(fc.tuple(fc.constantFrom(...NAMES), fc.integer({ min: 1, max: 4 })), { maxLength: NAMES.length })
  .chain((pairs) => fc.boolean().map((viaJson) => {
    const entries = [...new Map(pairs)];
    if (viaJson) return JSON.parse(`{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`) as VersionVector;
    let vv: VersionVector = {};
    for (const [k, v] of entries) for (let i = 0; i < v; i++) vv = incrementVv(vv, k);
    return vv;
  }));

// The reference: counters read from the own entries only, via a Map.
function counts(vv: VersionVector): Map<string, number> {
  return new Map(Object.entries(vv));
}
function refCompare(a: VersionVector, b: VersionVector): Causality {
  const ma = counts(a);
  const mb = counts(b);
  let aAhead = false;
  let bAhead = false;
  for (const n of new Set([...ma.keys(), ...mb.keys()])) {
    const x = ma.get(n) ?? 0;
    const y = mb.get(n) ?? 0;
    if (x > y) aAhead = true;
    if (y > x) bAhead = true;
  }
  return aAhead && bAhead ? 'concurrent' : aAhead ? 'after' : bAhead ? 'before' : 'equal';
}
const converse: Record<Causality, Causality> = { before: 'after', after: 'before', equal: 'equal', concurrent: 'concurrent' };
const enc = (vv: VersionVector): string => canonicalJson(vv);

t.test('property: vv algebra with Object.prototype names mixed in', async (t) => {
  t.comment(`names: ${NAMES.join(', ')}`);
  check(t, fc.property(vvArb, vvArb, vvArb, fc.constantFrom(...NAMES), (a, b, c, m) => {
    const ab = compareVv(a, b);
    if (ab !== refCompare(a, b)) throw new Error(`compare ${enc(a)} ${enc(b)}: ${ab}, want ${refCompare(a, b)}`);
    if (compareVv(b, a) !== converse[ab]) throw new Error(`not antisymmetric: ${enc(a)} ${enc(b)}`);
    if ((ab === 'equal') !== (enc(a) === enc(b))) throw new Error(`equal iff same encoding: ${enc(a)} ${enc(b)}`);
    // merge: least upper bound, commutative, associative, idempotent; keeps the prototype intact.
    const m1 = mergeVv(a, b);
    if (enc(m1) !== enc(mergeVv(b, a))) throw new Error('merge not commutative');
    if (enc(mergeVv(m1, c)) !== enc(mergeVv(a, mergeVv(b, c)))) throw new Error('merge not associative');
    if (enc(mergeVv(a, a)) !== enc(a)) throw new Error('merge not idempotent');
    for (const x of [a, b]) if (!['after', 'equal'].includes(compareVv(m1, x))) throw new Error('merge below an input');
    for (const n of NAMES) if (vvCount(m1, n) !== Math.max(vvCount(a, n), vvCount(b, n))) throw new Error(`merge lost ${n}`);
    if (Object.getPrototypeOf(m1) !== Object.prototype) throw new Error('merge changed a prototype');
    // increment dominates, by exactly one write of m.
    const inc = incrementVv(a, m);
    if (compareVv(inc, a) !== 'after' || compareVv(a, inc) !== 'before') throw new Error(`increment of ${m} does not dominate`);
    if (vvCount(inc, m) !== vvCount(a, m) + 1 || !vvCovers(inc, m, vvCount(a, m) + 1) || vvCovers(a, m, vvCount(a, m) + 1)) {
      throw new Error(`increment of ${m} is not one write`);
    }
    for (const n of NAMES) if (n !== m && vvCount(inc, n) !== vvCount(a, n)) throw new Error(`increment of ${m} changed ${n}`);
    // A decode of the canonical encoding is the same vector.
    if (compareVv(JSON.parse(enc(inc)) as VersionVector, inc) !== 'equal') throw new Error('encoding round trip differs');
    return true;
  }), runs(500));
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');
});
