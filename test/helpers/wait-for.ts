// Waiting for conditions with a deadline instead of sleeping a fixed time.

/** Options of waitFor. */
export interface WaitOptions {
  /** Give up after this long, milliseconds. */
  timeoutMs: number;
  /** Poll period, milliseconds (default 10). */
  intervalMs?: number;
}

/**
 * Poll `check` until it returns a value other than undefined/false; resolves to that value.
 * Rejects after timeoutMs with `what` and the last `describe()` output in the message.
 */
export async function waitFor<T>(what: string, check: () => T | undefined | false | Promise<T | undefined | false>, o: WaitOptions, describe?: () => unknown): Promise<T> {
  const deadline = performance.now() + o.timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    if (performance.now() >= deadline) {
      const state = describe === undefined ? '' : ` (last state: ${JSON.stringify(describe())})`;
      throw new Error(`timed out after ${o.timeoutMs} ms waiting for ${what}${state}`);
    }
    await new Promise((r) => setTimeout(r, o.intervalMs ?? 10));
  }
}
