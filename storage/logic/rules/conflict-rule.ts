// What a conflict strategy decides. The replicated state of every strategy is the same shape (a
// record of entries under a version vector); strategies differ in which concurrent entries they keep
// (prune), how a local write replaces entries, and how a member reads the record (view).
import type { Json } from '../canonical.ts';
import type { HlcStamp } from '../hlc.ts';
import type { Entry, StoredRecord } from '../record.ts';

/** The three strategies of `conflictResolution.strategy`. */
export type StrategyName = 'LastWriterWins' | 'Merge' | 'Manual';

/** All strategy names, for validation. */
export const STRATEGY_NAMES: readonly StrategyName[] = ['LastWriterWins', 'Merge', 'Manual'];

/** One side of a conflict, as `describe` shows it. */
export interface ConflictVersion {
  /** Member that wrote this version. */
  origin: string;
  /** That member's counter for the key: with origin, the version's name. */
  counter: number;
  hlc: HlcStamp;
  /** The value (whole resource or null for Manual; the field value for Merge). */
  value: Json;
  /** Merge only: this version removed the field (value is then null). */
  removed?: true;
}

/** A conflict held in a record: concurrent versions of the whole resource or of some fields. */
export interface ConflictInfo {
  key: string;
  strategy: StrategyName;
  /** The version this member serves. */
  local: ConflictVersion;
  /** The other concurrent versions, newest first. */
  remote: ConflictVersion[];
  /** Merge only: the fields written concurrently, each with every value kept. */
  fields?: Array<{ path: string[]; versions: ConflictVersion[] }>;
  /** Stamp of the newest conflicting version: when the conflict arose. */
  detected: HlcStamp;
}

/** A local write: what the strategy needs to know. */
export interface LocalWrite {
  /** The member writing. */
  self: string;
  /** Stamp of this write, above every stamp in the current record. */
  hlc: HlcStamp;
  /** The writer's counter for this write, above its counter in the current record's vv (replica-ops.ts localOp). */
  counter: number;
}

/** A conflict strategy. Every function is pure and deterministic. */
export interface ConflictRule {
  readonly name: StrategyName;
  /** Drop entries this strategy does not keep after a join. Must keep the join a semilattice. */
  prune(entries: Entry[]): Entry[];
  /** Entries after writing `value` (null deletes); undefined when nothing would change. */
  write(current: StoredRecord | undefined, value: { [key: string]: Json } | null, w: LocalWrite): Entry[] | undefined;
  /** True when the record is deleted for every member (a tombstone that may be collected). */
  deleted(record: StoredRecord): boolean;
  /** What member `self` serves for this record: the resource, or null when deleted. */
  view(record: StoredRecord, self: string): { [key: string]: Json } | null;
  /**
   * The entry member `self` serves when it serves one whole version (Manual: its own side while a
   * conflict is held): a view names its writer and stamp, so `get` and the list's ORIGIN agree with
   * the value shown. Absent: the view names the newest entry.
   */
  served?(record: StoredRecord, self: string): Entry;
  /** The conflict this record holds, seen from member `self`, if any. */
  conflict(record: StoredRecord, self: string): ConflictInfo | undefined;
  /** Entries that resolve the record's conflict keeping `keep`'s side; undefined if none is held. */
  resolve(record: StoredRecord, keep: 'local' | 'remote', w: LocalWrite): Entry[] | undefined;
}

/** The conflict version of an entry. */
export function versionOf(e: Entry): ConflictVersion {
  return { origin: e.hlc.member, counter: e.counter, hlc: e.hlc, value: e.value };
}
