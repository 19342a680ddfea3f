// Timers on a clock that moves only when a test says: TimerComponents (node/components.ts) for unit
// tests of the components that run timers (link liveness, the reconnector, the write fence). Each due
// timer runs at its own moment, in order; the async advance lets promises settle around each one.
import type { TimerComponents } from '../../node/host/timer-components.ts';

/** Macrotask turns an async advance waits for promises to settle, before and after each timer. */
const SETTLE_TURNS = 5;

export class ManualTimers implements TimerComponents {
  now: number;
  #next = 1;
  readonly #timers = new Map<number, { at: number; fn: () => void }>();

  constructor(startMs = 0) {
    this.now = startMs;
  }

  nowMs = (): number => this.now;

  setTimeout = (fn: () => void, ms: number): number => {
    const id = this.#next++;
    this.#timers.set(id, { at: this.now + ms, fn });
    return id;
  };

  clearTimeout = (handle: unknown): void => {
    this.#timers.delete(handle as number);
  };

  // The next turn takes no time: the real one.
  setImmediate = (fn: () => void): void => {
    setImmediate(fn);
  };

  /** Timers set and not yet run. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Moves time forward by `ms`, running every timer due on the way at its own moment. */
  advanceSync(ms: number): void {
    const end = this.now + ms;
    for (let t = this.#takeDue(end); t !== undefined; t = this.#takeDue(end)) t();
    this.now = end;
  }

  /** As advanceSync, letting promises settle before and after each timer. */
  async advance(ms: number): Promise<void> {
    const end = this.now + ms;
    for (;;) {
      await settle();
      const t = this.#takeDue(end);
      if (t === undefined) break;
      t();
    }
    this.now = end;
    await settle();
  }

  // The earliest timer due by `end` (time moved to it), removed; undefined when none.
  #takeDue(end: number): (() => void) | undefined {
    let first: [number, { at: number; fn: () => void }] | undefined;
    for (const e of this.#timers) if (e[1].at <= end && (first === undefined || e[1].at < first[1].at)) first = e;
    if (first === undefined) return undefined;
    this.#timers.delete(first[0]);
    this.now = Math.max(this.now, first[1].at);
    return first[1].fn;
  }
}

async function settle(): Promise<void> {
  for (let i = 0; i < SETTLE_TURNS; i++) await new Promise((r) => setImmediate(r));
}
