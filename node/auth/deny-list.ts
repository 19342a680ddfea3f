// Peers refused recently. A peer whose certificate was refused, or that spoke garbage on the auth
// protocol, may not reconnect (nor be dialed) until its entry expires, so a misconfigured or hostile
// node cannot make this node redo Noise handshakes and signature checks in a tight loop.
// Bounded: past `entriesMax` the oldest entry is dropped.

/** Default bound on deny-list entries. */
export const DENY_LIST_ENTRIES_MAX = 4096;

/** Peer IDs denied until a wall-clock time. */
export class DenyList {
  readonly #until = new Map<string, number>();
  readonly entriesMax: number;

  constructor(entriesMax = DENY_LIST_ENTRIES_MAX) {
    if (!(Number.isSafeInteger(entriesMax) && entriesMax >= 1)) throw new Error('DenyList: entriesMax must be >= 1');
    this.entriesMax = entriesMax;
  }

  /** Deny `peerId` until `untilMs`. */
  deny(peerId: string, untilMs: number): void {
    this.#until.delete(peerId); // re-insert at the end: Map order is insertion order
    this.#until.set(peerId, untilMs);
    while (this.#until.size > this.entriesMax) {
      const oldest = this.#until.keys().next().value;
      if (oldest === undefined) break;
      this.#until.delete(oldest);
    }
  }

  /** Whether `peerId` is denied at `nowMs`. */
  /** Lift the denial of `peerId`, if any. */
  lift(peerId: string): void {
    this.#until.delete(peerId);
  }

  isDenied(peerId: string, nowMs: number): boolean {
    const until = this.#until.get(peerId);
    if (until === undefined) return false;
    if (nowMs < until) return true;
    this.#until.delete(peerId);
    return false;
  }

  /** Drop expired entries. */
  prune(nowMs: number): void {
    for (const [p, until] of this.#until) if (nowMs >= until) this.#until.delete(p);
  }

  /** Entries held. */
  get size(): number {
    return this.#until.size;
  }
}
