// `novactl federation status|conflicts|sync|reconcile|members` and `novactl conflicts …`.
import { Option, type Command } from 'commander';
import type {
  ConflictsResult, DescribeResult, ReconcileResult, StatusResult, SyncResult, WriteOutcome,
} from '../../node/admin/controller-api.ts';
import { call, CliError, type CliContext } from './cli-context.ts';
import { formatConflicts, formatDescribe } from './conflicts-view.ts';
import { outputOption, render, type OutputFormat } from './output.ts';
import { formatStatus } from './status-view.ts';
import { formatReconcile, formatSync } from './sync-view.ts';
import { addFederationEventsCommand } from './watch-commands.ts';
import { addMembersCommands } from './members-commands.ts';

/** The `--durability local|quorum` option of write commands. */
export function durabilityOption(): Option {
  return new Option('--durability <durability>', 'acknowledge once durable here (local, the default) or on a majority of controllers (quorum)')
    .choices(['local', 'quorum']);
}

/** `federation …` commands. */
export function addFederationCommands(program: Command, ctx: CliContext): void {
  const fed = program.command('federation').description('federation status, conflicts and synchronisation');
  fed.command('status')
    .description('members, health, sync lag; --verbose adds the partition and quorum fields')
    .option('-v, --verbose', 'show partition state, quorum and replication details')
    .option('--compare', 'show each member\'s Merkle root (a peer\'s from its last heartbeat) and whether it equals this controller\'s')
    .addOption(outputOption())
    .action(async (opts: { verbose?: boolean; compare?: boolean; output: OutputFormat }) => {
      const verbose = opts.verbose === true;
      const s = await call<StatusResult>(ctx, 'federation.status', { verbose });
      ctx.io.stdout(render(opts.output, s, () => formatStatus(s, verbose, ctx.io.nowMs(), opts.compare === true)));
    });
  addConflictCommands(fed, ctx);
  addFederationEventsCommand(fed, ctx);
  addMembersCommands(fed, ctx);
  fed.command('sync')
    .description('run anti-entropy with one controller now')
    .requiredOption('--peer <name>', 'member name of the controller')
    .addOption(outputOption())
    .action(async (opts: { peer: string; output: OutputFormat }) => {
      const r = await call<SyncResult>(ctx, 'federation.sync', { peer: opts.peer });
      ctx.io.stdout(render(opts.output, r, () => formatSync(r)));
    });
  fed.command('reconcile')
    .description('run anti-entropy with every connected controller now')
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }) => {
      const r = await call<ReconcileResult>(ctx, 'federation.reconcile');
      ctx.io.stdout(render(opts.output, r, () => formatReconcile(r)));
      const failed = r.peers.filter((p) => !p.ok).map((p) => p.peer);
      if (failed.length > 0) throw new CliError('UNAVAILABLE', `reconcile failed with ${failed.join(', ')}`);
    });
}

/** `conflicts [list]`, `conflicts describe KEY`, `conflicts resolve KEY --keep local|remote` under `parent`. */
export function addConflictCommands(parent: Command, ctx: CliContext): void {
  const c = parent.command('conflicts').description('pending conflicts: list (default), describe, resolve');
  c.command('list', { isDefault: true })
    .description('list pending conflicts')
    .addOption(outputOption())
    .action(async (opts: { output: OutputFormat }) => {
      const r = await call<ConflictsResult>(ctx, 'federation.conflicts');
      ctx.io.stdout(render(opts.output, r, () => formatConflicts(r, ctx.io.nowMs())));
    });
  c.command('describe')
    .description('show both sides of a conflict')
    .argument('<key>', 'Kind/namespace/name')
    .addOption(outputOption())
    .action(async (key: string, opts: { output: OutputFormat }) => {
      const d = await call<DescribeResult>(ctx, 'conflicts.describe', { key });
      ctx.io.stdout(render(opts.output, d, () => formatDescribe(d, d.member, ctx.io.nowMs())));
    });
  c.command('resolve')
    .description('resolve a conflict, keeping this controller\'s version (local) or the other one (remote)')
    .argument('<key>', 'Kind/namespace/name')
    .addOption(new Option('--keep <side>', 'which version to keep').choices(['local', 'remote']).makeOptionMandatory())
    .addOption(durabilityOption())
    .addOption(outputOption())
    .action(async (key: string, opts: { keep: string; durability?: string; output: OutputFormat }) => {
      const r = await call<WriteOutcome>(ctx, 'conflicts.resolve', { key, keep: opts.keep, ...(opts.durability === undefined ? {} : { durability: opts.durability }) });
      ctx.io.stdout(render(opts.output, r, () => `${r.key} resolved: kept the ${opts.keep} version (seq ${r.seq})`));
    });
}
