// Seeded randomness for the simulation: one root seed, and independent streams forked from it by
// label (one per node incarnation, one for the network, one per fault schedule...). A stream is
// xoroshiro128+ (pure-rand, the generator fast-check uses) seeded through splitmix32 from a 64-bit
// key; a fork's key is its parent's key mixed with a hash of the label, so a stream depends only
// on the root seed and its label path, never on how much its parent or siblings have drawn: adding a
// draw in one place does not shift every other stream of the run.

import { xoroshiro128plusFromState } from 'pure-rand/generator/xoroshiro128plus';
import type { RandomGenerator } from 'pure-rand/types/RandomGenerator';
import type { RandomSource } from '../../node/components.ts';

const TWO_POW_26 = 67_108_864;
const TWO_POW_53 = 9_007_199_254_740_992;

// splitmix32 step (Vigna / Steele et al.): a good 32-bit mixer for seeding.
function mix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

// Two independent 32-bit FNV-1a style hashes of a label (different offsets and a final mix).
function labelHash(label: string): [number, number] {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ label.length;
  for (let i = 0; i < label.length; i++) {
    const c = label.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995) ^ (b >>> 15);
  }
  return [mix32(a), mix32(b ^ 0x27d4eb2d)];
}

/** A deterministic random stream with forks. */
export class SimRandom {
  /** The 64-bit key (two 32-bit words) this stream was seeded from. */
  readonly #key: readonly [number, number];
  readonly #rng: RandomGenerator;
  /** The label path from the root (for messages). */
  readonly path: string;

  /** The root stream of `seed` (any 32-bit unsigned integer, or a safe integer). */
  constructor(seed: number, path = `seed:${seed}`, key?: readonly [number, number]) {
    if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`seed must be a non-negative safe integer, not ${seed}`);
    this.#key = key ?? [mix32(seed >>> 0), mix32(Math.floor(seed / 0x1_0000_0000) ^ 0x6a09e667)];
    this.path = path;
    let s = this.#key[0] ^ mix32(this.#key[1]);
    const state: number[] = [];
    for (let i = 0; i < 4; i++) {
      s = mix32(s + i);
      state.push(s | 0);
    }
    if (!state.some((w) => w !== 0)) state[0] = 1; // the all-zero state is a fixed point
    this.#rng = xoroshiro128plusFromState(state);
  }

  /** An independent stream for `label`: the same label of the same parent always gives the same stream. */
  fork(label: string): SimRandom {
    const [h0, h1] = labelHash(label);
    const key: [number, number] = [mix32(this.#key[0] ^ h0), mix32(this.#key[1] ^ h1 ^ this.#key[0])];
    return new SimRandom(0, `${this.path}/${label}`, key);
  }

  /** 32 random bits, as an unsigned integer. */
  uint32(): number {
    return this.#rng.next() >>> 0;
  }

  /** Uniform in [0, 1), 53 bits (the upper bits of two draws: xoroshiro128+'s low bits are its weakest). */
  float(): number {
    const a = this.uint32() >>> 5; // 27 bits
    const b = this.uint32() >>> 6; // 26 bits
    return (a * TWO_POW_26 + b) / TWO_POW_53;
  }

  /** Uniform integer in [0, n) (n ≥ 1). */
  int(n: number): number {
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`int(n) needs a positive integer, not ${n}`);
    return Math.floor(this.float() * n);
  }

  /** Uniform number in [min, max). */
  between(min: number, max: number): number {
    return min + this.float() * (max - min);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.float() < p;
  }

  /** Exponentially distributed with the given mean (≥ 0). */
  exponential(mean: number): number {
    if (mean <= 0) return 0;
    return -Math.log(1 - this.float()) * mean;
  }

  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError('pick from an empty array');
    return items[this.int(items.length)]!;
  }

  /** A shuffled copy (Fisher-Yates). */
  shuffled<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** `n` random bytes. */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const w = this.uint32();
      for (let k = 0; k < 4 && i + k < n; k++) out[i + k] = (w >>> (8 * k)) & 0xff;
    }
    return out;
  }

  /** This stream as a node's RandomSource (node/components.ts). Bytes are Buffers, as node:crypto's. */
  source(): RandomSource {
    return {
      float: () => this.float(),
      bytes: (n: number) => {
        const b = this.bytes(n);
        return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
      },
    };
  }
}
