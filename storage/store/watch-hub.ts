// Live change fan-out with a bounded queue per watcher. A watcher that falls too far behind is ended
// with WatchOverflowError instead of growing memory without bound; it resumes from its last seq.
import { WatchOverflowError } from './errors.ts';

/** A sink for one watcher. */
export interface WatchSink<T> {
  push(event: T): void;
  end(err?: Error): void;
}

/** An async-iterable queue fed by push(), bounded by queueMax. */
export class WatchQueue<T> implements WatchSink<T>, AsyncIterable<T> {
  readonly #queueMax: number;
  #items: T[] = [];
  #ended = false;
  #error: Error | undefined;
  #wake: (() => void) | undefined;
  onClose: (() => void) | undefined;

  constructor(queueMax: number) {
    this.#queueMax = queueMax;
  }

  push(event: T): void {
    if (this.#ended) return;
    if (this.#items.length >= this.#queueMax) {
      this.end(new WatchOverflowError(this.#queueMax));
      return;
    }
    this.#items.push(event);
    this.#wake?.();
  }

  end(err?: Error): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#error = err;
    this.#wake?.();
    this.onClose?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      while (true) {
        if (this.#items.length > 0) {
          yield this.#items.shift()!;
          continue;
        }
        if (this.#ended) {
          if (this.#error !== undefined) throw this.#error;
          return;
        }
        await new Promise<void>((r) => { this.#wake = r; });
        this.#wake = undefined;
      }
    } finally {
      this.end();
    }
  }
}

/** The set of live watchers. */
export class WatchHub<T> {
  readonly #sinks = new Set<WatchSink<T>>();

  add(sink: WatchSink<T>): () => void {
    this.#sinks.add(sink);
    return () => this.#sinks.delete(sink);
  }

  publish(event: T): void {
    for (const s of this.#sinks) s.push(event);
  }

  endAll(err?: Error): void {
    for (const s of [...this.#sinks]) s.end(err);
    this.#sinks.clear();
  }

  get size(): number {
    return this.#sinks.size;
  }
}
