// The agent's file copy of its configuration (`autonomousMode.configPath`): what it serves at start
// when no controller answers. Written atomically (temp file, fsync, rename, fsync of the directory),
// so a crash leaves the old copy or the new one, never half of one. Read back with every check a
// damaged or foreign file can fail: a truncated, corrupted or other-federation file is refused with a
// coded error and never served.
//
// This file is the copy's snapshot; the changes since it go to a journal beside it
// (cache-journal.ts), bound to the snapshot by the snapshot's random id.
//
// Format: one header line of JSON, then one line holding the JSON array of records.
//   {"format":"novaedge-agent-cache/2","federationId":"prod","member":"edge-1","strategy":"Merge","count":2,"snapshot":"<32 hex>","sha256":"<of the fields and line 2>"}
//   [{"digest":...,"entries":[...],"key":"ProxyRoute/default/api","vv":{...}}, ...]
// Each record carries its own digest, checked on load; the header's hash covers its fields and the
// array. Format /1 (no snapshot id, written before the journal) is still read; no journal binds to it.
import { createHash, randomBytes } from 'node:crypto';
import { open, rename, readFile, stat } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { STRATEGY_NAMES, validateRecord, type StoredRecord, type StrategyName } from '../../storage/index.ts';
import { CodedError } from '../errors.ts';

/** Format tag of the header. */
export const CACHE_FORMAT = 'novaedge-agent-cache/2';
// The format before the journal: read, never written.
const CACHE_FORMAT_V1 = 'novaedge-agent-cache/1';
const SNAPSHOT_ID_RE = /^[0-9a-f]{32}$/;

/** Largest cache file read back, bytes. */
export const CACHE_BYTES_MAX = 2 * 1024 * 1024 * 1024 - 1;

/** Why a cache file was refused. */
export type CacheCode =
  'CACHE_MISSING' | 'CACHE_CORRUPT' | 'CACHE_TRUNCATED' | 'CACHE_WRONG_FEDERATION' | 'CACHE_TOO_LARGE' | 'CACHE_JOURNAL_CORRUPT';

/** A cache file that cannot be served. */
export class ConfigCacheError extends CodedError<CacheCode> {}

/** What identifies whose cache a file is. */
export interface CacheIdentity {
  federationId: string;
  member: string;
}

/** A snapshot read back and checked. */
export interface LoadedCache {
  strategy: StrategyName;
  records: StoredRecord[];
  /** The snapshot's id, which its journal names (undefined: a format /1 file, which has none). */
  snapshotId: string | undefined;
  /** Size of the snapshot file, bytes. */
  bytes: number;
}

interface Header {
  format: string;
  federationId: string;
  member: string;
  strategy: StrategyName;
  count: number;
  snapshot?: string;
  sha256: string;
}

/** A fresh snapshot id: 128 random bits, so that no other snapshot's journal can name it. */
export function newSnapshotId(): string {
  return randomBytes(16).toString('hex');
}

/**
 * Write the cache at `path`, atomically and durably, from `texts`: the records in key order, each
 * as encodeRecord's text (the store keeps them so), under the id `snapshotId` (a journal names it).
 * Returns the bytes written.
 */
export async function writeConfigCache(path: string, id: CacheIdentity, strategy: StrategyName, texts: readonly string[],
  snapshotId: string = newSnapshotId()): Promise<number> {
  if (!SNAPSHOT_ID_RE.test(snapshotId)) throw new Error(`assertion: snapshot id ${JSON.stringify(snapshotId)} is not 32 hex digits`);
  // The records line is encoded straight into one buffer: no joined string, and one UTF-8 encoding
  // serves both the checksum and the write (the copy can be large).
  const line = encodeRecordsLine(texts);
  const header: Header = {
    format: CACHE_FORMAT, federationId: id.federationId, member: id.member, strategy, count: texts.length, snapshot: snapshotId,
    sha256: checksum(id.federationId, id.member, strategy, texts.length, snapshotId, line.subarray(0, line.length - 1)),
  };
  return writeFileAtomic(path, [Buffer.from(`${JSON.stringify(header)}\n`), line]);
}

/**
 * Replace the file at `path` with `chunks`, atomically and durably: a temporary file beside it,
 * fsync, rename, fsync of the directory. A crash leaves the old file or the new one. Returns the
 * bytes written. (The snapshot and the journal's restart both go through here.)
 */
export async function writeFileAtomic(path: string, chunks: readonly Uint8Array[]): Promise<number> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  const fh = await open(tmp, 'w', 0o600);
  let bytes = 0;
  try {
    // writeFile goes on from the current position and loops over short writes.
    for (const c of chunks) {
      await fh.writeFile(c);
      bytes += c.length;
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, path);
  // The rename itself is durable only once the directory is.
  const dir = await open(dirname(path), 'r');
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
  return bytes;
}

// `[text,text,...]\n` as UTF-8: the records line of the file, newline included.
function encodeRecordsLine(texts: readonly string[]): Buffer {
  return encodeJsonArray(texts, ']\n');
}

/**
 * `[part,part,...]` followed by `end` instead of the closing `]`, as UTF-8, from parts that are
 * JSON texts already: encoded straight into one buffer (no joined string; one encoding serves the
 * checksum and the write).
 */
export function encodeJsonArray(parts: readonly string[], end: ']' | ']\n' = ']'): Buffer {
  let bytes = 1 + end.length + Math.max(0, parts.length - 1);
  for (const p of parts) bytes += Buffer.byteLength(p);
  const out = Buffer.allocUnsafe(bytes);
  let at = out.write('[');
  parts.forEach((p, i) => {
    if (i > 0) at += out.write(',', at);
    at += out.write(p, at);
  });
  at += out.write(end, at);
  if (at !== bytes) throw new Error(`assertion: JSON array encoded to ${at} bytes, ${bytes} expected`);
  return out;
}

/**
 * Read and check the snapshot at `path` (without its journal: loadConfigCache in cache-journal.ts
 * reads both); throws ConfigCacheError with the reason.
 */
export async function readConfigCache(path: string, id: CacheIdentity): Promise<LoadedCache> {
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    throw new ConfigCacheError('CACHE_MISSING', `no configuration cache at ${path}`);
  }
  if (size > CACHE_BYTES_MAX) throw new ConfigCacheError('CACHE_TOO_LARGE', `${path}: ${size} bytes is more than ${CACHE_BYTES_MAX}`);
  const text = await readFile(path, 'utf8');
  const nl = text.indexOf('\n');
  if (nl < 0) throw new ConfigCacheError('CACHE_TRUNCATED', `${path}: ends inside the header`);
  const header = parseHeader(text.slice(0, nl), path);
  if (header.federationId !== id.federationId) {
    throw new ConfigCacheError('CACHE_WRONG_FEDERATION', `${path}: belongs to federation "${header.federationId}", not "${id.federationId}"`);
  }
  if (!text.endsWith('\n') || text.indexOf('\n', nl + 1) !== text.length - 1) {
    throw new ConfigCacheError('CACHE_TRUNCATED', `${path}: the records line is incomplete`);
  }
  const body = text.slice(nl + 1, -1);
  if (checksum(header.federationId, header.member, header.strategy, header.count, header.snapshot, body) !== header.sha256) {
    throw new ConfigCacheError('CACHE_CORRUPT', `${path}: contents do not match the header's checksum`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    throw new ConfigCacheError('CACHE_CORRUPT', `${path}: records are not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(parsed) || parsed.length !== header.count) {
    throw new ConfigCacheError('CACHE_CORRUPT', `${path}: expected ${header.count} records`);
  }
  const records = parsed.map((r, i) => {
    try {
      return validateRecord(r);
    } catch (e) {
      throw new ConfigCacheError('CACHE_CORRUPT', `${path}: record ${i}: ${(e as Error).message}`);
    }
  });
  return { strategy: header.strategy, records, snapshotId: header.snapshot, bytes: size };
}

// Covers the header's fields too, so a damaged header is caught like a damaged record. `body` is the
// records line without its newline (as text when read back, as UTF-8 when written). A format /1 file
// has no snapshot id, and its hash does not cover one.
function checksum(federationId: string, member: string, strategy: string, count: number, snapshotId: string | undefined,
  body: string | Uint8Array): string {
  const id = snapshotId === undefined ? '' : `${snapshotId}\n`;
  return createHash('sha256').update(`${federationId}\n${member}\n${strategy}\n${count}\n${id}`).update(body).digest('hex');
}

function parseHeader(line: string, path: string): Header {
  let h: unknown;
  try {
    h = JSON.parse(line);
  } catch {
    throw new ConfigCacheError('CACHE_CORRUPT', `${path}: the header is not JSON`);
  }
  const o = h as Partial<Header> | null;
  if (typeof o !== 'object' || o === null || (o.format !== CACHE_FORMAT && o.format !== CACHE_FORMAT_V1)) {
    throw new ConfigCacheError('CACHE_CORRUPT', `${path}: not a NovaEdge agent cache (format ${JSON.stringify(o?.format)})`);
  }
  if (typeof o.federationId !== 'string' || typeof o.member !== 'string' || typeof o.sha256 !== 'string' ||
    !Number.isSafeInteger(o.count) || (o.count as number) < 0 || !STRATEGY_NAMES.includes(o.strategy as StrategyName) ||
    (o.format === CACHE_FORMAT ? typeof o.snapshot !== 'string' || !SNAPSHOT_ID_RE.test(o.snapshot) : o.snapshot !== undefined)) {
    throw new ConfigCacheError('CACHE_CORRUPT', `${path}: malformed header`);
  }
  return o as Header;
}
