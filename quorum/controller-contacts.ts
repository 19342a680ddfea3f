// Which controllers this controller "reaches", with a bounded staleness.
//
// The tally counts a controller's weight on every side that reaches it, so the safety argument needs
// "X reaches Z" to imply that X and Z can exchange data. No detector knows that at the instant of a
// cut; what it can promise is a bound on how stale it is. Here: X counts Z only while less than
// windowMs (X's clock) has passed since X last heard from Z. The default window is
// leaseMs − driftMarginMs, so in real time (rates within 1 ± ρ) X stops counting Z no later than
// leaseMs/(1+ρ) < leaseMs after the last message from Z: after a cut that lasts one lease interval,
// both sides see only their own side. That is the "beyond one lease interval" of the design.
// node/ may use membership's failure detector instead, as long as it has the same staleness bound.

import { assertMonotonic, invariant } from './invariant.ts';
import { MAX_CONTROLLERS } from './limits.ts';
import type { QuorumConfig } from './quorum-config.ts';

/** Options of a contact table. */
export interface ControllerContactsOptions {
  /** This controller (always reached). */
  self: string;
  /** Configured controllers; messages from anyone else are ignored. */
  controllers: readonly string[];
  /** A controller is reached while less than this has passed since it was last heard from. */
  windowMs: number;
}

/** Contact window that matches the vote leases: leaseMs − driftMarginMs. */
export function contactWindowMs(config: Pick<QuorumConfig, 'leaseMs' | 'driftMarginMs'>): number {
  return config.leaseMs - config.driftMarginMs;
}

/** Last time each configured controller was heard from, on this controller's clock. */
export class ControllerContacts {
  /** This controller. */
  readonly self: string;
  /** Staleness bound on this controller's clock. */
  readonly windowMs: number;
  #lastHeardMs = new Map<string, number>();
  #configured: ReadonlySet<string>;
  #lastNowMs = -Infinity;

  constructor(options: ControllerContactsOptions) {
    invariant(options.controllers.length <= MAX_CONTROLLERS, `at most ${MAX_CONTROLLERS} controllers`);
    invariant(options.controllers.includes(options.self), 'self is a configured controller');
    invariant(Number.isFinite(options.windowMs) && options.windowMs > 0, 'windowMs > 0');
    this.self = options.self;
    this.windowMs = options.windowMs;
    this.#configured = new Set(options.controllers);
  }

  /** Notes a message received from `controller` now. Returns false (ignored) for unknown names and self. */
  heard(controller: string, nowMs: number): boolean {
    assertMonotonic(nowMs, this.#lastNowMs, 'ControllerContacts.heard');
    this.#lastNowMs = nowMs;
    if (!this.#configured.has(controller) || controller === this.self) return false;
    this.#lastHeardMs.set(controller, nowMs);
    return true;
  }

  /** Controllers reached at `nowMs`, self first, then the others sorted. */
  reachable(nowMs: number): string[] {
    const out: string[] = [];
    for (const [c, at] of this.#lastHeardMs) if (nowMs - at < this.windowMs) out.push(c);
    return [this.self, ...out.sort()];
  }

  /** When `controller` was last heard from, if ever. */
  lastHeardMs(controller: string): number | undefined {
    return this.#lastHeardMs.get(controller);
  }
}
