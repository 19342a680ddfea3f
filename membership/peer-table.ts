// The peer table: every remote member this node has heard of, as a pure state machine.
//
// Inputs are heartbeats, RTT samples, leave notices and the passing of time, each with the caller's
// `nowMs`; outputs are events. There are no timers inside: the caller calls `tick(now)` at
// `nextWakeMs()` (or at least once per interval) and feeds everything else as it arrives. Time is
// converted to jump-clamped detector time first (detector-clock.ts); the health rule is in
// failure-detector.ts.

import { compareHlc } from '../storage/logic/hlc.ts';
import { DetectorClock } from './detector-clock.ts';
import { MemberHealth, type Transition } from './failure-detector.ts';
import { checkHealthCheck, type HealthCheckOptions } from './health-check.ts';
import { DEFAULT_HEARTBEAT_LIMITS, validateHeartbeat, type Heartbeat, type HeartbeatLimits, type QuorumView } from './heartbeat.ts';
import { isMemberName, type MemberRole } from './member-name.ts';
import type { MemberState } from './member-state.ts';
import type { MembershipEvent } from './membership-events.ts';
import { emptyRejectCounts, type RejectReason, type Rejection } from './rejection.ts';
import { addRttSample, isRttSample, type RttFigures } from './rtt-estimator.ts';

/** Default bound on the number of members in the table. */
export const PEER_TABLE_MEMBERS_MAX = 1024;

/** Options of a peer table. */
export interface PeerTableOptions {
  /** Local member name; heartbeats claiming it are refused. */
  self: string;
  /** Failure-detector settings. */
  healthCheck: HealthCheckOptions;
  /** Most members kept (default 1024); departed members are dropped first to make room. */
  membersMax?: number;
  /** Bounds on received heartbeats (default DEFAULT_HEARTBEAT_LIMITS). */
  heartbeatLimits?: HeartbeatLimits;
  /** Largest single advance of detector time, milliseconds (default intervalMs; see detector-clock.ts). */
  maxStepMs?: number;
}

/** What one call changed: events, and the refusal when the input was refused. */
export interface StepResult {
  /** Events, in the order they happened. */
  events: MembershipEvent[];
  /** Set when the input was refused (and counted). */
  rejected?: Rejection;
}

/** Read-only view of one member. */
export interface PeerView {
  /** Member name. */
  member: string;
  /** Peer ID the member's heartbeats come from. */
  peerId: string;
  /** Role. */
  role: MemberRole;
  /** Region label. */
  region: string;
  /** Zone label ('' when not set). */
  zone: string;
  /** Health as seen locally. */
  state: MemberState;
  /** From the last heartbeat: HLC wall milliseconds and logical counter. */
  hlc: { wallMs: number; logical: number };
  /** From the last heartbeat: Merkle root. */
  merkleRoot: string;
  /** From the last heartbeat: members it reaches. */
  reachable: string[];
  /** From the last heartbeat: agents attached to it. */
  agentCount: number;
  /**
   * From the last heartbeat: the round-trip times it measured itself, ms by member name (agents
   * report their controllers), when it reported any. A null-prototype object: a member named like
   * an Object.prototype key ("constructor") reads as undefined when absent. `rtt` below is this
   * node's own measurement of it.
   */
  reportedRttMs?: Readonly<Record<string, number>>;
  /** From the last heartbeat: its quorum view, if any. */
  quorum?: QuorumView;
  /** Heartbeats accepted from it. */
  heartbeats: number;
  /** When its last heartbeat arrived, caller's clock. */
  lastHeardAtMs: number;
  /** When it entered its current state, caller's clock. */
  stateSinceMs: number;
  /** Consecutive failed checks. */
  failures: number;
  /** Consecutive passed checks. */
  successes: number;
  /** When the current run of passed checks began, caller's clock; set while successes > 0. */
  passingSinceMs?: number;
  /** State changes so far (a flapping member shows many). */
  transitions: number;
  /** Round-trip figures, once measured. */
  rtt?: RttFigures;
}

/** Counters of a peer table. */
export interface PeerTableStats {
  /** Members in the table. */
  members: number;
  /** Heartbeats accepted. */
  accepted: number;
  /** Inputs refused, per reason. */
  rejected: Record<RejectReason, number>;
  /** Caller readings that went backwards. */
  clockJumpsBackward: number;
  /** Caller readings that jumped forward by more than maxStepMs. */
  clockJumpsForward: number;
  /** Caller time ignored by the detector because of those jumps (pauses, stalls), milliseconds. */
  clockLostMs: number;
}

interface Entry {
  hb: Heartbeat;
  health: MemberHealth;
  heartbeats: number;
  lastHeardAtMs: number;
  // Caller-clock times, recorded when they happen (detector time cannot be mapped back exactly
  // once it has been clamped).
  stateSinceAtMs: number;
  passingSinceAtMs: number;
  rtt?: RttFigures;
}

/** The peer table state machine. */
export class PeerTable {
  readonly self: string;
  readonly healthCheck: Readonly<HealthCheckOptions>;
  readonly membersMax: number;
  readonly #limits: Readonly<HeartbeatLimits>;
  readonly #clock: DetectorClock;
  readonly #entries = new Map<string, Entry>();
  readonly #rejected = emptyRejectCounts();
  #accepted = 0;
  #lastInputMs = 0;

  constructor(options: PeerTableOptions) {
    if (!isMemberName(options.self)) throw new Error(`PeerTable: self "${options.self}" is not a member name`);
    const problems = checkHealthCheck(options.healthCheck);
    if (problems.length > 0) {
      throw new Error(`PeerTable: ${problems.map((p) => `${p.field} ${p.problem}`).join('; ')}`);
    }
    const membersMax = options.membersMax ?? PEER_TABLE_MEMBERS_MAX;
    if (!(Number.isSafeInteger(membersMax) && membersMax >= 1)) throw new Error('PeerTable: membersMax must be >= 1');
    this.self = options.self;
    this.healthCheck = Object.freeze({ ...options.healthCheck });
    this.membersMax = membersMax;
    this.#limits = options.heartbeatLimits ?? DEFAULT_HEARTBEAT_LIMITS;
    this.#clock = new DetectorClock(options.maxStepMs ?? this.healthCheck.intervalMs);
  }

  /** A heartbeat arrived (untrusted: validated here). */
  heartbeat(value: unknown, nowMs: number): StepResult {
    const t = this.#advance(nowMs);
    const events = this.#expire(t);
    const check = validateHeartbeat(value, this.#limits);
    if (!check.ok) return this.#reject(events, { reason: 'invalid', field: check.field, detail: check.detail });
    const hb = check.heartbeat;
    if (hb.member === this.self) return this.#reject(events, { reason: 'self', detail: 'heartbeat claims the local member name' });

    let entry = this.#entries.get(hb.member);
    if (entry !== undefined && entry.hb.peerId !== hb.peerId) {
      if (entry.health.state === 'Healthy' || entry.health.state === 'Suspect') {
        return this.#reject(events, {
          reason: 'member_conflict',
          detail: `${hb.member} is alive as ${entry.hb.peerId}; refusing ${hb.peerId}`,
        });
      }
      // The member came back with a new key while it was down or gone: a new incarnation, whose HLC
      // is unrelated to the old one's, so the staleness check below does not apply to it.
      events.push({ type: 'identity-changed', member: hb.member, fromPeerId: entry.hb.peerId, toPeerId: hb.peerId, atMs: nowMs });
    } else if (entry !== undefined && compareHlc(hb.hlc, entry.hb.hlc) <= 0) {
      return this.#reject(events, { reason: 'stale', detail: `HLC not newer than the last heartbeat of ${hb.member}` });
    }

    if (entry === undefined) {
      if (hb.leaving === true) return { events }; // a member we never knew says goodbye: nothing to do
      if (this.#entries.size >= this.membersMax && !this.#evictOne(events, nowMs)) {
        return this.#reject(events, { reason: 'table_full', detail: `table holds ${this.membersMax} members` });
      }
      entry = { hb, health: new MemberHealth(this.healthCheck, t), heartbeats: 1, lastHeardAtMs: nowMs, stateSinceAtMs: nowMs, passingSinceAtMs: nowMs };
      this.#entries.set(hb.member, entry);
      this.#accepted += 1;
      events.push({ type: 'joined', member: hb.member, peerId: hb.peerId, role: hb.role, state: entry.health.state, atMs: nowMs });
      return { events };
    }

    const previousRoot = entry.hb.merkleRoot;
    entry.hb = hb;
    entry.heartbeats += 1;
    entry.lastHeardAtMs = nowMs;
    this.#accepted += 1;
    const passingBefore = entry.health.successes > 0 && entry.health.state !== 'Left';
    const transition = hb.leaving === true ? entry.health.leave() : entry.health.heartbeat(t);
    if (!passingBefore && entry.health.successes > 0) entry.passingSinceAtMs = nowMs;
    this.#pushTransition(events, hb.member, entry, transition, nowMs);
    if (previousRoot !== hb.merkleRoot && hb.leaving !== true) {
      events.push({ type: 'merkle-root-changed', member: hb.member, from: previousRoot, to: hb.merkleRoot, atMs: nowMs });
    }
    return { events };
  }

  /** A round-trip sample to `member`, in milliseconds. */
  rtt(member: string, ms: number, nowMs: number): StepResult {
    const t = this.#advance(nowMs);
    const events = this.#expire(t);
    const entry = this.#entries.get(member);
    if (entry === undefined) return this.#reject(events, { reason: 'unknown_member', detail: `no member ${member}` });
    if (!isRttSample(ms)) return this.#reject(events, { reason: 'bad_rtt', detail: `RTT sample ${ms} is out of range` });
    entry.rtt = addRttSample(entry.rtt, ms);
    return { events };
  }

  /** Time passed: fail every check whose deadline is over. */
  tick(nowMs: number): StepResult {
    return { events: this.#expire(this.#advance(nowMs)) };
  }

  /** `member` announced that it leaves the federation (outside of a heartbeat). */
  leave(member: string, nowMs: number): StepResult {
    const t = this.#advance(nowMs);
    const events = this.#expire(t);
    const entry = this.#entries.get(member);
    if (entry === undefined) return this.#reject(events, { reason: 'unknown_member', detail: `no member ${member}` });
    this.#pushTransition(events, member, entry, entry.health.leave(), nowMs);
    return { events };
  }

  /** When `tick` should next be called, caller's clock; undefined when nothing is pending. */
  nextWakeMs(): number | undefined {
    let earliest = Infinity;
    for (const e of this.#entries.values()) {
      if (e.health.state !== 'Left' && e.health.deadlineMs < earliest) earliest = e.health.deadlineMs;
    }
    return earliest === Infinity ? undefined : this.#clock.toInputMs(earliest);
  }

  /** One member, or undefined. */
  get(member: string): PeerView | undefined {
    const e = this.#entries.get(member);
    return e === undefined ? undefined : this.#view(e);
  }

  /** Every member, sorted by name. */
  peers(): PeerView[] {
    return [...this.#entries.keys()].sort().map((m) => this.#view(this.#entries.get(m)!));
  }

  /** Counters. */
  stats(): PeerTableStats {
    return {
      members: this.#entries.size,
      accepted: this.#accepted,
      rejected: { ...this.#rejected },
      clockJumpsBackward: this.#clock.backwardJumps,
      clockJumpsForward: this.#clock.forwardJumps,
      clockLostMs: this.#clock.forwardLostMs,
    };
  }

  #advance(nowMs: number): number {
    this.#lastInputMs = nowMs;
    return this.#clock.advance(nowMs);
  }

  #expire(t: number): MembershipEvent[] {
    const events: MembershipEvent[] = [];
    for (const [member, entry] of this.#entries) {
      this.#pushTransition(events, member, entry, entry.health.advance(t), this.#lastInputMs);
    }
    return events;
  }

  #pushTransition(events: MembershipEvent[], member: string, entry: Entry, tr: Transition | undefined, atMs: number): void {
    if (tr === undefined) return;
    entry.stateSinceAtMs = atMs;
    events.push({
      type: 'state-changed', member, from: tr.from, to: tr.to,
      failures: entry.health.failures, successes: entry.health.successes,
      silentMs: this.#clock.nowMs - entry.health.lastHeardMs, atMs,
    });
  }

  // Make room by dropping the departed member heard from least recently; live or failed members are
  // never dropped (a failed controller must stay visible).
  #evictOne(events: MembershipEvent[], nowMs: number): boolean {
    let victim: string | undefined;
    let oldest = Infinity;
    for (const [member, e] of this.#entries) {
      if (e.health.state === 'Left' && e.health.lastHeardMs < oldest) {
        oldest = e.health.lastHeardMs;
        victim = member;
      }
    }
    if (victim === undefined) return false;
    this.#entries.delete(victim);
    events.push({ type: 'removed', member: victim, atMs: nowMs });
    return true;
  }

  #reject(events: MembershipEvent[], rejection: Rejection): StepResult {
    this.#rejected[rejection.reason] += 1;
    return { events, rejected: rejection };
  }

  #view(e: Entry): PeerView {
    const { hb, health } = e;
    const v: PeerView = {
      member: hb.member,
      peerId: hb.peerId,
      role: hb.role,
      region: hb.region,
      zone: hb.zone,
      state: health.state,
      hlc: { wallMs: hb.hlc.wallMs, logical: hb.hlc.logical },
      merkleRoot: hb.merkleRoot,
      reachable: [...hb.reachable],
      agentCount: hb.agentCount,
      heartbeats: e.heartbeats,
      lastHeardAtMs: e.lastHeardAtMs,
      stateSinceMs: e.stateSinceAtMs,
      failures: health.failures,
      successes: health.successes,
      transitions: health.transitions,
    };
    if (health.successes > 0) v.passingSinceMs = e.passingSinceAtMs;
    if (hb.quorum !== undefined) v.quorum = { ...hb.quorum };
    if (hb.rttMs !== undefined) v.reportedRttMs = Object.assign(Object.create(null) as Record<string, number>, hb.rttMs);
    if (e.rtt !== undefined) v.rtt = { ...e.rtt };
    return v;
  }
}
