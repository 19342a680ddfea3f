// The journal beside the agent's file copy: what changed since the snapshot (config-cache.ts), so
// that keeping the copy current costs in proportion to the change, not to the configuration.
//
// Each coalesced batch of changes is appended as one entry and fsynced; when the journal would
// outgrow its bound (journalBytesMax: the snapshot's size, at least JOURNAL_BYTES_MIN) the copy is
// compacted instead: a new snapshot written atomically as before, then the journal restarted
// atomically (a header naming the new snapshot). So the bytes written per change are the change's,
// plus at most as much again for the compactions (a snapshot is written only after at least its own
// size of journal), and a load reads at most twice the snapshot.
//
// Format, `<configPath>.journal`:
//   {"format":"novaedge-agent-journal/1","federationId":"prod","member":"edge-1","snapshot":"<id>","chain":"<seed>"}
//   <seq> <body bytes> <chain> <crc32 of the head's first three fields>
//   [<record as stored>,"Kind/ns/name",...]
//   ... one head line and one body line per entry
// A body holds the batch's records (puts, each as encodeRecord's text, with its digest) and, as
// strings, the keys the replica no longer holds. The chain binds every entry to everything before it
// down to the snapshot: seed = sha256 of the header's fields (the snapshot's random id among them),
// chain_n = sha256(chain_n-1, n, body). So a journal left over from another snapshot does not apply
// (it names another id: ignored, as after a crash between the snapshot's rename and the journal's
// restart), and a reordered, spliced or altered entry breaks the chain (CACHE_JOURNAL_CORRUPT).
//
// A crash during an append leaves a prefix of the last entry: the file ends inside its head or its
// body. That torn entry is dropped and counted, not an error. A last entry that is whole but fails
// its chain is dropped the same way (a crash may leave an extended file with unwritten blocks).
// Anything else that fails (a damaged head: the crc covers it, so a damaged length cannot pass for a
// torn tail; a bad entry followed by more) refuses the whole copy.
import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { crc32 } from 'node:zlib';
import { parseKey, validateRecord, type StoredRecord, type StrategyName } from '../../storage/index.ts';
import {
  CACHE_BYTES_MAX, ConfigCacheError, encodeJsonArray, newSnapshotId, readConfigCache, writeConfigCache, writeFileAtomic, type CacheIdentity, type LoadedCache,
} from './config-cache.ts';

/** Format tag of the journal's header. */
export const JOURNAL_FORMAT = 'novaedge-agent-journal/1';

/**
 * The journal may always grow to this, bytes: a small configuration is not compacted at every
 * change, and replaying 1 MiB at start takes a few milliseconds.
 */
export const JOURNAL_BYTES_MIN = 1024 * 1024;

/**
 * Beyond JOURNAL_BYTES_MIN the journal stays within the snapshot's size times this. At 1, compaction
 * at most doubles the bytes written per change (a snapshot of S bytes follows at least S bytes of
 * entries), the files hold at most twice the snapshot, and a start replays at most the snapshot's
 * size again. Counting bytes rather than entries bounds both the disk and the replay.
 */
export const JOURNAL_SNAPSHOT_RATIO = 1;

/** Longest journal header line read, bytes (it holds a federation ID and a member name). */
const JOURNAL_HEADER_BYTES_MAX = 4096;

/** Longest entry head line, bytes: two numbers of at most 15 digits, a sha256 and a crc32, in hex. */
const ENTRY_HEAD_BYTES_MAX = 105;
const HEAD_RE = /^(\d{1,15}) (\d{1,15}) ([0-9a-f]{64}) ([0-9a-f]{8})$/;

/** Where the journal of the copy at `configPath` lives. */
export function journalPathOf(configPath: string): string {
  return `${configPath}.journal`;
}

/** Largest journal beside a snapshot of `snapshotBytes`, bytes (header included). */
export function journalBytesMax(snapshotBytes: number): number {
  return Math.max(JOURNAL_BYTES_MIN, snapshotBytes * JOURNAL_SNAPSHOT_RATIO);
}

/** One changed key: its record as stored now, or undefined when the replica no longer holds it. */
export interface CacheChange {
  key: string;
  text: string | undefined;
}

/** What a load found in the journal. */
export interface JournalLoad {
  /** Entries replayed onto the snapshot. */
  entries: number;
  /** A torn last entry dropped (0 or 1), and its bytes. */
  tornEntries: number;
  tornBytes: number;
  /** The journal names another snapshot (left from before the last compaction): not replayed. */
  stale: boolean;
}

/** The copy read back: the snapshot with its journal replayed. */
export interface LoadedCopy extends LoadedCache {
  journal: JournalLoad;
}

interface JournalHeader {
  format: string;
  federationId: string;
  member: string;
  snapshot: string;
  chain: string;
}

function seedOf(federationId: string, member: string, snapshotId: string): string {
  return createHash('sha256').update(`${JOURNAL_FORMAT}\n${federationId}\n${member}\n${snapshotId}\n`).digest('hex');
}

function chainOf(prev: string, seq: number, body: Uint8Array): string {
  return createHash('sha256').update(`${prev}\n${seq}\n`).update(body).digest('hex');
}

function headCrc(seq: number, bytes: number, chain: string): string {
  return crc32(`${seq} ${bytes} ${chain}`).toString(16).padStart(8, '0');
}

/**
 * The snapshot and its journal on disk, as the writer keeps them: compact() writes a snapshot and
 * restarts the journal, append() adds one entry. Until the first compaction (and after a failed
 * write, which may have left a torn entry) append() declines, so the next write compacts.
 */
export class CacheFiles {
  readonly path: string;
  readonly journalPath: string;
  readonly #id: CacheIdentity;
  readonly #strategy: () => StrategyName;
  #ready = false;
  #chain = '';
  #seq = 0;
  #journalBytes = 0;
  #snapshotBytes = 0;

  /** `strategy` gives the replica's strategy when a snapshot is written. */
  constructor(path: string, id: CacheIdentity, strategy: () => StrategyName) {
    this.path = path;
    this.journalPath = journalPathOf(path);
    this.#id = id;
    this.#strategy = strategy;
  }

  /** Size of the snapshot last written, bytes (0: none yet). */
  get snapshotBytes(): number {
    return this.#snapshotBytes;
  }

  /** Size of the journal now, bytes (header included). */
  get journalBytes(): number {
    return this.#journalBytes;
  }

  /** Entries in the journal now. */
  get journalEntries(): number {
    return this.#seq;
  }

  /** Write a snapshot of `texts` (every record, in key order) and restart the journal; the bytes written. */
  async compact(texts: readonly string[]): Promise<number> {
    this.#ready = false;
    const id = newSnapshotId();
    const snapshotBytes = await writeConfigCache(this.path, this.#id, this.#strategy(), texts, id);
    // A crash here leaves the new snapshot beside the old journal, which names the old one: ignored.
    const seed = seedOf(this.#id.federationId, this.#id.member, id);
    const header: JournalHeader = { format: JOURNAL_FORMAT, federationId: this.#id.federationId, member: this.#id.member, snapshot: id, chain: seed };
    const journalBytes = await writeFileAtomic(this.journalPath, [Buffer.from(`${JSON.stringify(header)}\n`)]);
    this.#snapshotBytes = snapshotBytes;
    this.#journalBytes = journalBytes;
    this.#chain = seed;
    this.#seq = 0;
    this.#ready = true;
    return snapshotBytes + journalBytes;
  }

  /**
   * Append `changes` as one entry, durably; the bytes written. Undefined, with nothing written, when
   * a compaction is due instead: no snapshot yet, a failed write before, or the journal would outgrow
   * journalBytesMax.
   */
  async append(changes: readonly CacheChange[]): Promise<number | undefined> {
    if (!this.#ready) return undefined;
    const body = encodeBody(changes);
    const seq = this.#seq + 1;
    const chain = chainOf(this.#chain, seq, body);
    const entry = Buffer.concat([Buffer.from(`${seq} ${body.length} ${chain} ${headCrc(seq, body.length, chain)}\n`), body, NEWLINE]);
    if (this.#journalBytes + entry.length > journalBytesMax(this.#snapshotBytes)) return undefined;
    // Until this entry is durable the journal's end is unknown: a failure leaves the files to the
    // next compaction.
    this.#ready = false;
    const fh = await open(this.journalPath, 'r+');
    try {
      // At the end the chain was computed for (not O_APPEND's idea of the end), over short writes.
      for (let done = 0; done < entry.length;) {
        done += (await fh.write(entry, done, entry.length - done, this.#journalBytes + done)).bytesWritten;
      }
      await fh.datasync();
    } finally {
      await fh.close();
    }
    const bytes = entry.length;
    this.#journalBytes += bytes;
    this.#chain = chain;
    this.#seq = seq;
    this.#ready = true;
    return bytes;
  }
}

const NEWLINE = Buffer.from('\n');

// `[text,"key",...]` as UTF-8: records as stored, removed keys as JSON strings.
function encodeBody(changes: readonly CacheChange[]): Buffer {
  return encodeJsonArray(changes.map((c) => c.text ?? JSON.stringify(c.key)));
}

/**
 * Read the copy at `path`: its snapshot, checked, then its journal's complete entries replayed.
 * Throws ConfigCacheError with the reason when either cannot be served.
 */
export async function loadConfigCache(path: string, id: CacheIdentity): Promise<LoadedCopy> {
  const snap = await readConfigCache(path, id);
  const jpath = journalPathOf(path);
  const none: JournalLoad = { entries: 0, tornEntries: 0, tornBytes: 0, stale: false };
  let size: number;
  try {
    size = (await stat(jpath)).size;
  } catch {
    // A snapshot without a journal (format /1, or written by hand) is whole.
    return { ...snap, journal: none };
  }
  const header = await readJournalHeader(jpath, id, Math.min(size, JOURNAL_HEADER_BYTES_MAX));
  if (header.value.snapshot !== snap.snapshotId) return { ...snap, journal: { ...none, stale: true } };
  const max = Math.min(CACHE_BYTES_MAX, journalBytesMax(snap.bytes));
  if (size > max) throw new ConfigCacheError('CACHE_TOO_LARGE', `${jpath}: ${size} bytes is more than ${max} beside a snapshot of ${snap.bytes}`);
  const buf = await readFile(jpath);
  const byKey = new Map<string, StoredRecord>();
  for (const r of snap.records) byKey.set(r.key, r);
  const journal = replay(buf, header.bytes, header.value.chain, jpath, byKey);
  if (journal.entries === 0) return { ...snap, journal };
  const records = [...byKey.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  return { ...snap, records, journal };
}

async function readJournalHeader(jpath: string, id: CacheIdentity, bytes: number): Promise<{ value: JournalHeader; bytes: number }> {
  const buf = Buffer.alloc(bytes);
  const fh = await open(jpath, 'r');
  try {
    await fh.read(buf, 0, bytes, 0);
  } finally {
    await fh.close();
  }
  const nl = buf.indexOf(10);
  // The header is written atomically with the journal's restart: a crash cannot cut it.
  if (nl < 0) throw new ConfigCacheError('CACHE_JOURNAL_CORRUPT', `${jpath}: no complete header line`);
  let h: unknown;
  try {
    h = JSON.parse(buf.toString('utf8', 0, nl));
  } catch {
    throw new ConfigCacheError('CACHE_JOURNAL_CORRUPT', `${jpath}: the header is not JSON`);
  }
  const o = h as Partial<JournalHeader> | null;
  if (typeof o !== 'object' || o === null || o.format !== JOURNAL_FORMAT || typeof o.federationId !== 'string' ||
    typeof o.member !== 'string' || typeof o.snapshot !== 'string' || typeof o.chain !== 'string') {
    throw new ConfigCacheError('CACHE_JOURNAL_CORRUPT', `${jpath}: not a NovaEdge agent journal header`);
  }
  if (o.federationId !== id.federationId) {
    throw new ConfigCacheError('CACHE_WRONG_FEDERATION', `${jpath}: belongs to federation "${o.federationId}", not "${id.federationId}"`);
  }
  if (seedOf(o.federationId, o.member, o.snapshot) !== o.chain) {
    throw new ConfigCacheError('CACHE_JOURNAL_CORRUPT', `${jpath}: the header does not match its own checksum`);
  }
  return { value: o as JournalHeader, bytes: nl + 1 };
}

// Applies the journal's complete entries to `byKey`; see the file's comment for what is torn.
function replay(buf: Buffer, start: number, seed: string, jpath: string, byKey: Map<string, StoredRecord>): JournalLoad {
  const out: JournalLoad = { entries: 0, tornEntries: 0, tornBytes: 0, stale: false };
  const corrupt = (seq: number, why: string): never => {
    throw new ConfigCacheError('CACHE_JOURNAL_CORRUPT', `${jpath}: entry ${seq}: ${why}`);
  };
  let prev = seed;
  let at = start;
  while (at < buf.length) {
    const seq = out.entries + 1;
    const torn = (): JournalLoad => ({ ...out, tornEntries: 1, tornBytes: buf.length - at });
    const nl = buf.indexOf(10, at);
    // No newline in what is left: no complete entry follows, the file ends inside a head.
    if (nl < 0) return torn();
    const m = nl - at > ENTRY_HEAD_BYTES_MAX ? null : HEAD_RE.exec(buf.toString('latin1', at, nl));
    if (m === null) return corrupt(seq, 'damaged head');
    const [, seqText, bytesText, chain, crc] = m as unknown as [string, string, string, string, string];
    const bytes = Number(bytesText);
    if (headCrc(Number(seqText), bytes, chain) !== crc) return corrupt(seq, 'damaged head');
    if (Number(seqText) !== seq) return corrupt(seq, `numbered ${seqText}: out of order`);
    const bodyEnd = nl + 1 + bytes;
    // The file ends inside the body (or before its newline): torn.
    if (bodyEnd + 1 > buf.length) return torn();
    if (buf[bodyEnd] !== 10) return corrupt(seq, 'no newline after the body');
    const body = buf.subarray(nl + 1, bodyEnd);
    if (chainOf(prev, seq, body) !== chain) {
      // A whole last entry that fails: an extended file whose blocks were never written.
      if (bodyEnd + 1 === buf.length) return torn();
      return corrupt(seq, 'does not match its chain (altered, reordered or from another journal)');
    }
    applyBody(body, seq, byKey, corrupt);
    prev = chain;
    out.entries = seq;
    at = bodyEnd + 1;
  }
  return out;
}

function applyBody(body: Buffer, seq: number, byKey: Map<string, StoredRecord>, corrupt: (seq: number, why: string) => never): void {
  let items: unknown;
  try {
    items = JSON.parse(body.toString('utf8'));
  } catch (e) {
    return corrupt(seq, `not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(items)) return corrupt(seq, 'not an array');
  for (const [i, item] of items.entries()) {
    try {
      if (typeof item === 'string') {
        parseKey(item);
        byKey.delete(item);
      } else {
        const r = validateRecord(item);
        byKey.set(r.key, r);
      }
    } catch (e) {
      corrupt(seq, `item ${i}: ${(e as Error).message}`);
    }
  }
}
