// Write fencing on a controller: every write asks, at that moment, whether this controller holds
// quorum (quorum/ decides; this file only gathers the inputs). In Controllers mode a peer counts as
// reached while it has an authenticated connection and was heard from within the contact window:
// the failure detector's own bound (failureThreshold x interval + timeout, when it would call the
// peer Unhealthy). So a closed link fences at once, and a silent one when the detector gives up on
// it. A tighter window fenced healthy controllers whenever a loaded event loop delayed a heartbeat,
// and the lease bound (leaseMs - driftMarginMs, 9 s by default) is shorter than the default heartbeat
// interval (10 s): it belongs to agent votes, and AgentAssisted mode will have to check the relation.
// AgentAssisted mode needs agents' vote leases, which arrive with the agent role.
import {
  decideWrite, PartitionPhaseMachine, quorumConfig, quorumStatus, tally,
  type QuorumConfig, type QuorumConfigInput, type QuorumStatus, type TallyResult,
} from '../../quorum/index.ts';
import { ConfigError, NovaEdgeError } from '../errors.ts';
import type { MembershipNode } from '../membership/membership-node.ts';
import { monotonicMs } from '../util/clock.ts';

/** The splitBrain section: the quorum fields other than who this controller and its peers are. */
export type SplitBrainConfig = Omit<QuorumConfigInput, 'self' | 'controllers'>;

/** A write refused because this controller does not hold quorum; stable code FENCED. */
export class FencedError extends NovaEdgeError {
  readonly code = 'FENCED';
}

const NO_AGENTS: ReadonlySet<string> = new Set();

export class WriteFence {
  readonly config: QuorumConfig;
  readonly #membership: MembershipNode;
  readonly #windowMs: number;
  readonly #phases: PartitionPhaseMachine;
  readonly #timer: NodeJS.Timeout;
  /** Writes refused, and writes accepted without quorum (fenceWrites off). */
  readonly counters = { fenced: 0, minorityWrites: 0 };

  constructor(membership: MembershipNode, controllers: string[], splitBrain: SplitBrainConfig) {
    try {
      this.config = quorumConfig({ ...splitBrain, self: membership.memberName, controllers });
    } catch (err) {
      throw new ConfigError([{ field: 'splitBrain', problem: (err as Error).message }]);
    }
    if (this.config.mode === 'AgentAssisted') {
      throw new ConfigError([{ field: 'splitBrain.mode', problem: 'AgentAssisted needs agent vote leases, which are not available yet; use Controllers' }]);
    }
    this.#membership = membership;
    const hc = membership.config.healthCheck;
    this.#windowMs = hc.failureThreshold * hc.intervalMs + hc.timeoutMs;
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
    return tally(this.config, { reachableControllers: this.reachable(), leasedAgents: [], registeredAgents: NO_AGENTS });
  }

  /** Throws FencedError unless a write may be accepted now; nothing is stored when it throws. */
  check(): void {
    const d = decideWrite(this.tally(), this.config);
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
