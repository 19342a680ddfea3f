// The Merkle tree's per-key index (digest + leaf kept together, the key hashed once when added):
// lookups follow every edit, deleted keys come back to the same leaf, and the hashes are exactly the
// ones peers running earlier versions compute, since anti-entropy compares trees across nodes.
// Hashing changed leaves and inner nodes ahead of a read (hashLeaves, hashInner, in slices, in any
// order) never changes what a read returns.

import t from 'tap';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { MerkleTree, leafIndexOf } from '../../storage/logic/merkle.ts';

// A small key space (48 keys), so edits often hit keys that are already held or were deleted.
const keyArb = fc.stringMatching(/^[A-D][a-c]?\/[a-c]$/);
const digestArb = fc.stringMatching(/^[0-9a-f]{64}$/);
const editArb = fc.array(fc.tuple(keyArb, fc.option(digestArb, { nil: undefined })), { maxLength: 120 });

const key = (i: number): string => `ProxyRoute/tenant-${i % 7}/route-${i}`;
const sha256Hex = (s: string): string => createHash('sha256').update(s).digest('hex');

function sameNodes(a: MerkleTree, b: MerkleTree): boolean {
  for (let level = 0; level <= a.depth; level++) {
    for (let i = 0; i < a.width(level); i++) if (a.nodeHash(level, i) !== b.nodeHash(level, i)) return false;
  }
  return true;
}

t.test('digestOf, size and leaf entries follow adds, overwrites and deletes', async (t) => {
  fc.assert(fc.property(editArb, (edits) => {
    const m = new MerkleTree({ depth: 2 });
    const model = new Map<string, string>();
    for (const [k, d] of edits) {
      m.update(k, d);
      if (d === undefined) model.delete(k);
      else model.set(k, d);
      if (m.digestOf(k) !== d) return false;
    }
    if (m.size !== model.size) return false;
    for (const [k] of edits) {
      const inLeaf = m.leafEntries(leafIndexOf(k, 2)).find(([key]) => key === k);
      if (m.digestOf(k) !== model.get(k) || inLeaf?.[1] !== model.get(k)) return false;
    }
    const listed = [...Array(m.width(2)).keys()].flatMap((i) => m.leafEntries(i));
    return listed.length === model.size;
  }), { numRuns: 300 });
  t.pass('property held');
});

t.test('a deleted key added again lands in its old leaf; the tree equals a fresh one', async (t) => {
  const m = new MerkleTree({ depth: 3 });
  for (let i = 0; i < 300; i++) m.update(key(i), sha256Hex(`v1 ${i}`));
  m.root();
  for (let i = 0; i < 300; i += 2) m.update(key(i), undefined);
  t.equal(m.digestOf(key(0)), undefined, 'gone after delete');
  t.equal(m.leafEntries(leafIndexOf(key(0), 3)).some(([k]) => k === key(0)), false, 'and gone from its leaf');
  m.root();
  for (let i = 0; i < 300; i += 2) m.update(key(i), sha256Hex(`v${i % 4 === 0 ? 1 : 2} ${i}`));

  const fresh = new MerkleTree({ depth: 3 });
  for (let i = 0; i < 300; i++) fresh.update(key(i), sha256Hex(`v${i % 4 === 2 ? 2 : 1} ${i}`));
  t.equal(m.root(), fresh.root());
  t.ok(sameNodes(m, fresh), 'node for node');
  for (const i of [0, 2, 4, 6]) {
    t.same(m.leafEntries(leafIndexOf(key(i), 3)), fresh.leafEntries(leafIndexOf(key(i), 3)), `leaf of ${key(i)}`);
  }
  t.equal(m.size, 300);
});

t.test('hashes and leaves are pinned to the values peers already compute', async (t) => {
  // Computed by the implementation that hashed the key on every call; a change here breaks
  // anti-entropy between upgraded and not yet upgraded nodes.
  const pinned = [
    { depth: 1, root: '4e95c597e7fe73fa0b793bb865bbb1e2b81cc05e2863ac6367a55b842b2db073', leaf: 'a6ca8ce9521a1dbf97bb8b7ea05f7f2b6ab4ab2c457aa77a5f0143e9343b522c' },
    { depth: 4, root: 'dbe4a5ed714cf164753a44c2e52394fc557c941c46631aec0f2c69a146b0eedf', leaf: 'fd65e2692f76b527a7db6e3ce9b9dfbcd5e62a61bdf1301a70c82b718a730c52' },
  ];
  for (const { depth, root, leaf } of pinned) {
    const m = new MerkleTree({ depth });
    for (let i = 0; i < 500; i++) m.update(key(i), sha256Hex(`v1 ${i}`));
    for (let i = 0; i < 500; i += 3) m.update(key(i), sha256Hex(`v2 ${i}`));
    for (let i = 0; i < 500; i += 5) m.update(key(i), undefined);
    t.equal(m.size, 400);
    t.equal(m.root(), root, `root at depth ${depth}`);
    t.equal(m.nodeHash(depth, leafIndexOf(key(1), depth)), leaf, `leaf hash at depth ${depth}`);
  }
  t.same([0, 1, 2, 3].map((i) => leafIndexOf(key(i), 4)), [22337, 39936, 14828, 20550], 'leaf indexes at depth 4');
});

t.test('removing an absent key or rewriting the same digest changes nothing', async (t) => {
  const m = new MerkleTree({ depth: 2 });
  m.update('A/b/c', 'd'.repeat(64));
  const root = m.root();
  m.update('A/b/x', undefined);
  m.update('A/b/c', 'd'.repeat(64));
  t.equal(m.size, 1);
  t.equal(m.root(), root);
  t.equal(m.digestOf('A/b/x'), undefined);
});

t.test('hashing leaves and inner nodes in slices between edits gives the same tree as hashing on read', async (t) => {
  const stepArb = fc.oneof(
    fc.tuple(keyArb, fc.option(digestArb, { nil: undefined })).map(([k, d]) => ({ edit: [k, d] as const })),
    fc.integer({ min: 0, max: 5 }).map((n) => ({ slice: n })),
    fc.integer({ min: 0, max: 8 }).map((n) => ({ inner: n })),
    fc.constant({ read: true }),
  );
  fc.assert(fc.property(fc.array(stepArb, { maxLength: 150 }), (steps) => {
    const sliced = new MerkleTree({ depth: 2 });
    const plain = new MerkleTree({ depth: 2 });
    for (const s of steps) {
      if ('edit' in s) {
        sliced.update(s.edit[0], s.edit[1]);
        plain.update(s.edit[0], s.edit[1]);
      } else if ('slice' in s) {
        const before = sliced.dirtyLeaves;
        if (sliced.hashLeaves(s.slice) !== Math.max(0, before - s.slice)) return false;
      } else if ('inner' in s) {
        // Even with changed leaves still waiting: those nodes are marked again when the leaves are hashed.
        if (sliced.hashInner(s.inner) !== sliced.dirtyInnerNodes) return false;
      } else if (sliced.root() !== plain.root()) {
        return false;
      }
    }
    return sameNodes(sliced, plain) && sliced.dirtyLeaves === 0 && sliced.dirtyInnerNodes === 0;
  }));
  const m = new MerkleTree({ depth: 2 });
  for (let i = 0; i < 100; i++) m.update(key(i), sha256Hex(String(i)));
  t.ok(m.dirtyLeaves > 10, 'writes leave leaves to hash');
  t.equal(m.hashLeaves(10), m.dirtyLeaves, 'a slice reports what is left');
  t.equal(m.hashLeaves(Infinity), 0, 'an unbounded slice hashes every leaf');
  const inner = m.dirtyInnerNodes;
  t.ok(inner > 0, 'hashed leaves leave their parents waiting');
  t.ok(m.hashInner(3) >= inner - 3, 'an inner slice hashes at most its budget (and marks parents)');
  t.equal(m.hashInner(Infinity), 0, 'an unbounded inner slice reaches the root');
});
