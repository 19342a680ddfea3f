// An idle deadline on the node's timers: fires `onIdle` once `idleMs` pass without a touch while it
// is armed. What socket.setTimeout does for a connection, but on injected time (node/components.ts),
// so nothing in node/ arms a timer the simulation cannot drive.
import type { TimerComponents, TimerHandle } from '../host/timer-components.ts';

export class IdleTimer {
  readonly #timers: TimerComponents;
  readonly #idleMs: number;
  readonly #onIdle: () => void;
  #handle: TimerHandle | undefined;
  #armed = false;

  constructor(timers: TimerComponents, idleMs: number, onIdle: () => void) {
    this.#timers = timers;
    this.#idleMs = idleMs;
    this.#onIdle = onIdle;
  }

  /** Start counting idleness from now. */
  arm(): void {
    this.#armed = true;
    this.#restart();
  }

  /** Stop counting (work in progress is not idleness, or the connection is gone). */
  disarm(): void {
    this.#armed = false;
    this.#timers.clearTimeout(this.#handle);
    this.#handle = undefined;
  }

  /** Activity: when armed, idleness counts from now again. */
  touch(): void {
    if (this.#armed) this.#restart();
  }

  #restart(): void {
    this.#timers.clearTimeout(this.#handle);
    this.#handle = this.#timers.setTimeout(() => {
      this.#handle = undefined;
      this.#armed = false;
      this.#onIdle();
    }, this.#idleMs);
  }
}
