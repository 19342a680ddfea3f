// Hashing the store's Merkle leaves in the background, a slice per turn of the event loop, as
// writes land. Without it every leaf changed since the last read is hashed when the root is next
// read: after 15,000 replicated writes between two heartbeats that stalled a controller for 100 to
// 250 ms, the tail of its replication lag. The tree gives the same answers either way.
import type { MerkleTree } from '../logic/merkle.ts';

/** Leaves hashed per slice: a few hundred microseconds of work. */
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
