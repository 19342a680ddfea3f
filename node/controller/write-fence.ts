// Write fencing on a controller: every write asks, at that moment, whether this controller holds
// quorum. quorum/ decides; this file only feeds it events and asks. Which controllers are reached is
// decided by quorum/controller-contacts.ts, the same table the split-brain world and the exhaustive
// contact explorer check (test/quorum/). It is fed three events about the direct links to the other
// controllers, never anything relayed:
//   - a link opened: a controller authenticated (auth 'authenticated'). That alone is no contact: the
//     message that completed the authentication may have been sent long before (a slow path, the peer
//     paused right after sending it);
//   - a link proven alive, dated by the sending of a round trip over a direct connection that was
//     answered: the latest liveness ping (membership.linkProvenAtMs, node/host/link-liveness.ts), read
//     before every decision, and each clock probe answered ('clock-sample'; membership sends one as
//     soon as a controller authenticates). So a restarted controller is un-fenced one round trip after
//     it authenticated to a majority, the same round trip that measures their clocks;
//   - a link closed: the controller's last authenticated connection went away (auth 'deauthenticated').
// A controller is reached while a link to it is open and was proven within the contact window: the
// failure detector's own bound (failureThreshold x interval + timeout, when it would call the peer
// Unhealthy), the window after which link liveness closes a silent link too. So a reset fences at once
// (the next write decides afresh), and a silent drop when the window runs out. A tighter window
// fenced healthy controllers whenever a loaded event loop delayed a ping.
//
// Clock skew: of the controllers reached, only those whose clocks agree with this one's within
// maxClockOffset count (quorum/clock-skew.ts); offsets come from clock probes (membership sends one
// when a peer authenticates and one per rttInterval, node/membership/clock-probe.ts) estimated by
// membership/clock-offset.ts; one whose newest sample is older than a probe cycle (rttIntervalMs +
// rttTimeoutMs: a peer that answers probes is never older) is not measured, its clock may have been
// set since. A controller that reaches a quorum but agrees with no quorum is fenced
// with reason CLOCK_SKEW. In AgentAssisted the agents are clock witnesses: a leased agent's vote
// counts only while its clock (carried by each of its grants, node/votes/vote-collector.ts) agrees too.
// And a controller whose own stamps stand more than maxClockOffset above its clock (its clock was set
// back) is fenced with reason CLOCK_SKEW until its clock passes them, whoever agrees with it.
//
// Transitions (fenced/unfenced, quorum lost/regained, phase changes) are detected wherever the state
// is computed — on writes, on status, on membership changes, and on timers set to the next moment it
// can change by itself — and reported by fence-transitions.ts.
// A decision is reused for at most DECISION_REUSE_MS: a burst of writes (many resume in the same turn
// of the event loop) gathers the inputs once instead of once each, which was about 10 us a write.
// Only while the wall clock has not stepped meanwhile: a write is stamped with the wall clock read after
// the check, so a decision made before a step would let through one write stamped with the stepped
// clock (simulation seed 800670: a's clock set 9.8 s ahead in the instant after a decision; the write
// that reused it was acknowledged, and a later write lost last-writer-wins to it).
//
// AgentAssisted mode adds the agents' vote leases (node/votes/): the leases this controller counts now
// and the replicated agent registry. Its safety argument ("two controllers that cannot exchange data
// never both hold quorum beyond one lease interval") needs the controller contact window to be no
// longer than a counted lease (leaseMs − driftMarginMs): after a cut, each side must stop counting the
// other controller no later than it stops counting a lease. That relation (quorum/lease-window.ts) is
// checked at start, and refused naming the field, never silently adjusted.
//
// Live membership (node/membership/members-service.ts): the voters are the committed membership
// record's, handed over by `setMembers` each time a newer record is committed here, and the record's
// count rule applies (quorum/voter-slot.ts peerCountsAtEpoch): a reached controller counts only when
// the membership epoch it answered its latest clock probe with is at most this controller's, and that
// answer was sent within the shorter of this controller's probe cycle and the validity the peer gave
// with it (its own probe cycle). A voter waits longer than its probe cycle after committing an epoch
// before it accepts a voter change (MembersAcceptor settleMs), so no controller still counts it on an
// older epoch once a voter set two changes away can be chosen, whatever the others' probe settings.
// A controller that is a learner under its record does not vote: it refuses writes (NO_QUORUM, "a
// learner"). In AgentAssisted mode a record made by a voter change also hands over the voters before
// it (`priorVoters`), and the tally needs their threshold too (joint accounting), until the change
// that finishes it; `knowersBlock` is the knowers rule a proposer checks first (quorum/agent-epochs.ts).
//
// Time comes from the injected components (timers: the monotonic clock, the periodic tick and the
// timers for the moments the state changes by itself; wallClock: what clock offsets are measured
// against), so the whole-cluster simulation runs this very code on virtual time.
import { peerCountsAtEpoch } from '../../quorum/voter-slot.ts';
import { ClockOffsets, offsetVerdict, type OffsetEstimate } from '../../membership/clock-offset.ts';
import { healthContactWindowMs } from '../../membership/link-liveness.ts';
import type { HybridClock } from '../../storage/logic/hlc.ts';
import {
  ASSUMED_CLOCK_RATE_DRIFT_PPM, clockVoters, knowersBlock, MAX_CONTROLLERS, ControllerContacts, stampsStandingStillMs, decideWrite, defaultLeaseForWindow, leaseWindowMismatch, MAX_AGENTS, PartitionPhaseMachine,
  quorumStatus, tally, validateQuorumConfig,
  type ClockAgreement, type FenceReason, type KnowersResult, type QuorumConfig, type QuorumConfigInput, type QuorumStatus, type TallyResult, type WriteDecision,
} from '../../quorum/index.ts';
import type { ResolvedMembershipConfig } from '../config/membership-config.ts';
import { every, type TimerComponents, type TimerHandle, type WallClock } from '../components.ts';
import { ConfigError, NovaEdgeError } from '../errors.ts';
import type { MembershipNode } from '../membership/membership-node.ts';
import type { ClockSample } from '../membership/membership-service.ts';
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
  /** Subscribe to the agents' clock readings (one per grant); returns the unsubscribe function. */
  onClockSample(listener: (c: ClockSample) => void): () => void;
  /** Agents whose lease counts at `nowMs` and whose counted grant answered a request on membership epoch `epoch`. */
  leasedAgentsAtEpoch(nowMs: number, epoch: number): Iterable<string>;
}

/**
 * Validates the splitBrain section for this controller; throws ConfigError with one issue per field
 * (`splitBrain.<field>`). AgentAssisted also needs the contact window (healthContactWindowMs) within a
 * counted lease (quorum/lease-window.ts); driftMarginMs ≥ minDriftMarginMs(leaseMs) is checked by
 * validateQuorumConfig itself. AgentAssisted without an explicit leaseMs takes defaultLeaseForWindow:
 * the default 10 s lease would not cover the default health check (3 x 10 s + 5 s), and a mode that
 * cannot start on its defaults is no default. An explicit leaseMs is checked, never changed.
 */
export function resolveSplitBrain(
  membership: { memberName: string; config: Pick<ResolvedMembershipConfig, 'healthCheck'> }, controllers: string[], splitBrain: SplitBrainConfig,
): QuorumConfig {
  const hc = membership.config.healthCheck;
  const windowMs = healthContactWindowMs(hc);
  const input = splitBrain.mode === 'AgentAssisted' && splitBrain.leaseMs === undefined
    ? { ...splitBrain, ...defaultLeaseForWindow(windowMs, splitBrain.driftMarginMs) } : splitBrain;
  const r = validateQuorumConfig({ ...input, self: membership.memberName, controllers });
  if (!r.ok) throw new ConfigError(r.issues.map((i) => ({ field: i.field === '(root)' ? 'splitBrain' : `splitBrain.${i.field}`, problem: i.problem })));
  const config = r.config;
  const mismatch = leaseWindowMismatch(config, windowMs);
  if (mismatch !== undefined) {
    throw new ConfigError([{
      field: 'splitBrain.leaseMs',
      problem: `${config.leaseMs} is too short for AgentAssisted: the controller contact window (healthCheck failureThreshold ${hc.failureThreshold} × interval ${hc.intervalMs} + timeout ${hc.timeoutMs} = ${windowMs} ms) must be at most leaseMs − driftMarginMs (${mismatch.leaseWindowMs} ms); use leaseMs ≥ ${mismatch.minLeaseMs} or a faster health check`,
    }]);
  }
  return config;
}

const NO_AGENTS: ReadonlySet<string> = new Set();

// A learner's answer to every write: it does not vote. A refusing controller's (`refusal` says why).
function learnerDecision(self: string, epoch: number | undefined, refusal: string | undefined): WriteDecision {
  if (refusal !== undefined) return { allowed: false, code: 'FENCED', reason: 'NO_QUORUM', minorityWrite: false, message: refusal };
  return {
    allowed: false, code: 'FENCED', reason: 'NO_QUORUM', minorityWrite: false,
    message: `${self} is a learner at membership epoch ${epoch ?? 0}: it replicates and serves reads, and accepts writes once promoted to voter`,
  };
}

/**
 * Longest a write decision (and the reach it was made with) is reused, unless a link opens or closes
 * meanwhile. Far below the times the inputs move by (contact windows, lease drift margins), so a write
 * is let through at most this long after it would be fenced.
 */
export const DECISION_REUSE_MS = 1;

/** What the fence reads from membership: its configuration, the authenticated peers and link proofs, and its events. */
export type FenceMembership = Pick<MembershipNode, 'config' | 'authenticatedPeers' | 'linkProvenAtMs' | 'on' | 'auth' | 'clockSamples'>;

/** Options of a write fence that are not configuration. */
export interface WriteFenceOptions {
  /** Monotonic clock and timers (the node's components; the same clock membership's link proofs are on). */
  timers: TimerComponents;
  /** Physical clock, the same one the HLC is given: clock offsets are measured against it. */
  wallClock: WallClock;
  /**
   * Why this controller refuses every write now whatever it counts (it was removed, or may have
   * been: MembersService.leaving; it is behind the agent registry's epoch), or undefined. Read at each decision.
   */
  refusal?: () => string | undefined;
  /** Logger (default silent). */
  logger?: Logger;
  /** This controller's HLC (the store's): its stamps are what clocks are compared by. */
  hlc?: Pick<HybridClock, 'highWater'>;
}

// Everything one evaluation computed.
interface Evaluation {
  atMs: number;
  /** The wall clock minus the monotonic clock at the evaluation: a step of the wall clock moves it. */
  wallLeadMs: number;
  reachable: string[];
  /** Tally of the controllers reached. */
  tally: TallyResult;
  clock: ClockAgreement;
  decision: WriteDecision;
}

/** The membership the fence counts by (live membership): the record's epoch and voters. */
export interface FenceMembers {
  readonly epoch: number;
  readonly voters: readonly string[];
  /** After a voter change, until the next change: the voters before it (AgentAssisted counts by both). */
  readonly priorVoters?: readonly string[];
}

export class WriteFence {
  #config: QuorumConfig;
  // The configured quorumSize, kept when the voters change (at least a majority of them).
  readonly #configuredQuorumSize: number;
  // Live membership: this controller's committed epoch (undefined: none, the YAML's controllers vote).
  #epoch: number | undefined;
  // Not a voter of its record: a learner.
  #learner = false;
  // Why it refuses writes whatever it still counts, such as the leases its agents granted before
  // (WriteFenceOptions.refusal: removed, maybe removed, behind the agent registry's epoch).
  readonly #refusal: () => string | undefined;
  // AgentAssisted: the voters before the record's voter change (joint accounting), if any.
  #prior: readonly string[] | undefined;
  // The membership epoch each controller answered its latest clock probe with, and when that probe was sent.
  readonly #peerEpochs = new Map<string, { epoch: number; sentAtMs: number; validMs: number }>();
  readonly #membership: FenceMembership;
  readonly #maxClockOffsetMs: number;
  /** Longest a controller answering clock probes goes without a new sample: rttIntervalMs + rttTimeoutMs. */
  readonly #probeCycleMs: number;
  readonly #phases: PartitionPhaseMachine;
  readonly #agents: AgentVoteSource | undefined;
  readonly #transitions: FenceTransitions;
  readonly #offsets: ClockOffsets;
  readonly #hlc: Pick<HybridClock, 'highWater'> | undefined;
  readonly #timers: TimerComponents;
  readonly #wallClock: WallClock;
  // Which controllers are reached: the pure rule, fed with link events.
  readonly #contacts: ControllerContacts;
  readonly #offs: Array<() => void> = [];
  /** Writes refused, and writes accepted without quorum (fenceWrites off). */
  readonly counters = { fenced: 0, minorityWrites: 0 };
  #last: Evaluation | undefined;
  #dueTimer: TimerHandle | undefined;
  #dueAtMs = Infinity;
  #soon: TimerHandle | undefined;
  #running = true;

  /** `config` from resolveSplitBrain; `agents` is required in AgentAssisted mode. */
  constructor(membership: FenceMembership, config: QuorumConfig, agents: AgentVoteSource | undefined, options: WriteFenceOptions) {
    if (config.mode === 'AgentAssisted' && agents === undefined) throw new Error('WriteFence: AgentAssisted needs an agent vote source');
    this.#config = config;
    this.#configuredQuorumSize = config.quorumSize;
    this.#agents = agents;
    this.#membership = membership;
    this.#timers = options.timers;
    this.#wallClock = options.wallClock;
    this.#refusal = options.refusal ?? (() => undefined);
    this.#hlc = options.hlc;
    const hc = membership.config.healthCheck;
    const windowMs = healthContactWindowMs(hc);
    this.#maxClockOffsetMs = membership.config.maxClockOffsetMs;
    this.#probeCycleMs = membership.config.rttIntervalMs + membership.config.rttTimeoutMs;
    this.#contacts = new ControllerContacts({ self: config.self, controllers: config.controllers, windowMs });
    // A peer's offset is taken from its clock probes (an agent's: its grants) within one contact window
    // of its newest.
    const agentsMax = config.mode === 'AgentAssisted' ? MAX_AGENTS : 0;
    this.#offsets = new ClockOffsets({
      sampleMaxAgeMs: windowMs, membersMax: MAX_CONTROLLERS + agentsMax, driftPpm: ASSUMED_CLOCK_RATE_DRIFT_PPM,
    });
    this.#transitions = new FenceTransitions(loggerOrSilent(options.logger).child({ component: 'fence', member: config.self }));
    const startMs = this.#timers.nowMs();
    // Controllers authenticated before the fence existed (it is created right after membership starts).
    for (const p of membership.authenticatedPeers()) if (p.role === 'controller') this.#contacts.linkOpened(p.member, startMs);
    // And the clocks measured before it existed: a peer whose clock is not measured does not count;
    // each answered probe is a contact too (from its sending).
    for (const c of membership.clockSamples()) {
      this.#clockSample(c);
      this.#contacts.proven(c.member, c.sentAtMs, startMs);
    }
    this.#phases = new PartitionPhaseMachine(this.config, startMs);
    this.#evaluate();
    // The periodic tick: agent leases and clock samples age without an event.
    this.#offs.push(every(this.#timers, hc.intervalMs, () => this.#evaluate()));
    const soon = (): void => this.#evaluateSoon();
    this.#offs.push(
      membership.on('event', (e) => {
        if (e.type === 'removed') this.#offsets.forget(e.member);
        soon();
      }),
      membership.on('clock-sample', (c) => {
        const measured = this.#clockSample(c);
        // An answered clock probe is a round trip over a direct connection: contact from its sending.
        if (this.#contacts.linkOpen(c.member) && this.#running) this.#linkEvent(() => this.#contacts.proven(c.member, c.sentAtMs, this.#timers.nowMs()));
        else if (measured) soon();
      }),
      // Before the grant it came with is counted (the collector emits it first).
      agents?.onClockSample((c) => {
        if (this.#agentClockSample(c)) this.#last = undefined;
      }) ?? (() => undefined),
      membership.auth.on('authenticated', (p) => {
        if (p.role !== 'controller') return;
        this.#linkEvent(() => this.#contacts.linkOpened(p.member, this.#timers.nowMs()));
      }),
      membership.auth.on('deauthenticated', (p) => {
        if (p.role !== 'controller') return;
        // Closed when no authenticated connection to that member is left (whatever its peer ID).
        if (membership.authenticatedPeers().some((x) => x.member === p.member && x.role === 'controller')) return;
        this.#linkEvent(() => this.#contacts.linkClosed(p.member, this.#timers.nowMs()));
      }),
    );
  }

  /** The quorum configuration counted by now: the YAML's, with the voters of the membership record. */
  get config(): QuorumConfig {
    return this.#config;
  }

  /** AgentAssisted after a voter change: the voters before it, which the tally counts by too (until the change is finished). */
  get priorVoters(): readonly string[] | undefined {
    return this.#prior;
  }

  /** Whether this controller is a learner under its membership record (it does not vote). */
  get learner(): boolean {
    return this.#learner;
  }

  /**
   * Count by the membership record committed here from now on (live membership): its voters, and
   * the count rule at its epoch, and in AgentAssisted mode the voters before its voter change too.
   * Called with each newer record. A controller the record does not make a voter is a learner and
   * refuses writes.
   */
  setMembers(m: FenceMembers): void {
    if (this.#epoch !== undefined && m.epoch < this.#epoch) return;
    this.#epoch = m.epoch;
    this.#prior = this.#config.mode === 'AgentAssisted' ? m.priorVoters : undefined;
    const self = this.#config.self;
    this.#learner = !m.voters.includes(self);
    const controllers = [...new Set([...m.voters, self])].sort();
    const majority = Math.floor(m.voters.length / 2) + 1;
    this.#config = { ...this.#config, controllers, quorumSize: Math.max(majority, Math.min(this.#configuredQuorumSize, m.voters.length)) };
    const nowMs = this.#timers.nowMs();
    for (const c of controllers) {
      if (!this.#contacts.addController(c)) continue;
      if (this.#membership.authenticatedPeers().some((p) => p.member === c && p.role === 'controller')) this.#contacts.linkOpened(c, nowMs);
    }
    this.#last = undefined;
    if (this.#running) this.#evaluate();
  }

  /**
   * Controllers this one reaches (itself included, configured order), whatever their clocks: now (the
   * view of the write decision, reused as it is), or at `atMs` as far as is known now.
   */
  reachable(atMs?: number): string[] {
    if (atMs === undefined) return [...this.#fresh().reachable];
    this.#feedProofs(this.#timers.nowMs());
    return this.#contacts.reachable(atMs);
  }

  /** Controllers reached whose clocks agree with this one's (itself included): the ones whose votes count now. */
  votingControllers(): string[] {
    const e = this.#evaluate();
    const left = new Set([...e.clock.skewedPeers, ...e.clock.unmeasuredPeers]);
    return e.reachable.filter((c) => !left.has(c));
  }

  /**
   * How far each other controller's clock is from this one's now, ms (positive: it is ahead), for
   * those heard from since this controller started. This one's is what its next write would be stamped
   * with: the larger of its physical clock and its HLC.
   */
  clockOffsets(): Map<string, OffsetEstimate> {
    return this.#estimates(this.config.controllers);
  }

  // Offset estimates of `members` now (those measured).
  #estimates(members: Iterable<string>): Map<string, OffsetEstimate> {
    const nowMs = this.#timers.nowMs();
    const referenceMs = Math.max(this.#wallClock(), this.#hlc?.highWater().wallMs ?? -Infinity);
    const out = new Map<string, OffsetEstimate>();
    for (const c of members) {
      if (c === this.config.self) continue;
      // A controller answering probes has a sample at most one probe period and deadline old; an
      // agent's is as old as its counted lease at most (each grant carries its clocks).
      const maxAgeMs = this.#contacts.controllers.includes(c) ? this.#probeCycleMs : Infinity;
      const e = this.#offsets.estimate(c, nowMs, referenceMs, maxAgeMs);
      if (e !== undefined) out.set(c, e);
    }
    return out;
  }

  /** The tally of the controllers reached at this moment (clock agreement not applied). */
  tally(): TallyResult {
    return this.#evaluate().tally;
  }

  /**
   * The knowers rule (quorum/agent-epochs.ts): known to be on this controller's epoch are itself,
   * the reached controllers whose latest valid clock answer is on it, those that answered its own
   * commit of it (`committedBy`, reached or not), and the agents whose counted lease answered a
   * request on it; a proposer in AgentAssisted mode proposes only when everyone else could not hold
   * quorum among the voters before the change (`blocked`). Without a membership record, not blocked.
   */
  knowersBlock(committedBy: Iterable<string> = []): KnowersResult {
    const epoch = this.#epoch;
    if (epoch === undefined) return { blocked: false, outside: undefined, knownControllers: [] };
    const nowMs = this.#timers.nowMs();
    this.#feedProofs(nowMs);
    const controllerEpochs = new Map<string, number>();
    // Those that answered this controller's commit of its epoch know it, reached now or not.
    for (const c of committedBy) if (c !== this.#config.self) controllerEpochs.set(c, epoch);
    for (const c of this.#contacts.reachable(nowMs)) {
      const e = this.#peerEpochs.get(c);
      if (c !== this.#config.self && e !== undefined && nowMs - e.sentAtMs <= e.validMs) controllerEpochs.set(c, e.epoch);
    }
    const agents = this.#config.mode === 'AgentAssisted' ? this.#agents : undefined;
    return knowersBlock(this.#config, {
      epoch, controllerEpochs, agentsAtEpoch: agents?.leasedAgentsAtEpoch(nowMs, epoch) ?? [],
      registeredAgents: agents?.registeredAgents() ?? NO_AGENTS, ...this.#priorInput(),
    });
  }

  // The joint accounting's input to the tally (AgentAssisted after a voter change).
  #priorInput(): { priorControllers?: readonly string[] } {
    return this.#prior === undefined ? {} : { priorControllers: this.#prior };
  }

  /** Throws FencedError unless a write may be accepted now; nothing is stored when it throws. */
  check(): void {
    const d = this.#fresh().decision;
    if (d.minorityWrite) this.counters.minorityWrites++;
    if (!d.allowed) {
      this.counters.fenced++;
      throw new FencedError(d.message, d.reason ?? 'NO_QUORUM');
    }
  }

  /** The fields of `federation status --verbose`. */
  status(): QuorumStatus {
    const e = this.#evaluate();
    const computed = quorumStatus(this.#phases.phase, e.tally, this.config, e.clock);
    // A learner does not vote, whatever it reaches.
    const st = this.#learner || this.#refusal() !== undefined ? { ...computed, writesFenced: true, fenceReason: 'NO_QUORUM' as const, haveQuorum: false } : computed;
    if (this.config.mode === 'AgentAssisted') return st;
    // No agent votes in Controllers mode: "Reachable Agents" is the agents connected here.
    const agents = new Set(this.#membership.authenticatedPeers().filter((p) => p.role === 'agent').map((p) => p.member));
    return { ...st, reachableAgents: agents.size };
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
    this.#timers.clearTimeout(this.#dueTimer);
    this.#timers.clearTimeout(this.#soon);
    this.#soon = undefined;
    for (const off of this.#offs.splice(0)) off();
    this.#transitions.clear();
  }

  // The last evaluation while it is less than DECISION_REUSE_MS old and the wall clock has not stepped
  // since (by DECISION_REUSE_MS or more), else a new one.
  #fresh(): Evaluation {
    const e = this.#last;
    if (e === undefined) return this.#evaluate();
    const nowMs = this.#timers.nowMs();
    const reusable = nowMs - e.atMs < DECISION_REUSE_MS && Math.abs(this.#wallClock() - nowMs - e.wallLeadMs) < DECISION_REUSE_MS;
    return reusable ? e : this.#evaluate();
  }

  // A link opened or closed: the next write decides afresh (a reset fences the very next write), and
  // the state is evaluated once after the current turn to report the change.
  #linkEvent(feed: () => void): void {
    if (!this.#running) return;
    feed();
    this.#last = undefined;
    this.#evaluateSoon();
  }

  // A clock probe's answer from another known controller; false (ignored) for anyone else.
  #clockSample(c: ClockSample): boolean {
    if (c.member === this.config.self || !this.#contacts.controllers.includes(c.member)) return false;
    const known = this.#peerEpochs.get(c.member);
    if (c.epoch !== undefined && (known === undefined || c.sentAtMs >= known.sentAtMs)) {
      this.#peerEpochs.set(c.member, { epoch: c.epoch, sentAtMs: c.sentAtMs, validMs: Math.min(this.#probeCycleMs, c.epochValidMs ?? 0) });
    }
    return this.#offsets.sample(c.member, c.remote, c.sentAtMs, c.receivedAtMs);
  }

  // The count rule of live membership: a reached controller counts only when the epoch of its latest
  // clock answer, sent within a probe cycle, is at most this controller's (quorum/voter-slot.ts).
  #countsByEpoch(member: string, nowMs: number): boolean {
    const myEpoch = this.#epoch;
    if (myEpoch === undefined || member === this.#config.self) return true;
    const e = this.#peerEpochs.get(member);
    return e !== undefined && nowMs - e.sentAtMs <= e.validMs && peerCountsAtEpoch(myEpoch, e.epoch);
  }

  // An agent's clocks from a vote grant; false (ignored) for a name that is a controller's.
  #agentClockSample(c: ClockSample): boolean {
    if (c.member === this.config.self || this.#contacts.controllers.includes(c.member)) return false;
    return this.#offsets.sample(c.member, c.remote, c.sentAtMs, c.receivedAtMs);
  }

  // The latest proof of each open link, with the time it was proven (not the time it is read).
  #feedProofs(nowMs: number): void {
    for (const c of this.#contacts.controllers) {
      if (!this.#contacts.linkOpen(c)) continue;
      const atMs = this.#membership.linkProvenAtMs(c);
      if (atMs !== undefined) this.#contacts.proven(c, atMs, nowMs);
    }
  }

  // Feeds the link proofs, decides, advances the phase machine and reports what changed.
  #evaluate(): Evaluation {
    const nowMs = this.#timers.nowMs();
    const self = this.config.self;
    this.#feedProofs(nowMs);
    const reachable = this.#contacts.reachable(nowMs).filter((c) => this.#countsByEpoch(c, nowMs));
    const agents = this.config.mode === 'AgentAssisted' ? this.#agents : undefined;
    const leasedAgents = agents === undefined ? [] : [...agents.leasedAgents(nowMs)];
    const registeredAgents = agents?.registeredAgents() ?? NO_AGENTS;
    const t = tally(this.config, { reachableControllers: reachable, leasedAgents, registeredAgents, ...this.#priorInput() });
    const skewed = new Set<string>();
    const offsets = this.#estimates([...reachable, ...leasedAgents]);
    // A peer measured too coarsely to tell ('unknown') counts as not measured.
    const measured = new Set<string>();
    for (const [c, est] of offsets) {
      const verdict = offsetVerdict(est, this.#maxClockOffsetMs);
      if (verdict === 'disagrees') skewed.add(c);
      if (verdict !== 'unknown') measured.add(c);
    }
    const voters = clockVoters(self, reachable, leasedAgents, skewed, measured);
    const { skewedPeers, unmeasuredPeers } = voters;
    const agreeing = skewedPeers.length + unmeasuredPeers.length === 0 ? t
      : tally(this.config, { reachableControllers: voters.controllers, leasedAgents: voters.agents, registeredAgents, ...this.#priorInput() });
    // This controller's own stamps standing still above its clock (it was set back): quorum/clock-skew.ts.
    const stampsAheadMs = this.#hlc === undefined ? undefined
      : stampsStandingStillMs(this.#hlc.highWater().wallMs, this.#wallClock(), this.#maxClockOffsetMs);
    const clock: ClockAgreement = {
      tally: agreeing, skewedPeers, unmeasuredPeers, maxClockOffsetMs: this.#maxClockOffsetMs, ...(stampsAheadMs === undefined ? {} : { stampsAheadMs }),
    };
    const refusal = this.#refusal();
    const decision = this.#learner || refusal !== undefined ? learnerDecision(this.#config.self, this.#epoch, refusal) : decideWrite(t, this.config, clock);
    const haveQuorum = t.haveQuorum && agreeing.haveQuorum && stampsAheadMs === undefined && !this.#learner && refusal === undefined;
    const phases = this.#phases.tick(nowMs, { haveQuorum, reachableControllers: t.reachableControllers, configuredControllers: t.configuredControllers });
    const e: Evaluation = { atMs: nowMs, wallLeadMs: this.#wallClock() - nowMs, reachable, tally: t, clock, decision };
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
    this.#soon = this.#timers.setTimeout(() => {
      this.#soon = undefined;
      if (this.#running) this.#evaluate();
    }, 0);
  }

  // The state also changes with time alone: a reached peer's contact window runs out, a Suspected
  // phase becomes Partitioned, Healing becomes Healthy. A timer is set to the earliest such moment.
  #armDue(nowMs: number): void {
    if (!this.#running) return;
    let due = this.#contacts.nextExpiryMs(nowMs) ?? Infinity;
    const ph = this.#phases.state;
    if (ph.phase === 'Suspected') due = Math.min(due, ph.sinceMs + this.#phases.options.detectionDelayMs);
    if (ph.phase === 'Healing') due = Math.min(due, ph.sinceMs + this.#phases.options.healingHoldMs);
    // An earlier timer already armed fires first and re-arms; a later one is replaced.
    if (!Number.isFinite(due) || due <= nowMs || due >= this.#dueAtMs) return;
    this.#timers.clearTimeout(this.#dueTimer);
    this.#dueAtMs = due;
    this.#dueTimer = this.#timers.setTimeout(() => {
      this.#dueAtMs = Infinity;
      this.#dueTimer = undefined;
      if (this.#running) this.#evaluate();
    }, Math.ceil(due - nowMs) + 1);
  }
}
