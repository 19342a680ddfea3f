// The operator of a random run: in some runs (Controllers mode, three or more controllers), one
// controller is removed from the federation at a random moment of the fault phase, asked of another
// controller, and asked again elsewhere until it commits (a proposal needs a majority of the voters,
// and faults may deny it one). Drawn from the run's seed, from its own stream.
import type { MemberOp } from './check/history.ts';
import type { SimRandom } from './random.ts';
import type { Pending, SimDriver } from './script/driver.ts';

/** How often runs remove a controller, and when. */
export interface MembershipChangeOptions {
  /** Fraction of eligible runs that remove a controller. */
  removeFraction: number;
  /** The removal is first asked between these fractions of the fault phase. */
  fromFraction: number;
  toFraction: number;
  /** Mean wait before asking again after a refusal, virtual ms. */
  retryMeanMs: number;
}

export const MEMBERSHIP_CHANGE_DEFAULTS: Readonly<MembershipChangeOptions> = Object.freeze({
  removeFraction: 0.25, fromFraction: 0.1, toFraction: 0.7, retryMeanMs: 1_500,
});

/** What the operator did. */
export interface MembershipChangeCounts {
  /** Removals asked (each ask of a controller). */
  asked: number;
  /** Removals committed (as the asked controller answered). */
  removed: number;
}

/** Removes at most one controller during a run's fault phase. */
export class MembershipChanges {
  readonly counts: MembershipChangeCounts = { asked: 0, removed: 0 };
  readonly #rand: SimRandom;
  readonly #o: MembershipChangeOptions;
  readonly #victim: string | undefined;
  #nextAtMs: number;
  #pending: Pending<MemberOp['outcome']> | undefined;
  #done = false;

  /** `startMs`/`faultMs`: the fault phase. No removal unless the driver can ask for one. */
  constructor(rand: SimRandom, controllers: readonly string[], eligible: boolean, startMs: number, faultMs: number, o: Partial<MembershipChangeOptions> = {}) {
    this.#rand = rand;
    this.#o = { ...MEMBERSHIP_CHANGE_DEFAULTS, ...o };
    const remove = eligible && controllers.length >= 3 && rand.chance(this.#o.removeFraction);
    this.#victim = remove ? rand.pick(controllers) : undefined;
    this.#nextAtMs = startMs + faultMs * rand.between(this.#o.fromFraction, this.#o.toFraction);
    if (this.#victim === undefined) this.#done = true;
  }

  /** The controller this run removes, if any. */
  get victim(): string | undefined {
    return this.#victim;
  }

  /** Virtual time of the next thing to do (Infinity: nothing more). */
  nextAtMs(): number {
    return this.#done ? Infinity : this.#nextAtMs;
  }

  /** Ask (again), or note the answer of the last ask; call at nextAtMs(). */
  act(d: SimDriver): void {
    if (this.#done || this.#victim === undefined || d.removeController === undefined) {
      this.#done = true;
      return;
    }
    const answer = this.#pending?.outcome();
    if (this.#pending !== undefined && answer === undefined) {
      // Still in flight (its controller paused or slow): look again later.
      this.#nextAtMs = d.nowMs() + this.#o.retryMeanMs;
      return;
    }
    if (answer?.status === 'ok') {
      this.counts.removed++;
      this.#done = true;
      return;
    }
    const others = d.nodes().controllers.filter((c) => c !== this.#victim);
    this.#pending = d.removeController(this.#rand.pick(others), this.#victim);
    this.counts.asked++;
    this.#nextAtMs = d.nowMs() + this.#rand.exponential(this.#o.retryMeanMs);
  }
}
