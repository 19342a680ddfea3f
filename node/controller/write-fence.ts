// Write fencing on a controller: every write asks, at that moment, whether this controller holds
// quorum (quorum/ decides; this file only gathers the inputs). A peer controller counts as reached
// while it has an authenticated connection and was in contact within the contact window: the failure
// detector's own bound (failureThreshold x interval + timeout, when it would call the peer Unhealthy).
// Contact is a heartbeat heard or a completed authentication (a restarted controller is un-fenced as
// soon as it is authenticated to a majority, not a heartbeat later). So a closed link fences at once,
// and a silent one when the detector gives up on it. A tighter window fenced healthy controllers
// whenever a loaded event loop delayed a heartbeat.
//
// Clock skew: of the controllers reached, only those whose clocks agree with this one's within
// maxClockOffset count (quorum/clock-skew.ts); offsets come from clock probes (membership sends one
// when a peer authenticates and one per rttInterval, node/membership/clock-probe.ts) estimated by
// membership/clock-offset.ts. A controller that reaches a quorum but agrees with no quorum is fenced
// with reason CLOCK_SKEW.
//
// Transitions (fenced/unfenced, quorum lost/regained, phase changes) are detected wherever the state
// is computed — on writes, on status, on membership changes, and on timers set to the next moment it
// can change by itself — and reported by fence-transitions.ts.
// A decision is reused for at most DECISION_REUSE_MS: a burst of writes (many resume in the same turn
// of the event loop) gathers the inputs once instead of once each, which was about 10 us a write.
//
// AgentAssisted mode adds the agents' vote leases (node/votes/): the leases this controller counts now
// and the replicated agent registry. Its safety argument ("two controllers that cannot exchange data
// never both hold quorum beyond one lease interval") needs the controller contact window to be no
// longer than a counted lease (leaseMs − driftMarginMs): after a cut, each side must stop counting the
// other controller no later than it stops counting a lease. That relation is checked at start, and
// refused naming the field, never silently adjusted.
import { ClockOffsets, offsetVerdict, type OffsetEstimate } from '../../membership/clock-offset.ts';
import type { HybridClock } from '../../storage/logic/hlc.ts';
import {
  ASSUMED_CLOCK_RATE_DRIFT_PPM, clockAgreeingControllers, contactWindowMs, decideWrite, minDriftMarginMs, QUORUM_DEFAULTS, PartitionPhaseMachine, quorumStatus,
  skewedReachable, tally, validateQuorumConfig,
  type ClockAgreement, type FenceReason, type QuorumConfig, type QuorumConfigInput, type QuorumStatus, type TallyResult, type WriteDecision,
} from '../../quorum/index.ts';
import type { ResolvedMembershipConfig } from '../config/membership-config.ts';
import { ConfigError, NovaEdgeError, type ConfigIssue } from '../errors.ts';
import type { MembershipNode } from '../membership/membership-node.ts';
import { monotonicMs, systemWallClock, type WallClock } from '../util/clock.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import { FenceTransitions, type FenceListeners, type FenceState, type FenceTransitionCounters } from './fence-transitions.ts';

/** The splitBrain section: the quorum fields other than who this controller and its peers are. */
export type SplitBrainConfig = Omit<QuorumConfigInput, 'self' | 'controllers'>;

/** A write refused because this controller does not hold quorum; stable code FENCED, `reason` NO_QUORUM or CLOCK_SKEW. */
export class FencedError extends NovaEdgeError {
  readonly code = 'FENCED';
  readonly reason: FenceReason;
  constructor(message: string, reason: FenceReason = 'NO_QUORUM') {
    super(message);
    this.reason = reason;
  }
}

/** Where AgentAssisted votes come from (node/votes/agent-votes.ts). */
export interface AgentVoteSource {
  /** Agents whose vote lease this controller counts at `nowMs` (monotonic clock). */
  leasedAgents(nowMs: number): Iterable<string>;
  /** The replicated agent registry: the agents that count in the total. */
  registeredAgents(): ReadonlySet<string>;
}

/** How long a silent controller still counts as reached: the failure detector's bound. */
export function controllerContactWindowMs(healthCheck: ResolvedMembershipConfig['healthCheck']): number {
  return healthCheck.failureThreshold * healthCheck.intervalMs + healthCheck.timeoutMs;
}

/**
 * Validates the splitBrain section for this controller; throws ConfigError with one issue per field
 * (`splitBrain.<field>`). AgentAssisted also needs the contact window within a counted lease;
 * driftMarginMs ≥ minDriftMarginMs(leaseMs) is checked by validateQuorumConfig itself.
 */
export function resolveSplitBrain(
  membership: { memberName: string; config: Pick<ResolvedMembershipConfig, 'healthCheck'> }, controllers: string[], splitBrain: SplitBrainConfig,
): QuorumConfig {
  const r = validateQuorumConfig({ ...withDefaultLease(splitBrain, membership.config.healthCheck), self: membership.memberName, controllers });
  if (!r.ok) throw new ConfigError(r.issues.map((i) => ({ field: i.field === '(root)' ? 'splitBrain' : `splitBrain.${i.field}`, problem: i.problem })));
  const config = r.config;
  if (config.mode === 'AgentAssisted') {
    const issues: ConfigIssue[] = [];
    const hc = membership.config.healthCheck;
    const windowMs = controllerContactWindowMs(hc);
    const leaseWindowMs = contactWindowMs(config);
    if (windowMs > leaseWindowMs) {
      issues.push({
        field: 'splitBrain.leaseMs',
        problem: `${config.leaseMs} is too short for AgentAssisted: the controller contact window (healthCheck failureThreshold ${hc.failureThreshold} × interval ${hc.intervalMs} + timeout ${hc.timeoutMs} = ${windowMs} ms) must be at most leaseMs − driftMarginMs (${leaseWindowMs} ms); use leaseMs ≥ ${windowMs + config.driftMarginMs} or a faster health check`,
      });
    }
    if (issues.length > 0) throw new ConfigError(issues);
  }
  return config;
}

// AgentAssisted without an explicit leaseMs: the shortest whole-second lease that covers the contact
// window plus the drift margin, never below the quorum default. The default 10 s lease would not
// cover the default health check (3 x 10 s + 5 s), and a mode that cannot start on its defaults is
// no default. An explicit leaseMs is checked, never changed.
function withDefaultLease(splitBrain: SplitBrainConfig, hc: ResolvedMembershipConfig['healthCheck']): SplitBrainConfig {
  if (splitBrain.mode !== 'AgentAssisted' || splitBrain.leaseMs !== undefined) return splitBrain;
  const windowMs = controllerContactWindowMs(hc);
  const marginOf = (leaseMs: number): number => splitBrain.driftMarginMs ?? Math.max(QUORUM_DEFAULTS.driftMarginMs, minDriftMarginMs(leaseMs));
  let leaseMs = Math.max(QUORUM_DEFAULTS.leaseMs, Math.ceil((windowMs + marginOf(windowMs)) / 1000) * 1000);
  while (windowMs > leaseMs - marginOf(leaseMs)) leaseMs += 1000;
  return { ...splitBrain, leaseMs, driftMarginMs: marginOf(leaseMs) };
}

const NO_AGENTS: ReadonlySet<string> = new Set();

/**
 * Longest a write decision is reused. Far below the times the inputs move by (heartbeat windows,
 * lease drift margins), so a write is let through at most this long after it would be fenced.
 */
export const DECISION_REUSE_MS = 1;

/** What the fence reads from membership: connections, the peer table, and its events. */
export type FenceMembership = Pick<MembershipNode, 'config' | 'authenticatedPeers' | 'peer' | 'on' | 'auth'>;

/** Options of a write fence that are not configuration. */
export interface WriteFenceOptions {
  /** Logger (default silent). */
  logger?: Logger;
  /** This controller's HLC (the store's): its stamps are what clocks are compared by. */
  hlc?: Pick<HybridClock, 'highWater'>;
  /** Physical clock (default the system clock), the same one the HLC is given. */
  wallClock?: WallClock;
}

// Everything one evaluation computed.
interface Evaluation {
  atMs: number;
  reachable: string[];
  /** Tally of the controllers reached. */
  tally: TallyResult;
  clock: ClockAgreement;
  decision: WriteDecision;
}

export class WriteFence {
  readonly config: QuorumConfig;
  readonly #membership: FenceMembership;
  readonly #windowMs: number;
  readonly #maxClockOffsetMs: number;
  readonly #phases: PartitionPhaseMachine;
  readonly #timer: NodeJS.Timeout;
  readonly #agents: AgentVoteSource | undefined;
  readonly #transitions: FenceTransitions;
  readonly #offsets: ClockOffsets;
  readonly #hlc: Pick<HybridClock, 'highWater'> | undefined;
  readonly #wallClock: WallClock;
  // When each connected peer (by peer ID) last authenticated, monotonic ms: a completed
  // authentication is contact, so a (re)connected controller counts without waiting for a heartbeat.
  readonly #authAt = new Map<string, number>();
  readonly #offs: Array<() => void> = [];
  /** Writes refused, and writes accepted without quorum (fenceWrites off). */
  readonly counters = { fenced: 0, minorityWrites: 0 };
  #last: Evaluation | undefined;
  #dueTimer: NodeJS.Timeout | undefined;
  #dueAtMs = Infinity;
  #soon: NodeJS.Immediate | undefined;
  #running = true;

  /** `config` from resolveSplitBrain; `agents` is required in AgentAssisted mode. */
  constructor(membership: FenceMembership, config: QuorumConfig, agents?: AgentVoteSource, options: WriteFenceOptions = {}) {
    if (config.mode === 'AgentAssisted' && agents === undefined) throw new Error('WriteFence: AgentAssisted needs an agent vote source');
    this.config = config;
    this.#agents = agents;
    this.#membership = membership;
    const hc = membership.config.healthCheck;
    this.#windowMs = controllerContactWindowMs(hc);
    this.#maxClockOffsetMs = membership.config.maxClockOffsetMs;
    this.#hlc = options.hlc;
    this.#wallClock = options.wallClock ?? systemWallClock;
    // A peer's offset is taken from its clock probes within one contact window of its newest.
    this.#offsets = new ClockOffsets({
      sampleMaxAgeMs: this.#windowMs, membersMax: Math.max(1, config.controllers.length), driftPpm: ASSUMED_CLOCK_RATE_DRIFT_PPM,
    });
    this.#transitions = new FenceTransitions(loggerOrSilent(options.logger).child({ component: 'fence', member: config.self }));
    const startMs = monotonicMs();
    // Peers authenticated before the fence existed (it is created right after membership starts).
    for (const p of membership.authenticatedPeers()) this.#authAt.set(p.peerId, startMs);
    this.#phases = new PartitionPhaseMachine(this.config, startMs);
    this.#evaluate();
    // The periodic tick: agent leases and clock samples age without an event.
    this.#timer = setInterval(() => this.#evaluate(), hc.intervalMs);
    this.#timer.unref();
    const soon = (): void => this.#evaluateSoon();
    const controllers = new Set(config.controllers);
    this.#offs.push(
      membership.on('event', (e) => {
        if (e.type === 'removed') this.#offsets.forget(e.member);
        soon();
      }),
      membership.on('clock-sample', (c) => {
        if (!controllers.has(c.member) || c.member === config.self) return;
        this.#offsets.sample(c.member, c.remoteMs, c.sentAtMs, c.receivedAtMs);
        soon();
      }),
      membership.auth.on('authenticated', (p) => {
        this.#authAt.set(p.peerId, monotonicMs());
        soon();
      }),
      membership.auth.on('deauthenticated', (p) => {
        this.#authAt.delete(p.peerId);
        soon();
      }),
    );
  }

  /** Controllers this one reaches now (itself included), whatever their clocks. */
  reachable(nowMs = monotonicMs()): string[] {
    const contact = this.#lastContacts();
    return this.config.controllers.filter((c) => c === this.config.self || nowMs - (contact.get(c) ?? -Infinity) < this.#windowMs);
  }

  // Connected controllers and when each was last in contact: its last heartbeat, or the last
  // authentication of a connection to it, whichever is later (monotonic ms).
  #lastContacts(): Map<string, number> {
    const m = this.#membership;
    const contact = new Map<string, number>();
    for (const p of m.authenticatedPeers()) {
      if (p.role !== 'controller') continue;
      const at = Math.max(this.#authAt.get(p.peerId) ?? -Infinity, m.peer(p.member)?.lastHeardAtMs ?? -Infinity);
      contact.set(p.member, Math.max(contact.get(p.member) ?? -Infinity, at));
    }
    return contact;
  }

  /** Controllers reached whose clocks agree with this one's (itself included): the ones whose votes count now. */
  votingControllers(): string[] {
    const e = this.#evaluate();
    return clockAgreeingControllers(this.config.self, e.reachable, new Set(e.clock.skewedPeers));
  }

  /**
   * How far each other controller's clock is from this one's now, ms (positive: it is ahead), for
   * those heard from since this controller started. This one's is what its next write would be stamped
   * with: the larger of its physical clock and its HLC.
   */
  clockOffsets(): Map<string, OffsetEstimate> {
    const nowMs = monotonicMs();
    const referenceMs = Math.max(this.#wallClock(), this.#hlc?.highWater().wallMs ?? -Infinity);
    const out = new Map<string, OffsetEstimate>();
    for (const c of this.#offsets.members()) {
      const e = this.#offsets.estimate(c, nowMs, referenceMs);
      if (e !== undefined) out.set(c, e);
    }
    return out;
  }

  /** The tally of the controllers reached at this moment (clock agreement not applied). */
  tally(): TallyResult {
    return this.#evaluate().tally;
  }

  /** Throws FencedError unless a write may be accepted now; nothing is stored when it throws. */
  check(): void {
    let e = this.#last;
    if (e === undefined || monotonicMs() - e.atMs >= DECISION_REUSE_MS) e = this.#evaluate();
    const d = e.decision;
    if (d.minorityWrite) this.counters.minorityWrites++;
    if (!d.allowed) {
      this.counters.fenced++;
      throw new FencedError(d.message, d.reason ?? 'NO_QUORUM');
    }
  }

  /** The fields of `federation status --verbose`. */
  status(): QuorumStatus {
    const e = this.#evaluate();
    return quorumStatus(this.#phases.phase, e.tally, this.config, e.clock);
  }

  /** Subscribe to fence, quorum and phase transitions; returns the unsubscribe function. */
  on<K extends keyof FenceListeners>(event: K, listener: FenceListeners[K]): () => void {
    return this.#transitions.on(event, listener);
  }

  /** Transitions counted so far. */
  get transitionCounters(): FenceTransitionCounters {
    return this.#transitions.counters;
  }

  stop(): void {
    this.#running = false;
    clearInterval(this.#timer);
    clearTimeout(this.#dueTimer);
    if (this.#soon !== undefined) clearImmediate(this.#soon);
    for (const off of this.#offs.splice(0)) off();
    this.#authAt.clear();
    this.#transitions.clear();
  }

  // Gathers the inputs, decides, advances the phase machine and reports what changed.
  #evaluate(): Evaluation {
    const nowMs = monotonicMs();
    const self = this.config.self;
    const reachable = this.reachable(nowMs);
    const agents = this.config.mode === 'AgentAssisted' ? this.#agents : undefined;
    const leasedAgents = agents === undefined ? [] : [...agents.leasedAgents(nowMs)];
    const registeredAgents = agents?.registeredAgents() ?? NO_AGENTS;
    const t = tally(this.config, { reachableControllers: reachable, leasedAgents, registeredAgents });
    const skewed = new Set<string>();
    for (const [c, est] of this.clockOffsets()) if (offsetVerdict(est, this.#maxClockOffsetMs) === 'disagrees') skewed.add(c);
    const skewedPeers = skewedReachable(self, reachable, skewed);
    const agreeing = skewedPeers.length === 0 ? t
      : tally(this.config, { reachableControllers: clockAgreeingControllers(self, reachable, skewed), leasedAgents, registeredAgents });
    const clock: ClockAgreement = { tally: agreeing, skewedPeers, maxClockOffsetMs: this.#maxClockOffsetMs };
    const decision = decideWrite(t, this.config, clock);
    const haveQuorum = t.haveQuorum && agreeing.haveQuorum;
    const phases = this.#phases.tick(nowMs, { haveQuorum, reachableControllers: t.reachableControllers, configuredControllers: t.configuredControllers });
    const e: Evaluation = { atMs: nowMs, reachable, tally: t, clock, decision };
    this.#last = e;
    const state: FenceState = {
      fenced: !decision.allowed, reason: decision.allowed ? undefined : decision.reason, haveQuorum,
      votes: agreeing.votes, total: agreeing.total, threshold: agreeing.threshold, reachable, clockSkewedPeers: [...skewedPeers],
      message: decision.message,
    };
    this.#transitions.observe(state, phases, nowMs);
    this.#armDue(nowMs);
    return e;
  }

  // Membership changed (a peer authenticated or went away, a state change, a clock sample): evaluate
  // once after the current turn, however many changes it brought.
  #evaluateSoon(): void {
    if (!this.#running || this.#soon !== undefined) return;
    this.#soon = setImmediate(() => {
      this.#soon = undefined;
      if (this.#running) this.#evaluate();
    });
    this.#soon.unref();
  }

  // The state also changes with time alone: a reached peer's contact window runs out, a Suspected
  // phase becomes Partitioned, Healing becomes Healthy. A timer is set to the earliest such moment.
  #armDue(nowMs: number): void {
    if (!this.#running) return;
    let due = Infinity;
    for (const contactMs of this.#lastContacts().values()) {
      const endMs = contactMs + this.#windowMs;
      if (endMs > nowMs) due = Math.min(due, endMs);
    }
    const ph = this.#phases.state;
    if (ph.phase === 'Suspected') due = Math.min(due, ph.sinceMs + this.#phases.options.detectionDelayMs);
    if (ph.phase === 'Healing') due = Math.min(due, ph.sinceMs + this.#phases.options.healingHoldMs);
    // An earlier timer already armed fires first and re-arms; a later one is replaced.
    if (!Number.isFinite(due) || due <= nowMs || due >= this.#dueAtMs) return;
    clearTimeout(this.#dueTimer);
    this.#dueAtMs = due;
    this.#dueTimer = setTimeout(() => {
      this.#dueAtMs = Infinity;
      this.#dueTimer = undefined;
      if (this.#running) this.#evaluate();
    }, Math.ceil(due - nowMs) + 1);
    this.#dueTimer.unref();
  }
}
