// A client of a streaming admin method (a watch): one connection, the request, its response, then
// notifications until the node sends `watch.end` (with an error when the watch failed: WATCH_OVERFLOW,
// WATCH_COMPACTED…) or the connection closes. The caller stops it with an AbortSignal.
import { connect } from 'node:net';
import { REAL_TIMERS, type TimerComponents } from '../host/timer-components.ts';
import { ADMIN_CALL_TIMEOUT_MS, ADMIN_CLIENT_RESPONSE_BYTES_MAX, AdminCallError, connectError, parseResponse } from './admin-client.ts';
import { LineSplitter } from './line-splitter.ts';

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
  const timers = opts.timers ?? REAL_TIMERS;
  const timeoutMs = opts.timeoutMs ?? ADMIN_CALL_TIMEOUT_MS;
  const splitter = new LineSplitter(opts.lineBytesMax ?? ADMIN_CLIENT_RESPONSE_BYTES_MAX);
  return new Promise<void>((resolve, reject) => {
    const socket = connect(socketPath);
    let started = false;
    let settled = false;
    const settle = (err?: AdminCallError): void => {
      if (settled) return;
      settled = true;
      timers.clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err === undefined) resolve(); else reject(err);
    };
    const onAbort = (): void => settle();
    if (opts.signal?.aborted === true) { settle(); return; }
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = timers.setTimeout(() => settle(new AdminCallError('TIMEOUT', `${method}: no answer from ${socketPath} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', () => socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: 1, method, ...(params === undefined ? {} : { params }) })}\n`));
    socket.on('error', (err: NodeJS.ErrnoException) => settle(connectError(socketPath, err)));
    socket.on('close', () => settle(new AdminCallError('CONNECTION_CLOSED', `${method}: the node at ${socketPath} closed the connection${started ? ' during the watch' : ' without answering'} (is it stopping?)`)));
    socket.on('data', (chunk: Buffer) => {
      const r = splitter.push(chunk);
      for (const line of r.lines) {
        if (settled) return;
        try {
          if (!started) {
            const result = parseResponse(line);
            started = true;
            timers.clearTimeout(timer);
            opts.onStart?.(result);
            continue;
          }
          const n = parseNotification(line);
          if (n.method !== 'watch.end') {
            opts.onNotification(n.method, n.params);
            continue;
          }
          const e = (n.params as { error?: { message?: unknown; code?: unknown; data?: { code?: unknown } } } | null)?.error;
          settle(e === undefined ? undefined : new AdminCallError(typeof e.data?.code === 'string' ? e.data.code : 'UNKNOWN',
            typeof e.message === 'string' ? e.message : 'the watch failed', typeof e.code === 'number' ? e.code : undefined, e.data as Record<string, unknown>));
        } catch (err) {
          settle(err instanceof AdminCallError ? err : new AdminCallError('BAD_RESPONSE', String(err)));
        }
      }
      if (r.overflow) settle(new AdminCallError('BAD_RESPONSE', `${method}: a line larger than ${splitter.lineBytesMax} bytes`));
    });
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
