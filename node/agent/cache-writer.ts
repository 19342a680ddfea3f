// Keeps the agent's file copy current: every change schedules a write, changes within
// `coalesceMs` share one, and a change during a write schedules exactly one more after it. So a burst
// of a thousand changes costs a handful of writes, and the file is never more than one write behind.
import type { StoredRecord } from '../../storage/index.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';

/** Counters of the cache writer. */
export interface CacheWriterStats {
  writes: number;
  failures: number;
  bytes: number;
  /** When the last write finished, ms since epoch (0: never). */
  lastWriteMs: number;
  /** Message of the last failure, if the last write failed. */
  lastError: string | undefined;
}

/** What the writer needs. */
export interface CacheWriterOptions {
  coalesceMs: number;
  /** Write the file from these records; resolves with the bytes written. */
  write(records: StoredRecord[]): Promise<number>;
  /** Every record held now. */
  snapshot(): Promise<StoredRecord[]>;
  logger?: Logger;
}

export class CacheWriter {
  readonly stats: CacheWriterStats = { writes: 0, failures: 0, bytes: 0, lastWriteMs: 0, lastError: undefined };
  readonly #o: CacheWriterOptions;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #again = false;
  #dirty = false;
  #stopped = false;

  constructor(o: CacheWriterOptions) {
    this.#o = o;
    this.#log = loggerOrSilent(o.logger).child({ component: 'config-cache' });
  }

  /** Something changed: write soon. */
  schedule(): void {
    if (this.#stopped) return;
    this.#dirty = true;
    if (this.#running !== undefined) {
      this.#again = true;
      return;
    }
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#write().finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.schedule();
        }
      });
    }, this.#o.coalesceMs);
  }

  /** Write now if anything changed since the last write (and wait); a pending scheduled write is folded in. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#running;
    this.#again = false;
    if (this.#dirty) await this.#write();
  }

  /** Write what is pending, then stop scheduling. */
  async stop(): Promise<void> {
    await this.flush();
    this.#stopped = true;
  }

  async #write(): Promise<void> {
    this.#dirty = false;
    try {
      this.stats.bytes += await this.#o.write(await this.#o.snapshot());
      this.stats.writes++;
      this.stats.lastWriteMs = Date.now();
      this.stats.lastError = undefined;
    } catch (err) {
      // The agent keeps serving from its replica; the file catches up at the next change.
      this.stats.failures++;
      this.#dirty = true;
      this.stats.lastError = (err as Error).message;
      this.#log.error({ err: String(err) }, 'writing the configuration cache failed');
    }
  }
}
