// Shared by LastWriterWins and Manual: entries hold whole resources (null = deleted).
import { jsonEqual, type Json } from '../canonical.ts';
import { compareHlc } from '../hlc.ts';
import type { Entry, StoredRecord } from '../record.ts';
import type { LocalWrite } from './conflict-rule.ts';

/** Entries sorted newest first. */
export function newestFirst(entries: readonly Entry[]): Entry[] {
  return [...entries].sort((a, b) => compareHlc(b.hlc, a.hlc));
}

/** The entry member `self` serves: its own version if it holds one, else the newest. */
export function servedEntry(record: StoredRecord, self: string): Entry {
  const own = record.entries.filter((e) => e.hlc.member === self);
  const pool = own.length > 0 ? own : record.entries;
  const served = newestFirst(pool)[0];
  if (served === undefined) throw new Error(`assertion: record ${record.key} without entries`);
  return served;
}

/** One entry replacing all: a whole-value write; undefined when the served value is already it. */
export function wholeValueWrite(
  current: StoredRecord | undefined,
  value: { [key: string]: Json } | null,
  w: LocalWrite,
  served: Json | undefined,
): Entry[] | undefined {
  if (current === undefined && value === null) return undefined;
  if (current !== undefined && current.entries.length === 1 && served !== undefined && jsonEqual(served, value)) {
    return undefined;
  }
  return [{ counter: w.counter, hlc: w.hlc, value }];
}
