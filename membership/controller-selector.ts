// Which controller an agent takes its configuration from: a pure state machine fed with health-check
// results and ticked with the time. It fails over when the current controller fails
// `failureThreshold` checks in a row or passes `timeoutMs` without a good one, picks the
// best-priority healthy controller (lowest round-trip among equals when latency-aware), and fails
// back to a better-priority controller only after it has stayed healthy for `recoveryDelayMs`, so a
// flapping primary does not drag its agents back and forth.
//
// The candidates may change while it runs (an agent learns the controller set live, issue 21): `add`
// appends a controller (learned from the membership record), `remove` forgets one (a controller the
// record denied or no longer lists). Removing the current controller makes the next tick fail over as
// if it had failed.
import { addRttSample, isRttSample, type RttFigures } from './rtt-estimator.ts';

/** Options of the selector (the agent's `failover` settings). */
export interface SelectorOptions {
  failureThreshold: number;
  timeoutMs: number;
  recoveryDelayMs: number;
  latencyAware: boolean;
  /**
   * At start, wait up to this long for a better-priority controller to answer or to fail
   * failureThreshold checks before settling for a worse one, so an agent does not start on a
   * secondary just because its connection came up first, only to fail back later.
   */
  startGraceMs: number;
}

/** A controller the agent may follow (configured, or learned from the membership record). */
export interface Candidate {
  /** Stable identity (the controller's peer ID). */
  id: string;
  /** Lower is preferred. */
  priority: number;
}

/** What the selector knows of one controller. */
export interface CandidateView extends Candidate {
  healthy: boolean;
  /** Failed checks in a row. */
  failures: number;
  /** Time of the last good check (undefined: never). */
  lastOkMs: number | undefined;
  /** Healthy without interruption since (undefined while unhealthy). */
  healthySinceMs: number | undefined;
  rtt: RttFigures | undefined;
}

/** Why the current controller changed. */
export type SwitchReason = 'initial' | 'failover' | 'failback' | 'lost';

/** A change of the current controller. */
export interface Switch {
  from: string | undefined;
  to: string | undefined;
  reason: SwitchReason;
}

interface Health {
  failures: number;
  lastOkMs: number | undefined;
  healthySinceMs: number | undefined;
  rtt: RttFigures | undefined;
}

export class ControllerSelector {
  readonly #o: SelectorOptions;
  readonly #candidates: Candidate[];
  readonly #health = new Map<string, Health>();
  readonly #startMs: number;
  #current: string | undefined;
  #everChosen = false;
  /** Times the agent left a controller because it failed. */
  failovers = 0;
  /** Times the agent went back to a recovered better-priority controller. */
  failbacks = 0;

  constructor(candidates: readonly Candidate[], o: SelectorOptions, nowMs: number) {
    if (candidates.length === 0) throw new Error('assertion: a selector needs at least one controller');
    this.#o = o;
    this.#candidates = [...candidates];
    this.#startMs = nowMs;
    for (const c of candidates) this.#health.set(c.id, { failures: 0, lastOkMs: undefined, healthySinceMs: undefined, rtt: undefined });
  }

  /** The controller serving the agent now, if any. */
  get current(): string | undefined {
    return this.#current;
  }

  /** Whether `id` is a candidate now. */
  has(id: string): boolean {
    return this.#health.has(id);
  }

  /**
   * Make `c` a candidate from now on (after those known already; unhealthy until a check succeeds).
   * Returns false, changing nothing, when its id is a candidate already.
   */
  add(c: Candidate): boolean {
    if (this.#health.has(c.id)) return false;
    this.#candidates.push({ id: c.id, priority: c.priority });
    this.#health.set(c.id, { failures: 0, lastOkMs: undefined, healthySinceMs: undefined, rtt: undefined });
    return true;
  }

  /**
   * Forget candidate `id`; false when it was none. When it is the current controller, it stays
   * current until the next tick, which fails over (or reports the agent lost) as if it had failed.
   */
  remove(id: string): boolean {
    const i = this.#candidates.findIndex((c) => c.id === id);
    if (i < 0) return false;
    this.#candidates.splice(i, 1);
    this.#health.delete(id);
    return true;
  }

  /** A health check of `id` succeeded in `rttMs` (plus any injected latency). */
  checkOk(id: string, rttMs: number, nowMs: number): void {
    const h = this.#get(id);
    this.#noteLapse(h, nowMs);
    h.failures = 0;
    h.lastOkMs = nowMs;
    if (isRttSample(rttMs)) h.rtt = addRttSample(h.rtt, rttMs);
    if (h.healthySinceMs === undefined && this.#healthy(h, nowMs)) h.healthySinceMs = nowMs;
  }

  /** A health check of `id` failed (no answer within the deadline, or no connection). */
  checkFailed(id: string, nowMs: number): void {
    const h = this.#get(id);
    h.failures++;
    this.#noteLapse(h, nowMs);
  }

  /** Re-evaluate at `nowMs`; returns the switch made, if any. */
  tick(nowMs: number): Switch | undefined {
    for (const h of this.#health.values()) this.#noteLapse(h, nowMs);
    const from = this.#current;
    const healthy = this.#candidates.filter((c) => this.#healthy(this.#get(c.id), nowMs));
    const best = this.#best(healthy);
    if (from !== undefined && healthy.some((c) => c.id === from)) {
      const cur = this.#candidate(from);
      const recovered = healthy.filter((c) => c.priority < cur.priority &&
        nowMs - (this.#get(c.id).healthySinceMs ?? nowMs) >= this.#o.recoveryDelayMs);
      const back = this.#best(recovered);
      if (back === undefined) return undefined;
      this.failbacks++;
      return this.#switch(from, back.id, 'failback');
    }
    if (best === undefined) {
      if (from === undefined) return undefined;
      this.failovers++;
      return this.#switch(from, undefined, 'lost');
    }
    if (from === undefined && !this.#everChosen && nowMs - this.#startMs < this.#o.startGraceMs &&
      this.#candidates.some((c) => c.priority < best.priority && this.#undecided(this.#get(c.id)))) {
      return undefined;
    }
    if (from !== undefined) this.failovers++;
    return this.#switch(from, best.id, from === undefined && !this.#everChosen ? 'initial' : 'failover');
  }

  /** What the selector knows of every candidate, in configured order (learned ones after, in the order added). */
  view(nowMs: number): CandidateView[] {
    return this.#candidates.map((c) => {
      const h = this.#get(c.id);
      const healthy = this.#healthy(h, nowMs);
      return { ...c, healthy, failures: h.failures, lastOkMs: h.lastOkMs, healthySinceMs: healthy ? h.healthySinceMs : undefined, rtt: h.rtt };
    });
  }

  #switch(from: string | undefined, to: string | undefined, reason: SwitchReason): Switch {
    this.#current = to;
    if (to !== undefined) this.#everChosen = true;
    return { from, to, reason };
  }

  // Never answered, but not failed often enough to be given up on either.
  #undecided(h: Health): boolean {
    return h.lastOkMs === undefined && h.failures < this.#o.failureThreshold;
  }

  // recoveryDelay counts unbroken health. Health is lost only by failed checks or by timeoutMs
  // passing without a good one, and once lost it stays lost until the next good check; so looking at
  // every input (a good check before it applies, a failed check after) sees every lapse, also one
  // that no tick saw.
  #noteLapse(h: Health, nowMs: number): void {
    if (!this.#healthy(h, nowMs)) h.healthySinceMs = undefined;
  }

  #healthy(h: Health, nowMs: number): boolean {
    return h.lastOkMs !== undefined && h.failures < this.#o.failureThreshold && nowMs - h.lastOkMs < this.#o.timeoutMs;
  }

  // Best priority; among equals the lowest smoothed RTT when latency-aware (unmeasured last), else
  // the configured order.
  #best(list: readonly Candidate[]): Candidate | undefined {
    let best: Candidate | undefined;
    for (const c of list) {
      if (best === undefined || c.priority < best.priority) best = c;
      else if (c.priority === best.priority && this.#o.latencyAware &&
        (this.#get(c.id).rtt?.smoothedMs ?? Infinity) < (this.#get(best.id).rtt?.smoothedMs ?? Infinity)) best = c;
    }
    return best;
  }

  #candidate(id: string): Candidate {
    const c = this.#candidates.find((x) => x.id === id);
    if (c === undefined) throw new Error(`assertion: unknown controller ${id}`);
    return c;
  }

  #get(id: string): Health {
    const h = this.#health.get(id);
    if (h === undefined) throw new Error(`assertion: unknown controller ${id}`);
    return h;
  }
}
