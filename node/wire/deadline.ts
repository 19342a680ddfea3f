// A deadline for one stream operation. AbortSignal.timeout leaves a timer behind that fires after
// the operation is long done (building a DOMException and dispatching to listeners), and
// AbortSignal.any tracks its sources with weak references: both show in profiles of nodes that send
// thousands of frames a second. One controller, one cleared timer and one listener cost less. The
// timer runs on the node's own timers (node/components.ts), so a simulation drives it in virtual time.
import type { TimerComponents } from '../host/timer-components.ts';

/** Why a deadline-bound operation failed: the deadline passed (`timedOut`) or the operation threw. */
export type DeadlineErrorMapper = (err: unknown, timedOut: boolean) => Error;

/**
 * Run `op` with a signal that aborts when `signal` does or after `timeoutMs` on `timers` (no timer
 * when it is not finite); errors go through `mapError`, told whether the deadline was the cause.
 */
export async function withDeadline<T>(
  timers: TimerComponents, timeoutMs: number, signal: AbortSignal | undefined, op: (signal: AbortSignal | undefined) => Promise<T>, mapError: DeadlineErrorMapper,
): Promise<T> {
  if (!Number.isFinite(timeoutMs)) {
    try {
      return await op(signal);
    } catch (err) {
      throw mapError(err, false);
    }
  }
  const ac = new AbortController();
  let timedOut = false;
  const timer = timers.setTimeout(() => {
    timedOut = true;
    ac.abort(new DOMException('stream deadline passed', 'TimeoutError'));
  }, timeoutMs);
  const onAbort = (): void => ac.abort(signal!.reason);
  if (signal?.aborted === true) ac.abort(signal.reason);
  else signal?.addEventListener('abort', onAbort, { once: true });
  try {
    return await op(ac.signal);
  } catch (err) {
    throw mapError(err, timedOut);
  } finally {
    timers.clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}
