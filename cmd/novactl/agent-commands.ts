// `novactl agents list`.
import type { Command } from 'commander';
import type { AgentsResult } from '../../node/admin/controller-api.ts';
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
}
