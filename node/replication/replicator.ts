// Replication between controllers: push with relay, anti-entropy (periodic, on reconnect and on
// demand), per-peer status, and quorum durability. It reaches peers only through `PeerLinks`, so the
// same service runs over libp2p in a node and over in-memory pairs in tests.
import type { Duplex } from 'it-stream-types';
import { compareVv, type Store, type StoredRecord } from '../../storage/index.ts';
import { QuorumAckCount } from '../../quorum/ack-count.ts';
import { every, sleep, timeoutSignal, type TimerComponents, type TimerHandle, type WallClock } from '../components.ts';
import { NovaEdgeError } from '../errors.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import { MessageStream, type MessageStreamOptions } from '../wire/message-stream.ts';
import { runAntiEntropy, type AntiEntropyReport, type RepairMode } from './anti-entropy-client.ts';
import { antiEntropyRequestCaps, antiEntropyResponseCaps, DEFAULT_ANTI_ENTROPY_LIMITS, type AntiEntropyLimits } from './anti-entropy-messages.ts';
import { CONFIG_STREAM_REQUEST_CAPS } from './config-stream-messages.ts';
import { pushReceiverCaps, pushSenderCaps } from './push-messages.ts';
import { mergeCaps, type InboundCaps } from '../wire/message-limits.ts';
import { serveAntiEntropy } from './anti-entropy-server.ts';
import { SessionGate, type GateRelease } from './session-gate.ts';
import type { RefusalReason } from './apply-batch.ts';
import { ConfigBroadcast } from './config-broadcast.ts';
import { RecordRejections } from './record-rejections.ts';
import { serveConfigStream } from './config-stream-server.ts';
import { followChanges } from './follow-changes.ts';
import { PeerPusher, type PushStatus } from './peer-pusher.ts';
import { receivePushes } from './push-receiver.ts';

/** The replication protocols (config-stream: controller to agent). */
export type ReplicationProtocol = 'push' | 'anti-entropy' | 'config-stream';

import type { PeerStream } from '../host/open-stream.ts';
export type { PeerStream };

/** How the replicator reaches members. */
export interface PeerLinks {
  /** Open a stream of `protocol` to an authenticated controller `member`. */
  open(member: string, protocol: ReplicationProtocol, signal: AbortSignal): Promise<PeerStream>;
}

/** Options of the replicator (from the federation spec's sync and antiEntropy sections). */
export interface ReplicatorOptions {
  /** This member's name. */
  self: string;
  /** Names of every configured controller, self included (quorum durability counts them). */
  controllers: string[];
  /** Push records as they are written (off only in tests of anti-entropy alone). */
  pushEnabled: boolean;
  /** Records per push batch (sync.batchSize). */
  batchSize: number;
  /** Compress frames (sync.compression). */
  compression: boolean;
  /** Deadline of one stream read or write (sync.timeout), ms. */
  syncTimeoutMs: number;
  /** Deadline of a quorum-durable write's acknowledgements (sync.quorumTimeout), ms (default syncTimeoutMs). */
  quorumTimeoutMs?: number;
  /**
   * Controllers reachable now, self included (a node passes its write fence's view). Default: this
   * one and the peers whose link is up. A quorum-durable write fails at once when they are too few.
   */
  reachable?: () => string[];
  /** Where warnings go (push-queue overflows); default silent. */
  logger?: Logger | undefined;
  /** Batches in flight per peer. */
  pushWindowMax: number;
  /** Records queued per peer before the queue is dropped for anti-entropy. */
  pushQueueMax: number;
  /** Run anti-entropy periodically. */
  antiEntropyEnabled: boolean;
  /** Period of anti-entropy with each peer (antiEntropy.interval), ms. */
  antiEntropyIntervalMs: number;
  /** Records per anti-entropy request (antiEntropy.batchSize). */
  antiEntropyBatchSize: number;
  /** Which way anti-entropy repairs (antiEntropy.repairMode). */
  repairMode: RepairMode;
  /** Largest frame, bytes. */
  frameBytesMax: number;
  /** Wait before re-opening a failed push stream, ms (doubles up to 16x). */
  retryMs: number;
  /** How long relay offers wait to be sent together, ms (default 20). */
  relayLingerMs?: number;
  /** The node's physical clock: the last sync's time (ages and lag are on the monotonic clock). */
  wallClock: WallClock;
  /** The node's monotonic clock and timers: deadlines, periodic anti-entropy, retries, log rate limits. */
  timers: TimerComponents;
  /** Anti-entropy message bounds. */
  limits?: AntiEntropyLimits;
  /** AgentAssisted: the vote lease duration agents learn from the config-stream hello. */
  voteLeaseMs?: number | undefined;
}

/** A quorum-durable write was not acknowledged by enough controllers in time; it still converges later. */
export class QuorumTimeoutError extends NovaEdgeError {
  readonly code = 'QUORUM_TIMEOUT';
  /** The write, as stored here (it replicates still). */
  readonly record: StoredRecord | undefined;
  constructor(message: string, record?: StoredRecord) {
    super(message);
    this.record = record;
  }
}

/**
 * The controllers reachable now cannot form the durability quorum (a majority of the configured
 * controllers). Raised before the write when they are too few at the time of the write (`stored`
 * false: nothing was stored), or while it waits when reachability drops (`stored` true: the write is
 * durable here and converges once they reconnect).
 */
export class QuorumUnavailableError extends NovaEdgeError {
  readonly code = 'QUORUM_UNAVAILABLE';
  readonly needed: number;
  readonly controllers: number;
  readonly reachable: number;
  readonly stored: boolean;
  /** When stored: the write, as stored here. */
  readonly record: StoredRecord | undefined;
  constructor(needed: number, controllers: number, reachable: number, stored: boolean, key?: string, record?: StoredRecord) {
    super(`${key === undefined ? '' : `${key}: `}QUORUM_UNAVAILABLE: needs ${needed} of ${controllers} controllers, ${reachable} reachable; ` +
      (stored ? 'the write is durable here and will converge once they reconnect' : 'nothing was stored'));
    this.needed = needed;
    this.controllers = controllers;
    this.reachable = reachable;
    this.stored = stored;
    this.record = record;
  }
}

/**
 * Peers refused a quorum-durable write's record (clock skew, validation) so that a quorum of copies
 * can no longer be reached. The write is durable here; the refusing peers get it only once the cause
 * is gone (anti-entropy brings it again).
 */
export class RefusedByPeersError extends NovaEdgeError {
  readonly code = 'REFUSED_BY_PEERS';
  /** Each refusing peer and its reason (e.g. clock_skew). */
  readonly refusals: ReadonlyArray<{ member: string; reason: RefusalReason }>;
  /** The write, as stored here. */
  readonly record: StoredRecord | undefined;
  constructor(key: string, held: number, controllers: number, refusals: ReadonlyArray<{ member: string; reason: RefusalReason }>, record?: StoredRecord) {
    super(`${key}: refused by ${refusals.map((r) => `${r.member} (${r.reason})`).join(', ')}; ${held} of ${controllers} controllers hold it ` +
      'and a majority can no longer be reached; the write is durable here');
    this.refusals = refusals;
    this.record = record;
  }
}

/** Per-peer status for `federation status` and metrics. */
export interface PeerReplicationStatus extends PushStatus {
  member: string;
  /**
   * Sync lag: the age of the oldest change the peer has not acknowledged yet (queued, in flight, or
   * dropped and not yet repaired by anti-entropy), ms; 0 when nothing is pending.
   */
  lagMs: number;
  /** Push stream attached. */
  connected: boolean;
  /** Anti-entropy sessions completed / failed with this peer. */
  antiEntropyRuns: number;
  antiEntropyFailures: number;
  /** Bytes sent and received by the anti-entropy sessions this node started with the peer. */
  antiEntropyBytes: number;
  /** Records those sessions moved (pulled into this store or pushed to the peer). */
  antiEntropyRecords: number;
  /** Report of the last anti-entropy session. */
  lastAntiEntropy: AntiEntropyReport | undefined;
}

/** Counters for metrics. */
export interface ReplicatorCounters {
  /** Records applied from pushes. */
  pushApplied: number;
  /** Push and anti-entropy streams ended by bad input from a peer. */
  protocolErrors: number;
  /** Successful sync operations (acked batches + completed anti-entropy sessions). */
  syncs: number;
  /** Failed sync operations. */
  syncFailures: number;
  /** Records sent to agents on config streams. */
  agentRecordsSent: number;
}

// Frames queued for one agent's config stream before the agent is dropped (it then catches up by
// anti-entropy): the same bound as the store's watch queue each agent stream used to have (a frame
// holds one record or more), and a limit on what a stalled agent holds in memory (frames are
// shared with the other agents, not copied).
const AGENT_QUEUE_FRAMES_MAX = 10_000;

// Longest a graceful stop waits for peers to take what is queued for them, and how often it looks.
const STOP_DRAIN_MS_MAX = 2_000;
const DRAIN_POLL_MS = 5;

// How often writes waiting for quorum look at reachability (they also look on every peerDown).
const REACHABLE_POLL_MS = 50;
// At most one push-queue overflow warning per peer in this window (the rest are counted in it).
const OVERFLOW_LOG_INTERVAL_MS = 60_000;

// One quorum-durable write waiting: a peer acknowledged, or refused, a record of its key.
interface AckWaiter {
  stored(member: string, record: StoredRecord): void;
  refused(member: string, record: StoredRecord, reason: RefusalReason): void;
}

interface PeerState {
  pusher: PeerPusher;
  // Overflow warnings: when the last was logged, and overflows since then not logged.
  overflowLoggedMs: number;
  overflowsUnlogged: number;
  up: boolean;
  stop: AbortController | undefined;
  syncing: Promise<AntiEntropyReport> | undefined;
  antiEntropyRuns: number;
  antiEntropyFailures: number;
  antiEntropyBytes: number;
  antiEntropyRecords: number;
  lastAntiEntropy: AntiEntropyReport | undefined;
}

export class Replicator {
  /** Records refused from peers, per peer and reason (novaedge_federation_records_rejected_total). */
  readonly rejections: RecordRejections;
  readonly counters: ReplicatorCounters = { pushApplied: 0, protocolErrors: 0, syncs: 0, syncFailures: 0, agentRecordsSent: 0 };
  // Agents following this controller now: member name → open config streams.
  readonly #following = new Map<string, number>();
  readonly #store: Store;
  readonly #links: PeerLinks;
  readonly #opts: ReplicatorOptions;
  readonly #wallClock: WallClock;
  readonly #timers: TimerComponents;
  readonly #limits: AntiEntropyLimits;
  readonly #peers = new Map<string, PeerState>();
  // Whose copies count for quorum durability (the configured controllers, then the record's voters).
  #voters: readonly string[];
  // One anti-entropy session with a controller at a time, as client or server (session-gate.ts).
  readonly #aeGate = new SessionGate();
  readonly #stop = new AbortController();
  readonly #log: Logger;
  readonly #quorumTimeoutMs: number;
  // Quorum-durable writes waiting for acknowledgements, each re-checked when reachability may have changed.
  readonly #waits = new Set<(reachable: ReadonlySet<string>) => void>();
  // The same writes by key, for the peers' acknowledgements and refusals (one lookup per record acked).
  readonly #waitsByKey = new Map<string, Set<AckWaiter>>();
  #cancelWaitPoll: (() => void) | undefined;
  #cancelTimer: (() => void) | undefined;
  #fanOut: Promise<void> | undefined;
  #offSendable: (() => void) | undefined;
  // Local writes already queued to the pushers before they were durable here (Store.onSendable):
  // their change events are not queued again.
  readonly #sentEarly = new WeakSet<StoredRecord>();
  // The last change the relay loop has handed to the pushers.
  #fanOutSeq = 0;
  // Changes encoded once for every agent's config stream.
  readonly #broadcast: ConfigBroadcast;

  constructor(store: Store, links: PeerLinks, opts: ReplicatorOptions) {
    if (!opts.controllers.includes(opts.self)) throw new Error('replicator: controllers must include self');
    this.#store = store;
    this.#links = links;
    this.#opts = opts;
    this.#wallClock = opts.wallClock;
    this.#timers = opts.timers;
    this.#limits = opts.limits ?? DEFAULT_ANTI_ENTROPY_LIMITS;
    this.#log = loggerOrSilent(opts.logger).child({ component: 'replication' });
    this.#quorumTimeoutMs = opts.quorumTimeoutMs ?? opts.syncTimeoutMs;
    this.rejections = new RecordRejections({ log: this.#log, nowMs: opts.timers.nowMs });
    this.#broadcast = new ConfigBroadcast(store, {
      batchSize: opts.batchSize, batchBytesMax: Math.floor(opts.frameBytesMax / 2), compress: opts.compression, queueFramesMax: AGENT_QUEUE_FRAMES_MAX, timers: opts.timers,
    });
    this.#voters = opts.controllers;
    for (const m of opts.controllers) if (m !== opts.self) this.#addPeer(m);
  }

  /**
   * Replicate with `controllers` from now on, and count quorum-durable acknowledgements among
   * `voters` (live membership: the committed membership record's controllers and voters; a learner
   * replicates but its copy does not count). Controllers are only added: one the record removed is
   * refused at authentication and never comes up again.
   */
  setControllers(controllers: readonly string[], voters: readonly string[]): void {
    const self = this.#opts.self;
    for (const m of controllers) if (m !== self && !this.#peers.has(m)) this.#addPeer(m);
    this.#voters = voters.includes(self) ? [...voters] : [...voters, self];
  }

  // A pusher for controller `m`, whose acknowledgements and refusals reach the quorum writes waiting on them.
  #addPeer(m: string): void {
    const opts = this.#opts;
    const pusher = new PeerPusher(m, {
      batchSize: opts.batchSize, windowMax: opts.pushWindowMax, queueMax: opts.pushQueueMax,
      batchBytesMax: Math.floor(opts.frameBytesMax / 2), relayLingerMs: opts.relayLingerMs ?? 20, nowMs: opts.wallClock, timers: opts.timers,
      onOverflow: (dropped) => this.#overflowed(m, dropped),
    });
    this.#peers.set(m, {
      pusher, overflowLoggedMs: -Infinity, overflowsUnlogged: 0,
      up: false, stop: undefined, syncing: undefined, antiEntropyRuns: 0, antiEntropyFailures: 0, antiEntropyBytes: 0, antiEntropyRecords: 0, lastAntiEntropy: undefined,
    });
    pusher.onAck((r) => {
      for (const w of this.#waitsByKey.get(r.key) ?? []) w.stored(m, r);
    });
    pusher.onRefused((r, reason) => {
      for (const w of this.#waitsByKey.get(r.key) ?? []) w.refused(m, r, reason);
    });
  }

  /** Start relaying store changes and the anti-entropy timer. */
  start(): void {
    if (this.#opts.pushEnabled) {
      // A local write goes to the peers while its own synced batch is written, when its counter is
      // reserved (dot-reservation.ts): a quorum write then waits for the slower of the two fsyncs,
      // not for both in turn.
      this.#offSendable = this.#store.onSendable((record) => {
        this.#sentEarly.add(record);
        for (const p of this.#peers.values()) p.pusher.enqueue(record);
      });
      this.#fanOut = this.#runFanOut();
    }
    if (this.#opts.antiEntropyEnabled) {
      this.#cancelTimer = every(this.#timers, this.#opts.antiEntropyIntervalMs, () => { void this.#syncAll(); });
    }
  }

  /**
   * Stop every stream and timer. Connected peers first get up to `drainMs` (default: the sync
   * timeout, at most 2 s) to take what this node has written and not yet pushed to them.
   */
  async stop(drainMs = Math.min(this.#opts.syncTimeoutMs, STOP_DRAIN_MS_MAX)): Promise<void> {
    if (!this.#stop.signal.aborted) await this.#drain(drainMs);
    this.#stop.abort();
    this.#offSendable?.();
    this.#cancelTimer?.();
    this.#cancelWaitPoll?.();
    this.#cancelWaitPoll = undefined;
    for (const p of this.#peers.values()) p.stop?.abort();
    await this.#fanOut?.catch(() => undefined);
    await this.#broadcast.stop();
  }

  // A controller that stops gracefully hands its peers what it has not pushed yet: a write
  // acknowledged here (and perhaps already delivered to agents) would otherwise reach the other
  // controllers only when this one comes back, or at the next anti-entropy run. Waits until the
  // relay loop has seen every committed change and every connected pusher is idle, or `ms` passes.
  async #drain(ms: number): Promise<void> {
    const deadlineMs = this.#timers.nowMs() + ms;
    while (this.#timers.nowMs() < deadlineMs) {
      const relayed = this.#fanOut === undefined || this.#fanOutSeq >= this.#store.seq;
      if (relayed && [...this.#peers.values()].every((p) => !p.pusher.connected || p.pusher.idle)) return;
      await sleep(this.#timers, DRAIN_POLL_MS);
    }
  }

  /** A controller became reachable: open the push stream and catch up by anti-entropy. */
  peerUp(member: string): void {
    const p = this.#peers.get(member);
    if (p === undefined || p.up || this.#stop.signal.aborted) return;
    p.up = true;
    p.stop = new AbortController();
    void this.sync(member).catch(() => undefined);
    if (this.#opts.pushEnabled) void this.#pushLoop(member, p, p.stop.signal);
  }

  /** A controller became unreachable: stop pushing to it. */
  peerDown(member: string): void {
    const p = this.#peers.get(member);
    if (p === undefined || !p.up) return;
    p.up = false;
    p.stop?.abort();
    p.stop = undefined;
    this.#recheckWaits();
  }

  /** Serve an incoming push stream from controller `member`. */
  async handlePush(duplex: Duplex<any, any, any>, member: string): Promise<void> {
    const stream = new MessageStream(duplex, this.#streamOptions());
    try {
      const report = await receivePushes(stream, this.#store, {
        recordsMax: this.#limits.keysPerRequestMax,
        concurrentBatchesMax: this.#opts.pushWindowMax,
        signal: this.#stop.signal,
        source: member,
        rejections: this.rejections,
      });
      this.counters.pushApplied += report.applied;
    } catch (err) {
      this.#countError(err);
      throw err;
    }
  }

  /** Serve an agent's config stream: every change from now on, until the agent or this node goes. */
  async handleConfigStream(duplex: Duplex<any, any, any>, agent: string): Promise<void> {
    const stream = new MessageStream(duplex, this.#streamOptions(CONFIG_STREAM_REQUEST_CAPS));
    this.#following.set(agent, (this.#following.get(agent) ?? 0) + 1);
    try {
      const report = await serveConfigStream(stream, this.#store, this.#broadcast, {
        member: this.#opts.self, signal: this.#stop.signal, voteLeaseMs: this.#opts.voteLeaseMs,
      });
      this.counters.agentRecordsSent += report.records;
    } catch (err) {
      this.#countError(err);
      throw err;
    } finally {
      const n = (this.#following.get(agent) ?? 1) - 1;
      if (n === 0) this.#following.delete(agent); else this.#following.set(agent, n);
    }
  }

  /** Agents following this controller now (with an open config stream), sorted. */
  followingAgents(): string[] {
    return [...this.#following.keys()].sort();
  }

  /** Serve an incoming anti-entropy session; agents (`allowPut` false) may only read. */
  async handleAntiEntropy(duplex: Duplex<any, any, any>, member: string, allowPut: boolean): Promise<void> {
    const stream = new MessageStream(duplex, this.#streamOptions(antiEntropyRequestCaps(this.#limits, allowPut ? this.#opts.frameBytesMax : undefined)));
    // A controller's session waits for this node's gate before answering hello; an agent's only
    // reads and does not take it.
    const enter = (): Promise<GateRelease> => this.#aeGate.enter(this.#sessionSignal());
    try {
      await serveAntiEntropy(stream, this.#store, {
        limits: this.#limits, allowPut, requestsMax: 1_000_000, source: member, rejections: this.rejections,
        ...(allowPut ? { enter, gateWaitMs: this.#sessionDeadlineMs() } : {}),
      });
    } catch (err) {
      this.#countError(err);
      throw err;
    }
  }

  /** Run anti-entropy with `member` now (joins a session already running). */
  sync(member: string): Promise<AntiEntropyReport> {
    const p = this.#peers.get(member);
    if (p === undefined) return Promise.reject(new Error(`${member} is not a configured controller`));
    p.syncing ??= this.#runSync(member, p).then((report) => {
      p.syncing = undefined;
      // Records dropped while it ran (a burst still going on) may have been missed: repair again.
      if (p.pusher.status.needsRepair && p.up && !this.#stop.signal.aborted) void this.sync(member).catch(() => undefined);
      return report;
    }, (err: unknown) => {
      p.syncing = undefined;
      throw err;
    });
    return p.syncing;
  }

  /**
   * Throws QuorumUnavailableError (before anything is stored) when the controllers reachable now
   * cannot form the durability quorum: a quorum-durable write could not be acknowledged.
   */
  checkQuorumAvailable(): void {
    const count = this.#ackCount();
    const reachable = this.#reachablePeers();
    if (count.verdict(reachable) === 'unavailable') {
      throw new QuorumUnavailableError(count.copiesNeeded, count.controllers, count.reachableCount(reachable), false);
    }
  }

  /**
   * Resolve once a majority of the controllers (self included) hold `record` (or a state that
   * includes it) durably: only copies a peer acknowledged as stored count, never refused ones.
   * Rejects with QuorumUnavailableError at once when the reachable controllers are too few (or
   * become too few while it waits), with RefusedByPeersError as soon as peers' refusals leave too
   * few that could still store it, and with QuorumTimeoutError after quorumTimeoutMs. The write
   * stays durable here in every case. Resolves to the controllers that hold it: this one first, then
   * the peers that acknowledged it as stored, in the order they did (acknowledgements after the
   * majority was reached are not waited for).
   */
  waitForQuorum(record: StoredRecord): Promise<string[]> {
    // Which acknowledgements count, and what they add up to: quorum/ack-count.ts.
    const count = this.#ackCount<RefusalReason>();
    const holders = (): string[] => [this.#opts.self, ...count.storedBy()];
    const reachableNow = this.#reachablePeers();
    const first = count.verdict(reachableNow);
    if (first === 'held') return Promise.resolve(holders());
    if (first === 'unavailable') return Promise.reject(this.#unavailable(count, reachableNow, record));
    const covers = (r: StoredRecord): boolean => {
      if (r.key !== record.key) return false;
      const c = compareVv(r.vv, record.vv);
      return c === 'after' || c === 'equal';
    };
    return new Promise<string[]>((resolve, reject) => {
      const waiter: AckWaiter = {
        stored: (member, r) => {
          if (!covers(r)) return;
          count.stored(member);
          if (count.held()) done();
        },
        refused: (member, r, reason) => {
          if (covers(r) && count.refused(member, reason)) check(this.#reachablePeers());
        },
      };
      const done = (err?: Error): void => {
        this.#timers.clearTimeout(timer);
        const same = this.#waitsByKey.get(record.key);
        same?.delete(waiter);
        if (same?.size === 0) this.#waitsByKey.delete(record.key);
        this.#waits.delete(check);
        if (this.#waits.size === 0) {
          this.#cancelWaitPoll?.();
          this.#cancelWaitPoll = undefined;
        }
        if (err === undefined) resolve(holders()); else reject(err);
      };
      const check = (reachable: ReadonlySet<string>): void => {
        const verdict = count.verdict(reachable);
        if (verdict === 'held') done();
        else if (verdict === 'refused') done(new RefusedByPeersError(record.key, count.copies, count.controllers, count.refusals(), record));
        else if (verdict === 'unavailable') done(this.#unavailable(count, reachable, record));
      };
      const timer: TimerHandle = this.#timers.setTimeout(() => done(new QuorumTimeoutError(
        `${record.key}: ${count.copies} of ${count.controllers} controllers acknowledged within ${this.#quorumTimeoutMs} ms; the write is durable here and will converge`, record)),
      this.#quorumTimeoutMs);
      const same = this.#waitsByKey.get(record.key);
      if (same === undefined) this.#waitsByKey.set(record.key, new Set([waiter])); else same.add(waiter);
      this.#waits.add(check);
      this.#cancelWaitPoll ??= every(this.#timers, REACHABLE_POLL_MS, () => this.#recheckWaits());
    });
  }

  /** Status of each peer. */
  status(): PeerReplicationStatus[] {
    return [...this.#peers].map(([member, p]) => ({
      ...p.pusher.status,
      lagMs: p.pusher.lagMs(),
      member,
      connected: p.pusher.connected,
      antiEntropyRuns: p.antiEntropyRuns,
      antiEntropyFailures: p.antiEntropyFailures,
      antiEntropyBytes: p.antiEntropyBytes,
      antiEntropyRecords: p.antiEntropyRecords,
      lastAntiEntropy: p.lastAntiEntropy,
    }));
  }

  // `caps` bound what the stream receives (node/wire/message-limits.ts). Streams agents open (config
  // stream, read-only anti-entropy) pass their protocol's; the others are with controllers and
  // receive what the push and anti-entropy protocols carry, either way.
  #streamOptions(caps?: InboundCaps): MessageStreamOptions {
    const frameBytesMax = this.#opts.frameBytesMax;
    return {
      frameBytesMax,
      ...(caps ?? mergeCaps(
        pushReceiverCaps(frameBytesMax), pushSenderCaps(this.#opts.batchSize),
        antiEntropyRequestCaps(this.#limits, frameBytesMax), antiEntropyResponseCaps(this.#limits, frameBytesMax),
      )),
      ioTimeoutMs: this.#opts.syncTimeoutMs,
      compress: this.#opts.compression,
      timers: this.#timers,
    };
  }

  // A fresh count of one quorum-durable write's acknowledgements.
  #ackCount<R extends string = RefusalReason>(): QuorumAckCount<R> {
    return new QuorumAckCount<R>(this.#voters, this.#opts.self);
  }

  #unavailable(count: QuorumAckCount<RefusalReason>, reachable: ReadonlySet<string>, record: StoredRecord): QuorumUnavailableError {
    return new QuorumUnavailableError(count.copiesNeeded, count.controllers, count.reachableCount(reachable), true, record.key, record);
  }

  // Configured peers reachable now.
  #reachablePeers(): Set<string> {
    const all = this.#opts.reachable?.() ?? [...this.#peers].filter(([, p]) => p.up).map(([m]) => m);
    return new Set(all.filter((m) => this.#peers.has(m)));
  }

  #recheckWaits(): void {
    if (this.#waits.size === 0) return;
    const reachable = this.#reachablePeers();
    for (const check of [...this.#waits]) check(reachable);
  }

  // The push queue to `member` overflowed: start the repair now (not at the next periodic run),
  // and say so, at most once a minute per peer.
  #overflowed(member: string, dropped: number): void {
    const p = this.#peers.get(member);
    if (p === undefined) return;
    p.overflowsUnlogged++;
    const nowMs = this.#timers.nowMs();
    if (nowMs - p.overflowLoggedMs >= OVERFLOW_LOG_INTERVAL_MS) {
      this.#log.warn({ peer: member, dropped, overflows: p.overflowsUnlogged, queueMax: this.#opts.pushQueueMax, connected: p.up },
        p.up ? 'push queue overflowed: its records are left to anti-entropy, which starts now' : 'push queue overflowed: its records are left to anti-entropy when the peer is back');
      p.overflowLoggedMs = nowMs;
      p.overflowsUnlogged = 0;
    }
    if (p.up && !this.#stop.signal.aborted) void this.sync(member).catch(() => undefined);
  }

  #countError(err: unknown): void {
    const code = (err as { code?: string }).code ?? '';
    if (code === 'PROTOCOL' || code.startsWith('FRAME_')) this.counters.protocolErrors++;
  }

  async #runFanOut(): Promise<void> {
    this.#fanOutSeq = this.#store.seq;
    await followChanges(this.#store, this.#stop.signal, (change) => {
      this.#fanOutSeq = change.seq;
      // A change that came from a peer is not sent back to it, and goes to the others as an offer:
      // most of them got it from its writer already.
      const source = change.source;
      if (source === undefined && this.#sentEarly.has(change.record)) return;
      for (const [member, p] of this.#peers) if (member !== source) p.pusher.enqueue(change.record, source !== undefined);
    });
  }

  async #pushLoop(member: string, p: PeerState, signal: AbortSignal): Promise<void> {
    let waitMs = this.#opts.retryMs;
    while (!signal.aborted) {
      try {
        const link = await this.#links.open(member, 'push', signal);
        try {
          await p.pusher.run(new MessageStream(link.duplex, this.#streamOptions()), signal);
        } finally {
          await link.close().catch(() => undefined);
        }
        waitMs = this.#opts.retryMs;
      } catch (err) {
        if (signal.aborted) return;
        this.counters.syncFailures++;
        p.pusher.status.failures++;
        this.#countError(err);
      }
      if (p.pusher.status.needsRepair) void this.sync(member).catch(() => undefined);
      await new Promise<void>((r) => {
        const t = this.#timers.setTimeout(r, waitMs);
        signal.addEventListener('abort', () => { this.#timers.clearTimeout(t); r(); }, { once: true });
      });
      waitMs = Math.min(waitMs * 2, this.#opts.retryMs * 16);
    }
  }

  // Deadline of one anti-entropy session, from when it starts waiting for a gate: waits for a gate
  // (either end's) may last as long as another session, so they get this rather than the I/O timeout.
  #sessionDeadlineMs(): number {
    return this.#opts.syncTimeoutMs * 10;
  }

  #sessionSignal(): AbortSignal {
    return AbortSignal.any([this.#stop.signal, timeoutSignal(this.#timers, this.#sessionDeadlineMs())]);
  }

  async #runSync(member: string, p: PeerState): Promise<AntiEntropyReport> {
    p.pusher.beginRepair();
    const signal = this.#sessionSignal();
    // The session holds both controllers' gates, taken in the order of their names so that two
    // sessions never wait on each other (session-gate.ts): this one's first when its name is lower,
    // else once the peer has answered hello (it answers only once it holds its own). Either way only
    // once the stream is open: a dial that hangs holds no gate.
    let release: GateRelease | undefined;
    const enter = async (): Promise<void> => {
      release = await this.#aeGate.enter(signal);
    };
    try {
      let report: AntiEntropyReport;
      try {
        const link = await this.#links.open(member, 'anti-entropy', signal);
        try {
          if (this.#opts.self < member) await enter();
          report = await runAntiEntropy(new MessageStream(link.duplex, this.#streamOptions()), this.#store, {
            repairMode: this.#opts.repairMode, batchSize: this.#opts.antiEntropyBatchSize, limits: this.#limits,
            source: member, rejections: this.rejections, timers: this.#timers, helloTimeoutMs: this.#sessionDeadlineMs(),
            ...(release === undefined ? { afterHello: enter } : {}),
          });
        } finally {
          await link.close().catch(() => undefined);
        }
      } finally {
        release?.();
      }
      p.antiEntropyBytes += report.bytesSent + report.bytesReceived;
      p.antiEntropyRecords += report.pulled + report.pushed;
      p.pusher.endRepair(true);
      p.antiEntropyRuns++;
      p.lastAntiEntropy = report;
      this.counters.syncs++;
      // A session that found the stores equal is a sync too: LAST SYNC says when we last knew we agreed.
      p.pusher.status.lastSyncMs = this.#wallClock();
      return report;
    } catch (err) {
      p.antiEntropyFailures++;
      p.pusher.endRepair(false);
      this.counters.syncFailures++;
      this.#countError(err);
      throw err;
    }
  }

  async #syncAll(): Promise<void> {
    for (const [member, p] of this.#peers) {
      if (!p.up || this.#stop.signal.aborted) continue;
      await this.sync(member).catch(() => undefined);
    }
  }
}
