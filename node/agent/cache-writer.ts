// Keeps the agent's file copy current: every change schedules a write, changes within
// `coalesceMs` share one, and a change during a write schedules exactly one more after it. So a burst
// of a thousand changes costs a handful of writes, and the file is never more than one write behind.
//
// A write appends the keys changed since the last one, each with its record as stored now, to the
// copy's journal (cache-journal.ts): its cost follows the change, not the configuration. It writes a
// whole new snapshot instead (a compaction) when the journal has no room left, at the first write
// (the copy on disk may be older than the replica), after a failed write, and after resync() (the
// replica was reopened, or changes were missed).
//
// Each kind of write is paced by the last one of its kind: an append waits at least
// WRITE_PAUSE_FACTOR times as long as the last append took, a snapshot (which costs time in proportion
// to the configuration: 100,000 resources, about a second) as long after the last snapshot ended as
// that one took. Appends and snapshots then each take at most a tenth of the agent's time, however
// large the configuration, and a snapshot does not hold back the appends after it. A snapshot due
// before its time (the journal full) waits for it, the changes pending; flush() and stop() write at once.
import type { TimerComponents, TimerHandle, WallClock } from '../components.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import type { CacheChange } from './cache-journal.ts';

/** The copy's journal, as the writer sees it. */
export interface CacheJournalStats {
  /** Entries appended (writes that cost the change). */
  appends: number;
  /** Snapshots written, each restarting the journal (writes that cost the configuration). */
  compactions: number;
  /** Entries in the journal now. */
  entries: number;
  /** Size of the journal now, bytes. */
  bytes: number;
  /** Size of the snapshot now, bytes. */
  snapshotBytes: number;
}

/** Counters of the cache writer. */
export interface CacheWriterStats {
  /** Writes that succeeded: appends and compactions. */
  writes: number;
  failures: number;
  /** Bytes written, appends and compactions together. */
  bytes: number;
  /** When the last write finished, ms since epoch (0: never). */
  lastWriteMs: number;
  /** Message of the last failure, if the last write failed. */
  lastError: string | undefined;
  /** How long the last write took, ms (reading the records, encoding and the durable write). */
  lastWriteDurationMs: number;
  /** Bytes the last write wrote. */
  lastWriteBytes?: number;
  /** Changes not yet in the file: a write is due or under way. */
  pending?: boolean;
  journal?: CacheJournalStats;
}

// The pause before a write is at least this many times the last write's duration (see above).
const WRITE_PAUSE_FACTOR = 9;

/** The snapshot and journal on disk (CacheFiles). */
export interface CacheSink {
  /** Write a snapshot of every record (texts in key order) and restart the journal; the bytes written. */
  compact(texts: string[]): Promise<number>;
  /** Append one entry; the bytes written, or undefined (nothing written) when a compaction is due. */
  append(changes: CacheChange[]): Promise<number | undefined>;
  readonly snapshotBytes: number;
  readonly journalBytes: number;
  readonly journalEntries: number;
}

/** What the writer needs. */
export interface CacheWriterOptions {
  /** Least wait between a change and the write that covers it, ms (autonomousMode.writeCoalesceMs). */
  coalesceMs: number;
  /** Every record held now, in key order, each as its stored text. */
  snapshot(): Promise<string[]>;
  /** The records of `keys` as stored now (undefined: no longer held), in the same order. */
  read(keys: string[]): Promise<Array<string | undefined>>;
  files: CacheSink;
  /** The node's monotonic clock and timers (coalescing, write durations). */
  timers: TimerComponents;
  /** The node's physical clock (when the last write finished). */
  wallClock: WallClock;
  logger?: Logger;
}

export class CacheWriter {
  readonly stats: CacheWriterStats & { lastWriteBytes: number; pending: boolean; journal: CacheJournalStats } = {
    writes: 0, failures: 0, bytes: 0, lastWriteMs: 0, lastError: undefined, lastWriteDurationMs: 0, lastWriteBytes: 0, pending: false,
    journal: { appends: 0, compactions: 0, entries: 0, bytes: 0, snapshotBytes: 0 },
  };
  readonly #o: CacheWriterOptions;
  readonly #log: Logger;
  #timer: TimerHandle | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  // Something to write: the keys changed since the last write, or everything (#full).
  #dirty = false;
  #keys = new Set<string>();
  #full = true;
  #stopped = false;
  // Pacing (monotonic ms): how long the last append and the last snapshot took, when the latter ended.
  #appendMs = 0;
  #snapshotMs = 0;
  #snapshotEndMs = -Infinity;

  constructor(o: CacheWriterOptions) {
    this.#o = o;
    this.#log = loggerOrSilent(o.logger).child({ component: 'config-cache' });
  }

  /** `key` changed (no key: anything may have changed): write soon. */
  schedule(key?: string): void {
    if (this.#stopped) return;
    if (key === undefined) {
      this.#full = true;
      this.#keys.clear();
    } else if (!this.#full) {
      this.#keys.add(key);
    }
    this.#dirty = true;
    this.stats.pending = true;
    this.#arm();
  }

  #arm(): void {
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#timer ??= this.#o.timers.setTimeout(() => {
      this.#timer = undefined;
      if (!this.#dirty || this.#stopped) return;
      this.#running = this.#write().finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.#arm();
        }
      });
    }, Math.max(this.#o.coalesceMs, WRITE_PAUSE_FACTOR * this.#appendMs, this.#full ? this.#snapshotWaitMs() : 0));
  }

  // How long until a snapshot may start.
  #snapshotWaitMs(): number {
    return this.#snapshotEndMs + WRITE_PAUSE_FACTOR * this.#snapshotMs - this.#o.timers.nowMs();
  }

  /** Whatever the file holds may not match the replica: the next write (at the next change) is a snapshot. */
  resync(): void {
    this.#full = true;
    this.#keys.clear();
  }

  /** Write now if anything changed since the last write (and wait); a pending scheduled write is folded in. */
  async flush(): Promise<void> {
    // A write under way may arm another when it ends: cleared too.
    do {
      this.#o.timers.clearTimeout(this.#timer);
      this.#timer = undefined;
      await this.#running;
    } while (this.#timer !== undefined);
    this.#again = false;
    if (this.#dirty) await this.#write(true);
  }

  /** Write what is pending, then stop scheduling. */
  async stop(): Promise<void> {
    await this.flush();
    this.#stopped = true;
  }

  // `now`: a snapshot due is written even before its time (flush, stop).
  async #write(now = false): Promise<void> {
    const full = this.#full;
    const keys = [...this.#keys];
    this.#dirty = false;
    this.#full = false;
    this.#keys = new Set();
    const timers = this.#o.timers;
    const startedMs = timers.nowMs();
    let { appends, compactions } = this.stats.journal;
    try {
      let bytes: number | undefined;
      if (!full) {
        const texts = await this.#o.read(keys);
        bytes = await this.#o.files.append(keys.map((key, i) => ({ key, text: texts[i] })));
        if (bytes !== undefined) {
          appends++;
          this.#appendMs = timers.nowMs() - startedMs;
        }
      }
      if (bytes === undefined) {
        if (!now && this.#snapshotWaitMs() > 0) {
          // The journal is full before a snapshot may be written again: the changes wait for it.
          this.resync();
          this.#dirty = true;
          this.#again = true;
          return;
        }
        const snapshotStartMs = timers.nowMs();
        bytes = await this.#o.files.compact(await this.#o.snapshot());
        compactions++;
        this.#snapshotEndMs = timers.nowMs();
        this.#snapshotMs = this.#snapshotEndMs - snapshotStartMs;
      }
      this.stats.bytes += bytes;
      this.stats.lastWriteBytes = bytes;
      this.stats.lastWriteDurationMs = timers.nowMs() - startedMs;
      this.stats.writes++;
      this.stats.lastWriteMs = this.#o.wallClock();
      this.stats.lastError = undefined;
    } catch (err) {
      // The agent keeps serving from its replica; the file catches up at the next change, with a
      // snapshot (the failed write may have left a torn entry, and its keys are covered so).
      this.stats.failures++;
      this.#dirty = true;
      this.#full = true;
      this.#keys.clear();
      this.stats.lastError = (err as Error).message;
      this.#log.error({ err: String(err) }, 'writing the configuration cache failed');
    } finally {
      this.stats.pending = this.#dirty;
      // A new object: a status taken before this write keeps its figures.
      const f = this.#o.files;
      this.stats.journal = { appends, compactions, entries: f.journalEntries, bytes: f.journalBytes, snapshotBytes: f.snapshotBytes };
    }
  }
}
