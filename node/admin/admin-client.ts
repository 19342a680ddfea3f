// A client of the admin socket: one call per connection, with a deadline. Errors from the node keep
// their stable code (FENCED, NOT_FOUND…); failures to reach the node get client-side codes.
import { connect } from 'node:net';
import { REAL_TIMERS, type TimerComponents } from '../host/timer-components.ts';
import { LineSplitter } from './line-splitter.ts';

/** Default deadline of one call, ms. */
export const ADMIN_CALL_TIMEOUT_MS = 30_000;
/** Default bound on one response line, bytes. */
export const ADMIN_CLIENT_RESPONSE_BYTES_MAX = 256 * 1024 * 1024;

/** Codes of failures on the client side (the node's own codes come from admin-errors.ts). */
export type ClientErrorCode =
  /** Nothing listens at the path (missing socket file, or a stale one). */
  | 'NO_SERVER'
  /** The socket exists but this user may not connect to it. */
  | 'PERMISSION_DENIED'
  /** No answer within the deadline. */
  | 'TIMEOUT'
  /** The node closed the connection without answering. */
  | 'CONNECTION_CLOSED'
  /** The answer is not a JSON-RPC response to this call. */
  | 'BAD_RESPONSE';

/** A failed call: the node's error (code from `error.data.code`) or a client-side failure. */
export class AdminCallError extends Error {
  /** Stable code: an admin error code, or a ClientErrorCode. */
  readonly code: string;
  /** JSON-RPC error code, when the node answered with an error. */
  readonly rpcCode: number | undefined;
  /** `error.data` from the node, when it answered with an error. */
  readonly data: Record<string, unknown> | undefined;
  constructor(code: string, message: string, rpcCode?: number, data?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
    this.rpcCode = rpcCode;
    this.data = data;
  }
}

/** Options of one call. */
export interface CallOptions {
  /** Deadline, ms (default 30 000). */
  timeoutMs?: number;
  /** Largest response accepted, bytes (default 256 MiB). */
  responseBytesMax?: number;
  /** Timers of the deadline (default the real ones: a client is its own entry point). */
  timers?: TimerComponents;
}

const CALL_ID = 1;

/** How an exchange handles the lines the node sends (see adminExchange). */
export interface ExchangeHandlers<T> {
  /**
   * Each line the node sends, in order. `finish` ends the exchange (with a value, or an error);
   * `answered` marks the response as in, which ends the response deadline. A throw ends it too (a
   * non-AdminCallError as BAD_RESPONSE).
   */
  onLine(line: Buffer, finish: (err: AdminCallError | undefined, value?: T) => void, answered: () => void): void;
  /** What the node closing the connection means now (its message), when it ends the exchange. */
  closed(): string;
}

/**
 * One request on a new connection to the admin socket: written once connected, its lines handed to
 * `h.onLine` until it finishes, a deadline on the response, and the connection destroyed at the end.
 * `signal` ends it without an error. Shared by callAdmin (one response) and watchAdmin (a stream).
 */
export function adminExchange<T>(socketPath: string, method: string, params: unknown,
  o: { timeoutMs: number; timers: TimerComponents; lineBytesMax: number; signal?: AbortSignal | undefined }, h: ExchangeHandlers<T>): Promise<T> {
  const splitter = new LineSplitter(o.lineBytesMax);
  const request = `${JSON.stringify({ jsonrpc: '2.0', id: CALL_ID, method, ...(params === undefined ? {} : { params }) })}\n`;
  const { timers, timeoutMs, signal } = o;
  return new Promise<T>((resolve, reject) => {
    const socket = connect(socketPath);
    let settled = false;
    const settle = (err: AdminCallError | undefined, value?: T): void => {
      if (settled) return;
      settled = true;
      timers.clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.destroy();
      if (err === undefined) resolve(value as T); else reject(err);
    };
    const onAbort = (): void => settle(undefined);
    const timer = timers.setTimeout(() => settle(new AdminCallError('TIMEOUT', `${method}: no answer from ${socketPath} within ${timeoutMs} ms`)), timeoutMs);
    if (signal?.aborted === true) { settle(undefined); return; }
    signal?.addEventListener('abort', onAbort, { once: true });
    const answered = (): void => timers.clearTimeout(timer);
    socket.once('connect', () => socket.write(request));
    socket.on('error', (err: NodeJS.ErrnoException) => settle(connectError(socketPath, err)));
    socket.on('close', () => settle(new AdminCallError('CONNECTION_CLOSED', h.closed())));
    socket.on('data', (chunk: Buffer) => {
      const r = splitter.push(chunk);
      for (const line of r.lines) {
        if (settled) return;
        try {
          h.onLine(line, settle, answered);
        } catch (err) {
          settle(err instanceof AdminCallError ? err : new AdminCallError('BAD_RESPONSE', String(err)));
        }
      }
      if (r.overflow) settle(new AdminCallError('BAD_RESPONSE', `${method}: a response line larger than ${splitter.lineBytesMax} bytes`));
    });
  });
}

/** Call `method` on the admin socket at `socketPath`; resolves to the result or throws AdminCallError. */
export function callAdmin<T = unknown>(socketPath: string, method: string, params?: unknown, opts: CallOptions = {}): Promise<T> {
  return adminExchange<T>(socketPath, method, params, {
    timeoutMs: opts.timeoutMs ?? ADMIN_CALL_TIMEOUT_MS, timers: opts.timers ?? REAL_TIMERS, lineBytesMax: opts.responseBytesMax ?? ADMIN_CLIENT_RESPONSE_BYTES_MAX,
  }, {
    onLine: (line, finish) => finish(undefined, parseResponse(line) as T),
    closed: () => `${method}: the node at ${socketPath} closed the connection without answering (is it stopping?)`,
  });
}

/** The client-side error for a failure to connect. */
export function connectError(path: string, err: NodeJS.ErrnoException): AdminCallError {
  switch (err.code) {
    case 'ENOENT':
    case 'ECONNREFUSED':
    case 'ENOTSOCK':
      return new AdminCallError('NO_SERVER', `no node listening at ${path}; is novaedge running? (set --socket or NOVACTL_SOCKET)`, undefined, undefined, { cause: err });
    case 'EACCES':
    case 'EPERM':
      return new AdminCallError('PERMISSION_DENIED', `permission denied on ${path}: the admin socket is owner-only (mode 0600); run as the node's user`, undefined, undefined, { cause: err });
    default:
      return new AdminCallError('CONNECTION_CLOSED', `cannot talk to the node at ${path}: ${err.code ?? err.message}`, undefined, undefined, { cause: err });
  }
}

/** The result of a response line to call id 1; throws AdminCallError for an error response or anything else. */
export function parseResponse(line: Buffer): unknown {
  let msg: unknown;
  try {
    msg = JSON.parse(line.toString('utf8'));
  } catch {
    throw new AdminCallError('BAD_RESPONSE', 'the node answered with something that is not JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg) || (msg as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
    throw new AdminCallError('BAD_RESPONSE', 'the node answered with something that is not a JSON-RPC 2.0 response');
  }
  const m = msg as { id?: unknown; result?: unknown; error?: unknown };
  if (m.error !== undefined) {
    const e = m.error as { code?: unknown; message?: unknown; data?: unknown };
    const data = typeof e.data === 'object' && e.data !== null && !Array.isArray(e.data) ? e.data as Record<string, unknown> : undefined;
    const code = typeof data?.code === 'string' ? data.code : 'UNKNOWN';
    const rpcCode = typeof e.code === 'number' ? e.code : undefined;
    throw new AdminCallError(code, typeof e.message === 'string' ? e.message : 'error without a message', rpcCode, data);
  }
  if (m.id !== CALL_ID || !Object.hasOwn(m, 'result')) throw new AdminCallError('BAD_RESPONSE', 'the node answered another call');
  return m.result;
}
