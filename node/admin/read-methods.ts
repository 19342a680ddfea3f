// The read-only admin methods, shared by controllers and agents: get, list, and the kinds held.
import { parseKey, type ResourceView, type Store } from '../../storage/index.ts';
import { AdminError, InvalidParamsError } from './admin-errors.ts';
import type { GetResult, KindsResult, ListResult } from './controller-api.ts';
import { defineMethod, type MethodTable } from './method-table.ts';
import { optInt, optStr, paramsObject, str } from './params.ts';

/** Default and largest `limit` of resources.list. */
export const LIST_LIMIT_DEFAULT = 1_000;
export const LIST_LIMIT_MAX = 10_000;
/** Most kinds reported by resources.kinds. */
export const KINDS_MAX = 1_000;

/** What the read methods need from a node. */
export interface ResourceReader {
  get(key: string): Promise<ResourceView | undefined>;
  list(filter: { kind?: string; namespace?: string; limit?: number }): Promise<ResourceView[]>;
  readonly store: Pick<Store, 'scanRecords'>;
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
        const o = paramsObject(raw, ['kind', 'namespace', 'limit']);
        const kind = optStr(o, 'kind', 63);
        const namespace = optStr(o, 'namespace', 253);
        return { kind, namespace, limit: optInt(o, 'limit', 1, LIST_LIMIT_MAX) ?? LIST_LIMIT_DEFAULT };
      },
      handler: async ({ kind, namespace, limit }): Promise<ListResult> => {
        const items = await node.list({
          ...(kind === undefined ? {} : { kind }), ...(namespace === undefined ? {} : { namespace }), limit: limit + 1,
        });
        return { items: items.slice(0, limit), truncated: items.length > limit };
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
