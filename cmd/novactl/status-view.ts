// `federation status` as the guide prints it, with the partition fields under --verbose.
import type { StatusResult } from '../../node/admin/controller-api.ts';
import { formatTable, yesNo } from './format-table.ts';
import { formatAgo, formatDuration } from './format-time.ts';

/** Hex characters of a Merkle root shown in the --compare column (JSON has the whole root). */
export const MERKLE_ROOT_CHARS_SHOWN = 16;

/** The status text: header, (verbose) partition fields, members table. */
export function formatStatus(s: StatusResult, verbose: boolean, nowMs: number, compare = false): string {
  const q = s.quorum;
  const lines = [`Federation: ${s.federationId}`, `Local Member: ${s.localMember}`, `Phase: ${q.phase}`];
  // Whatever the verbosity: an operator must see at once that this controller is out of the federation.
  if (s.membership?.removed === true) lines.push(`Removed: Yes (membership epoch ${s.membership.epoch}): this controller was removed from the federation and refuses every connection; stop it`);
  if (verbose) {
    lines.push(
      `Partition State: ${q.partitionState}`,
      `Reachable Peers: ${q.reachablePeers}`,
      `Writes Fenced: ${yesNo(q.writesFenced)}`,
      `Reads Allowed: ${yesNo(q.readsAllowed)}`,
      `Quorum Mode: ${q.quorumMode}`,
      `Our Votes: ${q.ourVotes} / ${q.totalVotes} total`,
      `Quorum Threshold: ${q.threshold}`,
      `Have Quorum: ${yesNo(q.haveQuorum)}`,
      `Reachable Agents: ${q.reachableAgents}`,
    );
    // Why writes are refused, after the guide's lines: NO_QUORUM or CLOCK_SKEW (with the peers whose clocks differ).
    if (q.writesFenced) lines.push(`Fence Reason: ${q.fenceReason}`);
    if (q.clockSkewedPeers.length > 0) lines.push(`Clock Skewed Peers: ${q.clockSkewedPeers.join('/')}`);
    const reg = s.agentRegistry;
    if (reg !== undefined) lines.push(`Agent Registry: version ${reg.version}, ${reg.agents.length} agents (changed by ${reg.registrar})`);
    if (s.membership !== undefined) lines.push(`Membership Epoch: ${s.membership.epoch}`);
  }
  if (compare) lines.push(`Merkle Root: ${s.node.merkleRoot ?? '-'} (${s.node.storeSize} records)`);
  const rows = s.members.map((m) => [
    m.name,
    m.region === '' ? '-' : m.region,
    m.status,
    m.syncLagMs === undefined || m.status === 'Local' ? '-' : formatDuration(m.syncLagMs),
    m.lastSyncMs === undefined || m.status === 'Local' ? '-' : m.lastSyncMs === 0 ? 'never' : formatAgo(m.lastSyncMs, nowMs),
    String(m.agents),
    // --compare: each member's root (a peer's from its last heartbeat, with its age) and whether it equals ours.
    ...(compare ? [
      m.merkleRoot === undefined ? '-' : m.merkleRoot.slice(0, MERKLE_ROOT_CHARS_SHOWN),
      m.rootAgoMs === undefined || m.status === 'Local' ? '-' : formatDuration(m.rootAgoMs),
      m.sameRoot === undefined ? '?' : yesNo(m.sameRoot),
    ] : []),
  ]);
  const head = ['NAME', 'REGION', 'STATUS', 'SYNC LAG', 'LAST SYNC', 'AGENTS', ...(compare ? ['MERKLE ROOT', 'ROOT AGE', 'SAME ROOT'] : [])];
  lines.push('', 'Members:', formatTable(head, rows, '  '));
  if (verbose && s.replication !== undefined) {
    const repl = s.replication.map((r) => [
      r.member, yesNo(r.connected), String(r.queued), String(r.inFlight), String(r.recordsAcked), String(r.failures),
      String(r.antiEntropyRuns), String(r.antiEntropyFailures),
    ]);
    lines.push('', 'Replication:', formatTable(['PEER', 'CONNECTED', 'QUEUED', 'IN FLIGHT', 'ACKED', 'FAILURES', 'ANTI-ENTROPY RUNS', 'FAILED RUNS'], repl, '  '));
  }
  return lines.join('\n');
}
