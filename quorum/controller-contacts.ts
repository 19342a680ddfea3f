// Which controllers this controller "reaches", with a bounded staleness. The write fence decides with
// this table (node/controller/write-fence.ts), and the split-brain world and the contact explorer
// (test/quorum/) check it: the rule proved is the rule that runs.
//
// The tally counts a controller's weight on every side that reaches it, so the safety argument needs
// "X reaches Z" to imply that X and Z exchanged data recently. Contact is a round trip over a DIRECT
// link to Z, dated by its sending: X sent something over the link at T (a liveness ping, a clock
// probe) and Z's answer came back, so Z was alive and reachable at some instant after T. Two kinds of
// evidence are NOT contact:
//   - a message of Z relayed by a third member (a half-open connection, open at both ends while its
//     packets are lost, keeps relayed heartbeats coming), so the table has no event for it;
//   - a message of Z arriving over the link, the authentication that opens a link included: it says
//     Z was alive when it sent it, and it may have been in flight for long (a slow path, Z paused
//     just after sending it). Opening a link only makes proofs over it count.
//
// The rule: Z is reached at nowMs iff a direct link to Z is open and less than windowMs (X's clock)
// has passed since the sending of the latest round trip to Z that was answered.
//   - A reset (the last link to Z closed) unreaches Z at once: linkClosed.
//   - A silent drop (no reset; the link still looks open) unreaches Z windowMs after the last contact.
//   - Two sides that exchange nothing from real time T on: X's last answered round trip with Z was
//     sent before T, so with clock rates within 1 ± ρ X stops counting Z no later than
//     T + windowMs/(1 − ρ). In AgentAssisted mode windowMs ≤ leaseMs − driftMarginMs
//     (lease-window.ts), which makes that less than leaseMs/(1 + ρ) < leaseMs: after a cut that
//     lasts one lease interval, both sides see only their own side. That is the "beyond one lease
//     interval" of the design.
// test/quorum/contact-explorer.ts checks the three exhaustively for a pair of controllers, with
// drifting clocks, delayed proofs, delayed authentications, resets, silent drops and heals.

import { assertMonotonic, invariant } from './invariant.ts';
import { MAX_CONTROLLERS } from './limits.ts';
import type { QuorumConfig } from './quorum-config.ts';

/** Options of a contact table. */
export interface ControllerContactsOptions {
  /** This controller (always reached). */
  self: string;
  /** Configured controllers; events about anyone else are ignored. */
  controllers: readonly string[];
  /** A controller is reached while less than this has passed since the last contact with it. */
  windowMs: number;
}

/** Longest contact window that vote leases allow: leaseMs − driftMarginMs (see lease-window.ts). */
export function contactWindowMs(config: Pick<QuorumConfig, 'leaseMs' | 'driftMarginMs'>): number {
  return config.leaseMs - config.driftMarginMs;
}

interface Contact {
  /** A direct link is open (as far as this controller was told). */
  open: boolean;
  /** Last contact over a direct link, this controller's clock. */
  atMs: number;
}

/** The direct links of one controller to the others, and when each last showed its peer alive. */
export class ControllerContacts {
  /** This controller. */
  readonly self: string;
  /** Staleness bound on this controller's clock. */
  readonly windowMs: number;
  /** Configured controllers, in configured order (then those added). */
  controllers: readonly string[];
  #contacts = new Map<string, Contact>();
  #lastNowMs = -Infinity;

  constructor(options: ControllerContactsOptions) {
    invariant(options.controllers.length <= MAX_CONTROLLERS, `at most ${MAX_CONTROLLERS} controllers`);
    invariant(options.controllers.includes(options.self), 'self is a configured controller');
    invariant(Number.isFinite(options.windowMs) && options.windowMs > 0, 'windowMs > 0');
    this.self = options.self;
    this.windowMs = options.windowMs;
    this.controllers = [...new Set(options.controllers)];
    for (const c of this.controllers) if (c !== this.self) this.#contacts.set(c, { open: false, atMs: -Infinity });
  }

  /**
   * A direct link to `controller` is open now (a connection authenticated, a first or another one).
   * No contact: the authentication's last message may have been sent long ago; proofs over the link
   * count from now on. Returns false (ignored) for unknown names and self.
   */
  linkOpened(controller: string, nowMs: number): boolean {
    const c = this.#event(controller, nowMs, 'linkOpened');
    if (c === undefined) return false;
    c.open = true;
    return true;
  }

  /** No direct link to `controller` is left (the last one closed or was reset): unreached at once. */
  linkClosed(controller: string, nowMs: number): boolean {
    const c = this.#event(controller, nowMs, 'linkClosed');
    if (c === undefined) return false;
    c.open = false;
    return true;
  }

  /**
   * A round trip to `controller` over a direct link, sent at `atMs`, was answered (a liveness ping, a
   * clock probe); told at `nowMs`. A proof from the future counts as now. Ignored (false) while no link is open: a proof of
   * a closed link says nothing about the next one. An older proof than the last contact changes nothing.
   */
  proven(controller: string, atMs: number, nowMs: number): boolean {
    invariant(Number.isFinite(atMs), `ControllerContacts.proven: atMs must be a finite number, got ${atMs}`);
    const c = this.#event(controller, nowMs, 'proven');
    if (c === undefined || !c.open) return false;
    c.atMs = Math.max(c.atMs, Math.min(atMs, nowMs));
    return true;
  }

  /** True when `controller` is reached at `nowMs` (self always). */
  reaches(controller: string, nowMs: number): boolean {
    if (controller === this.self) return true;
    const c = this.#contacts.get(controller);
    return c !== undefined && c.open && nowMs - c.atMs < this.windowMs;
  }

  /** Controllers reached at `nowMs`, self included, in configured order. */
  reachable(nowMs: number): string[] {
    return this.controllers.filter((c) => this.reaches(c, nowMs));
  }

  /**
   * The next moment after `nowMs` at which a controller reached now stops being reached unless it is
   * heard from first (its last contact + windowMs); undefined when none is reached.
   */
  nextExpiryMs(nowMs: number): number | undefined {
    let due = Infinity;
    for (const c of this.#contacts.values()) if (c.open && nowMs - c.atMs < this.windowMs) due = Math.min(due, c.atMs + this.windowMs);
    return due === Infinity ? undefined : due;
  }

  /** When the last contact with `controller` was, if any (this controller's clock). */
  lastContactMs(controller: string): number | undefined {
    const at = this.#contacts.get(controller)?.atMs;
    return at === undefined || at === -Infinity ? undefined : at;
  }

  /** True while a direct link to `controller` is open, as far as this table was told. */
  linkOpen(controller: string): boolean {
    return this.#contacts.get(controller)?.open ?? false;
  }

  /**
   * Track `controller` too (live membership: a controller the record added), with no link open yet;
   * false when it is tracked already or the table is full.
   */
  addController(controller: string): boolean {
    if (this.#contacts.has(controller) || controller === this.self || this.controllers.length >= MAX_CONTROLLERS) return false;
    this.controllers = [...this.controllers, controller];
    this.#contacts.set(controller, { open: false, atMs: -Infinity });
    return true;
  }

  /** An independent copy (model checking branches on it). */
  clone(): ControllerContacts {
    const x = new ControllerContacts({ self: this.self, controllers: this.controllers, windowMs: this.windowMs });
    for (const [k, c] of this.#contacts) x.#contacts.set(k, { ...c });
    x.#lastNowMs = this.#lastNowMs;
    return x;
  }

  #event(controller: string, nowMs: number, what: string): Contact | undefined {
    assertMonotonic(nowMs, this.#lastNowMs, `ControllerContacts.${what}`);
    this.#lastNowMs = nowMs;
    return controller === this.self ? undefined : this.#contacts.get(controller);
  }
}
