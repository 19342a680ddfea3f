// Key layout in LevelDB. One namespace prefix per kind of entry, so ranges never overlap:
//   r:<key>                 record (canonical JSON)
//   i:<key>                 "<seq> <digest>": what cold open needs, without parsing records
//   c:<seq as 16 hex>       key changed at that seq (only the latest change of each key is kept)
//   t:<wallMs as 13 digits>:<key>   tombstone index, oldest first, for collection
//   m:hlc, m:seq, m:compacted       high-water marks

export const RECORD = 'r:';
export const INDEX = 'i:';
export const CHANGE = 'c:';
export const TOMBSTONE = 't:';
export const META_HLC = 'm:hlc';
export const META_SEQ = 'm:seq';
export const META_COMPACTED = 'm:compacted';

/** Upper bound of a prefix range: the prefix with its last character raised by one. */
export function prefixEnd(prefix: string): string {
  return prefix.slice(0, -1) + String.fromCharCode(prefix.charCodeAt(prefix.length - 1) + 1);
}

export function changeKey(seq: number): string {
  return CHANGE + seq.toString(16).padStart(16, '0');
}

export function tombstoneKey(wallMs: number, key: string): string {
  return `${TOMBSTONE}${String(wallMs).padStart(13, '0')}:${key}`;
}

export function indexValue(seq: number, digest: string): string {
  return `${seq} ${digest}`;
}

export function parseIndexValue(v: string): { seq: number; digest: string } {
  const [seq, digest] = v.split(' ');
  const n = Number(seq);
  if (!Number.isSafeInteger(n) || digest === undefined || digest.length !== 64) {
    throw new Error(`assertion: corrupt index entry "${v.slice(0, 80)}"`);
  }
  return { seq: n, digest };
}
