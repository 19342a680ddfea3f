// Wires the pure peer table to libp2p: publishes this node's heartbeat on the federation's health
// topic every intervalMs, feeds authenticated, validated heartbeats into the table, runs the
// table's clock (a timer set to its next deadline), feeds ping RTTs of controller peers, and
// re-emits table events.
//
// Time: the table runs on a monotonic clock (wall-clock steps cannot touch failure detection);
// HLC stamps and certificate checks use the wall clock.
//
// Clock offsets (controllers): every authenticated controller peer's clock is probed when it
// authenticates and once per rttIntervalMs (clock-probe.ts, clock-prober.ts), and each answer is
// emitted as a 'clock-sample'; the write fence estimates offsets from them (membership/clock-offset.ts)
// and decides with the estimates (quorum/clock-skew.ts).

import type { GossipsubMessage } from '@chainsafe/libp2p-gossipsub';
import type { PeerId } from '@libp2p/interface';
import { ClockSkewError, type HybridClock } from '../../storage/logic/hlc.ts';
import { DEFAULT_HEARTBEAT_LIMITS, type Heartbeat, type QuorumView } from '../../membership/heartbeat.ts';
import { isMemberName } from '../../membership/member-name.ts';
import type { MembershipEvent, MembershipEventType } from '../../membership/membership-events.ts';
import { PeerTable, type PeerTableStats, type PeerView } from '../../membership/peer-table.ts';
import type { AuthService } from '../auth/auth-service.ts';
import type { ResolvedMembershipConfig } from '../config/membership-config.ts';
import type { HostNet } from '../host/host-net.ts';
import type { Credentials } from '../identity/credentials.ts';
import { clockProtocol, healthTopic } from '../protocols.ts';
import { guardHandler } from '../auth/guard.ts';
import type { RandomSource, TimerComponents, TimerHandle, WallClock } from '../components.ts';
import { earlyHeartbeatDueMs, earlyHeartbeatRetryMs, earlyHeartbeatStep, nextHeartbeat } from '../../membership/heartbeat-schedule.ts';
import { sleep } from '../components.ts';
import { Emitter } from '../util/emitter.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import { encodeHeartbeatMessage } from './heartbeat-codec.ts';
import { HeartbeatGate, type GateCounters } from './heartbeat-gate.ts';
import { RttProber } from './rtt-prober.ts';
import { ClockProber } from './clock-prober.ts';
import { readRemoteClock, serveClockProbes, type ClockAnswer, type RemoteClock } from './clock-probe.ts';
import { controllerRttTargets } from './rtt-targets.ts';

/** Values other modules contribute to this node's heartbeat. */
export interface HeartbeatSources {
  /** Root of the local Merkle tree (default: '' — no store). */
  merkleRoot?: () => string;
  /** Local quorum view (default: none). */
  quorumView?: () => QuorumView | undefined;
  /** Agents attached to this node (default: authenticated agent peers). */
  agentCount?: () => number;
  /** Members this node reaches (default: every authenticated peer); agents report their probes here. */
  reachable?: () => string[];
  /**
   * Smoothed round-trip times this node measured itself, ms by member name (default: none). Agents
   * report their controllers here: controllers do not ping agents (see rtt-targets.ts).
   */
  rttMs?: () => ReadonlyMap<string, number>;
}

// Reported round-trip times are rounded to a tenth of a millisecond: loopback and LAN figures stay
// visible (they are often below 1 ms), and the heartbeat carries no 17-digit fractions.
const RTT_REPORT_STEPS_PER_MS = 10;

/** Options of the membership service. */
export interface MembershipServiceOptions extends HeartbeatSources {
  /** Resolved configuration. */
  config: ResolvedMembershipConfig;
  /** This node's credentials. */
  credentials: Credentials;
  /** The started-or-not host. */
  libp2p: HostNet;
  /** The auth service of that host. */
  auth: AuthService;
  /** This node's hybrid logical clock. */
  clock: HybridClock;
  /** Physical clock: HLC stamps, the clock-offset check, certificate validity of heartbeats. */
  wallClock: WallClock;
  /** Monotonic clock and timers: the peer table, heartbeat schedule, probes. */
  timers: TimerComponents;
  /** Randomness (heartbeat jitter). */
  random: RandomSource;
  /** Logger (default silent). */
  logger?: Logger;
  /** Measure round-trip times to controller peers (default true); agents measure their controllers themselves. */
  rttProbe?: boolean;
  /** A heartbeat of this member was accepted, directly or relayed (the node redials unconnected controllers). */
  onHeard?: (sender: Pick<Heartbeat, 'member' | 'peerId' | 'role'>) => void;
  /** The membership epoch this controller has committed, answered with each clock probe (default 0: no live membership). */
  membersEpoch?: () => number;
}

/** Listeners of membership events: one per event type, and 'event' for all. */
export type MembershipListeners = {
  [K in MembershipEventType]: (e: Extract<MembershipEvent, { type: K }>) => void;
} & {
  event: (e: MembershipEvent) => void;
  /** A clock probe of a controller peer was answered: a clock-offset sample (membership/clock-offset.ts). */
  'clock-sample': (e: ClockSample) => void;
};

/** One clock-offset sample: a controller's clock, read between our send and our receipt. */
export interface ClockSample {
  /** The controller. */
  member: string;
  /** Its clocks: stamp height (max of physical clock and HLC wall part) and physical clock. */
  remote: RemoteClock;
  /** When we asked, on our monotonic clock. */
  sentAtMs: number;
  /** When its answer arrived, on our monotonic clock. */
  receivedAtMs: number;
  /** A controller's: the membership epoch it had committed when it answered (0: no live membership). */
  epoch?: number;
  /** With `epoch`: how long after sentAtMs it may be relied on, ms (the answerer's probe cycle). */
  epochValidMs?: number;
}

/** Log "heartbeat HLC ahead of local clock" at most this often per member. */
export const CLOCK_SKEW_LOG_INTERVAL_MS = 60_000;

/** Counters of the membership service. */
export interface MembershipCounters {
  /** Heartbeats published. */
  published: number;
  /** Publish attempts that failed. */
  publishErrors: number;
  /** Received heartbeats whose HLC was more than maxClockOffsetMs ahead (still used for liveness). */
  clockSkew: number;
  /** RTT probes that failed. */
  rttFailures: number;
  /** Clock probes that failed (controllers). */
  clockProbeFailures: number;
  /** Clock probe streams ended because the peer sent something else than a probe. */
  clockProbesRefused: number;
  /** Errors caught at timer and handler boundaries (bugs; see the log). */
  internalErrors: number;
  /** Gossip gate verdicts. */
  gate: GateCounters;
  /** Peer table counters. */
  table: PeerTableStats;
}

/** The membership service. */
export class MembershipService {
  readonly topic: string;
  readonly table: PeerTable;
  readonly #o: MembershipServiceOptions;
  readonly #log: Logger;
  readonly #gate: HeartbeatGate;
  readonly #events: Emitter<MembershipListeners>;
  readonly #rtt: RttProber;
  readonly #wallClock: WallClock;
  readonly #timers: TimerComponents;
  readonly #clockProber: ClockProber | undefined;
  #clockHandled = false;
  // When each member's HLC-ahead warning was last logged (monotonic ms); bounded by the peer table.
  readonly #skewLoggedAt = new Map<string, number>();
  #heartbeatTimer: TimerHandle | undefined;
  #tickTimer: TimerHandle | undefined;
  #earlyTimer: TimerHandle | undefined;
  #earlyDueMs = -Infinity;
  // When each currently authenticated peer authenticated (monotonic ms); bounded by the auth table.
  readonly #authAt = new Map<string, number>();
  // The latest clock sample of each controller (clockSamples()).
  readonly #clockSamples = new Map<string, ClockSample>();
  #nextHeartbeatMs = 0;
  #lastPublishedMs = -Infinity;
  #running = false;
  #counters = { published: 0, publishErrors: 0, clockSkew: 0, internalErrors: 0, clockProbesRefused: 0 };
  readonly #unsubscribers: Array<() => void> = [];

  constructor(options: MembershipServiceOptions) {
    this.#o = options;
    const { config } = options;
    this.topic = healthTopic(config.federationId);
    this.#log = loggerOrSilent(options.logger).child({ component: 'membership', member: config.memberName });
    this.table = new PeerTable({ self: config.memberName, healthCheck: config.healthCheck, membersMax: config.membersMax });
    this.#wallClock = options.wallClock;
    this.#timers = options.timers;
    const { timers } = options;
    this.#clockProber = config.role !== 'controller' ? undefined : new ClockProber({
      intervalMs: config.rttIntervalMs,
      timeoutMs: config.rttTimeoutMs,
      targets: () => this.#rttTargets(),
      open: (peer, signal) => {
        const conn = options.libp2p.getConnections(peer).find((c) => c.status === 'open');
        if (conn === undefined) return Promise.reject(new Error('not connected'));
        return conn.newStream(clockProtocol(config.federationId), { signal });
      },
      onSample: (peer, r) => {
        const info = options.auth.peerInfo(peer);
        if (info === undefined || info.role !== 'controller' || !this.#running) return;
        const sample: ClockSample = { member: info.member, remote: r.remote, sentAtMs: r.sentAtMs, receivedAtMs: r.receivedAtMs, epoch: r.epoch, epochValidMs: r.epochValidMs };
        // Kept (the latest per controller, at most membersMax) for a listener that subscribes later,
        // such as the write fence, built after membership started.
        if (this.#clockSamples.has(info.member) || this.#clockSamples.size < config.membersMax) this.#clockSamples.set(info.member, sample);
        this.#events.emit('clock-sample', sample);
      },
      timers,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
    this.#gate = new HeartbeatGate({
      isAuthenticated: (p) => options.auth.isAuthenticated(p),
      trust: options.credentials.trust,
      federationId: config.federationId,
      bytesMax: config.heartbeatBytesMax,
      certificateClockSkewMs: config.certificateClockSkewMs,
      limits: DEFAULT_HEARTBEAT_LIMITS,
      wallClock: options.wallClock,
    });
    this.#events = new Emitter((err, event) => {
      this.#counters.internalErrors += 1;
      this.#log.error({ err, event }, 'membership event listener threw');
    });
    this.#rtt = new RttProber(options.libp2p.services.ping, {
      intervalMs: config.rttIntervalMs,
      timeoutMs: config.rttTimeoutMs,
      targets: () => this.#rttTargets(),
      onSample: (peer, ms) => this.#onRtt(peer, ms),
      timers,
      ...(options.logger === undefined ? {} : { logger: options.logger }),
    });
  }

  /** Install the topic validator and listeners; call before the host starts listening. */
  install(): void {
    const pubsub = this.#o.libp2p.services.pubsub;
    pubsub.topicValidators.set(this.topic, this.#gate.validator);
    pubsub.addEventListener('gossipsub:message', this.#onMessage);
    pubsub.addEventListener('subscription-change', this.#onSubscriptionChange);
    if (this.#clockProber !== undefined && !this.#clockHandled) {
      this.#clockHandled = true;
      const { config } = this.#o;
      // A probe stream idle for two probe periods is closed; the prober reopens it when it next asks.
      const idleMs = 2 * config.rttIntervalMs + config.rttTimeoutMs;
      // The epoch may be relied on for this node's own probe cycle: it waits longer than that after
      // committing an epoch before it accepts a voter change (members-settle.ts).
      const epochValidMs = config.rttIntervalMs + config.rttTimeoutMs;
      const answer = (): ClockAnswer => ({ remote: this.readClock(), epoch: this.#o.membersEpoch?.() ?? 0, epochValidMs });
      void this.#o.libp2p.handle(clockProtocol(config.federationId), guardHandler(this.#o.auth, async ({ stream }) => {
        try {
          await serveClockProbes(stream, answer, idleMs, this.#timers);
        } catch (err) {
          // Only a frame that is not a probe throws (the stream is aborted already).
          this.#counters.clockProbesRefused += 1;
          this.#log.debug({ err: String(err) }, 'clock probe stream refused');
        }
      }, { roles: ['controller'], waitMs: config.authTimeoutMs, timers: this.#timers }), { maxInboundStreams: 2, maxOutboundStreams: 2 });
    }
  }

  /** Subscribe to the topic and start the timers; call once the host has started. */
  start(): void {
    if (this.#running) return;
    this.install(); // idempotent: the same validator and listener objects
    this.#running = true;
    if (this.#o.config.healthGossip === 'subscribe') this.#o.libp2p.services.pubsub.subscribe(this.topic);
    this.#unsubscribers.push(this.#o.auth.on('authenticated', (p) => {
      this.#authAt.set(p.peerId, this.#timers.nowMs());
      if (this.#isSubscriber(p.peerId)) this.#requestEarlyHeartbeat(p.peerId);
      // Its clock at once: the write fence counts a controller only once its clock is known.
      if (p.role === 'controller') {
        const peer = this.#o.libp2p.getConnections().find((c) => c.remotePeer.toString() === p.peerId)?.remotePeer;
        if (peer !== undefined) this.#clockProber?.probe(peer);
      }
    }));
    this.#unsubscribers.push(this.#o.auth.on('deauthenticated', (p) => this.#authAt.delete(p.peerId)));
    for (const p of this.#o.auth.authenticatedPeers()) this.#authAt.set(p.peerId, this.#timers.nowMs());
    this.#nextHeartbeatMs = this.#timers.nowMs();
    this.#scheduleHeartbeat();
    this.#scheduleTick();
    if (this.#o.rttProbe !== false) this.#rtt.start();
    this.#clockProber?.start();
  }

  /** Stop timers, unsubscribe, uninstall. */
  stop(): void {
    this.#running = false;
    this.#timers.clearTimeout(this.#heartbeatTimer);
    this.#timers.clearTimeout(this.#tickTimer);
    this.#timers.clearTimeout(this.#earlyTimer);
    this.#earlyTimer = undefined;
    this.#authAt.clear();
    this.#rtt.stop();
    this.#clockProber?.stop();
    if (this.#clockHandled) {
      this.#clockHandled = false;
      void this.#o.libp2p.unhandle(clockProtocol(this.#o.config.federationId)).catch(() => undefined);
    }
    for (const u of this.#unsubscribers.splice(0)) u();
    const pubsub = this.#o.libp2p.services.pubsub;
    pubsub.removeEventListener('gossipsub:message', this.#onMessage);
    pubsub.removeEventListener('subscription-change', this.#onSubscriptionChange);
    try {
      pubsub.unsubscribe(this.topic);
    } catch {
      // gossipsub refuses to unsubscribe once stopped; nothing is left to undo then.
    }
    pubsub.topicValidators.delete(this.topic);
    this.#events.clear();
  }

  /**
   * Announce that this member leaves the federation: a heartbeat with leaving: true, repeated once
   * after half an interval (at most 500 ms) so that a copy still queued when the host stops is not
   * the only one. Best effort by nature: peers that miss both copies see the member go Unhealthy.
   */
  async announceLeave(): Promise<void> {
    const graceMs = Math.min(this.#o.config.healthCheck.intervalMs / 2, 500);
    this.#running = false; // no regular heartbeat may follow the notice
    this.#timers.clearTimeout(this.#heartbeatTimer);
    this.#timers.clearTimeout(this.#earlyTimer);
    await this.#publish(true);
    await sleep(this.#timers, graceMs);
    await this.#publish(true);
    await sleep(this.#timers, graceMs);
  }

  /** Subscribe to membership events; returns the unsubscribe function. */
  on<K extends keyof MembershipListeners>(event: K, listener: MembershipListeners[K]): () => void {
    return this.#events.on(event, listener);
  }

  /** This node's clocks as a peer reads them (clock probes, vote-lease grants): physical clock and stamp height. */
  readClock(): RemoteClock {
    return readRemoteClock(this.#wallClock(), this.#o.clock.highWater().wallMs);
  }

  /** The latest clock sample of each configured controller ('clock-sample' events already emitted). */
  clockSamples(): ClockSample[] {
    return [...this.#clockSamples.values()];
  }

  /** Every member in the peer table. */
  peers(): PeerView[] {
    return this.table.peers();
  }

  /** Counters. */
  counters(): MembershipCounters {
    return { ...this.#counters, rttFailures: this.#rtt.failures, clockProbeFailures: this.#clockProber?.failures ?? 0, gate: this.#gate.counters(), table: this.table.stats() };
  }

  /** The heartbeat this node would publish now. */
  buildHeartbeat(leaving = false): Heartbeat {
    const { config } = this.#o;
    const authed = this.#o.auth.authenticatedPeers();
    const reachable = [...new Set(this.#o.reachable?.() ?? authed.map((p) => p.member))].filter((m) => m !== config.memberName).sort()
      .slice(0, DEFAULT_HEARTBEAT_LIMITS.reachableMax);
    const agentCount = this.#o.agentCount?.() ?? (config.role === 'controller' ? authed.filter((p) => p.role === 'agent').length : 0);
    const hb: Heartbeat = {
      member: config.memberName,
      peerId: this.#o.libp2p.peerId.toString(),
      role: config.role,
      region: config.region,
      zone: config.zone,
      hlc: this.#o.clock.now(this.#wallClock()),
      merkleRoot: this.#o.merkleRoot?.() ?? '',
      reachable,
      agentCount,
    };
    const rttMs = this.#rttReport();
    if (rttMs !== undefined) hb.rttMs = rttMs;
    const quorum = this.#o.quorumView?.();
    if (quorum !== undefined) hb.quorum = quorum;
    if (leaving) hb.leaving = true;
    return hb;
  }

  // The rttMs source as the heartbeat carries it: other members only, values receivers accept
  // (a broken sample must not get the whole heartbeat refused), rounded, sorted, bounded.
  #rttReport(): Record<string, number> | undefined {
    const source = this.#o.rttMs?.();
    if (source === undefined) return undefined;
    const { rttMsMax, reachableMax } = DEFAULT_HEARTBEAT_LIMITS;
    const entries = [...source]
      .filter(([m, ms]) => m !== this.#o.config.memberName && isMemberName(m) && Number.isFinite(ms) && ms >= 0 && ms <= rttMsMax)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).slice(0, reachableMax);
    if (entries.length === 0) return undefined;
    const report: Record<string, number> = {};
    for (const [m, ms] of entries) report[m] = Math.round(ms * RTT_REPORT_STEPS_PER_MS) / RTT_REPORT_STEPS_PER_MS;
    return report;
  }

  async #publish(leaving = false): Promise<void> {
    const data = encodeHeartbeatMessage(this.#o.credentials.certificate, this.buildHeartbeat(leaving));
    // Our own heartbeat is bounded by construction (names, list lengths, certificate size).
    if (data.byteLength > this.#o.config.heartbeatBytesMax) {
      throw new Error(`invariant: own heartbeat is ${data.byteLength} bytes, more than heartbeatBytesMax`);
    }
    this.#lastPublishedMs = this.#timers.nowMs();
    try {
      await this.#o.libp2p.services.pubsub.publish(this.topic, data);
      this.#counters.published += 1;
    } catch (err) {
      this.#counters.publishErrors += 1;
      this.#log.debug({ err: String(err) }, 'heartbeat publish failed');
    }
  }

  // Heartbeats on a jittered grid (membership/heartbeat-schedule.ts).
  #scheduleHeartbeat(): void {
    if (!this.#running) return;
    const cadence = this.#o.config.healthCheck;
    const next = nextHeartbeat(this.#nextHeartbeatMs, this.#timers.nowMs(), cadence, this.#o.random.float());
    this.#nextHeartbeatMs = next.gridMs;
    this.#heartbeatTimer = this.#timers.setTimeout(() => {
      this.#nextHeartbeatMs += cadence.intervalMs;
      this.#guard('heartbeat', () => this.#publish());
      this.#scheduleHeartbeat();
    }, next.delayMs);
  }

  #isSubscriber(peerId: string): boolean {
    return this.#o.libp2p.services.pubsub.getSubscribers(this.topic).some((p) => p.toString() === peerId);
  }

  // A peer that has just become both authenticated and subscribed gets an early heartbeat (when, and
  // whether: membership/heartbeat-schedule.ts; see gossip-options.ts for the score it waits for).
  // Requests are merged into one timer.
  #requestEarlyHeartbeat(peerId: string): void {
    const authAt = this.#authAt.get(peerId);
    if (!this.#running || authAt === undefined) return;
    const dueMs = earlyHeartbeatDueMs(authAt, this.#o.config.gossipHeartbeatMs, this.#timers.nowMs());
    this.#earlyDueMs = Math.max(this.#earlyDueMs, dueMs);
    if (this.#earlyTimer === undefined) this.#armEarlyHeartbeat(dueMs);
  }

  #armEarlyHeartbeat(atMs: number): void {
    this.#earlyTimer = this.#timers.setTimeout(() => {
      this.#earlyTimer = undefined;
      if (!this.#running) return;
      const cadence = this.#o.config.healthCheck;
      const step = earlyHeartbeatStep(atMs, this.#timers.nowMs(), this.#lastPublishedMs, cadence);
      if (step.send && step.gridMs !== undefined) {
        // The grid re-anchored on the early heartbeat: the next regular one is a full interval later.
        this.#timers.clearTimeout(this.#heartbeatTimer);
        this.#nextHeartbeatMs = step.gridMs;
        this.#guard('early heartbeat', () => this.#publish());
        this.#scheduleHeartbeat();
      }
      // Still owed: a request for a later time (a peer that authenticated later), or this one when
      // the previous publish was too recent.
      const retryMs = earlyHeartbeatRetryMs(this.#earlyDueMs, this.#lastPublishedMs, cadence);
      if (retryMs !== undefined) this.#armEarlyHeartbeat(retryMs);
    }, Math.max(0, Math.ceil(atMs - this.#timers.nowMs())));
  }

  #scheduleTick(): void {
    if (!this.#running) return;
    this.#timers.clearTimeout(this.#tickTimer);
    const now = this.#timers.nowMs();
    const interval = this.#o.config.healthCheck.intervalMs;
    // Wake at the next deadline, and at least every half interval: the detector clamps any step
    // longer than one interval as a clock jump, so a late timer must never come close to that.
    const wake = Math.min(this.table.nextWakeMs() ?? Infinity, now + interval / 2);
    this.#tickTimer = this.#timers.setTimeout(() => {
      this.#guard('tick', () => this.#emitAll(this.table.tick(this.#timers.nowMs()).events));
      this.#scheduleTick();
    }, Math.max(0, Math.ceil(wake - now)));
  }

  readonly #onMessage = (evt: CustomEvent<GossipsubMessage>): void => {
    const { propagationSource, msg } = evt.detail;
    if (msg.topic !== this.topic || !this.#running) return;
    this.#guard('message', async () => {
      // The validator accepted it just before; its verdict carries the typed heartbeat.
      const r = await this.#gate.verdict(propagationSource, msg);
      if (!r.ok || !this.#running) return;
      try {
        this.#o.clock.receive(r.heartbeat.hlc, this.#wallClock());
      } catch (e) {
        if (!(e instanceof ClockSkewError)) throw e;
        // Liveness is real even when the sender's clock is off; the skew is counted and logged (once
        // a minute per member: the write fence logs the fence itself), and our HLC is not dragged
        // forward by it.
        this.#counters.clockSkew += 1;
        this.#logSkew(r.heartbeat.member, e.aheadMs);
      }
      const step = this.table.heartbeat(r.heartbeat, this.#timers.nowMs());
      if (step.rejected !== undefined) this.#log.debug({ member: r.heartbeat.member, ...step.rejected }, 'heartbeat refused by peer table');
      this.#emitAll(step.events);
      this.#scheduleTick();
      if (step.rejected === undefined) this.#o.onHeard?.(r.heartbeat);
    });
  };

  readonly #onSubscriptionChange = (evt: CustomEvent<{ peerId: PeerId; subscriptions: Array<{ topic: string; subscribe: boolean }> }>): void => {
    if (evt.detail.subscriptions.some((s) => s.topic === this.topic && s.subscribe)) this.#requestEarlyHeartbeat(evt.detail.peerId.toString());
  };

  #rttTargets(): PeerId[] {
    return controllerRttTargets(this.#o.libp2p.getConnections(), (p) => this.#o.auth.peerInfo(p));
  }

  #onRtt(peer: PeerId, ms: number): void {
    const info = this.#o.auth.peerInfo(peer);
    if (info === undefined || !this.#running) return;
    if (this.table.get(info.member)?.peerId !== info.peerId) return; // not (yet) that member's table identity
    const step = this.table.rtt(info.member, ms, this.#timers.nowMs());
    this.#emitAll(step.events);
  }

  #logSkew(member: string, aheadMs: number): void {
    const now = this.#timers.nowMs();
    if (now - (this.#skewLoggedAt.get(member) ?? -Infinity) < CLOCK_SKEW_LOG_INTERVAL_MS) return;
    if (this.#skewLoggedAt.size >= this.#o.config.membersMax) this.#skewLoggedAt.clear();
    this.#skewLoggedAt.set(member, now);
    this.#log.warn({ member, aheadMs, maxClockOffsetMs: this.#o.clock.maxClockOffsetMs }, 'heartbeat HLC ahead of local clock');
  }

  #emitAll(events: MembershipEvent[]): void {
    for (const e of events) {
      if (e.type === 'removed') this.#skewLoggedAt.delete(e.member);
      if (e.type === 'state-changed') this.#log.info({ peer: e.member, from: e.from, to: e.to }, 'member state changed');
      this.#events.emit(e.type, e as never);
      this.#events.emit('event', e);
    }
  }

  // Timer and handler boundaries: an exception here is a bug, not bad input (bad input is refused
  // and counted before it gets this far). Log it loudly and keep the node running.
  #guard(where: string, fn: () => void | Promise<void>): void {
    const fail = (err: unknown): void => {
      this.#counters.internalErrors += 1;
      this.#log.error({ err, where }, 'internal error in membership service');
    };
    try {
      const r = fn();
      if (r instanceof Promise) r.catch(fail);
    } catch (err) {
      fail(err);
    }
  }
}
