// Following every change a store commits from now on, for the replicator's relays and the agents'
// config broadcast. A follower that falls behind the store's bounded watch queue resumes from the
// last change it saw (the watch's catch-up scan covers the gap), so it never misses one.
import type { ChangeEvent, Store } from '../../storage/index.ts';

/** Call `onChange` for every change committed after this call, in seq order, until `signal` aborts. */
export async function followChanges(store: Store, signal: AbortSignal, onChange: (change: ChangeEvent) => void): Promise<void> {
  let fromSeq = store.seq;
  // The first watch is registered synchronously, before the first await: a change committed after
  // this call returns is seen.
  while (!signal.aborted) {
    try {
      for await (const change of store.watch({ fromSeq, signal })) {
        fromSeq = change.seq;
        onChange(change);
      }
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'WATCH_OVERFLOW') throw err;
    }
  }
}
