// The store's background Merkle hasher: changed leaves are all hashed without a read, inner nodes
// only down to the backlog a read may be left with, and the tree answers as if hashed on read.
import t from 'tap';
import { createHash } from 'node:crypto';
import { MerkleTree } from '../../storage/logic/merkle.ts';
import { MERKLE_INNER_BACKLOG, MerkleHasher } from '../../storage/store/merkle-hasher.ts';
import { REAL_STORE_ENV } from '../../storage/store/store.ts';
import { waitFor } from '../helpers/wait-for.ts';

const digest = (i: number): string => createHash('sha256').update(String(i)).digest('hex');
// The store's production deferral (setImmediate).
const defer = REAL_STORE_ENV.defer;

t.test('leaves are hashed in slices, and inner nodes down to the backlog', async (t) => {
  const tree = new MerkleTree();
  const plain = new MerkleTree();
  const hasher = new MerkleHasher(tree, defer, 100);
  t.teardown(() => hasher.stop());
  // Enough keys that most of the 4,096 parents of the leaves wait: far past the backlog.
  for (let i = 0; i < 20_000; i++) {
    tree.update(`ProxyRoute/default/r-${i}`, digest(i));
    plain.update(`ProxyRoute/default/r-${i}`, digest(i));
  }
  hasher.touched();
  const state = () => ({ leaves: tree.dirtyLeaves, inner: tree.dirtyInnerNodes });
  await waitFor('hashed ahead of a read', () => tree.dirtyLeaves === 0 && tree.dirtyInnerNodes < MERKLE_INNER_BACKLOG, { timeoutMs: 10_000 }, state);
  t.ok(tree.dirtyInnerNodes > 0, `a backlog under ${MERKLE_INNER_BACKLOG} waits for the read (${tree.dirtyInnerNodes})`);
  t.equal(tree.root(), plain.root(), 'the same root as hashing everything on read');
  t.same(state(), { leaves: 0, inner: 0 });
});

t.test('a stopped hasher hashes nothing more', async (t) => {
  const tree = new MerkleTree();
  const hasher = new MerkleHasher(tree, defer, 10);
  for (let i = 0; i < 100; i++) tree.update(`k-${i}`, digest(i));
  const dirty = tree.dirtyLeaves;
  hasher.touched();
  hasher.stop();
  await new Promise((r) => setImmediate(r));
  t.equal(tree.dirtyLeaves, dirty, 'no slice ran after stop');
  hasher.touched();
  await new Promise((r) => setImmediate(r));
  t.equal(tree.dirtyLeaves, dirty, 'nor after a later change');
});
