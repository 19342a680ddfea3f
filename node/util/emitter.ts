// A small typed event emitter. Listener exceptions are caught and reported to `onError` instead of
// unwinding into the code that emitted: an embedding program's buggy listener must not break a
// gossip handler or a timer inside the node.

/** Typed emitter with error isolation. */
export class Emitter<E extends { [K in keyof E]: (arg: never) => void }> {
  readonly #listeners = new Map<keyof E, Set<E[keyof E]>>();
  readonly #onError: (err: unknown, event: keyof E) => void;

  constructor(onError: (err: unknown, event: keyof E) => void) {
    this.#onError = onError;
  }

  /** Add a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: E[K]): () => void {
    let set = this.#listeners.get(event);
    if (set === undefined) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Remove a listener. */
  off<K extends keyof E>(event: K, listener: E[K]): void {
    this.#listeners.get(event)?.delete(listener);
  }

  /** Call every listener of `event` with `arg`. */
  emit<K extends keyof E>(event: K, arg: Parameters<E[K]>[0]): void {
    const set = this.#listeners.get(event);
    if (set === undefined) return;
    for (const l of [...set]) {
      try {
        (l as (a: Parameters<E[K]>[0]) => void)(arg);
      } catch (err) {
        this.#onError(err, event);
      }
    }
  }

  /** Drop every listener. */
  clear(): void {
    this.#listeners.clear();
  }
}
