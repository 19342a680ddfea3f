// When a just-started controller accepts writes. createNode resolves once the store is open and the
// node listens; its peers are still being dialed and authenticated then, so for a moment (about half a
// second on loopback) a write is FENCED (no quorum yet) and a quorum write finds too few controllers.
// ControllerNode.ready() waits for that moment: writes not fenced and enough controllers reachable for
// a quorum write. It re-checks on every fence transition and every READY_POLL_MS (what replication
// reaches has no event), and gives up at the deadline or when aborted, saying why.
import { every, type TimerComponents } from '../components.ts';
import { NovaEdgeError } from '../errors.ts';

/** How long ready() waits by default, ms. */
export const READY_TIMEOUT_MS = 30_000;
/** How often ready() re-checks besides on fence transitions, ms. */
export const READY_POLL_MS = 20;

/** Options of ControllerNode.ready(). */
export interface ReadyOptions {
  /** Give up after this long, ms (default READY_TIMEOUT_MS). */
  timeoutMs?: number;
  /** Give up when this signal aborts. */
  signal?: AbortSignal;
}

/** ready() gave up: stable code NOT_READY; `reason` is the last thing that kept writes refused. */
export class NotReadyError extends NovaEdgeError {
  readonly code = 'NOT_READY';
  readonly reason: string;
  constructor(message: string, reason: string, options?: ErrorOptions) {
    super(message, options);
    this.reason = reason;
  }
}

/** What ready() reads from the controller. */
export interface Writability {
  /** What keeps writes refused now, or undefined when they are accepted. */
  blocker(): string | undefined;
  /** True once the node is stopped: it will never accept writes (ready() rejects at once). */
  stopped(): boolean;
  /** Subscribe to events after which it is worth checking again; returns the unsubscribe function. */
  changed(listener: () => void): () => void;
}

/**
 * Resolve once nothing keeps writes refused; reject with NotReadyError naming the last blocker at the
 * deadline, on abort, or when the node stops.
 */
export function waitUntilWritable(timers: TimerComponents, w: Writability, o: ReadyOptions = {}): Promise<void> {
  const { blocker } = w;
  const timeoutMs = o.timeoutMs ?? READY_TIMEOUT_MS;
  return new Promise<void>((resolve, reject) => {
    if (w.stopped()) return reject(new NotReadyError('ready(): the node is stopped', 'STOPPED'));
    let last = blocker();
    if (last === undefined) return resolve();
    if (o.signal?.aborted === true) return reject(new NotReadyError(`ready() aborted: ${last}`, last, { cause: o.signal.reason }));
    const cleanup: Array<() => void> = [];
    const finish = (err?: NotReadyError): void => {
      for (const off of cleanup.splice(0)) off();
      if (err === undefined) resolve(); else reject(err);
    };
    const check = (): void => {
      if (w.stopped()) return finish(new NotReadyError('ready(): the node stopped before it accepted writes', 'STOPPED'));
      last = blocker();
      if (last === undefined) finish();
    };
    cleanup.push(w.changed(check), every(timers, READY_POLL_MS, check));
    const deadline = timers.setTimeout(() => finish(new NotReadyError(`not accepting writes after ${timeoutMs} ms: ${last}`, last!)), timeoutMs);
    cleanup.push(() => timers.clearTimeout(deadline));
    if (o.signal !== undefined) {
      const signal = o.signal;
      const onAbort = (): void => finish(new NotReadyError(`ready() aborted: ${last}`, last!, { cause: signal.reason }));
      signal.addEventListener('abort', onAbort, { once: true });
      cleanup.push(() => signal.removeEventListener('abort', onAbort));
    }
  });
}
