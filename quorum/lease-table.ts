// Controller side of vote leases: which agents' votes this controller may count right now, on its
// own clock.
//
// Durations, not timestamps. An agent's expiresAtMs is on the agent's monotonic clock, whose origin is
// unrelated to ours (clocks differ by arbitrary offsets; monotonic clocks even restart with the
// process). So the grant carries a DURATION, and the controller re-anchors it on its own clock.
//
// Anchor at the request, not at the receipt. The controller sends a request (requestSent, which
// returns an id to put on the wire), the agent answers with the id and the duration. The lease is
// counted from the moment the REQUEST was sent — which is before the agent granted it — not from the
// moment the answer arrived: an answer can sit in buffers or retransmission queues for longer than
// the lease, and anchoring at receipt would then count a lease the agent already considers expired
// (and may have re-granted). Anchoring at the send is never later than anchoring at receipt, so it is
// the receipt rule of the design made safe against message delay.
//
// The drift margin. A lease of duration D is counted while nowMs < sentAtMs + D − driftMarginMs. With
// clock rates within 1 ± ρ of real time this ends no later, in real time, than the agent's expiry as
// long as driftMarginMs ≥ D·2ρ/(1+ρ) (see clock-drift.ts; the configuration checks it for ρ = 1 %).
// The table itself only asserts 0 ≤ margin < lease, so tests can show what a too-small margin breaks.
//
// Request ids never repeat across restarts: they are scoped by `incarnation`, a value the caller picks
// afresh at every process start (node/ uses a random one). Without it, a restarted controller numbering
// its requests from 1 again could match an answer to a request of its previous life — granted BEFORE
// the new request was sent — and anchor that lease too late. (The exhaustive lease exploration finds
// exactly that when incarnations are reused.)
//
// A refused, lost or timed-out request should be ended (requestEnded) so it frees its slot; a late
// answer to it is then ignored, which is always safe.
//
// Bounds: one entry per agent (at most maxAgents), at most MAX_OUTSTANDING_REQUESTS_PER_AGENT
// unanswered requests per agent (older ones are dropped; their late answers are then ignored).

import { assertMonotonic, invariant } from './invariant.ts';
import { MAX_AGENTS, MAX_LEASE_MS, MAX_OUTSTANDING_REQUESTS_PER_AGENT } from './limits.ts';

/** Options of a controller's lease table. */
export interface LeaseTableOptions {
  /** Longest lease counted, whatever duration the agent sends (the federation's leaseMs). */
  leaseMs: number;
  /** Counting stops this much before the anchored end of the lease. */
  driftMarginMs: number;
  /** Most agents tracked at once; default MAX_AGENTS. */
  maxAgents?: number;
  /** Unique per process start (random, from node/): scopes request ids so they never repeat after a restart. */
  incarnation: string;
}

/** Longest incarnation, in characters. */
export const INCARNATION_CHARS_MAX = 64;

/** What happened to a received grant (stable codes). */
export type GrantOutcome =
  /** The lease is counted until validUntilMs(agent). */
  | 'counted'
  /** No outstanding request with that id from this agent: a duplicate, a stale or a forged answer. */
  | 'unknown_request'
  /** The answer came too late: the anchored lease had already ended. Nothing counted. */
  | 'too_late'
  /** The duration is not a positive integer number of milliseconds. Nothing counted. */
  | 'bad_duration';

interface PendingRequest {
  id: string;
  sentAtMs: number;
  /** The membership epoch the request carried. */
  epoch: number;
}

interface Entry {
  validUntilMs: number | undefined;
  /** The highest membership epoch a counted grant answered (the agent has voted at it). */
  epoch: number;
  pending: PendingRequest[];
}

/** The vote leases one controller holds, on its own clock. */
export class LeaseTable {
  /** Longest lease counted. */
  readonly leaseMs: number;
  /** Margin before the anchored end. */
  readonly driftMarginMs: number;
  /** Most agents tracked. */
  readonly maxAgents: number;
  /** Scope of this table's request ids. */
  readonly incarnation: string;
  #entries = new Map<string, Entry>();
  #nextRequestId = 1;
  #lastNowMs = -Infinity;

  constructor(options: LeaseTableOptions) {
    invariant(Number.isInteger(options.leaseMs) && options.leaseMs > 0 && options.leaseMs <= MAX_LEASE_MS, `leaseMs in 1..${MAX_LEASE_MS}`);
    invariant(Number.isInteger(options.driftMarginMs) && options.driftMarginMs >= 0 && options.driftMarginMs < options.leaseMs,
      'driftMarginMs is an integer in 0..leaseMs-1');
    const maxAgents = options.maxAgents ?? MAX_AGENTS;
    invariant(Number.isInteger(maxAgents) && maxAgents > 0 && maxAgents <= MAX_AGENTS, `maxAgents in 1..${MAX_AGENTS}`);
    this.leaseMs = options.leaseMs;
    this.driftMarginMs = options.driftMarginMs;
    invariant(typeof options.incarnation === 'string' && options.incarnation.length > 0 && options.incarnation.length <= INCARNATION_CHARS_MAX,
      `incarnation is a string of 1..${INCARNATION_CHARS_MAX} characters`);
    this.maxAgents = maxAgents;
    this.incarnation = options.incarnation;
  }

  /**
   * Notes a vote request sent to `agent` now, carrying membership epoch `epoch`; returns its id for
   * the wire, or undefined when the table is full.
   */
  requestSent(agent: string, nowMs: number, epoch = 0): string | undefined {
    this.#advance(nowMs, 'requestSent');
    invariant(typeof agent === 'string' && agent.length > 0, 'agent is a non-empty name');
    let e = this.#entries.get(agent);
    if (e === undefined) {
      if (this.#entries.size >= this.maxAgents) this.prune(nowMs);
      if (this.#entries.size >= this.maxAgents) return undefined;
      e = { validUntilMs: undefined, epoch: 0, pending: [] };
      this.#entries.set(agent, e);
    }
    const id = `${this.incarnation}/${this.#nextRequestId++}`;
    e.pending.push({ id, sentAtMs: nowMs, epoch });
    if (e.pending.length > MAX_OUTSTANDING_REQUESTS_PER_AGENT) e.pending.shift();
    return id;
  }

  /**
   * Records the agent's grant answering request `requestId`, lasting `durationMs` on the agent's
   * clock. `votedEpoch`: the membership epoch the agent says it granted at (vote-lease 3); the lease
   * is taken as answering the request's epoch only when it is that one (an agent that does not say,
   * an older one, never refuses controllers behind it: its vote counts, on epoch 0).
   */
  grantReceived(agent: string, requestId: string, durationMs: number, nowMs: number, votedEpoch?: number): GrantOutcome {
    this.#advance(nowMs, 'grantReceived');
    const e = this.#entries.get(agent);
    const i = e === undefined ? -1 : e.pending.findIndex((p) => p.id === requestId);
    if (e === undefined || i < 0) return 'unknown_request';
    const req = e.pending[i]!;
    // Answers to older requests are superseded by this one (they were granted earlier).
    e.pending.splice(0, i + 1);
    if (!Number.isInteger(durationMs) || durationMs <= 0) return 'bad_duration';
    const untilMs = req.sentAtMs + Math.min(durationMs, this.leaseMs) - this.driftMarginMs;
    if (untilMs <= nowMs) return 'too_late';
    const epoch = votedEpoch === req.epoch ? req.epoch : 0;
    if (e.validUntilMs === undefined || e.validUntilMs <= nowMs) e.epoch = epoch;
    else e.epoch = Math.max(e.epoch, epoch);
    e.validUntilMs = Math.max(e.validUntilMs ?? -Infinity, untilMs);
    return 'counted';
  }

  /** Forgets request `requestId` to `agent`: refused, lost or timed out. A late answer to it is then
   *  ignored. Returns false when no such request was pending. Never changes what counts. */
  requestEnded(agent: string, requestId: string): boolean {
    const e = this.#entries.get(agent);
    const i = e === undefined ? -1 : e.pending.findIndex((p) => p.id === requestId);
    if (e === undefined || i < 0) return false;
    e.pending.splice(i, 1);
    return true;
  }

  /** True when `agent`'s vote counts for this controller at `nowMs`. */
  counts(agent: string, nowMs: number): boolean {
    const until = this.#entries.get(agent)?.validUntilMs;
    return until !== undefined && nowMs < until;
  }

  /** Agents whose vote counts at `nowMs`, sorted (the tally filters them by the registry). */
  countedAgents(nowMs: number): string[] {
    const out: string[] = [];
    for (const [agent, e] of this.#entries) if (e.validUntilMs !== undefined && nowMs < e.validUntilMs) out.push(agent);
    return out.sort();
  }

  /** Agents whose vote counts at `nowMs` and whose counted grants answered a request on `epoch`, sorted. */
  countedAtEpoch(nowMs: number, epoch: number): string[] {
    const out: string[] = [];
    for (const [agent, e] of this.#entries) if (e.validUntilMs !== undefined && nowMs < e.validUntilMs && e.epoch === epoch) out.push(agent);
    return out.sort();
  }

  /** End of counting for `agent` on this controller's clock (exclusive), if a lease was ever counted. */
  validUntilMs(agent: string): number | undefined {
    return this.#entries.get(agent)?.validUntilMs;
  }

  /** Requests to `agent` still waiting for an answer, oldest first. */
  pendingRequests(agent: string): Array<{ requestId: string; sentAtMs: number }> {
    return (this.#entries.get(agent)?.pending ?? []).map((p) => ({ requestId: p.id, sentAtMs: p.sentAtMs }));
  }

  /** Drops what can no longer count: ended leases, and requests whose answer would come too late. */
  prune(nowMs: number): void {
    this.#advance(nowMs, 'prune');
    for (const [agent, e] of this.#entries) {
      e.pending = e.pending.filter((p) => p.sentAtMs + this.leaseMs - this.driftMarginMs > nowMs);
      if (e.validUntilMs !== undefined && e.validUntilMs <= nowMs) {
        e.validUntilMs = undefined;
        e.epoch = 0;
      }
      if (e.validUntilMs === undefined && e.pending.length === 0) this.#entries.delete(agent);
    }
  }

  /** Stops tracking `agent` (for example when it leaves the registry). Never makes anything count. */
  forget(agent: string): void {
    this.#entries.delete(agent);
  }

  /** An independent copy (simulations and model checking branch on it). */
  clone(): LeaseTable {
    const c = new LeaseTable({ leaseMs: this.leaseMs, driftMarginMs: this.driftMarginMs, maxAgents: this.maxAgents, incarnation: this.incarnation });
    for (const [agent, e] of this.#entries) c.#entries.set(agent, { validUntilMs: e.validUntilMs, epoch: e.epoch, pending: e.pending.map((p) => ({ ...p })) });
    c.#nextRequestId = this.#nextRequestId;
    c.#lastNowMs = this.#lastNowMs;
    return c;
  }

  /** Agents tracked (counted or with requests pending). */
  get size(): number {
    return this.#entries.size;
  }

  #advance(nowMs: number, what: string): void {
    assertMonotonic(nowMs, this.#lastNowMs, `LeaseTable.${what}`);
    this.#lastNowMs = nowMs;
  }
}
