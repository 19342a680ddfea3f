// Records: what is stored and replicated for one key. A record is a causal context (version vector)
// plus the versions it still holds ("entries"). Each entry is one write (its dot is the writer's
// member name and that member's counter) and carries the write's HLC stamp and value. Replicas
// combine records with `joinRecords` (join.ts), which is commutative, associative and idempotent.
import { canonicalJson, sha256Hex, type Json } from './canonical.ts';
import { compareHlc, isHlcStamp, type HlcStamp } from './hlc.ts';
import { isVersionVector, type VersionVector } from './version-vector.ts';

/** One version held by a record. */
export interface Entry {
  /** The writer's counter for this key: with `hlc.member` it names the write (its "dot"). */
  counter: number;
  /** Stamp of the write; `hlc.member` is the writer. */
  hlc: HlcStamp;
  /** Merge strategy only: the field this entry sets ('' is the record's existence flag). */
  path?: string;
  /** The value written: a resource, a field value, or null for a deleted resource. */
  value: Json;
}

/** A stored, replicated record. */
export interface StoredRecord {
  /** `Kind/namespace/name`. */
  key: string;
  /** Causal context: every write of each member up to this count has been seen. */
  vv: VersionVector;
  /** Versions still held, in canonical order (see sortEntries). Never empty. */
  entries: Entry[];
  /** SHA-256 over the canonical encoding of key, vv and entries. */
  digest: string;
}

/** Bounds on one record, checked on every decoded record. */
export interface RecordLimits {
  /** Most entries in one record (Merge fields plus siblings). */
  entriesMax: number;
  /** Most members in a version vector. */
  vvMembersMax: number;
  /** Largest encoded record, bytes. */
  recordBytesMax: number;
}

/** Defaults: values are bounded at 1 MiB; siblings and fields add some headroom. */
export const DEFAULT_RECORD_LIMITS: RecordLimits = {
  entriesMax: 20_000,
  vvMembersMax: 1_024,
  recordBytesMax: 4 * 1024 * 1024,
};

/**
 * What is wrong with a record, a stable snake_case code (a replica refusing a peer's record reports
 * it): malformed (not a record's shape), digest_mismatch, too_large (a value or the record beyond its
 * bound), invalid_key (not Kind/namespace/name), invalid_resource (a value a local write would refuse),
 * key_mismatch (a value's kind, namespace or name is not its key's), invalid_version_vector (a member
 * name that is not one, a counter past REPLICATED_VV_COUNTER_MAX), invalid_system_record (a system record
 * its own schema refuses), unknown_kind (a kind the replica's registry does not hold: resource-kinds.ts).
 */
export const RECORD_PROBLEMS = Object.freeze([
  'malformed', 'digest_mismatch', 'too_large', 'invalid_key', 'invalid_resource', 'key_mismatch',
  'invalid_version_vector', 'invalid_system_record', 'unknown_kind',
] as const);

export type RecordProblem = (typeof RECORD_PROBLEMS)[number];

/** A record that fails validation; stable code INVALID_RECORD, `problem` says what is wrong. */
export class InvalidRecordError extends Error {
  readonly code = 'INVALID_RECORD';
  readonly problem: RecordProblem;
  constructor(message: string, problem: RecordProblem = 'malformed') {
    super(message);
    this.problem = problem;
  }
}

/** Canonical order of entries: by path, then writer, then counter. */
export function compareEntries(a: Entry, b: Entry): number {
  const pa = a.path ?? '';
  const pb = b.path ?? '';
  if (pa !== pb) return pa < pb ? -1 : 1;
  if (a.hlc.member !== b.hlc.member) return a.hlc.member < b.hlc.member ? -1 : 1;
  return a.counter - b.counter;
}

/** Identity of an entry: the write (dot) and the field it sets. */
export function entryId(e: Entry): string {
  return `${e.path ?? ''}\u0000${e.hlc.member}\u0000${e.counter}`;
}

// The canonical body ({entries, key, vv}) of records built here, so encoding after hashing does not
// serialise the whole value a second time. Records are never mutated, so the cache cannot go stale.
const bodies = new WeakMap<StoredRecord, string>();

/** Build a record with canonical entry order and its digest. */
export function makeRecord(key: string, vv: VersionVector, entries: Entry[]): StoredRecord {
  if (entries.length === 0) throw new Error(`assertion: record ${key} without entries`);
  const sorted = [...entries].sort(compareEntries);
  const body = canonicalJson({ entries: sorted, key, vv });
  const record = { key, vv, entries: sorted, digest: sha256Hex(body) };
  bodies.set(record, body);
  return record;
}

/** Canonical bytes of a record (what is stored on disk and sent on the wire). */
export function encodeRecord(r: StoredRecord): string {
  const body = bodies.get(r) ?? canonicalJson({ entries: r.entries, key: r.key, vv: r.vv });
  // "digest" sorts before "entries", so it opens the canonical object.
  return `{"digest":${JSON.stringify(r.digest)},${body.slice(1)}`;
}

/** The newest entry by HLC: the record's stamp and origin. */
export function newestEntry(r: StoredRecord): Entry {
  let best = r.entries[0];
  if (best === undefined) throw new Error(`assertion: record ${r.key} without entries`);
  for (const e of r.entries) if (compareHlc(e.hlc, best.hlc) > 0) best = e;
  return best;
}

/** Validate a decoded record (from disk or a peer): shape, bounds, dots within the vv, digest. */
export function validateRecord(input: unknown, limits: RecordLimits = DEFAULT_RECORD_LIMITS): StoredRecord {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new InvalidRecordError('record is not an object');
  }
  const r = input as Record<string, unknown>;
  if (typeof r.key !== 'string' || r.key.length === 0 || r.key.length > 600) {
    throw new InvalidRecordError('record.key is missing or too long');
  }
  if (typeof r.vv !== 'object' || r.vv === null || Array.isArray(r.vv)) throw new InvalidRecordError(`record ${r.key}: vv is not an object`);
  if (!isVersionVector(r.vv, limits.vvMembersMax)) throw new InvalidRecordError(`record ${r.key}: bad vv`, 'invalid_version_vector');
  const vv = r.vv;
  if (!Array.isArray(r.entries) || r.entries.length === 0 || r.entries.length > limits.entriesMax) {
    throw new InvalidRecordError(`record ${r.key}: entries must be 1..${limits.entriesMax}`);
  }
  const seen = new Set<string>();
  for (const e of r.entries as unknown[]) {
    if (typeof e !== 'object' || e === null) throw new InvalidRecordError(`record ${r.key}: bad entry`);
    const x = e as Record<string, unknown>;
    if (!isHlcStamp(x.hlc)) throw new InvalidRecordError(`record ${r.key}: bad entry hlc`);
    if (!Number.isSafeInteger(x.counter) || (x.counter as number) < 1) {
      throw new InvalidRecordError(`record ${r.key}: bad entry counter`);
    }
    // Own-property read: a member named e.g. "constructor" must not find Object.prototype's.
    if ((Object.hasOwn(vv, x.hlc.member) ? vv[x.hlc.member]! : 0) < (x.counter as number)) {
      throw new InvalidRecordError(`record ${r.key}: entry ${x.hlc.member}:${x.counter} outside its vv`);
    }
    if (x.path !== undefined && (typeof x.path !== 'string' || x.path.length > 4096)) {
      throw new InvalidRecordError(`record ${r.key}: bad entry path`);
    }
    if (!('value' in x)) throw new InvalidRecordError(`record ${r.key}: entry without value`);
    const id = entryId(x as unknown as Entry);
    if (seen.has(id)) throw new InvalidRecordError(`record ${r.key}: duplicate entry`);
    seen.add(id);
  }
  if (typeof r.digest !== 'string') throw new InvalidRecordError(`record ${r.key}: digest missing`);
  let rebuilt: StoredRecord;
  try {
    rebuilt = makeRecord(r.key, vv, r.entries as Entry[]);
  } catch (err) {
    throw new InvalidRecordError(`record ${r.key}: ${(err as Error).message}`);
  }
  if (rebuilt.digest !== r.digest) throw new InvalidRecordError(`record ${r.key}: digest mismatch`, 'digest_mismatch');
  return rebuilt;
}

/** Parse and validate the canonical bytes of a record. */
export function decodeRecord(text: string, limits: RecordLimits = DEFAULT_RECORD_LIMITS): StoredRecord {
  if (text.length > limits.recordBytesMax) throw new InvalidRecordError('record larger than recordBytesMax');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new InvalidRecordError('record is not JSON');
  }
  return validateRecord(parsed, limits);
}
