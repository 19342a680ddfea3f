import t from 'tap';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { leafIndexOf, MerkleTree } from '../../storage/logic/merkle.ts';

const keyArb = fc.stringMatching(/^[A-Z][a-z]{1,5}\/[a-z]{1,4}\/[a-z0-9]{1,6}$/);
const digestArb = fc.stringMatching(/^[0-9a-f]{64}$/);
const storeArb = fc.dictionary(keyArb, digestArb, { maxKeys: 60 });

function build(entries: Record<string, string>, depth = 2): MerkleTree {
  const m = new MerkleTree({ depth });
  for (const [k, d] of Object.entries(entries)) m.update(k, d);
  return m;
}

t.test('roots equal <=> stores equal', async (t) => {
  fc.assert(fc.property(storeArb, storeArb, (a, b) => {
    const same = JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
    return (build(a).root() === build(b).root()) === same;
  }), { numRuns: 300 });
  t.pass('property held');
});

t.test('the same store reached by different edit orders has the same root', async (t) => {
  fc.assert(fc.property(storeArb, fc.array(fc.tuple(keyArb, digestArb), { maxLength: 20 }), (final, noise) => {
    const m = new MerkleTree({ depth: 2 });
    // Write noise first, then remove or overwrite it, then the final contents in reverse order.
    for (const [k, d] of noise) m.update(k, d);
    for (const [k] of noise) m.update(k, undefined);
    for (const [k, d] of Object.entries(final).reverse()) m.update(k, d);
    return m.root() === build(final).root() && m.size === Object.keys(final).length;
  }), { numRuns: 200 });
  t.pass('property held');
});

t.test('incremental updates equal a full rebuild, node for node', async (t) => {
  fc.assert(fc.property(fc.array(fc.tuple(keyArb, fc.option(digestArb, { nil: undefined })), { maxLength: 80 }), (edits) => {
    const inc = new MerkleTree({ depth: 2 });
    const final = new Map<string, string>();
    for (const [k, d] of edits) {
      inc.update(k, d);
      if (d === undefined) final.delete(k);
      else final.set(k, d);
    }
    const bulk = new MerkleTree({ depth: 2 });
    bulk.bulkLoad(final);
    for (let level = 0; level <= 2; level++) {
      for (let i = 0; i < inc.width(level); i++) if (inc.nodeHash(level, i) !== bulk.nodeHash(level, i)) return false;
    }
    return true;
  }), { numRuns: 200 });
  t.pass('property held');
});

t.test('leaves expose sorted (key, digest) lists; children match node hashes', async (t) => {
  const m = new MerkleTree({ depth: 1 });
  t.equal(m.root(), '0'.repeat(64), 'empty tree has the zero root');
  m.update('A/b/c', 'd'.repeat(64));
  m.update('A/b/a', 'e'.repeat(64));
  const leaves = [...Array(16).keys()].flatMap((i) => m.leafEntries(i));
  t.same(leaves.map(([k]) => k).sort(), ['A/b/a', 'A/b/c']);
  t.same(m.children(0, 0), [...Array(16).keys()].map((i) => m.nodeHash(1, i)));
  t.equal(m.digestOf('A/b/a'), 'e'.repeat(64));
  t.throws(() => m.nodeHash(2, 0), RangeError);
  t.throws(() => m.children(1, 0), RangeError);
  t.throws(() => new MerkleTree({ depth: 0 }), RangeError);
});

t.test('node hashes are the wire format anti-entropy compares: pinned independently', async (t) => {
  // Two members of different versions compare these hashes, so their definition must not drift:
  // bucket = leading hex digits of SHA-256(key); leaf = SHA-256 of "key\0digest\n" per key in
  // code-unit order; inner = SHA-256 of its 16 children's 32-byte hashes (all zeros when empty).
  const sha = (data: string | Buffer): Buffer => createHash('sha256').update(data).digest();
  const bucketOf = (key: string): number => parseInt(sha(key).toString('hex')[0]!, 16);
  const keys = ['Kind/ns/a', 'Kind/ns/b', 'Kind/ns/c', 'Kind/ns/d', 'Kind/ns/e', 'Kind/ns/f', 'Kind/ns/g', 'Kind/ns/h'];
  const digest = (k: string): string => sha(`digest of ${k}`).toString('hex');
  const m = new MerkleTree({ depth: 1 });
  for (const k of [...keys].reverse()) m.update(k, digest(k));
  const byBucket = new Map<number, string[]>();
  for (const k of keys) byBucket.set(bucketOf(k), [...(byBucket.get(bucketOf(k)) ?? []), k]);
  t.ok([...byBucket.values()].some((ks) => ks.length > 1), 'some bucket holds several keys');
  t.ok([...byBucket.values()].some((ks) => ks.length === 1), 'some bucket holds one key');
  const leaves: Buffer[] = [];
  for (let i = 0; i < 16; i++) {
    const ks = (byBucket.get(i) ?? []).sort();
    leaves.push(ks.length === 0 ? Buffer.alloc(32) : sha(ks.map((k) => `${k}\u0000${digest(k)}\n`).join('')));
    t.equal(m.nodeHash(1, i), leaves[i]!.toString('hex'), `leaf ${i} (${ks.length} keys)`);
  }
  t.equal(m.root(), sha(Buffer.concat(leaves)).toString('hex'), 'root over the 16 leaves');
  for (const k of keys) t.equal(leafIndexOf(k, 1), bucketOf(k));
  t.equal(leafIndexOf('Kind/ns/a', 4), parseInt(sha('Kind/ns/a').toString('hex').slice(0, 4), 16), 'depth 4: four hex digits');
});
