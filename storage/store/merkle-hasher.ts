// Hashing the store's Merkle leaves in the background, a slice per turn of the event loop, as
// writes land. Without it every leaf changed since the last read is hashed when the root is next
// read: with heartbeats 5 s apart and thousands of replicated writes a second, that stalled a
// controller's event loop for a hundred milliseconds and more (236 ms in one profiled run), the
// tail of its replication lag. The tree gives the same answers either way.
import type { MerkleTree } from '../logic/merkle.ts';

/** Leaves hashed per slice: about a millisecond of work (4-5 us a leaf on the bench machine). */
export const MERKLE_LEAVES_PER_SLICE = 256;

export class MerkleHasher {
  readonly #tree: MerkleTree;
  readonly #leavesPerSlice: number;
  #queued = false;
  #stopped = false;

  constructor(tree: MerkleTree, leavesPerSlice = MERKLE_LEAVES_PER_SLICE) {
    this.#tree = tree;
    this.#leavesPerSlice = leavesPerSlice;
  }

  /** Leaves changed: hash them soon, after the I/O at hand. */
  touched(): void {
    if (this.#queued || this.#stopped) return;
    this.#queued = true;
    setImmediate(this.#slice);
  }

  /** No more slices (the store closes). */
  stop(): void {
    this.#stopped = true;
  }

  readonly #slice = (): void => {
    this.#queued = false;
    if (this.#stopped) return;
    if (this.#tree.hashLeaves(this.#leavesPerSlice) > 0) this.touched();
  };
}
