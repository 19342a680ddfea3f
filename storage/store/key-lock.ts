// Serialises operations on one key, in arrival order, while different keys proceed concurrently.
export class KeyLock {
  readonly #tails = new Map<string, Promise<void>>();

  /** Run `fn` once every earlier operation on `key` has finished. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => { release = r; });
    const tail = before.then(() => mine);
    this.#tails.set(key, tail);
    await before;
    try {
      return await fn();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Number of keys with operations in progress. */
  get size(): number {
    return this.#tails.size;
  }
}
