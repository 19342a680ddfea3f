// A controller's metrics, with the guide's names (Monitoring and Observability) plus what DESIGN.md
// asks to be counted (fenced and minority writes, refused connections, malformed input). Every value
// is read from the node when Prometheus scrapes.
import type { Registry } from 'prom-client';
import { FENCE_REASONS, PHASES, type Phase } from '../../quorum/index.ts';
import type { ControllerNode } from '../controller/controller-node.ts';
import { liveCounter, liveGauge, one, type Sample } from './live-metrics.ts';
import { registerRecordsRejected } from './records-rejected.ts';

/** Label values of novaedge_federation_partition_state, one-hot. */
export const PARTITION_STATES = ['healthy', 'degraded', 'suspected', 'confirmed', 'healing'] as const;
/** A partition state label value. */
export type PartitionStateLabel = (typeof PARTITION_STATES)[number];

/**
 * The state label of a phase. Partitioned is the guide's "Partition State: Confirmed" (its alert
 * matches state="confirmed"); a separate "partitioned" label would always equal it, so there is none.
 */
export function partitionStateLabel(phase: Phase): PartitionStateLabel {
  return STATE_LABELS[phase];
}

const STATE_LABELS: Readonly<Record<Phase, PartitionStateLabel>> = {
  Healthy: 'healthy', Degraded: 'degraded', Suspected: 'suspected', Partitioned: 'confirmed', Healing: 'healing',
};

/** Conflicts are counted by scanning the store; scrapes within this window reuse the last count. */
export const CONFLICT_COUNT_TTL_MS = 5_000;

const bool = (b: boolean): number => (b ? 1 : 0);

/** Options of the controller metrics. */
export interface ControllerMetricsOptions {
  /** Scrapes within this window reuse the last conflict count, ms (default CONFLICT_COUNT_TTL_MS). */
  conflictCountTtlMs?: number;
}

/** Register a controller's metrics on `registry`. */
export function registerControllerMetrics(registry: Registry, node: ControllerNode, o: ControllerMetricsOptions = {}): void {
  const ttlMs = o.conflictCountTtlMs ?? CONFLICT_COUNT_TTL_MS;
  const peers = (): ReturnType<ControllerNode['replicator']['status']> => node.replicator.status();

  liveGauge({
    name: 'novaedge_federation_sync_lag_seconds', registry, labelNames: ['peer'],
    help: 'Replication lag to each peer controller: time from a write being queued to its acknowledgement, or the age of the oldest write not acknowledged yet if larger (writes dropped on a push-queue overflow count until anti-entropy repaired them).',
    read: () => peers().map((p) => ({ labels: { peer: p.member }, value: p.lagMs / 1000 })),
  });
  liveCounter({
    name: 'novaedge_federation_sync_total', registry, labelNames: ['peer'],
    help: 'Successful sync operations with each peer: acknowledged push batches plus completed anti-entropy sessions.',
    read: () => peers().map((p) => ({ labels: { peer: p.member }, value: p.batchesAcked + p.antiEntropyRuns })),
  });
  liveCounter({
    name: 'novaedge_federation_sync_failures_total', registry, labelNames: ['peer'],
    help: 'Failed sync operations with each peer: push stream failures and queue overflows plus failed anti-entropy sessions.',
    read: () => peers().map((p) => ({ labels: { peer: p.member }, value: p.failures + p.antiEntropyFailures })),
  });
  liveCounter({
    name: 'novaedge_federation_push_overflows_total', registry, labelNames: ['peer'],
    help: 'Push queue overflows to each peer: the queued records were dropped and anti-entropy with the peer started at once to repair them.',
    read: () => peers().map((p) => ({ labels: { peer: p.member }, value: p.overflows })),
  });
  liveCounter({
    name: 'novaedge_federation_conflicts_total', registry, labelNames: [],
    help: 'Concurrent versions detected (writes neither of which happened before the other), under any strategy.',
    read: () => one(node.store.stats.concurrentDetected),
  });
  let cached: { atMs: number; count: number } | undefined;
  liveGauge({
    name: 'novaedge_federation_conflicts_pending', registry, labelNames: [],
    help: `Conflicts held (Merge fields or Manual siblings) waiting for an operator; recounted at most every ${ttlMs / 1000} s.`,
    read: async () => {
      // LastWriterWins never holds a conflict: no scan needed.
      if (node.config.strategy === 'LastWriterWins') return one(0);
      const now = node.components.timers.nowMs();
      if (cached === undefined || now - cached.atMs >= ttlMs) cached = { atMs: now, count: (await node.conflicts()).length };
      return one(cached.count);
    },
  });
  liveGauge({
    name: 'novaedge_federation_member_healthy', registry, labelNames: ['member'],
    help: 'Health of each other configured controller as this one sees it: 1 Healthy, 0 otherwise (Suspect, Unhealthy, Left, never heard from).',
    read: () => node.status().members.filter((m) => m.status !== 'Local').map((m) => ({ labels: { member: m.name }, value: bool(m.status === 'Healthy') })),
  });
  liveGauge({
    name: 'novaedge_federation_partition_state', registry, labelNames: ['state'],
    help: 'Partition phase of this controller, one-hot: healthy, suspected, confirmed (partitioned for longer than detectionDelay), healing.',
    read: () => {
      const state = partitionStateLabel(node.fence.status().phase);
      return PARTITION_STATES.map((s) => ({ labels: { state: s }, value: bool(s === state) }));
    },
  });
  liveGauge({
    name: 'novaedge_federation_have_quorum', registry, labelNames: [],
    help: 'Whether this controller holds quorum now (1) or not (0).',
    read: () => one(bool(node.fence.status().haveQuorum)),
  });
  liveGauge({
    name: 'novaedge_federation_writes_fenced', registry, labelNames: [],
    help: 'Whether writes are refused now (1: no quorum and fenceWrites on).',
    read: () => one(bool(node.fence.status().writesFenced)),
  });
  liveCounter({
    name: 'novaedge_federation_writes_fenced_total', registry, labelNames: [],
    help: 'Writes refused with FENCED because this controller did not hold quorum.',
    read: () => one(node.fence.counters.fenced),
  });
  liveCounter({
    name: 'novaedge_federation_minority_writes_total', registry, labelNames: [],
    help: 'Writes accepted without quorum because fenceWrites is off (split-brain protection disabled).',
    read: () => one(node.fence.counters.minorityWrites),
  });
  liveGauge({
    name: 'novaedge_federation_resources', registry, labelNames: [],
    help: 'Records held in the store (tombstones included).',
    read: () => one(node.store.size),
  });
  liveCounter({
    name: 'novaedge_federation_auth_rejections_total', registry, labelNames: ['reason'],
    help: 'Connections closed during authentication, by reason (certificate codes, AUTH_*), plus streams refused to unauthenticated peers (GUARD_REFUSED) and dials refused by the deny list (DENIED).',
    read: () => {
      const a = node.membership.counters().auth;
      const out: Array<Sample<'reason'>> = Object.entries(a.refused).map(([reason, value]) => ({ labels: { reason }, value }));
      out.push({ labels: { reason: 'GUARD_REFUSED' }, value: a.guardRefused }, { labels: { reason: 'DENIED' }, value: a.denied });
      return out;
    },
  });
  liveCounter({
    name: 'novaedge_federation_heartbeats_rejected_total', registry, labelNames: ['reason'],
    help: 'Health-gossip messages refused (malformed, oversized, unauthenticated sender, wrong federation, ...), by reason.',
    read: () => {
      const c = node.membership.counters();
      const sum = new Map<string, number>();
      for (const [r, n] of [...Object.entries(c.gate.rejected), ...Object.entries(c.table.rejected)]) sum.set(r, (sum.get(r) ?? 0) + n);
      return [...sum].map(([reason, value]) => ({ labels: { reason }, value }));
    },
  });
  registerRecordsRejected(registry, () => node.replicator.rejections.counts());
  liveCounter({
    name: 'novaedge_federation_protocol_errors_total', registry, labelNames: [],
    help: 'Replication streams (push, anti-entropy) ended because a peer sent malformed or oversized input.',
    read: () => one(node.replicator.counters.protocolErrors),
  });
  liveCounter({
    name: 'novaedge_federation_frames_refused_total', registry, labelNames: ['peer', 'protocol', 'code'],
    help: 'Frames refused from each peer on the replication streams it opened here: over their type\'s size cap or inflation-ratio bound (FRAME_TOO_LARGE) or undecodable (FRAME_MALFORMED). Each ends its stream.',
    read: () => node.frameRefusals.counts().map((c) => ({ labels: { peer: c.peer, protocol: c.protocol, code: c.code }, value: c.count })),
  });
  liveGauge({
    name: 'novaedge_federation_quorum_votes', registry, labelNames: ['kind'],
    help: 'Votes this controller holds now (kind="held") and needs (kind="threshold"); in AgentAssisted mode weighted, agent leases included.',
    read: () => {
      const st = node.fence.status();
      return [{ labels: { kind: 'held' }, value: st.ourVotes }, { labels: { kind: 'threshold' }, value: st.threshold }];
    },
  });
  liveGauge({
    name: 'novaedge_federation_registered_agents', registry, labelNames: [],
    help: 'AgentAssisted: agents in the replicated registry (they count in the total); absent in Controllers mode.',
    read: () => (node.agentVotes === undefined ? [] : one(node.agentVotes.registeredAgents().size)),
  });
  liveGauge({
    name: 'novaedge_federation_agent_leases', registry, labelNames: [],
    help: 'AgentAssisted: agents whose vote lease this controller counts now; absent in Controllers mode.',
    read: () => (node.agentVotes === undefined ? [] : one(node.agentVotes.leasedAgents(node.components.timers.nowMs()).length)),
  });
  liveCounter({
    name: 'novaedge_federation_clock_skew_total', registry, labelNames: [],
    help: 'Heartbeats whose clock stamp was further ahead than maxClockOffset.',
    read: () => one(node.membership.counters().clockSkew),
  });
  liveGauge({
    name: 'novaedge_federation_clock_offset_seconds', registry, labelNames: ['peer'],
    help: 'Estimated offset of each other controller\'s clock (the stamps its writes get) from this one\'s, from clock probes and their round trip: positive when it is ahead. Beyond maxClockOffset for a quorum, writes are fenced with CLOCK_SKEW.',
    read: () => [...node.fence.clockOffsets()].map(([peer, e]) => ({ labels: { peer }, value: e.offsetMs / 1000 })),
  });
  const transitions = (): ControllerNode['fence']['transitionCounters'] => node.fence.transitionCounters;
  liveCounter({
    name: 'novaedge_federation_fence_transitions_total', registry, labelNames: ['to', 'reason'],
    help: 'Times writes became refused (to="fenced", by reason: NO_QUORUM, CLOCK_SKEW) or accepted again (to="unfenced", by the reason of the fence left).',
    read: () => {
      const c = transitions();
      return FENCE_REASONS.flatMap((reason) => [
        { labels: { to: 'fenced', reason }, value: c.fenced[reason] },
        { labels: { to: 'unfenced', reason }, value: c.unfenced[reason] },
      ]);
    },
  });
  liveCounter({
    name: 'novaedge_federation_quorum_transitions_total', registry, labelNames: ['to'],
    help: 'Times quorum for writes was lost (to="lost") or regained (to="held").',
    read: () => [{ labels: { to: 'lost' }, value: transitions().quorumLost }, { labels: { to: 'held' }, value: transitions().quorumHeld }],
  });
  liveCounter({
    name: 'novaedge_federation_phase_transitions_total', registry, labelNames: ['to'],
    help: 'Times each partition phase was entered: healthy, suspected, confirmed (Partitioned), healing.',
    read: () => PHASES.map((p) => ({ labels: { to: partitionStateLabel(p) }, value: transitions().phases[p] })),
  });
}
