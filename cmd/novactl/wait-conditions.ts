// What `novactl wait` waits for, read from one answer of the node: pure functions from a status to
// "what is still missing" (undefined: the condition holds).
import type { StatusResult } from '../../node/admin/controller-api.ts';
import type { AgentStatus } from '../../node/agent/agent-node.ts';

/** Conditions `novactl wait` knows. */
export const WAIT_CONDITIONS = ['started', 'formed', 'stopped'] as const;
export type WaitCondition = typeof WAIT_CONDITIONS[number];

/**
 * A controller is part of a formed federation when it sees every other member Healthy and accepts
 * writes (not fenced, quorum held). Returns what is missing, or undefined.
 */
export function controllerNotFormed(s: StatusResult): string | undefined {
  const notHealthy = s.members.filter((m) => m.status !== 'Local' && m.status !== 'Healthy').map((m) => `${m.name} ${m.status}`);
  if (notHealthy.length > 0) return `phase ${s.quorum.phase}: ${notHealthy.join(', ')}`;
  if (s.quorum.writesFenced) return `writes fenced (${s.quorum.fenceReason})`;
  if (!s.quorum.haveQuorum) return `no quorum (${s.quorum.ourVotes} of ${s.quorum.totalVotes} votes, ${s.quorum.threshold} needed)`;
  return undefined;
}

/** An agent is part of a formed federation when it follows a controller. */
export function agentNotFormed(s: AgentStatus): string | undefined {
  return s.state === 'Connected' ? undefined : `agent ${s.state}`;
}
