// Key layout in LevelDB. One namespace prefix per kind of entry, so ranges never overlap:
//   r:<key>                 record (canonical JSON)
//   c:<seq as 16 hex>       "<digest> <key>": the key changed at that seq, with the digest it got.
//                           Only the latest change of each key is kept, so the change log is also
//                           the index cold open loads (key -> seq, digest) without parsing records.
//   t:<wallMs as 13 digits>:<key>   tombstone index, oldest first, for collection
//   m:hlc, m:seq, m:compacted       high-water marks
//   m:format                layout version (absent before version 2)
// Layout 1 kept the index as a separate entry per key (i:<key> -> "<seq> <digest>") and only the key
// in the change log: one more put per write for what the change log can carry.

export const RECORD = 'r:';
export const CHANGE = 'c:';
export const TOMBSTONE = 't:';
export const META_HLC = 'm:hlc';
export const META_SEQ = 'm:seq';
/** The counter reservation (storage/logic/dot-reservation.ts). */
export const META_DOT_RESERVED = 'm:dots';
export const META_COMPACTED = 'm:compacted';
export const META_FORMAT = 'm:format';
/** The conflict strategy the store was last opened under (an agent reopens its replica under it). */
export const META_STRATEGY = 'm:strategy';
/** Layout written by this version. */
export const LAYOUT_VERSION = 2;
/** Layout 1's per-key index entries (read only, by the migration). */
export const LEGACY_INDEX = 'i:';

const DIGEST_CHARS = 64;

/** Upper bound of a prefix range: the prefix with its last character raised by one. */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

export function changeKey(seq: number): string {
  return CHANGE + seq.toString(16).padStart(16, '0');
}

/** Seq of a change-log entry's key. */
export function parseChangeKey(k: string): number {
  const seq = parseInt(k.slice(CHANGE.length), 16);
  if (!Number.isSafeInteger(seq) || seq < 1) throw new Error(`assertion: corrupt change-log key "${k.slice(0, 80)}"`);
  return seq;
}

/** Value of a change-log entry: the digest (fixed width) first, so any key may follow. */
export function changeValue(key: string, digest: string): string {
  if (digest.length !== DIGEST_CHARS) throw new Error(`assertion: digest of ${key} is not ${DIGEST_CHARS} characters`);
  return `${digest} ${key}`;
}

export function parseChangeValue(v: string): { key: string; digest: string } {
  if (v.length <= DIGEST_CHARS + 1 || v[DIGEST_CHARS] !== ' ') {
    throw new Error(`assertion: corrupt change-log entry "${v.slice(0, 80)}"`);
  }
  return { key: v.slice(DIGEST_CHARS + 1), digest: v.slice(0, DIGEST_CHARS) };
}

export function tombstoneKey(wallMs: number, key: string): string {
  return `${TOMBSTONE}${String(wallMs).padStart(13, '0')}:${key}`;
}

/** Layout 1's index value "<seq> <digest>" (read only, by the migration). */
export function parseLegacyIndexValue(v: string): { seq: number; digest: string } {
  const [seq, digest] = v.split(' ');
  const n = Number(seq);
  if (!Number.isSafeInteger(n) || digest === undefined || digest.length !== DIGEST_CHARS) {
    throw new Error(`assertion: corrupt index entry "${v.slice(0, 80)}"`);
  }
  return { seq: n, digest };
}
