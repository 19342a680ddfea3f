// AgentAssisted votes on a controller: the vote collector (leases granted to this controller) and the
// agent registry keeper, wired to libp2p, the store and the replicator. The write fence reads it as its
// AgentVoteSource. Only created in AgentAssisted mode.
import type { QuorumConfig } from '../../quorum/index.ts';
import type { RandomSource, TimerComponents } from '../components.ts';
import type { Store } from '../../storage/index.ts';
import type { AgentVoteSource } from '../controller/write-fence.ts';
import type { MembershipNode } from '../membership/membership-node.ts';
import type { ClockSample } from '../membership/membership-service.ts';
import type { Replicator } from '../replication/replicator.ts';
import type { Logger } from '../util/logger.ts';
import { RegistryKeeper, type AgentRegistryStatus, type CountedConfig } from './registry-keeper.ts';
import { VoteCollector } from './vote-collector.ts';
import { voteLeaseProtocol } from './vote-messages.ts';

/** What the agent votes need from the controller. */
export interface AgentVotesOptions {
  membership: MembershipNode;
  store: Store;
  replicator: Replicator;
  config: QuorumConfig;
  /** Controllers reached now (the write fence's view; called late, so the fence may be built after). */
  reachableControllers(): string[];
  /** What the write fence counts by now (live membership; called late too). */
  counted?: () => CountedConfig;
  /** The node's monotonic clock and timers. */
  timers: TimerComponents;
  /** The node's randomness. */
  random: RandomSource;
  /** The controller's committed membership epoch (0: no live membership), carried by each vote request. */
  epoch?: () => number;
  logger?: Logger | undefined;
}

export class AgentVotes implements AgentVoteSource {
  /** Vote leases granted to this controller. */
  readonly collector: VoteCollector;
  /** The replicated agent registry. */
  readonly registry: RegistryKeeper;

  constructor(o: AgentVotesOptions) {
    const m = o.membership;
    const agentPeers = (): Array<{ member: string; peerId: string }> => m.authenticatedPeers().filter((p) => p.role === 'agent');
    this.collector = new VoteCollector({
      leaseMs: o.config.leaseMs,
      driftMarginMs: o.config.driftMarginMs,
      agents: () => agentPeers().map((p) => p.member),
      timers: o.timers,
      random: o.random,
      ...(o.epoch === undefined ? {} : { epoch: o.epoch }),
      open: async (agent, signal) => {
        const peer = agentPeers().find((p) => p.member === agent);
        if (peer === undefined) throw new Error(`${agent} is not connected`);
        // On its newest connection: a controller does not check its agents' links for liveness, and
        // after a half-open fault the oldest may be dead while the agent has dialed anew.
        return m.openStream(peer.peerId, voteLeaseProtocol(m.config.federationId), signal, { newestConnection: true });
      },
      ...(o.logger === undefined ? {} : { logger: o.logger }),
    });
    this.registry = new RegistryKeeper({
      store: o.store,
      config: o.config,
      reachableControllers: o.reachableControllers,
      ...(o.counted === undefined ? {} : { counted: o.counted }),
      leasedAgents: (nowMs) => this.collector.countedAgents(nowMs),
      connectedAgents: () => agentPeers().map((p) => p.member),
      lastHeardMs: (agent) => m.peer(agent)?.lastHeardAtMs,
      caughtUp: () => {
        const reached = new Set(o.reachableControllers());
        return o.replicator.status().every((s) => !reached.has(s.member) || s.antiEntropyRuns > 0);
      },
      waitForQuorum: async (record) => { await o.replicator.waitForQuorum(record); },
      periodMs: this.collector.renewMs,
      timers: o.timers,
      ...(o.logger === undefined ? {} : { logger: o.logger }),
    });
  }

  /** Agents whose lease this controller counts at `nowMs`. */
  leasedAgents(nowMs: number): string[] {
    return this.collector.countedAgents(nowMs);
  }

  /** Agents whose lease this controller counts at `nowMs` and whose counted grant answered a request on `epoch`. */
  leasedAgentsAtEpoch(nowMs: number, epoch: number): string[] {
    return this.collector.table.countedAtEpoch(nowMs, epoch);
  }

  /** Subscribe to the agents' clock readings from their grants; returns the unsubscribe function. */
  onClockSample(listener: (c: ClockSample) => void): () => void {
    return this.collector.on('clock-sample', listener);
  }

  /** The registered agents. */
  registeredAgents(): ReadonlySet<string> {
    return this.registry.agents();
  }

  /** The registry, for status. */
  status(): AgentRegistryStatus {
    return this.registry.status();
  }

  /** Load the registry, start asking agents and maintaining the registry. */
  async start(): Promise<void> {
    await this.registry.start();
    this.collector.start();
  }

  /** Stop both. */
  async stop(): Promise<void> {
    this.collector.stop();
    await this.registry.stop();
  }
}
