// Keeps the agent's file copy current: every change schedules a write, changes within
// `coalesceMs` share one, and a change during a write schedules exactly one more after it. So a burst
// of a thousand changes costs a handful of writes, and the file is never more than one write behind.
//
// The copy is the whole configuration, so a write costs time in proportion to its size (100,000
// resources: about a second). Under a steady stream of changes the next write therefore waits at
// least WRITE_PAUSE_FACTOR times as long as the last one took: the copy never takes more than a
// tenth of the agent's time, however large the configuration, and is at most a few writes behind.
import type { TimerComponents, TimerHandle, WallClock } from '../components.ts';
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
  /** How long the last write took, ms (snapshot, encoding and the durable write). */
  lastWriteDurationMs: number;
}

// The pause before a write is at least this many times the last write's duration (see above).
const WRITE_PAUSE_FACTOR = 9;

/** What the writer needs. */
export interface CacheWriterOptions {
  /** Least wait between a change and the write that covers it, ms (autonomousMode.writeCoalesceMs). */
  coalesceMs: number;
  /** Write the file from these encoded records; resolves with the bytes written. */
  write(texts: string[]): Promise<number>;
  /** Every record held now, in key order, each as its stored text. */
  snapshot(): Promise<string[]>;
  /** The node's monotonic clock and timers (coalescing, write durations). */
  timers: TimerComponents;
  /** The node's physical clock (when the last write finished). */
  wallClock: WallClock;
  logger?: Logger;
}

export class CacheWriter {
  readonly stats: CacheWriterStats = { writes: 0, failures: 0, bytes: 0, lastWriteMs: 0, lastError: undefined, lastWriteDurationMs: 0 };
  readonly #o: CacheWriterOptions;
  readonly #log: Logger;
  #timer: TimerHandle | undefined;
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
    this.#timer ??= this.#o.timers.setTimeout(() => {
      this.#timer = undefined;
      this.#running = this.#write().finally(() => {
        this.#running = undefined;
        if (this.#again) {
          this.#again = false;
          this.schedule();
        }
      });
    }, Math.max(this.#o.coalesceMs, WRITE_PAUSE_FACTOR * this.stats.lastWriteDurationMs));
  }

  /** Write now if anything changed since the last write (and wait); a pending scheduled write is folded in. */
  async flush(): Promise<void> {
    this.#o.timers.clearTimeout(this.#timer);
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
    const startedMs = this.#o.timers.nowMs();
    try {
      this.stats.bytes += await this.#o.write(await this.#o.snapshot());
      this.stats.lastWriteDurationMs = this.#o.timers.nowMs() - startedMs;
      this.stats.writes++;
      this.stats.lastWriteMs = this.#o.wallClock();
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
