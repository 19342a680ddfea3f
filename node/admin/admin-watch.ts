// A client of a streaming admin method (a watch): one connection, the request, its response, then
// notifications until the node sends `watch.end` (with an error when the watch failed: WATCH_OVERFLOW,
// WATCH_COMPACTED…) or the connection closes. The caller stops it with an AbortSignal.
import { REAL_TIMERS, type TimerComponents } from '../host/timer-components.ts';
import { ADMIN_CALL_TIMEOUT_MS, ADMIN_CLIENT_RESPONSE_BYTES_MAX, AdminCallError, adminExchange, parseResponse } from './admin-client.ts';

/** Options of a watch. */
export interface WatchOptions {
  /** Deadline of the response to the request (not of the stream), ms (default 30 000). */
  timeoutMs?: number;
  /** Largest line accepted, bytes (default 256 MiB). */
  lineBytesMax?: number;
  /** Stops the watch (the promise resolves). */
  signal?: AbortSignal;
  timers?: TimerComponents;
  /** The response's result, before any notification. */
  onStart?(result: unknown): void;
  /** Each notification but the last (`watch.end`). */
  onNotification(method: string, params: unknown): void;
}

/**
 * Call the streaming `method` and deliver its notifications; resolves when the node ends the stream
 * without an error or `signal` aborts, rejects with AdminCallError (the node's code, or a client code).
 */
export function watchAdmin(socketPath: string, method: string, params: unknown, opts: WatchOptions): Promise<void> {
  let started = false;
  return adminExchange<void>(socketPath, method, params, {
    timeoutMs: opts.timeoutMs ?? ADMIN_CALL_TIMEOUT_MS, timers: opts.timers ?? REAL_TIMERS,
    lineBytesMax: opts.lineBytesMax ?? ADMIN_CLIENT_RESPONSE_BYTES_MAX, signal: opts.signal,
  }, {
    onLine: (line, finish, answered) => {
      if (!started) {
        const result = parseResponse(line);
        started = true;
        answered();
        opts.onStart?.(result);
        return;
      }
      const n = parseNotification(line);
      if (n.method !== 'watch.end') {
        opts.onNotification(n.method, n.params);
        return;
      }
      const e = (n.params as { error?: { message?: unknown; code?: unknown; data?: { code?: unknown } } } | null)?.error;
      finish(e === undefined ? undefined : new AdminCallError(typeof e.data?.code === 'string' ? e.data.code : 'UNKNOWN',
        typeof e.message === 'string' ? e.message : 'the watch failed', typeof e.code === 'number' ? e.code : undefined, e.data as Record<string, unknown>));
    },
    closed: () => `${method}: the node at ${socketPath} closed the connection${started ? ' during the watch' : ' without answering'} (is it stopping?)`,
  });
}

function parseNotification(line: Buffer): { method: string; params: unknown } {
  let msg: unknown;
  try {
    msg = JSON.parse(line.toString('utf8'));
  } catch {
    throw new AdminCallError('BAD_RESPONSE', 'the node sent something that is not JSON');
  }
  const m = msg as { jsonrpc?: unknown; method?: unknown; params?: unknown; id?: unknown };
  if (typeof msg !== 'object' || msg === null || m.jsonrpc !== '2.0' || typeof m.method !== 'string' || Object.hasOwn(m, 'id')) {
    throw new AdminCallError('BAD_RESPONSE', 'the node sent something that is not a JSON-RPC 2.0 notification');
  }
  return { method: m.method, params: m.params };
}
