// Agent side of vote leases: which controller this agent's vote belongs to, on the agent's own clock.
//
// Exclusivity is the whole point: the agent holds at most one lease, and grants to a different
// controller only once the held one has expired on its clock (nowMs ≥ expiresAtMs). Controllers stop
// counting a lease before that moment (lease-table.ts), so at no instant do two controllers count
// the same agent — not during failover, not with drifting clocks, not after a restart.
//
// Primary changes. The agent grants (and renews) only to its CURRENT primary — the controller it
// failed over to, or back to. When the primary changes from A to B, B's requests are refused with
// `held_by_other` until A's lease expires; A's renewals are refused with `not_primary`, so A's lease
// runs out at most leaseMs after its last renewal, and then B gets it. Failover therefore moves the
// vote after at most one lease interval, never earlier. There is no early release: the agent cannot
// know when A has stopped counting, so a release would not make B's count safe any sooner.
//
// Membership epochs (AgentAssisted live membership, quorum/agent-epochs.ts). Each request carries the
// requesting controller's committed membership epoch. The agent keeps the highest epoch it has granted
// at (`knownEpoch`, saved by the caller before the grant is answered, and given back after a restart)
// and refuses a controller on a lower one (`old_epoch`). So once an agent's vote has counted on an
// epoch, no controller still behind it counts that vote again: the agents carry the news of a voter
// change to the side that missed it, as the controllers' clock answers do.
//
// Restarts. A restarted agent has forgotten what it granted (a persisted expiry would be meaningless
// on the new process's monotonic clock), so it grants nothing during the first leaseMs after start:
// any lease of its previous life has expired by then.

import { assertMonotonic, invariant } from './invariant.ts';
import { MAX_LEASE_MS } from './limits.ts';

/** A vote lease as the agent holds it, on the agent's clock. */
export interface VoteLease {
  /** Controller the vote is granted to. */
  readonly controller: string;
  /** When it was granted or last renewed. */
  readonly grantedAtMs: number;
  /** When it expires: the agent may grant elsewhere from this instant on. */
  readonly expiresAtMs: number;
}

/** Why a vote request was refused (stable codes). */
export type GrantRefusal =
  /** The agent started less than leaseMs ago and may still be bound by a lease from before. */
  | 'starting'
  /** The requester is not the agent's current primary controller. */
  | 'not_primary'
  /** Another controller holds an unexpired lease. */
  | 'held_by_other'
  /** The requester's membership epoch is below one this agent has granted at. */
  | 'old_epoch';

/** A granted vote request. */
export interface VoteGranted {
  /** Granted. */
  granted: true;
  /** The lease now held, on the agent's clock. */
  lease: VoteLease;
  /** True when it extends a lease the same controller already held. */
  renewal: boolean;
  /** What goes on the wire: the lease duration (never a timestamp: clocks differ). */
  durationMs: number;
}

/** A refused vote request. */
export interface VoteRefused {
  /** Refused. */
  granted: false;
  /** Why. */
  reason: GrantRefusal;
  /** Controller holding the unexpired lease, if any. */
  holder: string | undefined;
  /** When the agent may grant again (agent's clock), if known. */
  freeAtMs: number | undefined;
  /** Human-readable detail. */
  message: string;
}

/** Answer to a vote request. */
export type VoteRequestResult = VoteGranted | VoteRefused;

/** Options of an agent's vote state. */
export interface AgentVoteOptions {
  /** Lease duration, on this agent's clock (the federation's leaseMs). */
  leaseMs: number;
  /** This process's start, on the same monotonic clock as every later nowMs. */
  startedAtMs: number;
  /** The highest membership epoch granted at before (saved across restarts); default 0. */
  knownEpoch?: number;
}

/** The vote-lease state machine of one agent. */
export class AgentVoteState {
  /** Lease duration on this agent's clock. */
  readonly leaseMs: number;
  /** Start of this process; no grant before startedAtMs + leaseMs. */
  readonly startedAtMs: number;
  #lease: VoteLease | undefined;
  #lastNowMs: number;
  #knownEpoch: number;

  constructor(options: AgentVoteOptions) {
    invariant(Number.isInteger(options.leaseMs) && options.leaseMs > 0 && options.leaseMs <= MAX_LEASE_MS, `leaseMs in 1..${MAX_LEASE_MS}`);
    invariant(Number.isFinite(options.startedAtMs), 'startedAtMs is a finite number');
    this.leaseMs = options.leaseMs;
    this.startedAtMs = options.startedAtMs;
    this.#lastNowMs = options.startedAtMs;
    const known = options.knownEpoch ?? 0;
    invariant(Number.isSafeInteger(known) && known >= 0, 'knownEpoch is a non-negative integer');
    this.#knownEpoch = known;
  }

  /** The highest membership epoch this agent has granted at. */
  get knownEpoch(): number {
    return this.#knownEpoch;
  }

  /**
   * Answers a vote request from `controller` at `nowMs`, given the agent's current `primary`, from a
   * controller on membership epoch `epoch` (0: it keeps no membership record).
   */
  request(controller: string, primary: string | undefined, nowMs: number, epoch = 0): VoteRequestResult {
    assertMonotonic(nowMs, this.#lastNowMs, 'AgentVoteState.request');
    invariant(typeof controller === 'string' && controller.length > 0, 'controller is a non-empty name');
    this.#lastNowMs = nowMs;
    const held = this.held(nowMs);
    const quietUntilMs = this.startedAtMs + this.leaseMs;
    if (nowMs < quietUntilMs) {
      return refuse('starting', held, quietUntilMs, `agent started less than one lease (${this.leaseMs} ms) ago; votes from ${quietUntilMs}`);
    }
    if (controller !== primary) {
      return refuse('not_primary', held, held?.expiresAtMs, `${controller} is not this agent's primary (${primary ?? 'none'})`);
    }
    if (held !== undefined && held.controller !== controller) {
      return refuse('held_by_other', held, held.expiresAtMs, `vote leased to ${held.controller} until ${held.expiresAtMs}`);
    }
    invariant(Number.isSafeInteger(epoch) && epoch >= 0, 'epoch is a non-negative integer');
    if (epoch < this.#knownEpoch) {
      return refuse('old_epoch', held, undefined, `${controller} is on membership epoch ${epoch}; this agent has voted at epoch ${this.#knownEpoch}`);
    }
    this.#knownEpoch = epoch;
    const lease: VoteLease = { controller, grantedAtMs: nowMs, expiresAtMs: nowMs + this.leaseMs };
    this.#lease = lease;
    return { granted: true, lease, renewal: held !== undefined, durationMs: this.leaseMs };
  }

  /** The unexpired lease at `nowMs`, if any (expired exactly at expiresAtMs). */
  held(nowMs: number): VoteLease | undefined {
    const l = this.#lease;
    return l !== undefined && nowMs < l.expiresAtMs ? l : undefined;
  }

  /** An independent copy (simulations and model checking branch on it). */
  clone(): AgentVoteState {
    const c = new AgentVoteState({ leaseMs: this.leaseMs, startedAtMs: this.startedAtMs });
    c.#lease = this.#lease;
    c.#lastNowMs = this.#lastNowMs;
    c.#knownEpoch = this.#knownEpoch;
    return c;
  }

  /** Earliest instant from which this agent may grant its vote to `controller` (nowMs if already). */
  freeForMs(controller: string, nowMs: number): number {
    const held = this.held(nowMs);
    const quiet = this.startedAtMs + this.leaseMs;
    const lease = held !== undefined && held.controller !== controller ? held.expiresAtMs : nowMs;
    return Math.max(nowMs, quiet, lease);
  }
}

function refuse(reason: GrantRefusal, held: VoteLease | undefined, freeAtMs: number | undefined, message: string): VoteRequestResult {
  return { granted: false, reason, holder: held?.controller, freeAtMs, message };
}
