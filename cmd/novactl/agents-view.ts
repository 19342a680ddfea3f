// `agents list`: the agents a controller knows, their health and which controllers they reach.
import type { AgentsResult } from '../../node/admin/controller-api.ts';
import { formatTable, yesNo } from './format-table.ts';
import { formatDuration } from './format-time.ts';

/** The agents table. */
export function formatAgents(r: AgentsResult): string {
  if (r.agents.length === 0) return 'No agents known to this controller.';
  // AgentAssisted controllers also say which agents count in the total and whose vote they hold.
  const votes = r.agents.some((a) => a.registered !== undefined);
  const rows = r.agents.map((a) => [
    a.name, a.region === '' ? '-' : a.region, a.state, yesNo(a.connected),
    a.reachable.length === 0 ? '-' : a.reachable.join(','),
    a.lastSeenAgoMs === undefined ? 'never' : `${formatDuration(a.lastSeenAgoMs)} ago`,
    a.rttMs === undefined ? '-' : formatDuration(a.rttMs),
    ...(votes ? [yesNo(a.registered === true), yesNo(a.voteHere === true)] : []),
  ]);
  return formatTable(['NAME', 'REGION', 'STATUS', 'CONNECTED', 'REACHABLE CONTROLLERS', 'LAST SEEN', 'RTT', ...(votes ? ['REGISTERED', 'VOTE HERE'] : [])], rows);
}
