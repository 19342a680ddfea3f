// A Merkle tree of fixed shape over the key space: `fanout`-ary, `depth` levels below the root, keys
// placed in leaf buckets by the leading hex digits of SHA-256(key). Equal roots <=> equal stores, up
// to hash collisions. Anti-entropy walks it level by level: nodeHash(level, index), children,
// leafEntries.
// Each key's digest is kept with its bucket index, so a lookup or an overwrite is one Map lookup and
// a key is hashed only when it is added (SHA-256 per update and lookup was ~5 % of a replicating
// controller's CPU).
// A write only records its bucket as dirty; the next read rehashes the dirty buckets and their
// ancestors once, level by level. So a write costs O(1), a read after k writes O(k * depth) at most,
// and a burst of writes shares the upper levels instead of rehashing the path to the root each time.
// The leaves are most of that work (a bucket's keys sorted and hashed): hashLeaves lets the store do
// them a slice at a time as writes land, and hashInner the inner nodes once enough of them wait, so
// a read after thousands of writes does not stall the event loop for the whole batch (heartbeats
// read the root every few seconds). A node hashed early is marked again when a child changes, so
// reads give the same answers whatever was hashed ahead of them.
import { hash } from 'node:crypto';

/** Shape of the tree. Both sides of an anti-entropy exchange must use the same shape. */
export interface MerkleShape {
  /** Levels below the root; leaves are at level `depth`. */
  depth: number;
}

/** Default: 16^4 = 65,536 buckets, about 1.5 keys per bucket at 100,000 keys. */
export const DEFAULT_MERKLE_SHAPE: MerkleShape = { depth: 4 };

/** Children per node: one hex digit of the key hash per level. */
export const MERKLE_FANOUT = 16;

const HASH_BYTES = 32;
const EMPTY_CHILDREN = Buffer.alloc(HASH_BYTES * 16);

function sha256(data: Buffer | string): Buffer {
  return hash('sha256', data, 'buffer');
}

/** Leaf bucket of a key for a tree of depth `depth`. */
export function leafIndexOf(key: string, depth: number): number {
  const h = sha256(key);
  // depth <= 8 keeps this within the first 4 bytes of the hash.
  return h.readUInt32BE(0) >>> (32 - 4 * depth);
}

// A key's digest and the bucket it lives in; the bucket never changes while the key is held.
interface KeyEntry {
  digest: string;
  readonly leaf: number;
}

/** Merkle tree of (key, digest) pairs over a fixed-shape key space; see the file comment. */
export class MerkleTree {
  readonly depth: number;
  // levels[l] holds the hashes of level l back to back (32 bytes each; all zeros = empty), so a
  // node's 16 children are one contiguous slice that is hashed in a single call.
  readonly #levels: Buffer[];
  readonly #entries = new Map<string, KeyEntry>();
  // The keys of each leaf bucket (their digests are in #entries); undefined when empty.
  readonly #buckets: Array<Set<string> | undefined>;
  readonly #dirty = new Set<number>();
  // Inner nodes to rehash, by level (0 = root .. depth - 1): the parents of nodes hashed since.
  readonly #dirtyInner: Array<Set<number>>;

  constructor(shape: MerkleShape = DEFAULT_MERKLE_SHAPE) {
    if (!Number.isInteger(shape.depth) || shape.depth < 1 || shape.depth > 6) {
      throw new RangeError('merkle depth must be 1..6');
    }
    this.depth = shape.depth;
    this.#levels = [];
    for (let l = 0; l <= this.depth; l++) this.#levels.push(Buffer.alloc(HASH_BYTES * MERKLE_FANOUT ** l));
    this.#buckets = new Array(MERKLE_FANOUT ** this.depth);
    this.#dirtyInner = Array.from({ length: this.depth }, () => new Set<number>());
  }

  /** Number of keys held. */
  get size(): number {
    return this.#entries.size;
  }

  /** Number of nodes at a level. */
  width(level: number): number {
    return MERKLE_FANOUT ** level;
  }

  /** Root hash, hex (all zeros for an empty tree). */
  root(): string {
    this.#flush();
    return this.#levels[0]!.toString('hex');
  }

  /** Hash of one node, hex. */
  nodeHash(level: number, index: number): string {
    this.#flush();
    this.#checkNode(level, index);
    return this.#hashAt(level, index).toString('hex');
  }

  #hashAt(level: number, index: number): Buffer {
    return this.#levels[level]!.subarray(index * HASH_BYTES, (index + 1) * HASH_BYTES);
  }

  /** Hashes of a node's children, hex, in index order. */
  children(level: number, index: number): string[] {
    this.#flush();
    this.#checkNode(level, index);
    if (level >= this.depth) throw new RangeError('a leaf has no children');
    const out: string[] = [];
    for (let c = 0; c < MERKLE_FANOUT; c++) out.push(this.#hashAt(level + 1, index * MERKLE_FANOUT + c).toString('hex'));
    return out;
  }

  /** The (key, digest) pairs of one leaf bucket, sorted by key. */
  leafEntries(index: number): Array<[string, string]> {
    this.#checkNode(this.depth, index);
    return this.#sortedKeys(index).map((key) => [key, this.#entries.get(key)!.digest]);
  }

  /** Digest held for a key, if any. */
  digestOf(key: string): string | undefined {
    return this.#entries.get(key)?.digest;
  }

  /** Set (or with undefined, remove) a key's digest. */
  update(key: string, digest: string | undefined): void {
    const leaf = this.#setInBucket(key, digest);
    if (leaf !== undefined) this.#dirty.add(leaf);
  }

  /** Load many keys at once (cold open); hashed on the first read. */
  bulkLoad(entries: Iterable<readonly [string, string]>): void {
    for (const [key, digest] of entries) this.update(key, digest);
  }

  /** Changed leaves not hashed yet. */
  get dirtyLeaves(): number {
    return this.#dirty.size;
  }

  /** Inner nodes waiting to be rehashed. */
  get dirtyInnerNodes(): number {
    return this.#dirtyInner.reduce((n, level) => n + level.size, 0);
  }

  /**
   * Hash up to `leavesMax` changed leaves now; their parents wait for hashInner or the next read.
   * Returns the changed leaves left. Reads give the same answers whether or not this was called.
   */
  hashLeaves(leavesMax: number): number {
    let budget = leavesMax;
    for (const leaf of this.#dirty) {
      if (budget-- <= 0) break;
      this.#rehashLeaf(leaf);
      this.#dirtyInner[this.depth - 1]!.add(Math.floor(leaf / MERKLE_FANOUT));
      // Deleting the entry being visited is safe: a Set iterator moves on to the next one.
      this.#dirty.delete(leaf);
    }
    return this.#dirty.size;
  }

  /**
   * Rehash up to `nodesMax` waiting inner nodes, deepest level first; returns how many wait still.
   * Best called with no changed leaves left (hashLeaves first): a node hashed before its children
   * is hashed again once they are.
   */
  hashInner(nodesMax: number): number {
    let budget = nodesMax;
    for (let l = this.depth - 1; l >= 0 && budget > 0; l--) {
      const level = this.#dirtyInner[l]!;
      for (const index of level) {
        if (budget-- <= 0) break;
        this.#rehashInner(l, index);
        if (l > 0) this.#dirtyInner[l - 1]!.add(Math.floor(index / MERKLE_FANOUT));
        level.delete(index);
      }
    }
    return this.dirtyInnerNodes;
  }

  #flush(): void {
    this.hashLeaves(Infinity);
    this.hashInner(Infinity);
  }

  // Returns the bucket index if anything changed.
  #setInBucket(key: string, digest: string | undefined): number | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) {
      if (digest === undefined) return undefined;
      const leaf = leafIndexOf(key, this.depth);
      this.#entries.set(key, { digest, leaf });
      let bucket = this.#buckets[leaf];
      if (bucket === undefined) {
        bucket = new Set();
        this.#buckets[leaf] = bucket;
      }
      bucket.add(key);
      return leaf;
    }
    if (entry.digest === digest) return undefined;
    if (digest === undefined) {
      this.#entries.delete(key);
      const bucket = this.#buckets[entry.leaf]!;
      bucket.delete(key);
      if (bucket.size === 0) this.#buckets[entry.leaf] = undefined;
    } else {
      entry.digest = digest;
    }
    return entry.leaf;
  }

  // Keys of a bucket in code-unit order, the order its hash and its entries are listed in.
  #sortedKeys(leaf: number): string[] {
    const bucket = this.#buckets[leaf];
    return bucket === undefined ? [] : [...bucket].sort();
  }

  #rehashLeaf(leaf: number): void {
    const slot = this.#hashAt(this.depth, leaf);
    const bucket = this.#buckets[leaf];
    if (bucket === undefined) {
      slot.fill(0);
      return;
    }
    // Most buckets hold one key (about 1.5 per bucket at 100,000 keys): no list to sort and join.
    const text = bucket.size === 1
      ? this.#leafLine(bucket.values().next().value!)
      : this.#sortedKeys(leaf).map((k) => this.#leafLine(k)).join('');
    sha256(text).copy(slot);
  }

  // One key's line in its leaf's hash input: "key NUL digest LF".
  #leafLine(key: string): string {
    return `${key}\u0000${this.#entries.get(key)!.digest}\n`;
  }

  #rehashInner(level: number, index: number): void {
    const kids = this.#levels[level + 1]!.subarray(index * MERKLE_FANOUT * HASH_BYTES, (index + 1) * MERKLE_FANOUT * HASH_BYTES);
    const slot = this.#hashAt(level, index);
    if (kids.equals(EMPTY_CHILDREN)) slot.fill(0);
    else sha256(kids).copy(slot);
  }

  #checkNode(level: number, index: number): void {
    if (!Number.isInteger(level) || level < 0 || level > this.depth) throw new RangeError(`no merkle level ${level}`);
    if (!Number.isInteger(index) || index < 0 || index >= this.width(level)) {
      throw new RangeError(`no merkle node ${index} at level ${level}`);
    }
  }
}
