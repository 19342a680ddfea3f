// `agent status`: what an agent reports about itself — where its configuration comes from now, the
// health of every controller it may follow, and its file copy.
import type { AgentStatus } from '../../node/agent/agent-node.ts';
import { formatTable, yesNo } from './format-table.ts';
import { formatAgo, formatDuration } from './format-time.ts';

/** The agent status text. */
export function formatAgentStatus(s: AgentStatus, nowMs: number): string {
  const c = s.cache;
  const cache = !c.enabled ? 'off'
    : c.loadError !== undefined ? `${c.path}: refused at start (${c.loadError.code}: ${c.loadError.message})`
      : `${c.path} (${c.writes} writes${c.lastWriteMs > 0 ? `, last ${formatAgo(c.lastWriteMs, nowMs)}` : ''}${c.lastError === undefined ? '' : `; last write failed: ${c.lastError}`})`;
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
