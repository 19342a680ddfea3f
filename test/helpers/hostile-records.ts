// Records a rogue controller sends (issue 17 item 2): each well-formed on the wire, with a correct
// digest, but holding something no local write could store. Each comes with the reason a replica
// must refuse it for. Built for a LastWriterWins (or Manual) replica: whole-resource entries.
import type { Json } from '../../storage/logic/canonical.ts';
import { makeRecord, type StoredRecord } from '../../storage/logic/record.ts';
import type { RefusalReason } from '../../node/replication/apply-batch.ts';

/** One hostile record and why it must be refused. */
export interface HostileRecord {
  name: string;
  reason: RefusalReason;
  record: StoredRecord;
}

const API = 'novaedge.io/v1alpha1';

/** A valid resource as a local write stores it. */
export function route(name: string, spec: Json = { host: `${name}.example.com` }, kind = 'ProxyRoute'): { [k: string]: Json } {
  return { apiVersion: API, kind, metadata: { name, namespace: 'default' }, spec };
}

/** One version written by `writer` as its `counter`th write of the key, under `vv`. */
export function recordOf(key: string, value: Json, writer: string, opts: { counter?: number; vv?: Record<string, number>; wallMs?: number } = {}): StoredRecord {
  const counter = opts.counter ?? 1;
  const vv = opts.vv ?? { [writer]: counter };
  return makeRecord(key, vv, [{ counter, hlc: { wallMs: opts.wallMs ?? Date.now(), logical: 0, member: writer }, value }]);
}

/** A value nested `levels` deep: {"a":{"a":...}}. */
export function nested(levels: number): Json {
  return JSON.parse('{"a":'.repeat(levels) + '1' + '}'.repeat(levels)) as Json;
}

/**
 * The hostile records, sent by `rogue`. `owner` is a member whose counter the overflow record
 * maxes out on the key `ProxyRoute/default/<prefix>owned` (write it on the owner first).
 */
export function hostileRecords(rogue: string, owner: string, prefix = ''): HostileRecord[] {
  const k = (name: string): string => `ProxyRoute/default/${prefix}${name}`;
  const n = (name: string): string => `${prefix}${name}`;
  // JSON.parse makes "__proto__" an own key, as it arrives from the wire.
  const protoVv = JSON.parse('{"__proto__":1}') as Record<string, number>;
  return [
    { name: 'a 3.5 MB value', reason: 'too_large', record: recordOf(k('big'), route(n('big'), { blob: 'x'.repeat(3_500_000) }), rogue) },
    { name: 'a string value', reason: 'invalid_resource', record: recordOf(k('string'), 'just a string', rogue) },
    { name: 'an array value', reason: 'invalid_resource', record: recordOf(k('array'), [route(n('array'))], rogue) },
    { name: 'an object without metadata', reason: 'invalid_resource', record: recordOf(k('nometa'), { apiVersion: API, kind: 'ProxyRoute', spec: {} }, rogue) },
    { name: 'a Secret under a ProxyRoute key', reason: 'key_mismatch', record: recordOf(k('secret'), route(n('secret'), { data: 'c2VjcmV0' }, 'Secret'), rogue) },
    { name: 'nesting 1,000 deep', reason: 'invalid_resource', record: recordOf(k('deep'), route(n('deep'), nested(1_000)), rogue) },
    {
      name: '__proto__ as version-vector member and writer', reason: 'invalid_version_vector',
      record: makeRecord(k('proto'), protoVv, [{ counter: 1, hlc: { wallMs: Date.now(), logical: 0, member: '__proto__' }, value: route(n('proto')) }]),
    },
    {
      name: 'a garbage agent-registry record', reason: 'invalid_system_record',
      record: recordOf('FederationAgentRegistry/novaedge-system/agents', {
        apiVersion: API, kind: 'FederationAgentRegistry', metadata: { name: 'agents', namespace: 'novaedge-system' },
        spec: { version: -1, agents: 'everyone', generation: 'x', writtenBy: '__proto__' },
      }, rogue),
    },
    {
      name: 'a version-vector counter of 2^53-1', reason: 'invalid_version_vector',
      record: recordOf(k('owned'), route(n('owned'), { host: 'hijacked' }), rogue, { vv: { [owner]: Number.MAX_SAFE_INTEGER, [rogue]: 1 } }),
    },
  ];
}

/** Valid records from `rogue`, sent in the same batches as the hostile ones. */
export function goodRecords(rogue: string, prefix = '', count = 2): StoredRecord[] {
  return Array.from({ length: count }, (_, i) => recordOf(`ProxyRoute/default/${prefix}good-${i}`, route(`${prefix}good-${i}`), rogue));
}
