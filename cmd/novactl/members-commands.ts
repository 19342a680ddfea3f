// `novactl federation members list|add|promote|remove|deny`: the federation's membership record (live membership).
import { Option, type Command } from 'commander';
import type { MembersAddResult, MembersDenyResult, MembersListResult, MembersPromoteResult, MembersRemoveResult } from '../../node/admin/controller-api.ts';
import { call, type CliContext } from './cli-context.ts';
import { formatTable, yesNo } from './format-table.ts';
import { outputOption, render, type OutputFormat } from './output.ts';

/** The record as a table: one row per controller, then the deny list. */
export function formatMembers(r: MembersListResult): string {
  const { record } = r;
  const rows = record.controllers.map((c) => [
    c.name, record.voters.includes(c.name) ? 'voter' : c.autoPromote ? 'learner (promoted once caught up)' : 'learner', c.peerId, c.endpoints.join(',') || '(configured)', c.region || '-',
    yesNo(r.connected.includes(c.name)), r.sameRoot === undefined ? '-' : yesNo(r.sameRoot.includes(c.name)),
  ]);
  const prior = record.priorVoters === undefined ? []
    : [`voters before the last change: ${record.priorVoters.join(', ')} (in AgentAssisted mode they count too until the change is finished)`];
  const lines = [`membership epoch ${record.epoch}: ${record.voters.length} voters, ${record.learners.length} learners`, ...prior, '',
    formatTable(['NAME', 'ROLE', 'PEER ID', 'ENDPOINTS', 'REGION', 'CONNECTED', 'SAME ROOT'], rows)];
  if (record.denied.length > 0) {
    lines.push('', 'denied identities:', formatTable(['PEER ID', 'NAME', 'ROLE', 'SINCE EPOCH'],
      record.denied.map((d) => [d.peerId, d.name, d.role, String(d.sinceEpoch)])));
  }
  return lines.join('\n');
}

/** `members …` under `federation`. */
export function addMembersCommands(fed: Command, ctx: CliContext): void {
  const m = fed.command('members').description('the federation\'s membership: controllers, voters, denied identities');
  m.command('list', { isDefault: true })
    .description('the membership record this controller has committed')
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }) => {
      const r = await call<MembersListResult>(ctx, 'federation.members.list');
      ctx.io.stdout(render(opts.output, r, () => formatMembers(r)));
    });
  m.command('add')
    .description('add a controller as a learner: it replicates and serves reads, and votes once promoted (by default as soon as it has caught up)')
    .argument('<name>', 'member name in its certificate')
    .requiredOption('--peer-id <id>', 'the peer ID its certificate was issued for (novactl pki shows it)')
    .requiredOption('--endpoint <multiaddr...>', 'where the other controllers dial it, e.g. /ip4/10.0.0.4/tcp/7104')
    .option('--region <region>', 'its region label')
    .option('--no-promote', 'keep it a learner until `members promote`')
    .addOption(outputOption())
    .action(async (name: string, opts: { peerId: string; endpoint: string[]; region?: string; promote: boolean; output: OutputFormat }) => {
      const r = await call<MembersAddResult>(ctx, 'federation.members.add', {
        name, peerId: opts.peerId, endpoints: opts.endpoint, ...(opts.region === undefined ? {} : { region: opts.region }), promote: opts.promote,
      });
      ctx.io.stdout(render(opts.output, r, () => `added ${r.added.name} (${r.added.peerId}) as a learner at membership epoch ${r.epoch}; ` +
        `${r.added.autoPromote ? 'it is promoted to voter once caught up' : `promote it with \`novactl federation members promote ${r.added.name}\``}; voters ${r.voters.join(', ')}`));
    });
  m.command('promote')
    .description('make a learner a voter (one that caught up: a voter far behind makes quorum writes wait)')
    .argument('<name>', 'member name of the learner')
    .addOption(outputOption())
    .action(async (name: string, opts: { output: OutputFormat }) => {
      const r = await call<MembersPromoteResult>(ctx, 'federation.members.promote', { name });
      ctx.io.stdout(render(opts.output, r, () => `promoted ${r.promoted} to voter at membership epoch ${r.epoch}; voters now ${r.voters.join(', ')}`));
    });
  m.command('remove')
    .description('remove a controller: it stops counting at once, its peer ID is refused on every controller from then on, its agents fail over')
    .argument('<name>', 'member name of the controller (run this on another controller)')
    .option('--force', 'remove it even though it is not connected: writes it acknowledged with local durability and did not replicate are lost')
    .addOption(outputOption())
    .action(async (name: string, opts: { force?: boolean; output: OutputFormat }) => {
      const r = await call<MembersRemoveResult>(ctx, 'federation.members.remove', { name, force: opts.force === true });
      ctx.io.stdout(render(opts.output, r, () => `removed ${r.removed.name} (${r.removed.peerId}) at membership epoch ${r.epoch}${r.drained ? ', after draining it' : ', without draining it (not connected)'}; voters now ${r.voters.join(', ')}`));
    });
  m.command('deny')
    .description('refuse an identity (an operator, viewer or agent certificate\'s peer ID) on every controller from now on')
    .argument('<peer-id>', 'the peer ID its certificate was issued for')
    .requiredOption('--name <name>', 'the member name in its certificate')
    .addOption(new Option('--role <role>', 'the role in its certificate').choices(['operator', 'viewer', 'agent']).makeOptionMandatory())
    .addOption(outputOption())
    .action(async (peerId: string, opts: { name: string; role: string; output: OutputFormat }) => {
      const r = await call<MembersDenyResult>(ctx, 'federation.members.deny', { peerId, name: opts.name, role: opts.role });
      ctx.io.stdout(render(opts.output, r, () => `denied ${r.denied.role} ${r.denied.name} (${r.denied.peerId}) from membership epoch ${r.epoch} on`));
    });
}
