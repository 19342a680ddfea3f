// Quorum durability of one write: which controllers' acknowledgements count, and when the write is
// held by a majority, can still be, or no longer can be.
//
// The rule (DESIGN.md, Replication): a quorum-durable write is acknowledged once controllers holding
// a weighted majority have it durably. Every controller carries the same weight, so a weighted
// majority of the controllers is a majority of them by count: ⌊n/2⌋+1 copies, the writer's own
// included (it stored the write before asking). Only a copy a peer acknowledged as STORED counts,
// never a refused one (clock skew, validation): a write "acknowledged" on refusals existed on its
// writer alone. A peer that stored the write counts from then on; its later refusal of the same state
// (a duplicate delivery) changes nothing, and a store after a refusal (the cause went away) clears
// the refusal.
//
// While it waits, the write is judged against the controllers reachable now:
//   held         enough peers stored it;
//   waiting      the peers that stored it plus the reachable ones that did not refuse it can still
//                make a majority;
//   refused      they cannot, and refusals are why: too few peers are left that did not refuse it, or
//                the reachable ones would make a majority were it not for their refusals;
//   unavailable  they cannot because too few controllers are reachable.
// The same judgement with nothing acknowledged yet says whether a quorum write may start at all.
//
// Pure: the replicator (node/replication/replicator.ts) feeds it the acknowledgements of the record
// (or of a state that includes it) and the reachable controllers, and maps verdicts to errors.

import { controllerMajority } from './threshold.ts';

/** Where a quorum-durable write stands (stable codes). */
export type AckVerdict = 'held' | 'waiting' | 'refused' | 'unavailable';

/** The acknowledgements of one quorum-durable write, by the writer `self` among `controllers`. */
export class QuorumAckCount<Reason extends string = string> {
  /** Copies a majority needs, the writer's own included: ⌊n/2⌋+1. */
  readonly copiesNeeded: number;
  /** Configured controllers, the writer included. */
  readonly controllers: number;
  readonly #peers: ReadonlySet<string>;
  readonly #stored = new Set<string>();
  readonly #refused = new Map<string, Reason>();

  constructor(controllers: readonly string[], self: string) {
    const all = new Set(controllers);
    if (!all.has(self)) throw new RangeError('quorum ack count: controllers must include self');
    this.controllers = all.size;
    this.copiesNeeded = controllerMajority(all.size);
    all.delete(self);
    this.#peers = all;
  }

  /** Peers (the writer excluded) that must store the write. */
  get peersNeeded(): number {
    return this.copiesNeeded - 1;
  }

  /** Copies held durably: the writer's and every peer that acknowledged it as stored. */
  get copies(): number {
    return this.#stored.size + 1;
  }

  /** Peer `member` acknowledged the write as stored durably. Other members are ignored. */
  stored(member: string): void {
    if (!this.#peers.has(member)) return;
    this.#stored.add(member);
    this.#refused.delete(member);
  }

  /** Peer `member` refused the write (not stored there); false (ignored) when it stored it already. */
  refused(member: string, reason: Reason): boolean {
    if (!this.#peers.has(member) || this.#stored.has(member)) return false;
    this.#refused.set(member, reason);
    return true;
  }

  /** Peers that acknowledged the write as stored, in the order they did (the writer not included). */
  storedBy(): string[] {
    return [...this.#stored];
  }

  /** A majority holds the write. */
  held(): boolean {
    return this.#stored.size >= this.peersNeeded;
  }

  /** The refusals that stand, in the order they came. */
  refusals(): Array<{ member: string; reason: Reason }> {
    return [...this.#refused].map(([member, reason]) => ({ member, reason }));
  }

  /** Where the write stands with the controllers in `reachable` reachable now (others are ignored). */
  verdict(reachable: Iterable<string>): AckVerdict {
    if (this.held()) return 'held';
    const needed = this.peersNeeded;
    let possible = this.#stored.size;
    let possibleWithRefusers = this.#stored.size;
    for (const m of new Set(reachable)) {
      if (!this.#peers.has(m) || this.#stored.has(m)) continue;
      possibleWithRefusers++;
      if (!this.#refused.has(m)) possible++;
    }
    if (possible >= needed) return 'waiting';
    if (this.#peers.size - this.#refused.size < needed || possibleWithRefusers >= needed) return 'refused';
    return 'unavailable';
  }

  /** Reachable controllers among `reachable`, the writer included (for messages). */
  reachableCount(reachable: Iterable<string>): number {
    let n = 1;
    for (const m of new Set(reachable)) if (this.#peers.has(m)) n++;
    return n;
  }
}
