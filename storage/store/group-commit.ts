// Group commit: writes that arrive while a synced batch is in flight wait and go together in the next
// one, so one fsync acknowledges many writes. Batches land strictly in submission order.
import type { AbstractBatchOperation } from 'abstract-level';
import { SYNC_WRITE, type StoreDb } from './store-db.ts';

type Op = AbstractBatchOperation<StoreDb, string, string>;

interface Pending {
  ops: Op[];
  onDurable: () => void;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** Options of the group committer. */
export interface GroupCommitOptions {
  /** Most operations in one batch; a single write's operations are never split. */
  batchOpsMax: number;
  /** Most writes waiting for a batch; further submissions fail fast (back-pressure). */
  queueMax: number;
  /** Operations appended to every batch, computed when it is cut (high-water marks: one per batch, not per write). */
  trailer?: () => Op[];
  /** Called when a batch (with its trailer) is durable, before its writes' onDurable callbacks. */
  landed?: () => void;
  /** Monotonic clock, milliseconds: measures how long batches take to land (batchMs). */
  monoMs: () => number;
}

/** Too many writes waiting; stable code BUSY. */
export class CommitQueueFullError extends Error {
  readonly code = 'BUSY';
  constructor(queueMax: number) {
    super(`more than ${queueMax} writes waiting for disk`);
  }
}

export class GroupCommit {
  readonly #db: StoreDb;
  readonly #opts: GroupCommitOptions;
  #queue: Pending[] = [];
  #flushing: Promise<void> | undefined;
  #failed: unknown;
  /** Batches written so far (for benchmarks and tests). */
  batches = 0;
  /** Milliseconds spent waiting for batches to land (for benchmarks). */
  batchMs = 0;

  constructor(db: StoreDb, opts: GroupCommitOptions) {
    this.#db = db;
    this.#opts = opts;
  }

  /**
   * Queue a write's operations; resolves once they are durable. `onDurable` runs right after the
   * batch lands and before any later batch's callbacks: that is where in-memory state is updated.
   */
  submit(ops: Op[], onDurable: () => void): Promise<void> {
    if (this.#failed !== undefined) return Promise.reject(this.#failed);
    try {
      this.checkCapacity();
    } catch (err) {
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      this.#queue.push({ ops, onDurable, resolve, reject });
      this.#flushing ??= this.#drain();
    });
  }

  /** Throws CommitQueueFullError when no more writes may queue, or the failure that stopped writes. */
  checkCapacity(): void {
    if (this.#failed !== undefined) throw this.#failed;
    if (this.#queue.length >= this.#opts.queueMax) throw new CommitQueueFullError(this.#opts.queueMax);
  }

  /** True once a batch failed (or fail() was called): writes are refused from then on. */
  get failed(): boolean {
    return this.#failed !== undefined;
  }

  /** Resolves when nothing is queued or in flight. */
  async idle(): Promise<void> {
    while (this.#flushing !== undefined) await this.#flushing;
  }

  /** Fail every queued and future write with `err`. */
  fail(err: unknown): void {
    this.#failed ??= err;
    for (const p of this.#queue.splice(0)) p.reject(this.#failed);
  }

  async #drain(): Promise<void> {
    // Let writers that arrive in the same turn of the event loop join the first batch.
    await Promise.resolve();
    try {
      while (this.#queue.length > 0 && this.#failed === undefined) {
        const group: Pending[] = [];
        let n = 0;
        while (this.#queue.length > 0) {
          const next = this.#queue[0]!;
          if (group.length > 0 && n + next.ops.length > this.#opts.batchOpsMax) break;
          group.push(this.#queue.shift()!);
          n += next.ops.length;
        }
        try {
          const ops = group.flatMap((p) => p.ops);
          if (this.#opts.trailer !== undefined) ops.push(...this.#opts.trailer());
          const startMs = this.#opts.monoMs();
          await this.#db.batch(ops, SYNC_WRITE);
          this.batchMs += this.#opts.monoMs() - startMs;
        } catch (err) {
          this.fail(err);
          for (const p of group) p.reject(err);
          return;
        }
        this.batches++;
        this.#opts.landed?.();
        for (const p of group) p.onDurable();
        for (const p of group) p.resolve();
      }
    } finally {
      this.#flushing = undefined;
    }
  }
}
