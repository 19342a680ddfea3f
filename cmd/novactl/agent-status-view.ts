// `agent status`: what an agent reports about itself — where its configuration comes from now, the
// health of every controller it may follow, and its file copy.
import type { AgentStatus } from '../../node/agent/agent-node.ts';
import { formatTable, yesNo } from './format-table.ts';
import { formatAgo, formatDuration } from './format-time.ts';

/** Bytes as B, KiB, MiB or GiB, one decimal above bytes. */
function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB'];
  let v = n / 1024;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) { v /= 1024; u += 1; }
  return `${v.toFixed(1)} ${units[u]}`;
}

/** The agent status text. */
export function formatAgentStatus(s: AgentStatus, nowMs: number): string {
  const c = s.cache;
  const j = c.journal;
  // The journal of changes beside the snapshot: what a start replays, and what the writes cost.
  const journal = j === undefined ? ''
    : `; journal ${j.entries} ${j.entries === 1 ? 'entry' : 'entries'} (${formatBytes(j.bytes)}) beside a ${formatBytes(j.snapshotBytes)} snapshot, ` +
      `${j.appends} appends, ${j.compactions} snapshots written${c.pending === true ? ', changes pending' : ''}`;
  const cache = !c.enabled ? 'off'
    : c.loadError !== undefined ? `${c.path}: refused at start (${c.loadError.code}: ${c.loadError.message})`
      : `${c.path} (${c.writes} writes${c.lastWriteMs > 0 ? `, last ${formatAgo(c.lastWriteMs, nowMs)}` : ''}${journal}${c.lastError === undefined ? '' : `; last write failed: ${c.lastError}`})`;
  const catchUp = s.lastCatchUp === undefined ? 'none yet'
    : `pulled ${s.lastCatchUp.pulled} of ${s.lastCatchUp.differingKeys} differing, ${s.lastCatchUp.bytesReceived + s.lastCatchUp.bytesSent} bytes, ${formatDuration(s.lastCatchUp.durationMs)}`;
  const rows = s.controllers.map((x) => [
    x.name ?? '-', String(x.priority), yesNo(x.connected), yesNo(x.healthy), x.rttMs === undefined ? '-' : formatDuration(x.rttMs), x.current ? '*' : '', x.endpoint,
  ]);
  return [
    `Agent: ${s.member}`,
    `Federation: ${s.federationId}`,
    `Region: ${s.region}`,
    `State: ${s.state}`,
    `Controller: ${s.controller ?? '-'}`,
    `Failovers: ${s.failovers} (failbacks ${s.failbacks})`,
    `Resources: ${s.records}`,
    `Last catch-up: ${catchUp}`,
    `Live changes applied: ${s.liveApplied}`,
    `File copy: ${cache}`,
    '',
    'Controllers:',
    formatTable(['NAME', 'PRIORITY', 'CONNECTED', 'HEALTHY', 'RTT', 'CURRENT', 'ENDPOINT'], rows, '  '),
  ].join('\n');
}
