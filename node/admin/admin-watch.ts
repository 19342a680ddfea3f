// A client of a streaming admin method (a watch): one connection, the request, its response, then
// notifications until the node sends `watch.end` (with an error when the watch failed: WATCH_OVERFLOW,
// WATCH_COMPACTED…) or the connection closes. The caller stops it with an AbortSignal.
import { REAL_TIMERS, type TimerComponents } from '../host/timer-components.ts';
import { ADMIN_CALL_TIMEOUT_MS, ADMIN_CLIENT_RESPONSE_BYTES_MAX, AdminCallError, AdminConnection, callError, type ConnectionOptions } from './admin-client.ts';

/** Where a watch goes: the admin socket's path, or a function that opens a connection (a remote admin stream). */
export type WatchTarget = string | ((options: ConnectionOptions) => Promise<AdminConnection>);

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
 * The watch has its connection to itself (the server serves nothing else on it once it starts).
 */
export async function watchAdmin(target: WatchTarget, method: string, params: unknown, opts: WatchOptions): Promise<void> {
  const { signal } = opts;
  const where = typeof target === 'string' ? target : 'the controller';
  let connected: AdminConnection | undefined;
  await new Promise<void>((resolve, reject) => {
    if (signal?.aborted === true) { resolve(); return; }
    let started = false;
    let settled = false;
    const finish = (err: AdminCallError | undefined): void => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      connected?.close();
      if (err === undefined) resolve(); else reject(err);
    };
    const onAbort = (): void => finish(undefined);
    const options: ConnectionOptions = {
      responseBytesMax: opts.lineBytesMax ?? ADMIN_CLIENT_RESPONSE_BYTES_MAX, timers: opts.timers ?? REAL_TIMERS,
      onNotification: (m, p) => {
        if (!started) throw new AdminCallError('BAD_RESPONSE', `${method}: the node sent a notification before the watch started`);
        if (m !== 'watch.end') {
          opts.onNotification(m, p);
          return;
        }
        const e = (p as { error?: unknown } | null)?.error;
        finish(e === undefined ? undefined : callError(e));
      },
      onClose: (failure) => finish(failure ?? new AdminCallError('CONNECTION_CLOSED', `${method}: the node at ${where} closed the connection during the watch (is it stopping?)`)),
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const opened = typeof target === 'string' ? Promise.resolve(new AdminConnection(target, options)) : target(options);
    opened.then((conn) => {
      connected = conn;
      if (settled) { conn.close(); return; }
      conn.request(method, params, opts.timeoutMs ?? ADMIN_CALL_TIMEOUT_MS, (err, result) => {
        if (err !== undefined) { finish(err); return; }
        started = true;
        opts.onStart?.(result);
      });
    }, (err: unknown) => finish(err instanceof AdminCallError ? err : new AdminCallError('CONNECTION_CLOSED', String(err))));
  });
}
