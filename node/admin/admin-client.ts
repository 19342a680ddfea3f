// A client of the admin API, on the Unix socket or on any byte stream (a remote admin stream:
// node/client/). An AdminConnection carries many calls at once (the server pipelines
// them, node/admin/admin-server.ts): each call gets its own id and deadline, answers are matched by
// id in whatever order they come, and losing the connection fails every call still waiting.
// callAdmin is one call on a connection of its own (what novactl does). Errors from the node keep
// their stable code (FENCED, NOT_FOUND…); failures to reach the node get client-side codes.
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { REAL_TIMERS, type TimerComponents, type TimerHandle } from '../host/timer-components.ts';
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
  /** The node closed the connection without answering (or the client closed it first). */
  | 'CONNECTION_CLOSED'
  /** The answer is not a JSON-RPC response to a call made on the connection. */
  | 'BAD_RESPONSE'
  /** Remote: the controller refused this client's certificate, or this client refused the controller's. */
  | 'AUTH_REFUSED'
  /** Remote: the controller does not serve the remote admin protocol. */
  | 'NOT_SERVED'
  /** Remote: the endpoint is neither a TCP multiaddr nor host:port. */
  | 'BAD_ENDPOINT';

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

/** Options of a connection. */
export interface ConnectionOptions {
  /** Largest line accepted, bytes (default 256 MiB); a longer one ends the connection (BAD_RESPONSE). */
  responseBytesMax?: number;
  /** Timers of the deadlines (default the real ones). */
  timers?: TimerComponents;
  /** Each notification the node sends (a watch's); without it a notification is BAD_RESPONSE. A throw ends the connection. */
  onNotification?(method: string, params: unknown): void;
  /**
   * The connection is gone (after every call still waiting has failed): with the failure that ended
   * it (cannot connect, BAD_RESPONSE, an error the node sent for no call in particular), or undefined
   * when the node closed it or close() was called.
   */
  onClose?(failure: AdminCallError | undefined): void;
}

/** A connection already open to the admin API elsewhere (a remote admin stream), and what to call it in messages. */
export interface AdminTransport {
  /** The byte stream. */
  duplex: Duplex;
  /** Where it goes, for messages (e.g. the endpoint's multiaddr). */
  endpoint: string;
}

/** How a call ends: an error, or its result. */
export type CallDone = (err: AdminCallError | undefined, result?: unknown) => void;

interface Pending {
  method: string;
  done: CallDone;
  timer: TimerHandle;
}

/** Why a connection ended, for the call of `method`. */
type Ending = (method: string) => AdminCallError;

/**
 * A connection to the admin socket at `socketPath` (connecting at once; calls made meanwhile are sent
 * once connected). Calls are written as they are made and may all be in flight together.
 */
export class AdminConnection {
  /** The socket path, or the endpoint of a transport: where the calls go, for messages. */
  readonly socketPath: string;
  readonly #socket: Duplex;
  readonly #splitter: LineSplitter;
  readonly #timers: TimerComponents;
  readonly #onNotification: ((method: string, params: unknown) => void) | undefined;
  readonly #onClose: ((failure: AdminCallError | undefined) => void) | undefined;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #ended = false;
  #corked = false;
  readonly #uncork = (): void => {
    this.#corked = false;
    this.#socket.uncork();
  };

  /** Connect to the admin socket at `target`, or use the open transport `target`. */
  constructor(target: string | AdminTransport, opts: ConnectionOptions = {}) {
    const socketPath = typeof target === 'string' ? target : target.endpoint;
    this.socketPath = socketPath;
    this.#splitter = new LineSplitter(opts.responseBytesMax ?? ADMIN_CLIENT_RESPONSE_BYTES_MAX);
    this.#timers = opts.timers ?? REAL_TIMERS;
    this.#onNotification = opts.onNotification;
    this.#onClose = opts.onClose;
    this.#socket = typeof target === 'string' ? connect(target) : target.duplex;
    this.#socket.on('error', (err: NodeJS.ErrnoException) => {
      const e = typeof target === 'string' ? connectError(socketPath, err)
        : new AdminCallError('CONNECTION_CLOSED', `the stream to ${socketPath} failed: ${err.message}`, undefined, undefined, { cause: err });
      this.#end(() => e, e);
    });
    this.#socket.on('close', () => this.#end((method) => new AdminCallError('CONNECTION_CLOSED',
      `${method}: the node at ${socketPath} closed the connection without answering (is it stopping?)`), undefined));
    this.#socket.on('data', (chunk: Buffer) => this.#data(chunk));
  }

  /** Calls waiting for their answer. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Call `method`; resolves to the result or rejects with AdminCallError. */
  call<T = unknown>(method: string, params?: unknown, opts: { timeoutMs?: number } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.request(method, params, opts.timeoutMs ?? ADMIN_CALL_TIMEOUT_MS, (err, result) => {
        if (err === undefined) resolve(result as T); else reject(err);
      });
    });
  }

  /**
   * Call `method` and hand its outcome to `done`, synchronously as the answer is read (so a watch
   * sees its response before the notifications read after it). `done` is called exactly once.
   */
  request(method: string, params: unknown, timeoutMs: number, done: CallDone): void {
    if (this.#ended) {
      done(new AdminCallError('CONNECTION_CLOSED', `${method}: the connection to ${this.socketPath} is closed`));
      return;
    }
    const id = this.#nextId++;
    const timer = this.#timers.setTimeout(() => {
      this.#pending.delete(id); // a late answer is dropped
      done(new AdminCallError('TIMEOUT', `${method}: no answer from ${this.socketPath} within ${timeoutMs} ms`));
    }, timeoutMs);
    this.#pending.set(id, { method, done, timer });
    if (!this.#corked) { // the calls made together leave in one system call
      this.#corked = true;
      this.#socket.cork();
      process.nextTick(this.#uncork);
    }
    this.#socket.write(`${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })}\n`);
  }

  /** Close the connection; calls still waiting fail with CONNECTION_CLOSED. Idempotent. */
  close(): void {
    this.#end((method) => new AdminCallError('CONNECTION_CLOSED', `${method}: the connection was closed before the answer`), undefined);
  }

  #data(chunk: Buffer): void {
    const r = this.#splitter.push(chunk);
    for (const line of r.lines) {
      if (this.#ended) return;
      try {
        this.#line(line);
      } catch (err) {
        const e = err instanceof AdminCallError ? err : new AdminCallError('BAD_RESPONSE', String(err));
        this.#end(() => e, e);
      }
    }
    if (r.overflow && !this.#ended) {
      const e = (method: string): AdminCallError => new AdminCallError('BAD_RESPONSE', `${method}: a response line larger than ${this.#splitter.lineBytesMax} bytes`);
      this.#end(e, e('admin connection'));
    }
  }

  #line(line: Buffer): void {
    const m = decodeLine(line);
    if (m.kind === 'notification') {
      if (this.#onNotification === undefined) throw new AdminCallError('BAD_RESPONSE', `the node sent a notification (${m.method.slice(0, 64)}) where an answer was expected`);
      this.#onNotification(m.method, m.params);
      return;
    }
    if (m.id === null && m.error !== undefined) { // about the connection, not a call (BUSY, oversized request): it ends
      const e = m.error;
      this.#end(() => new AdminCallError(e.code, e.message, e.rpcCode, e.data), e);
      return;
    }
    const p = typeof m.id === 'number' ? this.#pending.get(m.id) : undefined;
    if (p === undefined) {
      if (typeof m.id === 'number' && Number.isInteger(m.id) && m.id >= 1 && m.id < this.#nextId) return; // answer to a call that timed out
      throw new AdminCallError('BAD_RESPONSE', 'the node answered a call that was not made');
    }
    this.#pending.delete(m.id as number);
    this.#timers.clearTimeout(p.timer);
    p.done(m.error, m.result);
  }

  // The connection ends: every call still waiting fails with `ending` (for its method), then onClose.
  #end(ending: Ending, failure: AdminCallError | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#socket.destroy();
    const waiting = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of waiting) {
      this.#timers.clearTimeout(p.timer);
      p.done(ending(p.method));
    }
    this.#onClose?.(failure);
  }
}

/** Call `method` on the admin socket at `socketPath` (a connection of its own); resolves to the result or throws AdminCallError. */
export async function callAdmin<T = unknown>(socketPath: string, method: string, params?: unknown, opts: CallOptions = {}): Promise<T> {
  const c = new AdminConnection(socketPath, { responseBytesMax: opts.responseBytesMax, timers: opts.timers });
  try {
    return await c.call<T>(method, params, { timeoutMs: opts.timeoutMs });
  } finally {
    c.close();
  }
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

/** A line from the node: a response (its id, and its result or error) or a notification. */
type NodeLine =
  | { kind: 'response'; id: unknown; result?: unknown; error?: AdminCallError }
  | { kind: 'notification'; method: string; params: unknown };

// Decode one line; throws AdminCallError BAD_RESPONSE for anything but a JSON-RPC 2.0 response or notification.
function decodeLine(line: Buffer): NodeLine {
  let msg: unknown;
  try {
    msg = JSON.parse(line.toString('utf8'));
  } catch {
    throw new AdminCallError('BAD_RESPONSE', 'the node answered with something that is not JSON');
  }
  if (typeof msg !== 'object' || msg === null || Array.isArray(msg) || (msg as { jsonrpc?: unknown }).jsonrpc !== '2.0') {
    throw new AdminCallError('BAD_RESPONSE', 'the node answered with something that is not a JSON-RPC 2.0 response');
  }
  const m = msg as { id?: unknown; method?: unknown; params?: unknown; result?: unknown; error?: unknown };
  if (!Object.hasOwn(m, 'id')) {
    if (typeof m.method !== 'string') throw new AdminCallError('BAD_RESPONSE', 'the node sent something that is not a JSON-RPC 2.0 notification');
    return { kind: 'notification', method: m.method, params: m.params };
  }
  if (m.error !== undefined) return { kind: 'response', id: m.id, error: callError(m.error) };
  if (!Object.hasOwn(m, 'result')) throw new AdminCallError('BAD_RESPONSE', 'the node answered with neither a result nor an error');
  return { kind: 'response', id: m.id, result: m.result };
}

/** The AdminCallError for a JSON-RPC `error` member (the node's stable code from `error.data.code`). */
export function callError(error: unknown): AdminCallError {
  const e = (typeof error === 'object' && error !== null ? error : {}) as { code?: unknown; message?: unknown; data?: unknown };
  const data = typeof e.data === 'object' && e.data !== null && !Array.isArray(e.data) ? e.data as Record<string, unknown> : undefined;
  const code = typeof data?.code === 'string' ? data.code : 'UNKNOWN';
  const rpcCode = typeof e.code === 'number' ? e.code : undefined;
  return new AdminCallError(code, typeof e.message === 'string' ? e.message : 'error without a message', rpcCode, data);
}
