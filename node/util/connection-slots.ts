// Connection slots of a small local server (the admin socket, the metrics exporter): at most `max`
// connections, and a new client is never locked out by idle ones. When every slot is taken, the
// connection that has been idle the longest (nothing in progress: no request queued, being served
// or being answered) is closed to admit the newcomer; only when every connection is working is the
// newcomer refused. A client that opens connections and sends nothing, or drips a request a byte
// at a time, is idle: it holds a slot only until someone else needs it.

/** What admitting a connection did. */
export type Admission<C> =
  | { admitted: true; evicted: C | undefined }
  | { admitted: false };

/** The slots; `C` is the connection (a socket). */
export class ConnectionSlots<C> {
  readonly max: number;
  // Idle connections in the order they became idle (a Map iterates in insertion order: the first
  // is the one idle the longest). A connection is in exactly one of #idle and #working.
  readonly #idle = new Map<C, true>();
  readonly #working = new Set<C>();

  constructor(max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`ConnectionSlots: max must be a positive integer, got ${max}`);
    this.max = max;
  }

  /** Connections held now. */
  get size(): number {
    return this.#idle.size + this.#working.size;
  }

  /**
   * Take a slot for `c` (idle from now on). When all are taken, the longest-idle connection gives up
   * its slot (the caller closes it); when none is idle, `c` is refused.
   */
  admit(c: C): Admission<C> {
    let evicted: C | undefined;
    if (this.size >= this.max) {
      const first = this.#idle.keys().next();
      if (first.done === true) return { admitted: false };
      evicted = first.value;
      this.#idle.delete(evicted);
    }
    this.#idle.set(c, true);
    return { admitted: true, evicted };
  }

  /** `c` has work in progress: it keeps its slot. */
  working(c: C): void {
    if (this.#idle.delete(c)) this.#working.add(c);
  }

  /** `c` has nothing in progress from now on: it is the newest idle connection. */
  idle(c: C): void {
    if (this.#working.delete(c) || this.#idle.delete(c)) this.#idle.set(c, true);
  }

  /** `c` is gone: free its slot (nothing happens if it was evicted or never admitted). */
  release(c: C): void {
    this.#idle.delete(c);
    this.#working.delete(c);
  }
}
