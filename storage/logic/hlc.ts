// Hybrid logical clock (pure: physical time is passed in, nothing is read from the system).
//
// A stamp is (wallMs, logical, member). Stamps are totally ordered: wall time first, then the logical
// counter, then the member name, so two writes never compare equal unless they are the same write.
// The clock never goes backwards: not when the system clock steps back, and not across restarts,
// because the caller persists `highWater()` and passes it back to `restore()`.

/** One HLC stamp: physical milliseconds, a logical counter and the member that issued it. */
export interface HlcStamp {
  /** Physical component, milliseconds since the Unix epoch. */
  wallMs: number;
  /** Logical counter, 0..logicalMax, breaks ties within one millisecond. */
  logical: number;
  /** Member name of the issuer: the last tie-breaker. */
  member: string;
}

/** Options of a hybrid logical clock. */
export interface HlcOptions {
  /** Remote stamps more than this far ahead of local physical time are refused. */
  maxClockOffsetMs: number;
  /** Largest logical counter; one more borrows a millisecond from the wall component. */
  logicalMax?: number;
}

/** Default logical counter bound: 2^16 - 1 events within one millisecond before borrowing. */
export const HLC_LOGICAL_MAX = 0xffff;

/** A remote stamp too far in the future; its stable code is CLOCK_SKEW. */
export class ClockSkewError extends Error {
  readonly code = 'CLOCK_SKEW';
  readonly aheadMs: number;
  constructor(aheadMs: number, maxMs: number) {
    super(`remote clock is ${aheadMs} ms ahead of local time (maxClockOffset ${maxMs} ms)`);
    this.aheadMs = aheadMs;
  }
}

/** Total order on stamps: negative, zero or positive like a sort comparator. */
export function compareHlc(a: HlcStamp, b: HlcStamp): number {
  if (a.wallMs !== b.wallMs) return a.wallMs < b.wallMs ? -1 : 1;
  if (a.logical !== b.logical) return a.logical < b.logical ? -1 : 1;
  if (a.member === b.member) return 0;
  return a.member < b.member ? -1 : 1;
}

/** The larger of two stamps. */
export function maxHlc(a: HlcStamp, b: HlcStamp): HlcStamp {
  return compareHlc(a, b) >= 0 ? a : b;
}

/** True when `s` has the shape of a stamp (used to validate decoded input). */
export function isHlcStamp(s: unknown): s is HlcStamp {
  if (typeof s !== 'object' || s === null) return false;
  const o = s as Record<string, unknown>;
  return Number.isSafeInteger(o.wallMs) && (o.wallMs as number) >= 0 &&
    Number.isSafeInteger(o.logical) && (o.logical as number) >= 0 &&
    typeof o.member === 'string' && o.member.length > 0 && o.member.length <= 253;
}

/** A hybrid logical clock for one member. */
export class HybridClock {
  readonly member: string;
  readonly maxClockOffsetMs: number;
  readonly logicalMax: number;
  #wallMs = 0;
  #logical = 0;

  constructor(member: string, options: HlcOptions) {
    if (member.length === 0) throw new Error('HybridClock: member name is empty');
    if (!(options.maxClockOffsetMs > 0)) throw new Error('HybridClock: maxClockOffsetMs must be > 0');
    this.member = member;
    this.maxClockOffsetMs = options.maxClockOffsetMs;
    this.logicalMax = options.logicalMax ?? HLC_LOGICAL_MAX;
    if (!(this.logicalMax >= 1)) throw new Error('HybridClock: logicalMax must be >= 1');
  }

  /**
   * Raise the clock to at least `mark`, without the skew check: for a persisted high-water mark after
   * a restart, and for stamps already accepted into the store.
   */
  restore(mark: HlcStamp): void {
    if (mark.wallMs > this.#wallMs || (mark.wallMs === this.#wallMs && mark.logical > this.#logical)) {
      this.#wallMs = mark.wallMs;
      this.#logical = mark.logical;
    }
  }

  /** The last stamp issued or observed: what to persist so a restart never goes backwards. */
  highWater(): HlcStamp {
    // Keys in sorted order: stamps are embedded in canonical encodings, which then need no reordering.
    return { logical: this.#logical, member: this.member, wallMs: this.#wallMs };
  }

  /** A new stamp for a local event at physical time `physicalMs`, strictly above every earlier one. */
  now(physicalMs: number): HlcStamp {
    if (physicalMs > this.#wallMs) {
      this.#wallMs = physicalMs;
      this.#logical = 0;
    } else {
      this.#tickLogical();
    }
    return this.highWater();
  }

  /**
   * Observe a remote stamp at local physical time `physicalMs`; returns the new local stamp, which is
   * above both the remote one and every earlier local one. Throws ClockSkewError, leaving the clock
   * unchanged, when the remote stamp is more than maxClockOffsetMs ahead of local physical time.
   */
  receive(remote: HlcStamp, physicalMs: number): HlcStamp {
    const aheadMs = remote.wallMs - physicalMs;
    if (aheadMs > this.maxClockOffsetMs) throw new ClockSkewError(aheadMs, this.maxClockOffsetMs);
    const wallMs = Math.max(this.#wallMs, remote.wallMs, physicalMs);
    if (wallMs === this.#wallMs && wallMs === remote.wallMs) {
      this.#logical = Math.max(this.#logical, remote.logical);
      this.#tickLogical();
    } else if (wallMs === this.#wallMs) {
      this.#tickLogical();
    } else if (wallMs === remote.wallMs) {
      this.#wallMs = wallMs;
      this.#logical = remote.logical;
      this.#tickLogical();
    } else {
      this.#wallMs = wallMs;
      this.#logical = 0;
    }
    return this.highWater();
  }

  // Past logicalMax the counter would grow without bound within one millisecond; borrowing a
  // millisecond keeps stamps monotonic and bounded, at the cost of running slightly ahead.
  #tickLogical(): void {
    if (this.#logical >= this.logicalMax) {
      this.#wallMs += 1;
      this.#logical = 0;
    } else {
      this.#logical += 1;
    }
  }
}
