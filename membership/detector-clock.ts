// Detector time: the clock the failure detector runs on, derived from the caller's clock.
//
// The caller passes its own "now" on every call (membership is pure). The detector does not use that
// value directly: it advances its own time by the difference between consecutive inputs, with every
// single step clamped to [0, maxStepMs].
//  - Time going backwards (a wall clock stepped back by NTP, or a caller bug) advances nothing, and
//    detection carries on normally from the new reading: no crash, no member condemned or revived.
//  - Time jumping far forward (a clock stepped forward, a suspended laptop or VM, a stopped process,
//    a long GC pause) advances at most maxStepMs. With maxStepMs = intervalMs this costs every member
//    at most one missed check, so a jump can make members Suspect but never marks everyone Unhealthy
//    at once; heartbeats queued during the pause then arrive and clear the suspicion. The price: a
//    member that really died during a long pause is detected up to (pause - maxStepMs) later.
// Normal operation never hits the clamp because the caller ticks at least once per interval.

/** Monotonic, jump-clamped detector time fed by an untrusted caller clock. */
export class DetectorClock {
  readonly maxStepMs: number;
  #lastInputMs: number | undefined;
  #nowMs = 0;
  #backwardJumps = 0;
  #forwardJumps = 0;
  #forwardLostMs = 0;

  constructor(maxStepMs: number) {
    if (!(Number.isFinite(maxStepMs) && maxStepMs > 0)) throw new Error('DetectorClock: maxStepMs must be > 0');
    this.maxStepMs = maxStepMs;
  }

  /** Feed a caller reading; returns detector time after it. */
  advance(inputMs: number): number {
    // The caller's clock is our own code's, not remote input: a non-number is a programming error.
    if (!Number.isFinite(inputMs)) throw new Error(`DetectorClock: time must be a finite number, got ${inputMs}`);
    if (this.#lastInputMs !== undefined) {
      const deltaMs = inputMs - this.#lastInputMs;
      if (deltaMs < 0) {
        this.#backwardJumps += 1;
      } else if (deltaMs > this.maxStepMs) {
        this.#forwardJumps += 1;
        this.#forwardLostMs += deltaMs - this.maxStepMs;
        this.#nowMs += this.maxStepMs;
      } else {
        this.#nowMs += deltaMs;
      }
    }
    this.#lastInputMs = inputMs;
    return this.#nowMs;
  }

  /** Current detector time. */
  get nowMs(): number {
    return this.#nowMs;
  }

  /** Translate a detector time into the caller's clock, relative to the last reading. */
  toInputMs(detectorMs: number): number {
    return (this.#lastInputMs ?? 0) + (detectorMs - this.#nowMs);
  }

  /** Readings that went backwards. */
  get backwardJumps(): number {
    return this.#backwardJumps;
  }

  /** Readings that advanced by more than maxStepMs (clamped). */
  get forwardJumps(): number {
    return this.#forwardJumps;
  }

  /** Caller time not passed on to the detector because of clamping, milliseconds in total. */
  get forwardLostMs(): number {
    return this.#forwardLostMs;
  }
}
