// Controller side of the vote-lease protocol: asks every authenticated agent connected to this
// controller for its vote lease, every renewMs (a third of the lease by default, so a lease is renewed
// twice before it runs out and one lost exchange costs nothing), and keeps what they grant in the pure
// LeaseTable (quorum/lease-table.ts), whose header has the safety argument: leases are anchored at
// the moment the request was sent, on this controller's monotonic clock, and counted until
// sent + min(duration, leaseMs) − driftMarginMs. The tally reads countedAgents(now). Each grant also
// carries the agent's clocks, passed on as a clock-offset sample ('clock-sample'): the write fence
// counts an agent's vote only while its clock agrees with this controller's (quorum/clock-skew.ts).
//
// Bounds: at most concurrencyMax exchanges at once, at most one per agent (an agent whose previous
// exchange has not ended is skipped this round), each with a deadline (requestTimeoutMs covers the
// dial, the request and the answer), small frames (vote-messages.ts), and the LeaseTable's own
// limits on agents and pending requests.
import { LeaseTable, type GrantOutcome } from '../../quorum/index.ts';
import { every, timeoutSignal, type RandomSource, type TimerComponents } from '../components.ts';
import type { PeerStream } from '../host/open-stream.ts';
import { Emitter } from '../util/emitter.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import type { ClockSample } from '../membership/membership-service.ts';
import { MessageStream } from '../wire/message-stream.ts';
import { ProtocolError } from '../wire/protocol-error.ts';
import { parseVoteReply, UNSUPPORTED_VERSION, VOTE_LEASE_VERSION, voteStreamOptions } from './vote-messages.ts';

/** Default most vote exchanges in flight at once. */
export const VOTE_CONCURRENCY_DEFAULT = 32;

/** Options of a collector. */
export interface VoteCollectorOptions {
  /** The federation's lease duration (splitBrain.leaseMs). */
  leaseMs: number;
  /** splitBrain.driftMarginMs. */
  driftMarginMs: number;
  /** Period of the requests to each agent, ms; default ⌊leaseMs/3⌋. */
  renewMs?: number;
  /** Deadline of one exchange (dial, request, answer), ms; default renewMs. */
  requestTimeoutMs?: number;
  /** Most exchanges at once; default VOTE_CONCURRENCY_DEFAULT. */
  concurrencyMax?: number;
  /** Scope of request ids, fresh per process start; default 16 bytes of `random` in hex. */
  incarnation?: string;
  /** Member names of the authenticated agents connected to this controller now. */
  agents(): string[];
  /** This controller's committed membership epoch, carried by each request (default 0: none). */
  epoch?: () => number;
  /** Open a vote-lease stream to `agent`. */
  open(agent: string, signal: AbortSignal): Promise<PeerStream>;
  /** The node's monotonic clock and timers: lease anchors, the renewal period, exchange deadlines. */
  timers: TimerComponents;
  /** The node's randomness (the incarnation). */
  random: RandomSource;
  /** Logger (default silent). */
  logger?: Logger;
}

/** Outcome of one exchange. */
export type ExchangeOutcome = GrantOutcome | 'refused' | 'failed' | 'table_full';

/** Counters of a collector. */
export interface VoteCollectorCounters {
  /** Requests sent. */
  requests: number;
  /** Grants counted. */
  grants: number;
  /** Refusals (the agent follows another controller, is starting, or its vote is leased elsewhere). */
  refusals: number;
  /** Exchanges that failed: dial, deadline, closed stream, bad answer. */
  failures: number;
  /** Grants not counted: too late, unknown request, bad duration. */
  ignored: number;
}

/** A grant counted: `agent`'s vote counts here from `fromMs` (its receipt) until `untilMs`, monotonic clock. */
export interface LeaseCounted {
  agent: string;
  fromMs: number;
  untilMs: number;
}

/** Events of a collector. */
export interface VoteCollectorEvents {
  counted: (e: LeaseCounted) => void;
  /** An agent's clocks, from a grant (emitted before the grant is counted): a clock-offset sample. */
  'clock-sample': (e: ClockSample) => void;
}

export class VoteCollector {
  /** The leases, on this controller's clock. */
  readonly table: LeaseTable;
  /** Period of the requests, ms. */
  readonly renewMs: number;
  /** Deadline of one exchange, ms. */
  readonly requestTimeoutMs: number;
  readonly counters: VoteCollectorCounters = { requests: 0, grants: 0, refusals: 0, failures: 0, ignored: 0 };
  readonly #o: VoteCollectorOptions;
  readonly #timers: TimerComponents;
  readonly #log: Logger;
  readonly #concurrencyMax: number;
  readonly #inFlight = new Set<string>();
  readonly #lastRefusal = new Map<string, string>();
  // Agents that refused vote-lease 3 (older ones): asked in version 2 while they stay connected.
  readonly #olderAgents = new Set<string>();
  readonly #waiting: Array<() => void> = [];
  readonly #stop = new AbortController();
  #active = 0;
  #cancelTimer: (() => void) | undefined;
  readonly #events: Emitter<VoteCollectorEvents>;

  constructor(o: VoteCollectorOptions) {
    this.#o = o;
    this.#timers = o.timers;
    this.#log = loggerOrSilent(o.logger).child({ component: 'vote-collector' });
    this.#events = new Emitter((err, event) => this.#log.warn({ err: String(err), event }, 'vote collector listener threw'));
    this.table = new LeaseTable({
      leaseMs: o.leaseMs, driftMarginMs: o.driftMarginMs, incarnation: o.incarnation ?? Buffer.from(o.random.bytes(16)).toString('hex'),
    });
    this.renewMs = o.renewMs ?? Math.max(1, Math.floor(o.leaseMs / 3));
    this.requestTimeoutMs = o.requestTimeoutMs ?? this.renewMs;
    this.#concurrencyMax = o.concurrencyMax ?? VOTE_CONCURRENCY_DEFAULT;
    if (!(this.renewMs > 0 && this.requestTimeoutMs > 0 && this.#concurrencyMax > 0)) throw new RangeError('vote collector: periods and concurrency must be positive');
  }

  /** Subscribe to counted grants (what the tally may count, and until when); returns the unsubscribe function. */
  on<K extends keyof VoteCollectorEvents>(event: K, listener: VoteCollectorEvents[K]): () => void {
    return this.#events.on(event, listener);
  }

  /** Ask every connected agent now, then every renewMs. */
  start(): void {
    if (this.#cancelTimer !== undefined || this.#stop.signal.aborted) return;
    this.#cancelTimer = every(this.#timers, this.renewMs, () => { void this.round(); });
    void this.round();
  }

  /** Stop asking; exchanges in flight are aborted. What was granted stays counted until it runs out. */
  stop(): void {
    this.#cancelTimer?.();
    this.#stop.abort();
    for (const wake of this.#waiting.splice(0)) wake();
  }

  /** Agents whose vote counts for this controller at `nowMs`, sorted. */
  countedAgents(nowMs = this.#timers.nowMs()): string[] {
    return this.table.countedAgents(nowMs);
  }

  /** True when `agent`'s vote counts here at `nowMs`. */
  counts(agent: string, nowMs = this.#timers.nowMs()): boolean {
    return this.table.counts(agent, nowMs);
  }

  /** Why `agent` last refused, if its last answer was a refusal. */
  lastRefusal(agent: string): string | undefined {
    return this.#lastRefusal.get(agent);
  }

  /** One round: a request to every connected agent that has no exchange in flight. */
  async round(): Promise<void> {
    if (this.#stop.signal.aborted) return;
    this.table.prune(this.#timers.nowMs());
    const agents = new Set(this.#o.agents());
    for (const a of this.#lastRefusal.keys()) if (!agents.has(a)) this.#lastRefusal.delete(a);
    for (const a of this.#olderAgents) if (!agents.has(a)) this.#olderAgents.delete(a);
    const due = [...agents].filter((a) => !this.#inFlight.has(a));
    // Reserved before waiting for a slot, so the next round does not queue the same agent again.
    for (const a of due) this.#inFlight.add(a);
    await Promise.all(due.map(async (a) => {
      try {
        await this.#slot(() => this.#exchange(a));
      } finally {
        this.#inFlight.delete(a);
      }
    }));
  }

  /** One exchange with `agent` now (skipped as 'failed' when one is already in flight). */
  async request(agent: string): Promise<ExchangeOutcome> {
    if (this.#inFlight.has(agent)) return 'failed';
    this.#inFlight.add(agent);
    try {
      return await this.#exchange(agent);
    } finally {
      this.#inFlight.delete(agent);
    }
  }

  async #exchange(agent: string): Promise<ExchangeOutcome> {
    const signal = AbortSignal.any([this.#stop.signal, timeoutSignal(this.#timers, this.requestTimeoutMs)]);
    let id: string | undefined;
    let link: PeerStream | undefined;
    try {
      link = await this.#o.open(agent, signal);
      // Anchored here, before the request leaves: never later than the agent's grant.
      const sentAtMs = this.#timers.nowMs();
      const epoch = this.#o.epoch?.() ?? 0;
      id = this.table.requestSent(agent, sentAtMs, epoch);
      if (id === undefined) return 'table_full';
      this.counters.requests++;
      const stream = new MessageStream(link.duplex, voteStreamOptions(this.#timers, this.requestTimeoutMs));
      const older = this.#olderAgents.has(agent);
      await stream.write(older ? { t: 'request', id, v: 2 } : { t: 'request', id, v: VOTE_LEASE_VERSION, epoch }, signal);
      const reply = parseVoteReply(await stream.read(signal));
      if (reply.id !== id) throw new ProtocolError(`vote reply for ${reply.id.slice(0, 40)}, asked ${id}`);
      if (reply.t === 'refused') {
        this.table.requestEnded(agent, id);
        this.counters.refusals++;
        this.#lastRefusal.set(agent, reply.reason);
        if (reply.reason === UNSUPPORTED_VERSION && !older) this.#olderAgents.add(agent);
        return 'refused';
      }
      const receivedAtMs = this.#timers.nowMs();
      // The agent read its clocks between our request and this answer: the fence counts its vote only
      // while they agree with ours (a grant without them, from a version-1 agent, is never counted).
      if (reply.clock !== undefined) this.#events.emit('clock-sample', { member: agent, remote: reply.clock, sentAtMs, receivedAtMs });
      const outcome = this.table.grantReceived(agent, id, reply.durationMs, receivedAtMs, reply.epoch);
      if (outcome === 'counted') {
        this.counters.grants++;
        this.#lastRefusal.delete(agent);
        this.#events.emit('counted', { agent, fromMs: receivedAtMs, untilMs: this.table.validUntilMs(agent)! });
      } else {
        this.counters.ignored++;
        this.#log.debug({ agent, outcome }, 'vote grant not counted');
      }
      return outcome;
    } catch (err) {
      if (id !== undefined) this.table.requestEnded(agent, id);
      this.counters.failures++;
      if (!this.#stop.signal.aborted) this.#log.debug({ agent, err: (err as Error).message }, 'vote request failed');
      return 'failed';
    } finally {
      await link?.close().catch(() => undefined);
    }
  }

  async #slot<T>(fn: () => Promise<T>): Promise<T | undefined> {
    while (this.#active >= this.#concurrencyMax) {
      if (this.#stop.signal.aborted) return undefined;
      await new Promise<void>((r) => this.#waiting.push(r));
    }
    if (this.#stop.signal.aborted) return undefined;
    this.#active++;
    try {
      return await fn();
    } finally {
      this.#active--;
      this.#waiting.shift()?.();
    }
  }
}
