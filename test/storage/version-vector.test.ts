import t from 'tap';
import fc from 'fast-check';
import { compareVv, incrementVv, mergeVv, VV_COUNTER_MAX, type Causality, type VersionVector } from '../../storage/logic/version-vector.ts';

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

t.test('merge is the least upper bound; increment dominates', async (t) => {
  const vv = fc.dictionary(fc.constantFrom('a', 'b', 'c', 'd'), fc.integer({ min: 1, max: 5 }));
  fc.assert(fc.property(vv, vv, (a, b) => {
    const m = mergeVv(a, b);
    const ca = compareVv(m, a);
    const cb = compareVv(m, b);
    if (!(ca === 'after' || ca === 'equal') || !(cb === 'after' || cb === 'equal')) return false;
    if (JSON.stringify(mergeVv(a, b)) !== JSON.stringify(mergeVv(b, a))) return false;
    return compareVv(incrementVv(a, 'c'), a) === 'after';
  }));
  t.pass('least upper bound, commutative, increment dominates');
});

t.test('counter overflow throws instead of wrapping', async (t) => {
  t.throws(() => incrementVv({ a: VV_COUNTER_MAX }, 'a'), RangeError);
});
