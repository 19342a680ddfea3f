// `get KIND -w` and `federation events [-w]`: watches over the admin socket, printed as changes
// happen (a row, or one JSON/YAML document, per change) until interrupted or the node ends the watch.
import type { Command } from 'commander';
import YAML from 'yaml';
import { AdminCallError } from '../../node/admin/admin-client.ts';
import { watchAdmin } from '../../node/admin/admin-watch.ts';
import type { FederationEvent, ResourceEvent } from '../../node/admin/controller-api.ts';
import { cliErrorOf, CliError, EXIT, watchTarget, type CliContext } from './cli-context.ts';
import { formatAgo } from './format-time.ts';
import { outputOption, type OutputFormat } from './output.ts';


// One document per change: a JSON line, or a YAML document.
function printDoc(ctx: CliContext, output: OutputFormat, doc: unknown): void {
  ctx.io.stdout(output === 'json' ? `${JSON.stringify(doc)}\n` : `---\n${YAML.stringify(doc)}`);
}

async function watch(ctx: CliContext, method: string, params: Record<string, unknown>, onNotification: (method: string, params: unknown) => void, signal?: AbortSignal): Promise<void> {
  const g = ctx.globals();
  try {
    await watchAdmin(watchTarget(ctx), method, params, { timeoutMs: g.timeoutMs, onNotification, ...(signal === undefined ? {} : { signal }) });
  } catch (err) {
    throw cliErrorOf(err);
  }
}

/**
 * Times in a row a resources watch is resumed after WATCH_OVERFLOW without having printed a change
 * in between; one more overflow is an error (the node keeps outrunning this terminal).
 */
export const WATCH_RESUMES_WITHOUT_PROGRESS_MAX = 3;

/**
 * Watch resources of `scope` from `fromSeq` (the list's seq), printing each change. When the node
 * ends the watch with WATCH_OVERFLOW (this client fell behind), it is resumed from the last seq
 * printed, so no change is missed or printed twice; a note goes to stderr.
 */
export async function watchResources(ctx: CliContext, scope: { kind?: string; namespace?: string }, fromSeq: number | undefined, allNamespaces: boolean, output: OutputFormat): Promise<void> {
  let from = fromSeq;
  let printed = 0;
  let resumes = 0;
  for (;;) {
    const before = printed;
    try {
      await watchResourcesOnce(ctx, scope, from, allNamespaces, output, (seq) => { from = seq; printed += 1; });
      return;
    } catch (err) {
      if (!(err instanceof CliError) || err.code !== 'WATCH_OVERFLOW' || from === undefined) throw err;
      resumes = printed > before ? 1 : resumes + 1;
      if (resumes > WATCH_RESUMES_WITHOUT_PROGRESS_MAX) throw err;
      ctx.io.stderr(`novactl: the watch fell behind (WATCH_OVERFLOW); resuming from seq ${from}\n`);
    }
  }
}

async function watchResourcesOnce(
  ctx: CliContext, scope: { kind?: string; namespace?: string }, fromSeq: number | undefined, allNamespaces: boolean, output: OutputFormat, onPrinted: (seq: number) => void,
): Promise<void> {
  await watch(ctx, 'resources.watch', { ...scope, ...(fromSeq === undefined ? {} : { fromSeq }) }, (method, params) => {
    if (method !== 'resources.event') return;
    const e = params as ResourceEvent;
    printResourceEvent(ctx, e, allNamespaces, output);
    onPrinted(e.seq);
  });
}

function printResourceEvent(ctx: CliContext, e: ResourceEvent, allNamespaces: boolean, output: OutputFormat): void {
  if (output !== 'table') {
    printDoc(ctx, output, { type: e.type === 'PUT' ? 'MODIFIED' : 'DELETED', seq: e.seq, object: e.view.value ?? { key: e.view.key } });
    return;
  }
  const [kind, namespace, name] = e.view.key.split('/') as [string, string, string];
  const row = [name, kind, e.view.origin, String(e.seq), e.view.conflict ? 'Yes' : 'No', formatAgo(e.view.hlc.wallMs, ctx.io.nowMs()), e.type === 'DELETE' ? '(deleted)' : ''];
  ctx.io.stdout(`${(allNamespaces ? [namespace, ...row] : row).join('   ').trimEnd()}\n`);
}

function describe(e: FederationEvent): string {
  switch (e.type) {
    case 'state': return `state    phase ${e.phase}, writes ${e.writesFenced ? `fenced (${e.fenceReason})` : 'accepted'}, quorum ${e.haveQuorum ? 'held' : 'lost'}`;
    case 'phase': return `phase    ${e.from} -> ${e.to}`;
    case 'fence': return e.fenced ? `fence    writes fenced (${e.reason}): ${e.message}` : `fence    writes accepted again (was ${e.previousReason})`;
    case 'quorum': return `quorum   ${e.haveQuorum ? 'held' : 'lost'}: ${e.votes} of ${e.total} votes, ${e.threshold} needed; reachable ${e.reachable.join('/')}`;
  }
}

/** `federation events [-w]` under `fed`. */
export function addFederationEventsCommand(fed: Command, ctx: CliContext): void {
  fed.command('events')
    .description('the write fence, quorum and partition phase now; with -w, each transition as it happens')
    .option('-w, --watch', 'keep printing transitions (fence, quorum, phase) until interrupted')
    .addOption(outputOption())
    .action(async (opts: { watch?: boolean; output: OutputFormat }) => {
      const stop = new AbortController();
      await watch(ctx, 'federation.watch', {}, (method, params) => {
        if (method !== 'federation.event') return;
        const e = params as FederationEvent;
        if (opts.output === 'table') ctx.io.stdout(`${new Date(e.type === 'state' ? ctx.io.nowMs() : e.atMs).toISOString()}  ${describe(e)}\n`);
        else printDoc(ctx, opts.output, e);
        if (opts.watch !== true) stop.abort(); // without -w: the state now, then done
      }, stop.signal);
    });
}
