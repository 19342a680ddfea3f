// Agent side of the vote-lease protocol: answers controllers' vote requests with the pure
// AgentVoteState (quorum/agent-vote-state.ts), whose `primary` is the controller this agent follows
// now. Only authenticated controllers reach it (the agent node registers it behind
// membership.guard(..., { roles: ['controller'] })), and the controller's name comes from its
// certificate, never from the message.
//
// How the agent learns the lease duration: from the hello of the controller it follows (the config
// stream carries the controllers' splitBrain.leaseMs). One source of truth, nothing for an operator to
// keep equal by hand, and the agent cannot grant before it has followed a controller anyway (it grants
// only to the controller it follows). The first duration learned is kept for the life of the process:
// a lease already granted must not change length under the controller counting it. Any duration is
// safe for the controllers (they count min(agent's, own) − drift margin from before the grant); a
// differing one is only a misconfiguration, logged and counted.
//
// Membership epochs (quorum/agent-epochs.ts): a grant at an epoch above the highest one granted at so
// far is saved (`saveEpoch`, durable) before it is answered, and the saved epoch is given back at the
// next start (`knownEpoch`): an agent whose vote counted on an epoch never counts for a controller
// behind it again, restarts included. A save that fails fails the exchange: nothing is granted.
import type { Duplex } from 'it-stream-types';
import { AgentVoteState, MAX_LEASE_MS, type VoteLease } from '../../quorum/index.ts';
import type { TimerComponents } from '../components.ts';
import type { RemoteClock } from '../membership/clock-probe.ts';
import { Emitter } from '../util/emitter.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import { MessageStream } from '../wire/message-stream.ts';
import {
  parseVoteRequest, UNSUPPORTED_VERSION, VOTE_LEASE_VERSIONS_ANSWERED, voteStreamOptions, type VoteReply, type VoteRequest,
} from './vote-messages.ts';

/** Options of a responder. */
export interface VoteResponderOptions {
  /** Member name of the controller this agent follows now (its primary for votes), if any. */
  primary(): string | undefined;
  /** This agent's clocks, sent with each grant (the membership's readClock: physical clock and stamp height). */
  readClock(): RemoteClock;
  /** Deadline of reading a request and of writing the answer, ms. */
  ioTimeoutMs: number;
  /** The node's monotonic clock (lease expiry) and timers (exchange deadlines). */
  timers: TimerComponents;
  /** Start of this process on `timers.nowMs` (default: when the responder is created). */
  startedAtMs?: number;
  /** Logger (default silent). */
  logger?: Logger;
  /** The highest membership epoch granted at in an earlier life (saved by `saveEpoch`); default 0. */
  knownEpoch?: number;
  /** Save durably the highest membership epoch granted at; resolves once saved. Default: not saved. */
  saveEpoch?: (epoch: number) => Promise<void>;
}

/** What the agent reports about its vote. */
export interface VoteResponderStatus {
  /** Lease duration learned from the controllers (undefined: none yet, so no vote is granted). */
  leaseMs: number | undefined;
  /** Controller holding the unexpired lease, if any. */
  holder: string | undefined;
  /** When that lease expires, on the agent's monotonic clock. */
  expiresAtMs: number | undefined;
  /** The highest membership epoch it has granted at (it refuses controllers below it). */
  knownEpoch: number;
  /** Requests granted, refused, and exchanges that failed (bad message, deadline). */
  granted: number;
  refused: number;
  errors: number;
}

/** Events of a responder. */
export interface VoteResponderEvents {
  /** A lease granted or renewed (on the agent's monotonic clock). */
  granted: (lease: VoteLease) => void;
}

export class VoteResponder {
  /** Counters (also in status()). */
  readonly counters = { granted: 0, refused: 0, errors: 0, leaseMismatches: 0 };
  readonly #o: VoteResponderOptions;
  readonly #timers: TimerComponents;
  readonly #startedAtMs: number;
  readonly #log: Logger;
  #state: AgentVoteState | undefined;
  // The highest epoch saved (or given at start).
  #savedEpoch: number;
  readonly #events: Emitter<VoteResponderEvents>;

  constructor(o: VoteResponderOptions) {
    this.#o = o;
    this.#timers = o.timers;
    this.#startedAtMs = o.startedAtMs ?? o.timers.nowMs();
    this.#log = loggerOrSilent(o.logger).child({ component: 'vote-responder' });
    this.#savedEpoch = o.knownEpoch ?? 0;
    this.#events = new Emitter((err, event) => this.#log.warn({ err: String(err), event }, 'vote responder listener threw'));
  }

  /** Subscribe to grants; returns the unsubscribe function. */
  on<K extends keyof VoteResponderEvents>(event: K, listener: VoteResponderEvents[K]): () => void {
    return this.#events.on(event, listener);
  }

  /** The federation's lease duration, from a controller's hello; the first one is kept. */
  learnLeaseMs(leaseMs: number): void {
    if (!Number.isInteger(leaseMs) || leaseMs < 1 || leaseMs > MAX_LEASE_MS) return;
    if (this.#state === undefined) {
      this.#state = new AgentVoteState({ leaseMs, startedAtMs: this.#startedAtMs, knownEpoch: this.#savedEpoch });
    } else if (this.#state.leaseMs !== leaseMs) {
      this.counters.leaseMismatches++;
      this.#log.warn({ kept: this.#state.leaseMs, offered: leaseMs }, 'controllers disagree on splitBrain.leaseMs; keeping the first');
    }
  }

  /**
   * The answer to `request` from authenticated controller `controller`, now. A grant that raised the
   * epoch granted at must be saved before it is sent (`serve` does).
   */
  answer(controller: string, request: VoteRequest): VoteReply {
    const id = request.id;
    if (!VOTE_LEASE_VERSIONS_ANSWERED.includes(request.v)) {
      this.counters.refused++;
      return { t: 'refused', id, reason: UNSUPPORTED_VERSION, message: `vote-lease version ${request.v} not supported (${VOTE_LEASE_VERSIONS_ANSWERED.join(', ')})` };
    }
    if (this.#state === undefined) {
      this.counters.refused++;
      return { t: 'refused', id, reason: 'starting', message: 'the lease duration is not known yet (no controller followed so far)' };
    }
    const r = this.#state.request(controller, this.#o.primary(), this.#timers.nowMs(), request.epoch ?? 0);
    if (r.granted) {
      this.counters.granted++;
      this.#events.emit('granted', r.lease);
      if (request.v < 2) return { t: 'grant', id, durationMs: r.durationMs };
      const clock = this.#o.readClock();
      return request.v >= 3 ? { t: 'grant', id, durationMs: r.durationMs, clock, epoch: request.epoch ?? 0 } : { t: 'grant', id, durationMs: r.durationMs, clock };
    }
    this.counters.refused++;
    return { t: 'refused', id, reason: r.reason, message: r.message.slice(0, 500) };
  }

  /** Serve one exchange on `duplex` from controller `controller`: read the request, write the answer. */
  async serve(duplex: Duplex<any, any, any>, controller: string, signal?: AbortSignal): Promise<VoteReply> {
    const stream = new MessageStream(duplex, voteStreamOptions(this.#timers, this.#o.ioTimeoutMs));
    try {
      const reply = this.answer(controller, parseVoteRequest(await stream.read(signal)));
      const epoch = this.#state?.knownEpoch ?? 0;
      if (reply.t === 'grant' && epoch > this.#savedEpoch) {
        await this.#o.saveEpoch?.(epoch);
        this.#savedEpoch = Math.max(this.#savedEpoch, epoch);
      }
      await stream.write(reply, signal);
      return reply;
    } catch (err) {
      this.counters.errors++;
      throw err;
    }
  }

  /** The unexpired lease, if any. */
  held(nowMs = this.#timers.nowMs()): VoteLease | undefined {
    return this.#state?.held(nowMs);
  }

  /** What the agent reports about its vote. */
  status(): VoteResponderStatus {
    const lease = this.held();
    return {
      leaseMs: this.#state?.leaseMs, holder: lease?.controller, expiresAtMs: lease?.expiresAtMs, knownEpoch: this.#state?.knownEpoch ?? this.#savedEpoch,
      granted: this.counters.granted, refused: this.counters.refused, errors: this.counters.errors,
    };
  }
}
