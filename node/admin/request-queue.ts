// The request lines waiting on one admin connection, in arrival order, and what they cost against the
// connection's bound. A queued line costs its bytes plus a fixed overhead (the Buffer and its slot),
// so many short lines are bounded like one long one; the connection stops reading while the cost is
// over its bound. Markers (an oversized line, end of stream) cost nothing.

/**
 * What one queued request line costs besides its own bytes, bytes: about what the server holds per
 * queued line (a Buffer object and its queue slot).
 */
export const ADMIN_QUEUED_LINE_OVERHEAD_BYTES = 256;

/** A queued item: a request line, or a marker for an oversized line or the end of the stream. */
export type QueueItem = Buffer | 'oversized' | 'eof';

/** A FIFO of queue items with constant-time shift, and their total cost. */
export class RequestQueue {
  #items: Array<QueueItem | undefined> = [];
  #head = 0;
  #cost = 0;

  /** Items queued. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** What the queued lines cost, bytes. */
  get cost(): number {
    return this.#cost;
  }

  push(item: QueueItem): void {
    this.#items.push(item);
    this.#cost += costOf(item);
  }

  /** The oldest item, removed; undefined when empty. */
  shift(): QueueItem | undefined {
    if (this.#head === this.#items.length) return undefined;
    const item = this.#items[this.#head]!;
    this.#items[this.#head++] = undefined;
    if (this.#head === this.#items.length) {
      this.#items = [];
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#items.length) {
      this.#items = this.#items.slice(this.#head); // drop the consumed front now and then: amortised O(1)
      this.#head = 0;
    }
    this.#cost -= costOf(item);
    return item;
  }
}

function costOf(item: QueueItem): number {
  return typeof item === 'string' ? 0 : item.length + ADMIN_QUEUED_LINE_OVERHEAD_BYTES;
}
