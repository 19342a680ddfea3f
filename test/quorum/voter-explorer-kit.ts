// What the voter-change explorers share (voter-config-explorer.ts, voter-slot-explorer.ts,
// voter-epoch-explorer.ts): configurations interned to small integers, the search for a split of the
// network in which two controllers on opposite sides both hold quorum, the configurations one change
// away, and the count of a side under the epoch rule of quorum/voter-slot.ts.
import { isSingleVoterChange, peerCountsAtEpoch } from '../../quorum/voter-slot.ts';
import type { VoterConfig } from '../../quorum/voter-config.ts';
import { controllerMajority } from '../../quorum/threshold.ts';

/** Configurations by index, each stored once. */
export class Interner<C> {
  readonly #id: (c: C) => string;
  readonly #list: C[] = [];
  readonly #byId = new Map<string, number>();

  constructor(id: (c: C) => string) {
    this.#id = id;
  }

  /** The index of `c`, stored on first sight. */
  intern(c: C): number {
    const id = this.#id(c);
    let i = this.#byId.get(id);
    if (i === undefined) {
      i = this.#list.length;
      this.#list.push(c);
      this.#byId.set(id, i);
    }
    return i;
  }

  /** The configuration of index `i`. */
  get(i: number): C {
    return this.#list[i]!;
  }

  /** Every configuration seen, by index. */
  values(): readonly C[] {
    return this.#list;
  }
}

/**
 * A split in which controllers `i` and `j` of `n` are on different sides and both hold quorum
 * (`holds(controller, sideMask)`), if any: each other controller joins i's side or j's (one on a third
 * side counts for nobody, and counting more never loses quorum, so two sides are enough).
 */
export function findSplitBrain(n: number, i: number, j: number, holds: (k: number, side: number) => boolean): [number, number] | undefined {
  const others = [...Array(n).keys()].filter((k) => k !== i && k !== j);
  for (let m = 0; m < 1 << others.length; m++) {
    let si = 1 << i;
    let sj = 1 << j;
    others.forEach((k, b) => {
      if ((m >> b) & 1) si |= 1 << k;
      else sj |= 1 << k;
    });
    if (holds(i, si) && holds(j, sj)) return [si, sj];
  }
  return undefined;
}

/** The names in a side mask. */
export function maskText(names: readonly string[], mask: number): string {
  return names.filter((_, k) => (mask >> k) & 1).join('');
}

/**
 * The voter sets (of `names`) one voter change away from `voters`, as configurations of the next
 * epoch without learners; two changes at most with `twoVoterChanges` (a weakened rule).
 */
export function nextVoterConfigs(names: readonly string[], c: VoterConfig, twoVoterChanges = false): VoterConfig[] {
  const out: VoterConfig[] = [];
  for (let m = 1; m < 1 << names.length; m++) {
    const voters = names.filter((_, k) => (m >> k) & 1);
    const next: VoterConfig = { epoch: c.epoch + 1, voters, learners: [] };
    const diff = voters.filter((v) => !c.voters.includes(v)).length + c.voters.filter((v) => !voters.includes(v)).length;
    if (twoVoterChanges ? diff >= 1 && diff <= 2 : diff === 1 && isSingleVoterChange(c, next)) out.push(next);
  }
  return out;
}

/**
 * Whether the controller `i` (configuration `mine`) holds quorum on a side: a voter of its
 * configuration counting itself and the voters on its side whose committed epoch the count rule lets
 * it count (`countNewer`: any, a weakened rule).
 */
export function holdsQuorumByEpoch(names: readonly string[], mine: VoterConfig, i: number, side: number, epochOf: (k: number) => number, countNewer = false): boolean {
  if (!mine.voters.includes(names[i]!)) return false;
  let counted = 0;
  for (let j = 0; j < names.length; j++) {
    if (((side >> j) & 1) === 0 || !mine.voters.includes(names[j]!)) continue;
    if (j === i || countNewer || peerCountsAtEpoch(mine.epoch, epochOf(j))) counted++;
  }
  return counted >= controllerMajority(mine.voters.length);
}

/**
 * Stale readings (voter-epoch-explorer.ts `staleReadings`): `readings[i * n + j]` is the epoch `i`
 * last read from `j` (0: expired). The steps of controller `i`: each other controller's reading
 * refreshed to its epoch now (a probe answered), or expired.
 */
export function readingSteps(names: readonly string[], readings: readonly number[], i: number, epochOf: (j: number) => number): Array<{ readings: number[]; text: string }> {
  const n = names.length;
  const out: Array<{ readings: number[]; text: string }> = [];
  for (let j = 0; j < n; j++) {
    if (j === i) continue;
    const r = readings[i * n + j]!;
    const now = epochOf(j);
    const set = (value: number, text: string): void => {
      const next = [...readings];
      next[i * n + j] = value;
      out.push({ readings: next, text });
    };
    if (r !== now) set(now, `${names[i]} reads ${names[j]}'s epoch ${now}`);
    if (r !== 0) set(0, `${names[i]}'s reading of ${names[j]} expires`);
  }
  return out;
}

/** Settled (the settle wait): no controller holds an unexpired reading of `b` older than `b`'s epoch. */
export function isSettled(readings: readonly number[], n: number, b: number, epochOfB: number): boolean {
  for (let x = 0; x < n; x++) {
    const r = readings[x * n + b]!;
    if (x !== b && r !== 0 && r < epochOfB) return false;
  }
  return true;
}

/** Violations kept at most: the first few tell the story. */
export const VIOLATIONS_MAX = 3;

/**
 * Notes in `out` (up to VIOLATIONS_MAX) each pair of controllers that some split lets both hold
 * quorum (`holds(controller, sideMask)`), described by `label(controller)` and the steps `path`.
 */
export function noteSplitBrains(names: readonly string[], holds: (k: number, side: number) => boolean, label: (k: number) => string, path: string, out: string[]): void {
  const n = names.length;
  for (let i = 0; i < n && out.length < VIOLATIONS_MAX; i++) {
    for (let j = i + 1; j < n && out.length < VIOLATIONS_MAX; j++) {
      const split = findSplitBrain(n, i, j, holds);
      if (split === undefined) continue;
      out.push(`${names[i]} (${label(i)}) and ${names[j]} (${label(j)}) both hold quorum on sides ${maskText(names, split[0])} | ${maskText(names, split[1])} after: ${path}`);
    }
  }
}

/**
 * Every state reachable from `start`, breadth first, each visited once (by `key`), until `visit`
 * returns false or `maxStates` states are known (then complete is false).
 */
export function breadthFirst<S>(o: { start: S; key: (s: S) => string; successors: (s: S) => S[]; visit: (s: S) => boolean; maxStates: number }): { states: number; complete: boolean } {
  const seen = new Set<string>([o.key(o.start)]);
  const queue: S[] = [o.start];
  let states = 0;
  let complete = true;
  for (let head = 0; head < queue.length; head++) {
    const s = queue[head]!;
    queue[head] = undefined as unknown as S; // let the processed states go
    states++;
    if (!o.visit(s)) break;
    for (const next of o.successors(s)) {
      const k = o.key(next);
      if (seen.has(k)) continue;
      if (seen.size >= o.maxStates) {
        complete = false;
        continue;
      }
      seen.add(k);
      queue.push(next);
    }
  }
  return { states, complete };
}
