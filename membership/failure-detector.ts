// The failure-detector rule for one member, on detector time (see detector-clock.ts).
//
// Heartbeats are pushed, so a "check" is an expectation: after a heartbeat arrives at time t, the
// next one is due one interval later and may be up to timeoutMs late. So:
//  - A check FAILS at t + intervalMs + timeoutMs if no heartbeat arrived by then; each further
//    interval without one fails one more check (deadlines t + k*intervalMs + timeoutMs).
//  - A check PASSES when a heartbeat arrives; the next deadline is then re-anchored on it. At most one
//    passed check is counted per (intervalMs - timeoutMs): extra heartbeats (a member announcing
//    itself early, duplicates) cannot rush a recovery.
//  - failureThreshold consecutive failures make the member Unhealthy; fewer make a Healthy member
//    Suspect. successThreshold consecutive passes make an Unhealthy (or new) member Healthy; a
//    Suspect member is Healthy again on its next heartbeat. Any failure resets the pass count and any
//    pass resets the failure count, so a flapping member never accumulates progress either way.
//
// Bounds that follow (tested): a member whose last heartbeat arrived at L is Unhealthy at exactly
// L + failureThreshold*intervalMs + timeoutMs, which is less than failureThreshold + 1 intervals
// after it stopped (timeoutMs < intervalMs). A member that comes back is Healthy at its
// successThreshold-th heartbeat, (successThreshold - 1) intervals after the first one.

import type { HealthCheckOptions } from './health-check.ts';
import type { MemberState } from './member-state.ts';

/** A change of state of one member. */
export interface Transition {
  /** State before. */
  from: MemberState;
  /** State after. */
  to: MemberState;
}

// Counters saturate here; the exact number of failures past the threshold carries no meaning.
const COUNT_CAP = 1_000_000_000;

/** Health of one member: counters, deadline and state, advanced by heartbeats and time. */
export class MemberHealth {
  readonly #opts: Readonly<HealthCheckOptions>;
  #state: MemberState;
  #failures = 0;
  #successes = 0;
  #deadlineMs: number;
  #lastCountedMs: number;
  #lastHeardMs: number;
  #transitions = 0;

  /** Start tracking a member whose first heartbeat arrived at detector time `nowMs`. */
  constructor(opts: Readonly<HealthCheckOptions>, nowMs: number) {
    this.#opts = opts;
    this.#state = MemberHealth.#firstState(opts);
    this.#successes = 1;
    this.#deadlineMs = nowMs + opts.intervalMs + opts.timeoutMs;
    this.#lastCountedMs = nowMs;
    this.#lastHeardMs = nowMs;
  }

  // The first heartbeat is the first passed check; with successThreshold > 1 the member is not
  // proven yet, and "Unhealthy" is the honest answer until it is.
  static #firstState(opts: Readonly<HealthCheckOptions>): MemberState {
    return opts.successThreshold <= 1 ? 'Healthy' : 'Unhealthy';
  }

  get state(): MemberState { return this.#state; }
  /** Consecutive failed checks. */
  get failures(): number { return this.#failures; }
  /** Consecutive passed checks. */
  get successes(): number { return this.#successes; }
  /** Detector time at which the next check fails without a heartbeat (meaningless when Left). */
  get deadlineMs(): number { return this.#deadlineMs; }
  /** Detector time of the last heartbeat. */
  get lastHeardMs(): number { return this.#lastHeardMs; }
  /** State changes so far: a quick measure of flapping. */
  get transitions(): number { return this.#transitions; }

  /** A heartbeat arrived at detector time `nowMs` (already validated and fresh). */
  heartbeat(nowMs: number): Transition | undefined {
    this.#lastHeardMs = nowMs;
    if (this.#state === 'Left') return this.#restart(nowMs);
    const { intervalMs, timeoutMs, successThreshold } = this.#opts;
    this.#failures = 0;
    this.#deadlineMs = nowMs + intervalMs + timeoutMs;
    if (this.#successes === 0 || nowMs - this.#lastCountedMs >= intervalMs - timeoutMs) {
      this.#successes = Math.min(this.#successes + 1, COUNT_CAP);
      this.#lastCountedMs = nowMs;
    }
    if (this.#state === 'Suspect') return this.#become('Healthy');
    if (this.#state === 'Unhealthy' && this.#successes >= successThreshold) return this.#become('Healthy');
    return undefined;
  }

  /** Detector time advanced to `nowMs`: fail every check whose deadline has passed. */
  advance(nowMs: number): Transition | undefined {
    if (this.#state === 'Left' || nowMs < this.#deadlineMs) return undefined;
    const { intervalMs, failureThreshold } = this.#opts;
    // Computed rather than looped, so any gap costs O(1) (the clamp in DetectorClock keeps it small anyway).
    const missed = Math.floor((nowMs - this.#deadlineMs) / intervalMs) + 1;
    this.#failures = Math.min(this.#failures + missed, COUNT_CAP);
    this.#successes = 0;
    this.#deadlineMs += missed * intervalMs;
    if (!(this.#deadlineMs > nowMs)) throw new Error('MemberHealth: deadline did not move past now');
    if (this.#failures >= failureThreshold) {
      return this.#state === 'Unhealthy' ? undefined : this.#become('Unhealthy');
    }
    return this.#state === 'Healthy' ? this.#become('Suspect') : undefined;
  }

  /** The member announced that it leaves. */
  leave(): Transition | undefined {
    if (this.#state === 'Left') return undefined;
    this.#failures = 0;
    this.#successes = 0;
    return this.#become('Left');
  }

  // First heartbeat after Left: a rejoin, treated like the very first heartbeat.
  #restart(nowMs: number): Transition {
    this.#failures = 0;
    this.#successes = 1;
    this.#lastCountedMs = nowMs;
    this.#deadlineMs = nowMs + this.#opts.intervalMs + this.#opts.timeoutMs;
    return this.#become(MemberHealth.#firstState(this.#opts));
  }

  #become(to: MemberState): Transition {
    const from = this.#state;
    if (from === to) throw new Error(`MemberHealth: transition ${from} -> ${to} is not a change`);
    this.#state = to;
    this.#transitions += 1;
    return { from, to };
  }
}
