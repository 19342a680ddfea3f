// The operator of a random run: in some runs (Controllers mode with three or more controllers, and
// AgentAssisted runs, two datacenters), one controller is removed from the federation at a random moment of the fault phase, and in others a
// new controller (a joiner, configured with the others' addresses alone) is added, to be promoted to
// voter once caught up; some runs do both. Each change is asked of a random controller, and asked
// again elsewhere until it commits (a proposal needs a majority of the voters, faults may deny it
// one, and two voter changes wait for each other). Drawn from the run's seed: the removal from its own
// stream ('members', as before adds existed), the add from another ('joins').
import type { MemberOp } from './check/history.ts';
import type { SimRandom } from './random.ts';
import type { Pending, SimDriver } from './script/driver.ts';

/** How often runs change the membership, and when. */
export interface MembershipChangeOptions {
  /** Fraction of eligible runs that remove a controller. */
  removeFraction: number;
  /** Fraction of eligible runs that add one. */
  addFraction: number;
  /** A change is first asked between these fractions of the fault phase. */
  fromFraction: number;
  toFraction: number;
  /** Mean wait before asking again after a refusal, virtual ms. */
  retryMeanMs: number;
  /** Fewest controllers a run has to be eligible (AgentAssisted runs have two). */
  minControllers: number;
}

export const MEMBERSHIP_CHANGE_DEFAULTS: Readonly<MembershipChangeOptions> = Object.freeze({
  removeFraction: 0.25, addFraction: 0.25, fromFraction: 0.1, toFraction: 0.7, retryMeanMs: 1_500, minControllers: 3,
});

/** What the operator did. */
export interface MembershipChangeCounts {
  /** Removals asked (each ask of a controller). */
  asked: number;
  /** Removals committed (as the asked controller answered). */
  removed: number;
  /** Adds asked. */
  addsAsked: number;
  /** Adds committed. */
  added: number;
}

/** Whether an eligible run adds a controller: drawn before the cluster starts (the joiner needs keys). */
export function drawJoin(rand: SimRandom, controllers: number, eligible: boolean, o: Partial<MembershipChangeOptions> = {}): boolean {
  return eligible && controllers >= (o.minControllers ?? MEMBERSHIP_CHANGE_DEFAULTS.minControllers) && rand.chance(o.addFraction ?? MEMBERSHIP_CHANGE_DEFAULTS.addFraction);
}

// One change, asked until it commits.
class Change {
  readonly kind: 'remove' | 'add';
  readonly name: string;
  nextAtMs: number;
  done = false;
  pending: Pending<MemberOp['outcome']> | undefined;
  constructor(kind: 'remove' | 'add', name: string, atMs: number) {
    this.kind = kind;
    this.name = name;
    this.nextAtMs = atMs;
  }
}

/** Removes at most one controller and adds at most one during a run's fault phase. */
export class MembershipChanges {
  readonly counts: MembershipChangeCounts = { asked: 0, removed: 0, addsAsked: 0, added: 0 };
  readonly #rand: SimRandom;
  readonly #o: MembershipChangeOptions;
  readonly #victim: string | undefined;
  readonly #changes: Change[] = [];

  /**
   * `startMs`/`faultMs`: the fault phase. `joiner`: the controller to add, if this run adds one
   * (drawJoin). No change unless the driver can ask for one.
   */
  constructor(rand: SimRandom, controllers: readonly string[], eligible: boolean, startMs: number, faultMs: number, o: Partial<MembershipChangeOptions> = {}, joiner?: string, joinRand?: SimRandom) {
    this.#rand = rand;
    this.#o = { ...MEMBERSHIP_CHANGE_DEFAULTS, ...o };
    const remove = eligible && controllers.length >= this.#o.minControllers && rand.chance(this.#o.removeFraction);
    this.#victim = remove ? rand.pick(controllers) : undefined;
    const removeAtMs = startMs + faultMs * rand.between(this.#o.fromFraction, this.#o.toFraction);
    if (this.#victim !== undefined) this.#changes.push(new Change('remove', this.#victim, removeAtMs));
    if (joiner !== undefined) {
      const r = joinRand ?? rand;
      this.#changes.push(new Change('add', joiner, startMs + faultMs * r.between(this.#o.fromFraction, this.#o.toFraction)));
    }
  }

  /** The controller this run removes, if any. */
  get victim(): string | undefined {
    return this.#victim;
  }

  /** Virtual time of the next thing to do (Infinity: nothing more). */
  nextAtMs(): number {
    let at = Infinity;
    for (const c of this.#changes) if (!c.done) at = Math.min(at, c.nextAtMs);
    return at;
  }

  /** Ask (again), or note the answer of the last ask, of each change due; call at nextAtMs(). */
  act(d: SimDriver): void {
    for (const c of this.#changes) if (!c.done && d.nowMs() >= c.nextAtMs) this.#act(d, c);
  }

  #act(d: SimDriver, c: Change): void {
    const ask = c.kind === 'remove' ? d.removeController?.bind(d) : d.addController?.bind(d);
    if (ask === undefined) {
      c.done = true;
      return;
    }
    const answer = c.pending?.outcome();
    if (c.pending !== undefined && answer === undefined) {
      // Still in flight (its controller paused or slow): look again later.
      c.nextAtMs = d.nowMs() + this.#o.retryMeanMs;
      return;
    }
    if (answer?.status === 'ok') {
      if (c.kind === 'remove') this.counts.removed++;
      else this.counts.added++;
      c.done = true;
      return;
    }
    // Asked of a controller of the configuration, never of the one removed nor of the joiner.
    const others = d.nodes().controllers.filter((x) => x !== this.#victim && !this.#changes.some((y) => y.kind === 'add' && y.name === x));
    c.pending = ask(this.#rand.pick(others), c.name);
    if (c.kind === 'remove') this.counts.asked++;
    else this.counts.addsAsked++;
    c.nextAtMs = d.nowMs() + this.#rand.exponential(this.#o.retryMeanMs);
  }
}
