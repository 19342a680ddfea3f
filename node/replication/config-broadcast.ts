// One encoding of every change for all the agents a controller serves. A single follower of the
// store batches changes (whatever is committed before the event loop next turns, up to the batch
// bounds), serialises and compresses each batch once, and hands the same frame bytes to every
// subscribed agent stream. Serving N agents then costs N socket writes per batch instead of N
// serialisations and N compressions. Each subscription is a bounded queue of frames: an agent that
// falls that far behind is dropped (its stream ends; it reconnects and catches up with anti-entropy).
import { encodeRecord, WatchQueue, type Store } from '../../storage/index.ts';
import { encodeJsonText } from '../wire/codec.ts';
import type { TimerComponents } from '../components.ts';
import { followChanges } from './follow-changes.ts';

/** Options of the broadcast. */
export interface ConfigBroadcastOptions {
  /** Most records in one frame. */
  batchSize: number;
  /** Most bytes of records in one frame (a single larger record still goes alone). */
  batchBytesMax: number;
  /** Compress frames (sync.compression). */
  compress: boolean;
  /** Most frames queued for one agent before it is dropped. */
  queueFramesMax: number;
  /** The node's timers: a frame waits for the rest of its event-loop turn's changes (setImmediate). */
  timers: Pick<TimerComponents, 'setImmediate'>;
}

/** One encoded `records` message of the config stream, shared by every subscriber. */
export interface ConfigFrame {
  bytes: Uint8Array;
  records: number;
}

export class ConfigBroadcast {
  readonly #store: Store;
  readonly #opts: ConfigBroadcastOptions;
  readonly #subs = new Set<WatchQueue<ConfigFrame>>();
  readonly #stop = new AbortController();
  #following: Promise<void> | undefined;
  #pending: string[] = [];
  #pendingBytes = 0;
  #flushQueued = false;
  /** Frames encoded (each sent to every subscriber at the time). */
  frames = 0;

  constructor(store: Store, opts: ConfigBroadcastOptions) {
    this.#store = store;
    this.#opts = opts;
  }

  /**
   * A subscription that receives every change committed from now on (and possibly a few just
   * before). Ends when `signal` aborts, or with WatchOverflowError when the reader falls behind.
   */
  subscribe(signal: AbortSignal): WatchQueue<ConfigFrame> {
    if (this.#stop.signal.aborted) throw new Error('config broadcast stopped');
    // Started by the first subscriber, synchronously: its changes are followed from this moment.
    this.#following ??= followChanges(this.#store, this.#stop.signal, (change) => {
      // Nobody to send to: nothing to encode. A later subscriber only needs later changes.
      if (this.#subs.size > 0) this.#add(encodeRecord(change.record));
    }).catch(() => {
      // The store closed or failed: end what is subscribed; a later subscriber starts over.
      this.#following = undefined;
      this.#endAll();
    });
    const queue = new WatchQueue<ConfigFrame>(this.#opts.queueFramesMax);
    this.#subs.add(queue);
    const end = (): void => queue.end();
    queue.onClose = () => {
      this.#subs.delete(queue);
      signal.removeEventListener('abort', end);
    };
    if (signal.aborted) queue.end();
    else signal.addEventListener('abort', end, { once: true });
    return queue;
  }

  /** Subscribers now. */
  get size(): number {
    return this.#subs.size;
  }

  /** Stop following the store and end every subscription. */
  async stop(): Promise<void> {
    this.#stop.abort();
    this.#endAll();
    await this.#following;
  }

  #add(text: string): void {
    this.#pending.push(text);
    this.#pendingBytes += text.length;
    if (this.#pending.length >= this.#opts.batchSize || this.#pendingBytes >= this.#opts.batchBytesMax) {
      this.#flush();
    } else if (!this.#flushQueued) {
      // The changes already committed arrive in the microtasks before this runs: one frame for them.
      this.#flushQueued = true;
      this.#opts.timers.setImmediate(() => {
        this.#flushQueued = false;
        this.#flush();
      });
    }
  }

  #flush(): void {
    if (this.#pending.length === 0) return;
    const frame: ConfigFrame = {
      bytes: encodeJsonText(`{"t":"records","records":[${this.#pending.join(',')}]}`, this.#opts.compress),
      records: this.#pending.length,
    };
    this.#pending = [];
    this.#pendingBytes = 0;
    this.frames++;
    for (const q of this.#subs) q.push(frame);
  }

  #endAll(): void {
    for (const q of [...this.#subs]) q.end();
  }
}
