// The read-only admin methods, shared by controllers and agents: get, list, and the kinds held.
import { parseKey, type ChangeEvent, type ResourceView, type Store } from '../../storage/index.ts';
import { AdminError, InvalidParamsError } from './admin-errors.ts';
import type { GetResult, KindsResult, ListResult, ResourceEvent, WatchStarted } from './controller-api.ts';
import { decodeContinue, encodeContinue, LIST_CONTINUE_CHARS_MAX } from './list-continue.ts';
import { defineMethod, Subscription, type MethodTable } from './method-table.ts';
import { optInt, optStr, paramsObject, str } from './params.ts';

/** Default and largest `limit` of resources.list (one page; `continue` fetches the next). */
export const LIST_LIMIT_DEFAULT = 1_000;
export const LIST_LIMIT_MAX = 10_000;
/** Most kinds reported by resources.kinds. */
export const KINDS_MAX = 1_000;

/** What the read methods need from a node. */
export interface ResourceReader {
  get(key: string): Promise<ResourceView | undefined>;
  list(filter: { kind?: string; namespace?: string; limit?: number; after?: string }): Promise<ResourceView[]>;
  /** Changes after `fromSeq`, then live ones (the federation's own records left out); ends when `signal` aborts. */
  watch(opts: { fromSeq?: number; signal?: AbortSignal }): AsyncIterable<ChangeEvent>;
  readonly store: Pick<Store, 'scanRecords' | 'seq'>;
}

/** A `key` parameter: Kind/namespace/name, validated as the store would. */
export function keyParam(o: Record<string, unknown>): string {
  const key = str(o, 'key');
  try {
    parseKey(key);
  } catch (err) {
    throw new InvalidParamsError('params.key', (err as Error).message);
  }
  return key;
}

/** resources.get, resources.list and resources.kinds over `node`. */
export function readMethods(node: ResourceReader): MethodTable {
  return {
    'resources.get': defineMethod({
      params: (raw) => ({ key: keyParam(paramsObject(raw, ['key'])) }),
      handler: async ({ key }): Promise<GetResult> => {
        const v = await node.get(key);
        if (v === undefined) throw new AdminError('NOT_FOUND', `${key} not found`, { key });
        return v;
      },
    }),

    'resources.list': defineMethod({
      params: (raw) => {
        const o = paramsObject(raw, ['kind', 'namespace', 'limit', 'continue']);
        const kind = optStr(o, 'kind', 63);
        const namespace = optStr(o, 'namespace', 253);
        const token = optStr(o, 'continue', LIST_CONTINUE_CHARS_MAX);
        const after = token === undefined ? undefined : decodeContinue(token, { kind, namespace });
        return { kind, namespace, after, limit: optInt(o, 'limit', 1, LIST_LIMIT_MAX) ?? LIST_LIMIT_DEFAULT };
      },
      handler: async ({ kind, namespace, after, limit }): Promise<ListResult> => {
        const filter = { ...(kind === undefined ? {} : { kind }), ...(namespace === undefined ? {} : { namespace }) };
        const seq = node.store.seq;
        const items = await node.list({ ...filter, ...(after === undefined ? {} : { after }), limit });
        const last = items.at(-1);
        // One more seek says whether anything follows (a page can also be cut short by the store's listMax).
        const more = last !== undefined && (await node.list({ ...filter, after: last.key, limit: 1 })).length > 0;
        return { items, seq, truncated: more, ...(more ? { continue: encodeContinue({ kind, namespace }, last.key) } : {}) };
      },
    }),

    'resources.watch': defineMethod({
      stream: true,
      params: (raw) => {
        const o = paramsObject(raw, ['kind', 'namespace', 'fromSeq']);
        return { kind: optStr(o, 'kind', 63), namespace: optStr(o, 'namespace', 253), fromSeq: optInt(o, 'fromSeq', 0, Number.MAX_SAFE_INTEGER) };
      },
      handler: async ({ kind, namespace, fromSeq }): Promise<Subscription> => {
        const now = node.store.seq;
        if (fromSeq !== undefined && fromSeq > now) {
          throw new InvalidParamsError('params.fromSeq', `is ahead of this node's seq ${now} (seqs are per node: resume on the node that gave it)`);
        }
        const from = fromSeq ?? now;
        const matches = (key: string): boolean => {
          const [k, ns] = key.split('/');
          return (kind === undefined || k === kind) && (namespace === undefined || ns === namespace);
        };
        const started: WatchStarted = { seq: from };
        return new Subscription(started, async (sink) => {
          for await (const e of node.watch({ fromSeq: from, signal: sink.signal })) {
            if (sink.signal.aborted) return;
            if (!matches(e.view.key)) continue;
            const event: ResourceEvent = { type: e.type, seq: e.seq, view: e.view };
            sink.notify('resources.event', event);
          }
        });
      },
    }),

    'resources.kinds': defineMethod({
      params: (raw) => paramsObject(raw, []),
      handler: async (): Promise<KindsResult> => {
        // Skip-scan: one seek per kind. Keys are Kind/namespace/name and '~' sorts after every
        // namespace character, so `Kind/~` is past every key of Kind.
        const kinds: string[] = [];
        let after: string | null = null;
        while (kinds.length < KINDS_MAX) {
          const [next] = await node.store.scanRecords(after, 1);
          if (next === undefined) break;
          const kind = next.key.slice(0, next.key.indexOf('/'));
          kinds.push(kind);
          after = `${kind}/~`;
        }
        return { kinds };
      },
    }),

  };
}
