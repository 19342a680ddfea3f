// The agent's admin methods: its status (state, controller followed, failovers, every controller's
// health and RTT, the file copy) and the read-only resource methods. Writes and conflict resolution
// are answered with READ_ONLY rather than "unknown method", so `novactl apply` pointed at an agent
// says what to do instead.
import type { AgentNode, AgentStatus } from '../agent/agent-node.ts';
import { AdminError } from './admin-errors.ts';
import { defineMethod, type MethodTable } from './method-table.ts';
import { paramsObject } from './params.ts';
import { readMethods } from './read-methods.ts';

/** The admin methods of an agent. */
export function agentMethods(agent: AgentNode): MethodTable {
  const readOnly = defineMethod({
    access: 'write',
    params: (raw) => raw,
    handler: async (): Promise<never> => {
      throw new AdminError('READ_ONLY', `${agent.membership.memberName} is an agent: agents are read-only; send writes to a controller`);
    },
  });
  return {
    ...readMethods(agent),
    'agent.status': defineMethod({
      params: (raw) => paramsObject(raw, []),
      handler: async (): Promise<AgentStatus> => agent.status(),
    }),
    'resources.apply': readOnly,
    'resources.delete': readOnly,
    'conflicts.resolve': readOnly,
  };
}
