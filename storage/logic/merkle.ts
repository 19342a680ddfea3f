// A Merkle tree of fixed shape over the key space: `fanout`-ary, `depth` levels below the root, keys
// placed in leaf buckets by the leading hex digits of SHA-256(key). Updated in O(depth) per write
// (plus the size of one small bucket), never rebuilt per write. Equal roots <=> equal stores, up to
// hash collisions. Anti-entropy walks it level by level: nodeHash(level, index), children, leafEntries.
import { createHash } from 'node:crypto';

/** Shape of the tree. Both sides of an anti-entropy exchange must use the same shape. */
export interface MerkleShape {
  /** Levels below the root; leaves are at level `depth`. */
  depth: number;
}

/** Default: 16^4 = 65,536 buckets, about 1.5 keys per bucket at 100,000 keys. */
export const DEFAULT_MERKLE_SHAPE: MerkleShape = { depth: 4 };

/** Children per node: one hex digit of the key hash per level. */
export const MERKLE_FANOUT = 16;

const EMPTY = Buffer.alloc(32);

function sha256(data: Buffer | string): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Leaf bucket of a key for a tree of depth `depth`. */
export function leafIndexOf(key: string, depth: number): number {
  const h = sha256(key);
  // depth <= 8 keeps this within the first 4 bytes of the hash.
  return h.readUInt32BE(0) >>> (32 - 4 * depth);
}

export class MerkleTree {
  readonly depth: number;
  // levels[l][i] is the hash of node i at level l; level 0 is the root.
  readonly #levels: Buffer[][];
  readonly #buckets: Array<Map<string, string> | undefined>;
  #size = 0;

  constructor(shape: MerkleShape = DEFAULT_MERKLE_SHAPE) {
    if (!Number.isInteger(shape.depth) || shape.depth < 1 || shape.depth > 6) {
      throw new RangeError('merkle depth must be 1..6');
    }
    this.depth = shape.depth;
    this.#levels = [];
    for (let l = 0; l <= this.depth; l++) this.#levels.push(new Array<Buffer>(MERKLE_FANOUT ** l).fill(EMPTY));
    this.#buckets = new Array(MERKLE_FANOUT ** this.depth);
  }

  /** Number of keys held. */
  get size(): number {
    return this.#size;
  }

  /** Number of nodes at a level. */
  width(level: number): number {
    return MERKLE_FANOUT ** level;
  }

  /** Root hash, hex (all zeros for an empty tree). */
  root(): string {
    return this.#levels[0]![0]!.toString('hex');
  }

  /** Hash of one node, hex. */
  nodeHash(level: number, index: number): string {
    this.#checkNode(level, index);
    return this.#levels[level]![index]!.toString('hex');
  }

  /** Hashes of a node's children, hex, in index order. */
  children(level: number, index: number): string[] {
    this.#checkNode(level, index);
    if (level >= this.depth) throw new RangeError('a leaf has no children');
    const row = this.#levels[level + 1]!;
    const out: string[] = [];
    for (let c = 0; c < MERKLE_FANOUT; c++) out.push(row[index * MERKLE_FANOUT + c]!.toString('hex'));
    return out;
  }

  /** The (key, digest) pairs of one leaf bucket, sorted by key. */
  leafEntries(index: number): Array<[string, string]> {
    this.#checkNode(this.depth, index);
    return [...(this.#buckets[index] ?? new Map<string, string>())].sort(([a], [b]) => (a < b ? -1 : 1));
  }

  /** Digest held for a key, if any. */
  digestOf(key: string): string | undefined {
    return this.#buckets[leafIndexOf(key, this.depth)]?.get(key);
  }

  /** Set (or with undefined, remove) a key's digest and update the path to the root. */
  update(key: string, digest: string | undefined): void {
    const leaf = this.#setInBucket(key, digest);
    if (leaf === undefined) return;
    this.#rehashLeaf(leaf);
    let index = leaf;
    for (let l = this.depth - 1; l >= 0; l--) {
      index = Math.floor(index / MERKLE_FANOUT);
      this.#rehashInner(l, index);
    }
  }

  /** Load many keys, then hash the whole tree once (cold open). */
  bulkLoad(entries: Iterable<readonly [string, string]>): void {
    const dirty = new Set<number>();
    for (const [key, digest] of entries) {
      const leaf = this.#setInBucket(key, digest);
      if (leaf !== undefined) dirty.add(leaf);
    }
    for (const leaf of dirty) this.#rehashLeaf(leaf);
    for (let l = this.depth - 1; l >= 0; l--) {
      for (let i = 0; i < this.width(l); i++) this.#rehashInner(l, i);
    }
  }

  // Returns the bucket index if anything changed.
  #setInBucket(key: string, digest: string | undefined): number | undefined {
    const leaf = leafIndexOf(key, this.depth);
    let bucket = this.#buckets[leaf];
    const before = bucket?.get(key);
    if (before === digest) return undefined;
    if (digest === undefined) {
      bucket!.delete(key);
      this.#size--;
      if (bucket!.size === 0) this.#buckets[leaf] = undefined;
    } else {
      if (bucket === undefined) {
        bucket = new Map();
        this.#buckets[leaf] = bucket;
      }
      if (before === undefined) this.#size++;
      bucket.set(key, digest);
    }
    return leaf;
  }

  #rehashLeaf(leaf: number): void {
    const entries = this.leafEntries(leaf);
    const row = this.#levels[this.depth]!;
    if (entries.length === 0) {
      row[leaf] = EMPTY;
      return;
    }
    const h = createHash('sha256');
    for (const [key, digest] of entries) h.update(`${key}\u0000${digest}\n`);
    row[leaf] = h.digest();
  }

  #rehashInner(level: number, index: number): void {
    const kids = this.#levels[level + 1]!;
    const base = index * MERKLE_FANOUT;
    let any = false;
    for (let c = 0; c < MERKLE_FANOUT; c++) if (kids[base + c] !== EMPTY) any = true;
    if (!any) {
      this.#levels[level]![index] = EMPTY;
      return;
    }
    const h = createHash('sha256');
    for (let c = 0; c < MERKLE_FANOUT; c++) h.update(kids[base + c]!);
    this.#levels[level]![index] = h.digest();
  }

  #checkNode(level: number, index: number): void {
    if (!Number.isInteger(level) || level < 0 || level > this.depth) throw new RangeError(`no merkle level ${level}`);
    if (!Number.isInteger(index) || index < 0 || index >= this.width(level)) {
      throw new RangeError(`no merkle node ${index} at level ${level}`);
    }
  }
}
