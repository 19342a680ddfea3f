// What a record from a peer must be before a replica joins it: exactly what local writes can produce.
// validateRecord (record.ts) checks the shape and digest, which is all a record read back from disk
// needs; a peer's record must also hold values a local write would have accepted (the same resource
// checks, parseResource's limits and key consistency: resource.ts), system records their own schema
// (system-keys.ts), and version vectors whose members are member names and whose counters leave
// room for every increment. Each check holds for each entry alone, so a join of accepted records
// holds only accepted entries (joins keep or drop entries, never make new ones).
import { isMemberName } from '../../membership/member-name.ts';
import { canonicalJson } from './canonical.ts';
import { HLC_LOGICAL_MAX } from './hlc.ts';
import { decodePath, ROOT_PATH } from './json-paths.ts';
import { encodeRecord, InvalidRecordError, type Entry, type RecordLimits, type RecordProblem, type StoredRecord } from './record.ts';
import { checkJsonField, checkStoredResource, InvalidResourceError, parseKey, ResourceTooLargeError, type Resource, type ResourceLimits } from './resource.ts';
import type { ResourceKinds } from './resource-kinds.ts';
import type { ConflictRule } from './rules/conflict-rule.ts';
import { isFieldRemoved } from './rules/field-tombstone.ts';
import { isSystemKey, systemRecordProblem, type SystemRecordSchemas } from './system-keys.ts';

/**
 * Largest version-vector counter accepted from a peer: 2^48. A member's counter for a key grows by
 * one per write of it, so no honest replica gets near it (a write a microsecond for 8 years), and the
 * 2^53 - 2^48 increments left below VV_COUNTER_MAX mean no accepted record can make a key unwritable.
 */
export const REPLICATED_VV_COUNTER_MAX = 2 ** 48;

/** What a replica checks a peer's record against. */
export interface ReplicatedRecordPolicy {
  /** The rule that joins the record's key on this replica (Store.ruleFor). */
  rule: ConflictRule;
  resourceLimits: ResourceLimits;
  recordLimits: RecordLimits;
  /** Schemas of the system kinds this replica accepts. */
  systemRecords: SystemRecordSchemas;
  /** The kinds this replica stores, as local writes are checked (undefined: every kind). */
  kinds?: ResourceKinds | undefined;
}

/**
 * Check a record from a peer (already through validateRecord) as a local write would have made it.
 * Throws InvalidRecordError whose `problem` says what is wrong.
 */
export function checkReplicatedRecord(record: StoredRecord, policy: ReplicatedRecordPolicy): void {
  const fail = (problem: RecordProblem, what: string): never => {
    throw new InvalidRecordError(`record ${record.key.slice(0, 200)}: ${what}`, problem);
  };
  let parts: { kind: string; namespace: string; name: string };
  try {
    parts = parseKey(record.key);
  } catch (err) {
    return fail('invalid_key', (err as Error).message);
  }
  const kindProblem = policy.kinds?.problem(parts.kind);
  if (kindProblem !== undefined) fail('unknown_kind', kindProblem);
  for (const [member, counter] of Object.entries(record.vv)) {
    if (!isMemberName(member)) fail('invalid_version_vector', `version vector member ${quoted(member)} is not a member name`);
    if (counter > REPLICATED_VV_COUNTER_MAX) fail('invalid_version_vector', `version vector counter ${counter} of ${member} is above ${REPLICATED_VV_COUNTER_MAX}`);
  }
  for (const e of record.entries) {
    // The writer is a version-vector member too (its dot is within the vv: validateRecord).
    if (!isMemberName(e.hlc.member)) fail('invalid_version_vector', `writer ${quoted(e.hlc.member)} is not a member name`);
    if (e.hlc.logical > HLC_LOGICAL_MAX) fail('malformed', `stamp logical counter ${e.hlc.logical} is above ${HLC_LOGICAL_MAX}`);
  }
  // The record's canonical size bounds each value's: below the value limit none needs measuring.
  const recordBytes = Buffer.byteLength(encodeRecord(record));
  if (recordBytes > policy.recordLimits.recordBytesMax) {
    fail('too_large', `${recordBytes} bytes, larger than the ${policy.recordLimits.recordBytesMax}-byte record limit`);
  }
  // A resource value as a local write stores it, under this key.
  const resource = (value: unknown): Resource => {
    let key: string;
    try {
      key = checkStoredResource(value, policy.resourceLimits, recordBytes);
    } catch (err) {
      if (!(err instanceof InvalidResourceError)) throw err;
      return fail(err instanceof ResourceTooLargeError ? 'too_large' : 'invalid_resource', err.message);
    }
    if (key !== record.key) fail('key_mismatch', `holds a value of ${key.slice(0, 200)}`);
    return value as Resource;
  };
  if (isSystemKey(record.key)) {
    for (const e of record.entries) {
      if (e.path !== undefined) fail('malformed', 'a system record entry with a field path');
      if (e.value === null) continue;
      const problem = systemRecordProblem(record.key, resource(e.value), policy.systemRecords);
      if (problem !== undefined) fail('invalid_system_record', problem);
    }
    return;
  }
  if (policy.rule.name !== 'Merge') {
    // LastWriterWins and Manual: every entry (each sibling) is a whole resource, or null (deleted).
    for (const e of record.entries) {
      if (e.path !== undefined) fail('malformed', `a field path under ${policy.rule.name}`);
      if (e.value !== null) resource(e.value);
    }
    return;
  }
  for (const e of record.entries) checkMergeEntry(e, parts, policy.resourceLimits, recordBytes, fail);
  // Every field entry is right on its own; the resource they make must have every required field.
  let view: unknown;
  try {
    view = policy.rule.view(record, '');
  } catch (err) {
    return fail('malformed', `fields do not make a resource (${(err as Error).message})`);
  }
  // The size of a Merge resource is its fields' business: concurrent additions on two sides may join
  // into one larger than either side wrote, and that join must replicate.
  if (view !== null) resource(view);
}

// Field paths whose values are the key's, and the paths above them (never a leaf of a resource).
const KIND_PATH = JSON.stringify(['kind']);
const NAME_PATH = JSON.stringify(['metadata', 'name']);
const NAMESPACE_PATH = JSON.stringify(['metadata', 'namespace']);
const API_VERSION_PATH = JSON.stringify(['apiVersion']);
const METADATA_PATH = JSON.stringify(['metadata']);

// One Merge entry: the existence flag (a boolean), or one field's value as a local write flattens
// it (or its removal, field-tombstone.ts): valid JSON within the depth limit where it sits, within
// the size limit, and at the fields the key names, the key's own parts (they are never removed). Any
// one of a field's entries may become its value (by stamp or by a resolve), so each is checked, not
// only the one served now.
function checkMergeEntry(
  e: Entry, parts: { kind: string; namespace: string; name: string }, limits: ResourceLimits, recordBytes: number,
  fail: (problem: RecordProblem, what: string) => never,
): void {
  if (typeof e.path !== 'string') return fail('malformed', 'a Merge entry without a field path');
  if (e.path === ROOT_PATH) {
    if (typeof e.value !== 'boolean') fail('malformed', 'a Merge existence flag that is not a boolean');
    return;
  }
  let segments: string[];
  try {
    segments = decodePath(e.path);
  } catch {
    return fail('malformed', `bad field path ${e.path.slice(0, 100)}`);
  }
  const where = segments.join('.').slice(0, 200);
  const value = e.value;
  switch (e.path) {
    case KIND_PATH: if (value !== parts.kind) fail('key_mismatch', `field kind is not ${parts.kind}`); return;
    case NAME_PATH: if (value !== parts.name) fail('key_mismatch', `field metadata.name is not ${parts.name}`); return;
    case NAMESPACE_PATH: if (value !== parts.namespace) fail('key_mismatch', `field metadata.namespace is not ${parts.namespace}`); return;
    case API_VERSION_PATH:
      if (typeof value !== 'string' || value.length === 0 || value.length > 253) fail('invalid_resource', 'field apiVersion is not a string of 1..253');
      return;
    case METADATA_PATH: fail('invalid_resource', 'field metadata is not an object with a name');
  }
  try {
    // Checked as the resource's field it is, `segments.length` levels down; a removal (its marker
    // sits one level below the field it removes) only where the field may be.
    checkJsonField(isFieldRemoved(value) ? null : value, segments.length, limits, where);
  } catch (err) {
    if (!(err instanceof InvalidResourceError)) throw err;
    return fail('invalid_resource', `field ${err.message}`);
  }
  if (recordBytes > limits.valueBytesMax) {
    const bytes = Buffer.byteLength(canonicalJson(value));
    if (bytes > limits.valueBytesMax) fail('too_large', `field ${where}: ${bytes} bytes, larger than the ${limits.valueBytesMax}-byte limit`);
  }
}

// A name from a peer, safe and short in a message.
function quoted(name: unknown): string {
  return JSON.stringify(String(name).slice(0, 70));
}
