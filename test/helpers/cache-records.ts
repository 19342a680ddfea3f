// Real records for the agent's file-copy tests (the copy checks every record's digest on load): a
// small model replica whose puts and deletes produce the store's encoded texts.
import { conflictRule, encodeRecord, HybridClock, localOp, type Json, type StoredRecord } from '../../storage/index.ts';

/** Key `ProxyRoute/default/r<i>`, the name zero-padded so that every key has the same length. */
export function cacheKey(i: number): string {
  return `ProxyRoute/default/r${String(i).padStart(6, '0')}`;
}

/** A replica in memory: key -> encoded record, as the store would hold it. */
export class ModelReplica {
  readonly texts = new Map<string, string>();
  readonly #records = new Map<string, StoredRecord>();
  readonly #rule = conflictRule('LastWriterWins');
  readonly #clock = new HybridClock('c1', { maxClockOffsetMs: 5_000 });
  // Thirteen digits from the start: a record's size does not depend on how many were written before.
  #nowMs = 1_700_000_000_000;

  /**
   * Write `key` (`size`: bytes of padding, so that records of a test have one size); its text now
   * (the same when the value was already that: nothing changes).
   */
  put(key: string, spec: Json = {}, size = 0): string {
    const name = key.split('/')[2]!;
    const r = localOp(this.#rule, this.#clock, this.#nowMs++, key, this.#records.get(key), {
      op: 'put', value: { apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name, namespace: 'default' }, spec: { spec, pad: 'x'.repeat(size) } },
    }).record;
    return r === undefined ? this.texts.get(key)! : this.#set(key, r);
  }

  /** Delete `key`: its record becomes a tombstone (undefined: not held, nothing changes). */
  delete(key: string): string | undefined {
    const r = localOp(this.#rule, this.#clock, this.#nowMs++, key, this.#records.get(key), { op: 'delete' }).record;
    return r === undefined ? undefined : this.#set(key, r);
  }

  /** Drop `key` altogether (a collected tombstone). */
  forget(key: string): void {
    this.#records.delete(key);
    this.texts.delete(key);
  }

  /** Every record's text, in key order. */
  snapshot(): string[] {
    return [...this.texts.keys()].sort().map((k) => this.texts.get(k)!);
  }

  /** The texts of `keys` now (undefined: not held). */
  read(keys: string[]): Array<string | undefined> {
    return keys.map((k) => this.texts.get(k));
  }

  #set(key: string, r: StoredRecord): string {
    this.#records.set(key, r);
    const text = encodeRecord(r);
    this.texts.set(key, text);
    return text;
  }
}
