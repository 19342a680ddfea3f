// Hashing the store's Merkle tree in the background: changed leaves a slice per turn of the event
// loop as writes land, and inner nodes once a backlog of them builds up. Without it every leaf
// changed since the last read is hashed when the root is next read: with heartbeats 5 s apart and
// thousands of replicated writes a second, that stalled a controller's event loop for a hundred
// milliseconds and more (236 ms in one profiled run), the tail of its replication lag. The tree
// gives the same answers either way.
import type { MerkleTree } from '../logic/merkle.ts';

/** Leaves (or inner nodes) hashed per slice: about a millisecond of work (4-5 us each on the bench machine). */
export const MERKLE_HASHES_PER_SLICE = 256;
/**
 * Inner nodes are hashed ahead of a read only when this many wait: each is hashed once however
 * many of its leaves change before then, so waiting saves work; a read hashes at most about this
 * many (a few milliseconds).
 */
export const MERKLE_INNER_BACKLOG = 1_024;

/** Hashes a tree's changed nodes in slices between other work, until stopped. */
export class MerkleHasher {
  readonly #tree: MerkleTree;
  readonly #defer: (fn: () => void) => void;
  readonly #hashesPerSlice: number;
  #queued = false;
  #stopped = false;

  /** `defer` runs a slice soon, after the I/O at hand (in production setImmediate). */
  constructor(tree: MerkleTree, defer: (fn: () => void) => void, hashesPerSlice = MERKLE_HASHES_PER_SLICE) {
    this.#tree = tree;
    this.#defer = defer;
    this.#hashesPerSlice = hashesPerSlice;
  }

  /** Leaves changed: hash them soon, after the I/O at hand. */
  touched(): void {
    if (this.#queued || this.#stopped) return;
    this.#queued = true;
    this.#defer(this.#slice);
  }

  /** No more slices (the store closes). */
  stop(): void {
    this.#stopped = true;
  }

  readonly #slice = (): void => {
    this.#queued = false;
    if (this.#stopped) return;
    if (this.#tree.hashLeaves(this.#hashesPerSlice) > 0) {
      this.touched();
      return;
    }
    if (this.#tree.dirtyInnerNodes >= MERKLE_INNER_BACKLOG && this.#tree.hashInner(this.#hashesPerSlice) >= MERKLE_INNER_BACKLOG) this.touched();
  };
}
