// `novactl apply -f`, `get KIND [NAME]`, `delete KIND NAME | -f`.
import type { Command } from 'commander';
import type { ApplyErrorData, ApplyResult, GetResult, KindsResult, ListResult, WriteOutcome } from '../../node/admin/controller-api.ts';
import type { ResourceView } from '../../storage/index.ts';
import { call, CliError, EXIT, type CliContext } from './cli-context.ts';
import { durabilityOption } from './federation-commands.ts';
import { matchKind } from './kind-match.ts';
import { manifestKey, readManifests, type ManifestItem } from './manifests.ts';
import { outputOption, render, type OutputFormat } from './output.ts';
import { formatResources, resourcesDocument } from './resources-view.ts';
import { watchResources } from './watch-commands.ts';
import { LIST_LIMIT_MAX } from '../../node/admin/read-methods.ts';

/** Default page size of a list (kubectl's --chunk-size default). */
export const GET_CHUNK_SIZE_DEFAULT = 500;

/** Every resource of `scope` (at most `limit`), fetched a page of `chunkSize` at a time with continue tokens. */
async function listAll(ctx: CliContext, scope: { kind?: string; namespace?: string }, chunkSize: number, limit: number | undefined): Promise<{ items: ResourceView[]; truncated: boolean; seq: number | undefined }> {
  const items: ResourceView[] = [];
  let token: string | undefined;
  let seq: number | undefined;
  for (;;) {
    const want = limit === undefined ? chunkSize : Math.min(chunkSize, limit - items.length);
    const page = await call<ListResult>(ctx, 'resources.list', { ...scope, limit: want, ...(token === undefined ? {} : { continue: token }) });
    seq ??= page.seq;
    items.push(...page.items);
    token = page.continue;
    if (token === undefined) return { items, truncated: false, seq };
    if (limit !== undefined && items.length >= limit) return { items, truncated: true, seq };
  }
}

/** Resources are sent in calls of at most this many bytes of JSON (the node accepts 8 MiB lines). */
export const APPLY_CALL_BYTES_MAX = 4 * 1024 * 1024;
/** And at most this many resources per call. */
export const APPLY_CALL_RESOURCES_MAX = 1000;

const DEFAULT_NAMESPACE = 'default';

function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new CliError('USAGE', `"${text}" is not a positive integer`, EXIT.USAGE);
  return n;
}

// Split resources into calls that fit the node's request bound.
function chunks(items: readonly ManifestItem[]): ManifestItem[][] {
  const out: ManifestItem[][] = [];
  let cur: ManifestItem[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = Buffer.byteLength(JSON.stringify(item.resource));
    if (size > APPLY_CALL_BYTES_MAX) throw new CliError('INVALID_ARGUMENT', `${item.source}: ${size} bytes of JSON, larger than any resource the node accepts`);
    if (cur.length > 0 && (bytes + size > APPLY_CALL_BYTES_MAX || cur.length >= APPLY_CALL_RESOURCES_MAX)) {
      out.push(cur);
      cur = [];
      bytes = 0;
    }
    cur.push(item);
    bytes += size;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

// `KIND NAME` or `KIND/NAME`, with the kind matched against the stored kinds.
async function resolveKind(ctx: CliContext, kindArg: string, nameArg: string | undefined): Promise<{ kind: string | undefined; asTyped: string; name: string | undefined }> {
  let asTyped = kindArg;
  let name = nameArg;
  const slash = kindArg.indexOf('/');
  if (slash !== -1 && name === undefined) {
    asTyped = kindArg.slice(0, slash);
    name = kindArg.slice(slash + 1);
  }
  const { kinds } = await call<KindsResult>(ctx, 'resources.kinds');
  return { kind: matchKind(asTyped, kinds), asTyped, name };
}

/** apply, get and delete. */
export function addResourceCommands(program: Command, ctx: CliContext): void {
  program.command('apply')
    .description('create or update resources from YAML or JSON (several documents separated by ---)')
    .requiredOption('-f, --filename <file...>', 'file to read, - for stdin (repeatable)')
    .addOption(durabilityOption())
    .addOption(outputOption())
    .action(async (opts: { filename: string[]; durability?: string; output: OutputFormat }) => {
      const items = await readManifests(opts.filename, ctx.io.stdin);
      const results: ApplyResult['results'] = [];
      let offset = 0;
      const print = (): void => {
        ctx.io.stdout(render(opts.output, { results }, () =>
          results.map((r) => `${r.key} ${r.changed ? 'applied' : 'unchanged'}${r.acknowledgedBy === undefined ? '' : ` (stored on ${r.acknowledgedBy.join(', ')})`}`).join('\n')));
      };
      for (const chunk of chunks(items)) {
        try {
          const r = await call<ApplyResult>(ctx, 'resources.apply', {
            resources: chunk.map((c) => c.resource), ...(opts.durability === undefined ? {} : { durability: opts.durability }),
          });
          results.push(...r.results.map((x) => ({ ...x, index: x.index + offset })));
        } catch (err) {
          const data = (err as { data?: Partial<ApplyErrorData> }).data;
          if (err instanceof CliError && data !== undefined && typeof data.index === 'number') {
            results.push(...(data.results ?? []).map((x) => ({ ...x, index: x.index + offset })));
            if (results.length > 0) print();
            const source = chunk[data.index]?.source ?? `resource ${offset + data.index + 1}`;
            throw new CliError(err.code, `${source}: ${err.message.replace(/^resources\[\d+\]\s*/, '').replace(/^:\s*/, '')}`, err.exitCode);
          }
          if (results.length > 0) print();
          throw err;
        }
        offset += chunk.length;
      }
      print();
    });

  program.command('get')
    .description('show one resource, or list resources (of a kind, or of every kind), a page at a time (kind names are case-insensitive)')
    .argument('[kind]', 'resource kind, e.g. ProxyRoute (or KIND/NAME); omit with -A to list every kind')
    .argument('[name]', 'resource name; omit to list')
    .option('-n, --namespace <namespace>', 'namespace', DEFAULT_NAMESPACE)
    .option('-A, --all-namespaces', 'list across every namespace')
    .option('--limit <n>', 'list at most this many in all (default: every one)', positiveInt)
    .option('--chunk-size <n>', `fetch a list in pages of this many (1..${LIST_LIMIT_MAX}, default ${GET_CHUNK_SIZE_DEFAULT})`, positiveInt)
    .option('-w, --watch', 'after the list, print changes as they happen (until interrupted)')
    .addOption(outputOption())
    .action(async (kindArg: string | undefined, nameArg: string | undefined, opts: {
      namespace: string; allNamespaces?: boolean; limit?: number; chunkSize?: number; watch?: boolean; output: OutputFormat;
    }) => {
      const all = opts.allNamespaces === true;
      if (kindArg === undefined && !all) throw new CliError('USAGE', 'get needs a KIND (or -A to list every kind in every namespace)', EXIT.USAGE);
      const { kind, asTyped, name } = kindArg === undefined ? { kind: undefined, asTyped: undefined, name: undefined } : await resolveKind(ctx, kindArg, nameArg);
      const now = ctx.io.nowMs();
      if (name !== undefined) {
        if (opts.watch === true) throw new CliError('USAGE', 'get -w watches a list: leave out the name', EXIT.USAGE);
        const key = `${kind ?? asTyped}/${opts.namespace}/${name}`;
        if (kind === undefined) throw new CliError('NOT_FOUND', `${key} not found (no resources of kind "${asTyped}")`);
        const v = await call<GetResult>(ctx, 'resources.get', { key });
        ctx.io.stdout(render(opts.output, resourcesDocument([v], true), () => formatResources([v], false, now)));
        return;
      }
      const chunkSize = opts.chunkSize ?? GET_CHUNK_SIZE_DEFAULT;
      if (chunkSize > LIST_LIMIT_MAX) throw new CliError('USAGE', `--chunk-size: at most ${LIST_LIMIT_MAX}`, EXIT.USAGE);
      const scope = { ...(kind === undefined ? {} : { kind }), ...(all ? {} : { namespace: opts.namespace }) };
      let items: ResourceView[] = [];
      let truncated = false;
      let seq: number | undefined;
      // A kind the node has never held (kindArg given, not matched) lists nothing.
      if (kind !== undefined || kindArg === undefined) {
        const listed = await listAll(ctx, scope, chunkSize, opts.limit);
        items = listed.items;
        truncated = listed.truncated;
        seq = listed.seq;
      }
      if (opts.output === 'table' && items.length === 0) {
        ctx.io.stderr(`No resources found${all ? '' : ` in ${opts.namespace} namespace`}.\n`);
      } else {
        ctx.io.stdout(render(opts.output, resourcesDocument(items, false), () => formatResources(items, all, now)));
      }
      if (truncated) ctx.io.stderr(`(more resources match; showing the first ${items.length}: raise --limit)\n`);
      if (opts.watch === true) {
        // From the list's seq: every change made since the first page was read. A kind never held
        // yet is watched as typed (kinds are case-sensitive on the node).
        await watchResources(ctx, kind === undefined && asTyped !== undefined ? { ...scope, kind: asTyped } : scope, seq, all, opts.output);
      }
    });

  program.command('delete')
    .description('delete a resource (KIND NAME, or every resource in -f files)')
    .argument('[kind]', 'resource kind (or KIND/NAME)')
    .argument('[name]', 'resource name')
    .option('-n, --namespace <namespace>', 'namespace', DEFAULT_NAMESPACE)
    .option('-f, --filename <file...>', 'delete the resources in these files, - for stdin')
    .option('--ignore-not-found', 'succeed when a resource does not exist')
    .addOption(durabilityOption())
    .addOption(outputOption())
    .action(async (kindArg: string | undefined, nameArg: string | undefined, opts: {
      namespace: string; filename?: string[]; ignoreNotFound?: boolean; durability?: string; output: OutputFormat;
    }) => {
      const keys: string[] = [];
      if (opts.filename !== undefined) {
        if (kindArg !== undefined) throw new CliError('USAGE', 'give either KIND NAME or -f FILE, not both', EXIT.USAGE);
        for (const item of await readManifests(opts.filename, ctx.io.stdin)) {
          const key = manifestKey(item.resource);
          if (key === undefined) throw new CliError('INVALID_ARGUMENT', `${item.source}: no kind and metadata.name`);
          keys.push(key);
        }
      } else {
        if (kindArg === undefined) throw new CliError('USAGE', 'delete needs KIND NAME (or -f FILE)', EXIT.USAGE);
        const { kind, asTyped, name } = await resolveKind(ctx, kindArg, nameArg);
        if (name === undefined) throw new CliError('USAGE', 'delete needs a resource name', EXIT.USAGE);
        keys.push(`${kind ?? asTyped}/${opts.namespace}/${name}`);
      }
      const results: Array<WriteOutcome & { deleted: boolean }> = [];
      const lines: string[] = [];
      try {
        for (const key of keys) {
          try {
            const r = await call<WriteOutcome>(ctx, 'resources.delete', { key, ...(opts.durability === undefined ? {} : { durability: opts.durability }) });
            results.push({ ...r, deleted: true });
            lines.push(`${key} deleted`);
          } catch (err) {
            if (!(opts.ignoreNotFound === true && err instanceof CliError && (err.code === 'NOT_FOUND' || err.code === 'INVALID_ARGUMENT'))) throw err;
            results.push({ key, changed: false, seq: 0, deleted: false });
            lines.push(`${key} not found (ignored)`);
          }
        }
      } finally {
        if (results.length > 0) ctx.io.stdout(render(opts.output, { results }, () => lines.join('\n')));
      }
    });
}
