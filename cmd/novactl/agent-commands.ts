// `novactl agents list` (on a controller) and `novactl agent status` (on an agent).
import type { Command } from 'commander';
import type { AgentsResult } from '../../node/admin/controller-api.ts';
import type { AgentStatus } from '../../node/agent/agent-node.ts';
import { formatAgentStatus } from './agent-status-view.ts';
import { formatAgents } from './agents-view.ts';
import { call, type CliContext } from './cli-context.ts';
import { outputOption, render, type OutputFormat } from './output.ts';

/** `agents …` commands. */
export function addAgentCommands(program: Command, ctx: CliContext): void {
  const agents = program.command('agents').description('agents known to this controller');
  agents.command('list', { isDefault: true })
    .description('agents, their health, and which controllers each reaches')
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }) => {
      const r = await call<AgentsResult>(ctx, 'agents.list');
      ctx.io.stdout(render(opts.output, r, () => formatAgents(r)));
    });
  const agent = program.command('agent').description('an agent (point --socket at the agent)');
  agent.command('status', { isDefault: true })
    .description("the agent's state, the controller it follows, failovers and its file copy")
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }) => {
      const r = await call<AgentStatus>(ctx, 'agent.status');
      ctx.io.stdout(render(opts.output, r, () => formatAgentStatus(r, ctx.io.nowMs())));
    });
}
