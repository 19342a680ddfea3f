// How scripts show things: compact, stable, one fact per field. Stamps are shown as seconds since the
// run's wall-clock base (what an unskewed node reads at virtual 0), so they read like virtual times.
import type { AgentStatus } from '../../../node/agent/agent-node.ts';
import type { FederationStatus } from '../../../node/controller/controller-node.ts';
import { canonicalJson, type Json } from '../../../storage/logic/canonical.ts';
import type { HlcStamp } from '../../../storage/logic/hlc.ts';
import type { VersionVector } from '../../../storage/logic/version-vector.ts';
import type { AgentFollow, FenceChange, PhaseChange, ReadOutcome, WriteAck, WriteOutcome } from '../check/history.ts';
import { fmtMs } from '../check/history.ts';
import type { NodeStatus } from './driver.ts';

/** `2.000s`, `2.000s+3` (logical counter), relative to `baseMs`. */
export function fmtStamp(hlc: HlcStamp, baseMs: number): string {
  return `${fmtMs(hlc.wallMs - baseMs)}${hlc.logical === 0 ? '' : `+${hlc.logical}`}`;
}

/** `a:1,b:2` (sorted). */
export function fmtVv(vv: VersionVector): string {
  const parts = Object.keys(vv).sort().map((m) => `${m}:${vv[m]}`);
  return parts.length === 0 ? '-' : parts.join(',');
}

function fmtAck(a: WriteAck, baseMs: number): string {
  return a.changed
    ? `${a.hlc.member}:${a.counter} hlc=${fmtStamp(a.hlc, baseMs)} vv=${fmtVv(a.vv)}`
    : `unchanged hlc=${fmtStamp(a.hlc, baseMs)} vv=${fmtVv(a.vv)}`;
}

/** A write's outcome: `ok a:1 hlc=2.000s vv=a:1`, `FENCED`, `QUORUM_TIMEOUT (stored a:2 ...)`, `pending op 4`. */
export function fmtWriteOutcome(o: WriteOutcome | undefined, id: number, baseMs: number): string {
  if (o === undefined || o.status === 'pending') return `pending op ${id}`;
  if (o.status === 'ok') return `ok ${fmtAck(o.ack, baseMs)}`;
  return o.stored === undefined ? o.code : `${o.code} (stored ${fmtAck(o.stored, baseMs)})`;
}

/** A resource without the fields its key already says (apiVersion, kind, metadata.name/namespace). */
export function fmtResourceBody(value: Json): string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return canonicalJson(value);
  const rest: { [k: string]: Json } = {};
  for (const [k, v] of Object.entries(value)) {
    if (k === 'apiVersion' || k === 'kind') continue;
    if (k === 'metadata' && typeof v === 'object' && v !== null && !Array.isArray(v)) {
      const meta = Object.fromEntries(Object.entries(v).filter(([mk]) => mk !== 'name' && mk !== 'namespace'));
      if (Object.keys(meta).length > 0) rest[k] = meta as Json;
      continue;
    }
    rest[k] = v;
  }
  return canonicalJson(rest);
}

/** A read's outcome: `{"spec":{"v":1}} origin=a hlc=2.000s`, `deleted origin=a ...`, `not found`, an error code. */
export function fmtReadOutcome(o: ReadOutcome | undefined, id: number, baseMs: number): string {
  if (o === undefined || o.status === 'pending') return `pending op ${id}`;
  if (o.status === 'error') return o.code;
  if (!o.found) return 'not found';
  const what = o.value === null ? 'deleted' : fmtResourceBody(o.value);
  return `${what} origin=${o.origin} hlc=${fmtStamp(o.hlc, baseMs)} vv=${fmtVv(o.vv)}${o.conflict ? ' conflict' : ''}`;
}

function fmtLag(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)}s`;
}

function fmtQuorum(node: string, s: FederationStatus): string {
  const q = s.quorum;
  const writes = q.writesFenced ? `fenced(${q.fenceReason})` : 'accepted';
  const agents = q.quorumMode === 'AgentAssisted' ? ` leases=${q.reachableAgents}` : '';
  const skew = q.clockSkewedPeers.length === 0 ? '' : ` skewed=${q.clockSkewedPeers.join(',')}`;
  return `${node}: ${q.phase} partition=${q.partitionState} writes=${writes} votes=${q.ourVotes}/${q.totalVotes} need=${q.threshold} peers=${q.reachablePeers}${agents}${skew}`;
}

function fmtAgent(node: string, s: AgentStatus): string[] {
  const head = `${node}: ${s.state} controller=${s.controller ?? '-'} failovers=${s.failovers} failbacks=${s.failbacks} records=${s.records} root=${s.merkleRoot.slice(0, 8)} vote=${s.vote.holder ?? '-'}`;
  // Before a controller authenticates only its endpoint is known: its host part stands for it.
  const label = (c: AgentStatus['controllers'][number]): string => c.name ?? `?${/^\/dns[46]?\/([^/]+)\//.exec(c.endpoint)?.[1] ?? c.endpoint}`;
  const rows = s.controllers.map((c) => `  ${label(c)}${c.connected ? ' connected' : ''}${c.healthy ? ' healthy' : ''}${c.current ? ' current' : ''}`);
  return [head, ...rows];
}

/** `status a`: the quorum line and one line per peer (controllers), or the agent line and its controllers. */
export function fmtStatus(n: NodeStatus): string {
  if (!n.running) return `${n.node}: down`;
  const paused = n.paused ? ' (paused)' : '';
  if (n.role === 'controller') {
    const rows = n.status.members.filter((m) => m.status !== 'Local')
      .map((m) => `  ${m.name} ${m.status} lag=${fmtLag(m.syncLagMs)} agents=${m.agents}`);
    // Live membership, shown once it has changed: the record's epoch, and a controller that knows it was removed.
    const m = n.status.membership;
    const members = m === undefined ? '' : `${m.epoch > 1 ? ` members=epoch${m.epoch}` : ''}${m.removed ? ' REMOVED' : ''}`;
    return [`${fmtQuorum(n.node, n.status)}${members}${paused}`, ...rows].join('\n');
  }
  const [head, ...rows] = fmtAgent(n.node, n.status);
  return [`${head}${paused}`, ...rows].join('\n');
}

/** `fence a`: whether writes are accepted, why not, and the votes. */
export function fmtFence(n: NodeStatus): string {
  if (!n.running) return `${n.node}: down`;
  if (n.role !== 'controller') return `${n.node}: an agent has no write fence`;
  const q = n.status.quorum;
  const state = q.writesFenced ? `fenced ${q.fenceReason}` : 'accepting';
  const skew = q.clockSkewedPeers.length === 0 ? '' : ` skewed=${q.clockSkewedPeers.join(',')}`;
  return `${n.node}: ${state} votes=${q.ourVotes}/${q.totalVotes} need=${q.threshold}${skew}`;
}

/** An event line: `> 12.345s a: fenced NO_QUORUM votes=1/3 need=2`. */
export function fmtFenceEvent(e: FenceChange): string {
  return `> ${fmtMs(e.atMs)} ${e.node}: ${e.fenced ? `fenced ${e.reason ?? ''}`.trimEnd() : 'accepting'} votes=${e.votes}/${e.total} need=${e.threshold}`;
}

/** `> 12.345s x: Connected to b`. */
export function fmtFollowEvent(e: AgentFollow): string {
  return `> ${fmtMs(e.atMs)} ${e.agent}: ${e.state}${e.controller === undefined ? '' : ` to ${e.controller}`}`;
}

/** `> 12.345s a: phase Healthy -> Suspected`. */
export function fmtPhaseEvent(e: PhaseChange): string {
  return `> ${fmtMs(e.atMs)} ${e.node}: phase ${e.from} -> ${e.to}`;
}
