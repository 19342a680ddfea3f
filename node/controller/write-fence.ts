// Write fencing on a controller: every write asks, at that moment, whether this controller holds
// quorum (quorum/ decides; this file only gathers the inputs). A peer controller counts as reached
// while it has an authenticated connection and was heard from within the contact window: the failure
// detector's own bound (failureThreshold x interval + timeout, when it would call the peer Unhealthy).
// So a closed link fences at once, and a silent one when the detector gives up on it. A tighter window
// fenced healthy controllers whenever a loaded event loop delayed a heartbeat.
// A decision is reused for at most DECISION_REUSE_MS: a burst of writes (many resume in the same turn
// of the event loop) gathers the inputs once instead of once each, which was about 10 us a write.
//
// AgentAssisted mode adds the agents' vote leases (node/votes/): the leases this controller counts now
// and the replicated agent registry. Its safety argument ("two controllers that cannot exchange data
// never both hold quorum beyond one lease interval") needs the controller contact window to be no
// longer than a counted lease (leaseMs − driftMarginMs): after a cut, each side must stop counting the
// other controller no later than it stops counting a lease. That relation is checked at start, and
// refused naming the field, never silently adjusted.
import {
  contactWindowMs, decideWrite, minDriftMarginMs, QUORUM_DEFAULTS, PartitionPhaseMachine, quorumStatus, tally, validateQuorumConfig,
  type QuorumConfig, type QuorumConfigInput, type QuorumStatus, type TallyResult, type WriteDecision,
} from '../../quorum/index.ts';
import type { ResolvedMembershipConfig } from '../config/membership-config.ts';
import { ConfigError, NovaEdgeError, type ConfigIssue } from '../errors.ts';
import type { MembershipNode } from '../membership/membership-node.ts';
import { monotonicMs } from '../util/clock.ts';

/** The splitBrain section: the quorum fields other than who this controller and its peers are. */
export type SplitBrainConfig = Omit<QuorumConfigInput, 'self' | 'controllers'>;

/** A write refused because this controller does not hold quorum; stable code FENCED. */
export class FencedError extends NovaEdgeError {
  readonly code = 'FENCED';
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

export class WriteFence {
  readonly config: QuorumConfig;
  readonly #membership: MembershipNode;
  readonly #windowMs: number;
  readonly #phases: PartitionPhaseMachine;
  readonly #timer: NodeJS.Timeout;
  readonly #agents: AgentVoteSource | undefined;
  /** Writes refused, and writes accepted without quorum (fenceWrites off). */
  readonly counters = { fenced: 0, minorityWrites: 0 };
  #decision: (WriteDecision & { atMs: number }) | undefined;

  /** `config` from resolveSplitBrain; `agents` is required in AgentAssisted mode. */
  constructor(membership: MembershipNode, config: QuorumConfig, agents?: AgentVoteSource) {
    if (config.mode === 'AgentAssisted' && agents === undefined) throw new Error('WriteFence: AgentAssisted needs an agent vote source');
    this.config = config;
    this.#agents = agents;
    this.#membership = membership;
    const hc = membership.config.healthCheck;
    this.#windowMs = controllerContactWindowMs(hc);
    this.#phases = new PartitionPhaseMachine(this.config, monotonicMs());
    this.#timer = setInterval(() => { this.#phases.tick(monotonicMs(), this.tally()); }, hc.intervalMs);
    this.#timer.unref();
  }

  /** Controllers this one reaches now (itself included). */
  reachable(nowMs = monotonicMs()): string[] {
    const connected = new Set(this.#membership.authenticatedPeers().filter((p) => p.role === 'controller').map((p) => p.member));
    return this.config.controllers.filter((c) => c === this.config.self ||
      (connected.has(c) && nowMs - (this.#membership.peer(c)?.lastHeardAtMs ?? -Infinity) < this.#windowMs));
  }

  /** The tally at this moment. */
  tally(): TallyResult {
    const nowMs = monotonicMs();
    const agents = this.config.mode === 'AgentAssisted' ? this.#agents : undefined;
    return tally(this.config, {
      reachableControllers: this.reachable(nowMs),
      leasedAgents: agents?.leasedAgents(nowMs) ?? [],
      registeredAgents: agents?.registeredAgents() ?? NO_AGENTS,
    });
  }

  /** Throws FencedError unless a write may be accepted now; nothing is stored when it throws. */
  check(): void {
    const nowMs = monotonicMs();
    let d = this.#decision;
    if (d === undefined || nowMs - d.atMs >= DECISION_REUSE_MS) {
      d = { atMs: nowMs, ...decideWrite(this.tally(), this.config) };
      this.#decision = d;
    }
    if (d.minorityWrite) this.counters.minorityWrites++;
    if (!d.allowed) {
      this.counters.fenced++;
      throw new FencedError(d.message);
    }
  }

  /** The fields of `federation status --verbose`. */
  status(): QuorumStatus {
    const t = this.tally();
    this.#phases.tick(monotonicMs(), t);
    return quorumStatus(this.#phases.phase, t, this.config);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
