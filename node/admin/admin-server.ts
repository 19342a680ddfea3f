// The admin server: JSON-RPC 2.0 over a Unix socket (mode 0600), newline-delimited — one request or
// batch per line, one response line per line that needs an answer. Generic over a method table, so
// controllers and agents serve different methods through it.
//
// Bounds: request line bytes, batch length, connections, response bytes, idle time, and what the
// lines queued on one connection may cost. One request is in flight per connection; lines that
// arrive meanwhile are queued, and reading stops while they cost more than requestBytesMax (each
// line costs its bytes plus ADMIN_QUEUED_LINE_OVERHEAD_BYTES, so a flood of short lines is bounded
// too; blank lines are dropped by the line splitter, never queued). Nothing a client sends stops the server: bad input gets a JSON-RPC
// error (parse error, invalid request, unknown method, bad params), an oversized line gets an error
// and the connection is closed, and every case is counted. Idle clients cannot lock others out:
// when all connections are taken, the longest-idle one is closed to admit a new client.
import { chmod, lstat } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import type { TimerComponents } from '../host/timer-components.ts';
import { ConnectionSlots } from '../util/connection-slots.ts';
import { IdleTimer } from '../util/idle-timer.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import { rpcError, toRpcError, type AdminErrorCode, type RpcError } from './admin-errors.ts';
import { LineSplitter } from './line-splitter.ts';
import { Subscription, type MethodTable, type NotificationSink } from './method-table.ts';
import { RequestQueue } from './request-queue.ts';
import { errorResponse, parseRequest, resultResponse, type RpcId, type RpcResponse } from './rpc-messages.ts';
import { AdminSocketError, prepareSocketPath, removeSocketFile, type FileIdentity } from './socket-file.ts';

/** Default bound on one request line: 8 MiB (an apply carries resources of up to 1 MiB each). */
export const ADMIN_REQUEST_BYTES_MAX = 8 * 1024 * 1024;
/** Default bound on one response line: 64 MiB. */
export const ADMIN_RESPONSE_BYTES_MAX = 64 * 1024 * 1024;
/** Default bound on requests in one batch. */
export const ADMIN_BATCH_LENGTH_MAX = 64;
/** Default bound on simultaneous connections (at the bound, the longest-idle one makes way for a new client). */
export const ADMIN_CONNECTIONS_MAX = 32;
/**
 * Default idle time after which a connection with no request queued or in flight is closed, ms.
 * novactl makes one call per connection, so an idle connection is a forgotten or hostile one.
 */
export const ADMIN_IDLE_TIMEOUT_MS = 30_000;
/**
 * Default bound on open watches (streaming methods). A watching connection keeps its slot while it
 * lasts, so this leaves connectionsMax - watchesMax slots for calls.
 */
export const ADMIN_WATCHES_MAX = 8;
/**
 * Default bound on the notifications written to a watching connection and not yet taken by the
 * client, bytes. A client that lets more pile up is sent WATCH_OVERFLOW and disconnected.
 */
export const ADMIN_WATCH_BUFFER_BYTES_MAX = 4 * 1024 * 1024;

/** Options of an admin server. */
export interface AdminServerOptions {
  /** Unix socket path (at most 107 bytes); created with mode 0600, removed on close. */
  socketPath: string;
  /** The methods served. */
  methods: MethodTable;
  /** Largest request line, bytes (default 8 MiB). */
  requestBytesMax?: number;
  /** Largest response line, bytes (default 64 MiB); a larger result is answered with an error. */
  responseBytesMax?: number;
  /** Most requests in one batch (default 64). */
  batchLengthMax?: number;
  /**
   * Most simultaneous connections (default 32). A client beyond it is admitted by closing the
   * connection idle the longest; only when every connection has a request queued or in flight is it
   * answered with BUSY and closed.
   */
  connectionsMax?: number;
  /** Idle connections are closed after this long, ms (default 30 000). */
  idleTimeoutMs?: number;
  /** Most watches open at once (default 8); one more is answered with BUSY. */
  watchesMax?: number;
  /** Most bytes of notifications a watching client may leave unread (default 4 MiB); then WATCH_OVERFLOW and disconnect. */
  watchBufferBytesMax?: number;
  /** The node's timers (idle connections, the stale-socket probe). */
  timers: TimerComponents;
  /** Logger (default silent). */
  logger?: Logger;
}

/** Counters of an admin server. */
export interface AdminServerCounters {
  /** Requests dispatched to a method lookup (notifications included). */
  requests: number;
  /** Error responses (and errors of notifications), by stable code. */
  errors: Partial<Record<AdminErrorCode, number>>;
  /** Lines that were not JSON, not UTF-8, or not valid JSON-RPC requests. */
  malformed: number;
  /** Lines longer than requestBytesMax, batches longer than batchLengthMax, results larger than responseBytesMax. */
  oversized: number;
  /** Connections open now. */
  connections: number;
  /** Connections accepted since start. */
  connectionsTotal: number;
  /** Connections refused (BUSY) because connectionsMax were open, every one with a request queued or in flight. */
  connectionsRefused: number;
  /** Idle connections closed to admit a new client when connectionsMax were open. */
  connectionsEvicted: number;
  /** Times a connection stopped being read because its queued lines cost more than requestBytesMax. */
  readsPaused: number;
  /** Watches open now. */
  watches: number;
  /** Watches ended because the client left more than watchBufferBytesMax unread (slow consumers, disconnected). */
  watchesOverflowed: number;
  /** Most bytes of notifications this server has held for one watching client (the kernel's socket buffer not included); at most watchBufferBytesMax. */
  watchBufferedBytesPeak: number;
}

/** A running admin server. */
export interface AdminServer {
  /** The socket path. */
  readonly path: string;
  /** A snapshot of the counters. */
  counters(): AdminServerCounters;
  /** Stop listening, close every connection, remove the socket file. Idempotent. */
  close(): Promise<void>;
}

interface Limits {
  requestBytesMax: number;
  responseBytesMax: number;
  batchLengthMax: number;
  idleTimeoutMs: number;
  watchesMax: number;
  watchBufferBytesMax: number;
  timers: TimerComponents;
}

/** Start an admin server on `socketPath`; refuses when another server answers there. */
export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const log = loggerOrSilent(opts.logger).child({ component: 'admin' });
  const limits: Limits = {
    requestBytesMax: opts.requestBytesMax ?? ADMIN_REQUEST_BYTES_MAX,
    responseBytesMax: opts.responseBytesMax ?? ADMIN_RESPONSE_BYTES_MAX,
    batchLengthMax: opts.batchLengthMax ?? ADMIN_BATCH_LENGTH_MAX,
    idleTimeoutMs: opts.idleTimeoutMs ?? ADMIN_IDLE_TIMEOUT_MS,
    watchesMax: opts.watchesMax ?? ADMIN_WATCHES_MAX,
    watchBufferBytesMax: opts.watchBufferBytesMax ?? ADMIN_WATCH_BUFFER_BYTES_MAX,
    timers: opts.timers,
  };
  const connectionsMax = opts.connectionsMax ?? ADMIN_CONNECTIONS_MAX;
  const counters: AdminServerCounters = {
    requests: 0, errors: {}, malformed: 0, oversized: 0, connections: 0, connectionsTotal: 0, connectionsRefused: 0,
    connectionsEvicted: 0, readsPaused: 0, watches: 0, watchesOverflowed: 0, watchBufferedBytesPeak: 0,
  };
  const sockets = new Set<Socket>();
  const slots = new ConnectionSlots<Socket>(connectionsMax);
  const dispatcher = new Dispatcher(opts.methods, limits, counters, log);

  await prepareSocketPath(opts.socketPath, opts.timers);
  const server = createServer({ allowHalfOpen: true });
  server.on('connection', (socket) => {
    socket.on('error', (err) => log.debug({ err }, 'admin connection error'));
    const admission = slots.admit(socket);
    if (!admission.admitted) {
      counters.connectionsRefused++;
      dispatcher.count('BUSY');
      const line = JSON.stringify(errorResponse(null, rpcError('BUSY', `too many admin connections (${connectionsMax}), every one serving a request; try again`)));
      socket.end(`${line}\n`, () => socket.destroy());
      return;
    }
    if (admission.evicted !== undefined) {
      counters.connectionsEvicted++;
      log.debug({ connectionsMax }, 'admin connections at the bound: closed the longest-idle one for a new client');
      admission.evicted.destroy();
      sockets.delete(admission.evicted);
    }
    sockets.add(socket);
    counters.connections = sockets.size;
    counters.connectionsTotal++;
    socket.once('close', () => {
      sockets.delete(socket);
      slots.release(socket);
      counters.connections = sockets.size;
    });
    serveConnection(socket, dispatcher, limits, counters, {
      working: () => slots.working(socket),
      idle: () => slots.idle(socket),
      paused: () => { counters.readsPaused++; },
    });
  });
  server.on('error', (err) => log.error({ err }, 'admin server error'));
  await listen(server, opts.socketPath);
  let id: FileIdentity | undefined;
  try {
    await chmod(opts.socketPath, 0o600);
    const st = await lstat(opts.socketPath);
    id = { dev: st.dev, ino: st.ino };
  } catch (err) {
    server.close();
    throw err;
  }
  log.info({ path: opts.socketPath }, 'admin socket listening');

  let closing: Promise<void> | undefined;
  return {
    path: opts.socketPath,
    counters: () => ({ ...counters, errors: { ...counters.errors } }),
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        for (const s of sockets) s.destroy();
        await closed;
        await removeSocketFile(opts.socketPath, id);
      })();
      return closing;
    },
  };
}

// Listen with a umask that leaves the socket owner-only from the moment it exists (the chmod that
// follows is for platforms where the umask does not apply to sockets).
async function listen(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(err.code === 'EADDRINUSE'
        ? new AdminSocketError('ADMIN_SOCKET_IN_USE', `another server is listening at ${path}`, { cause: err })
        : new AdminSocketError('ADMIN_SOCKET_UNUSABLE', `cannot listen at ${path} (${err.code ?? err.message})`, { cause: err }));
    };
    server.once('error', onError);
    let old: number | undefined;
    try {
      old = process.umask(0o177);
    } catch {
      old = undefined; // worker threads cannot change the umask; the chmod below still applies
    }
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      if (old !== undefined) process.umask(old);
    }
  });
}

// What a connection tells the server about itself: work in progress or none (for its slot), and
// reading paused at the queue bound (counted).
interface ConnectionEvents {
  working(): void;
  idle(): void;
  paused(): void;
}

// One connection: lines are queued as they arrive and served one at a time, in order. Reading goes
// on while a call is served (so a client that goes away is noticed), but stops while the queued
// lines cost more than requestBytesMax (RequestQueue.cost).
function serveConnection(socket: Socket, dispatcher: Dispatcher, limits: Limits, counters: AdminServerCounters, events: ConnectionEvents): void {
  const splitter = new LineSplitter(limits.requestBytesMax);
  const queue = new RequestQueue();
  let overflowQueued = false;
  let busy = false;
  let done = false; // nothing more will be read or answered
  let watch: AbortController | undefined; // set while the connection carries a watch
  // Idle: nothing read or written for idleTimeoutMs while no call is in flight.
  const idle = new IdleTimer(limits.timers, limits.idleTimeoutMs, () => socket.destroy());
  idle.arm();
  socket.on('data', (chunk: Buffer) => {
    idle.touch();
    if (done || watch !== undefined) return; // a watching connection serves nothing else: input is dropped
    const r = splitter.push(chunk);
    for (const line of r.lines) queue.push(line);
    if (r.overflow && !overflowQueued) {
      overflowQueued = true;
      queue.push('oversized');
    }
    if (queue.cost > limits.requestBytesMax && !socket.isPaused()) {
      socket.pause();
      events.paused();
    }
    void pump();
  });
  socket.on('end', () => {
    if (watch !== undefined) {
      watch.abort(); // the client hung up: the watch ends
      return;
    }
    const last = splitter.end();
    if (last !== undefined) queue.push(last);
    queue.push('eof');
    void pump();
  });
  socket.once('close', () => {
    done = true;
    idle.disarm();
    watch?.abort();
  });

  const write = (line: string): Promise<void> => new Promise((resolve) => {
    if (socket.destroyed || !socket.writable) { resolve(); return; }
    idle.touch();
    if (socket.write(`${line}\n`)) { resolve(); return; }
    const finish = (): void => {
      socket.off('drain', finish);
      socket.off('close', finish);
      resolve();
    };
    socket.on('drain', finish);
    socket.on('close', finish);
  });

  async function pump(): Promise<void> {
    if (busy || queue.length === 0) return;
    busy = true;
    events.working();
    try {
      while (queue.length > 0 && !done) {
        const item = queue.shift()!;
        if (item === 'eof') {
          done = true;
          socket.end();
          return;
        }
        if (item === 'oversized') {
          done = true;
          socket.pause();
          await write(dispatcher.oversizedLine());
          socket.end(() => socket.destroy());
          return;
        }
        if (queue.cost <= limits.requestBytesMax && socket.isPaused()) socket.resume();
        idle.disarm(); // a long call (sync, quorum write) is not idleness
        const answer = await dispatcher.line(item);
        const out = typeof answer === 'object' ? answer.line : answer;
        if (done) { // the client went away: the answer has nowhere to go
          if (typeof answer === 'object') dispatcher.release();
          return;
        }
        idle.arm();
        if (out !== undefined) await write(out);
        if (typeof answer === 'object') {
          await serveWatch(answer.subscription);
          return;
        }
      }
    } finally {
      busy = false;
      if (!done) events.idle();
    }
  }

  // The connection carries one watch from here on: notifications are written as they come while
  // the client takes them (at most watchBufferBytesMax left unread), then a last `watch.end`
  // notification says why it ended, and the connection closes.
  async function serveWatch(subscription: Subscription): Promise<void> {
    const ac = new AbortController();
    watch = ac;
    idle.disarm(); // a quiet watch is not idleness
    splitter.end();
    let failure: RpcError | undefined;
    const sink: NotificationSink = {
      signal: ac.signal,
      notify(method, params) {
        if (ac.signal.aborted || done) return;
        const line = `${JSON.stringify({ jsonrpc: '2.0', method, params })}\n`;
        if (socket.writableLength + line.length > limits.watchBufferBytesMax) {
          counters.watchesOverflowed++;
          dispatcher.count('WATCH_OVERFLOW');
          failure = rpcError('WATCH_OVERFLOW', `the client left more than ${limits.watchBufferBytesMax} bytes of notifications unread (watchBufferBytesMax): watch ended; resume from the last seq received`);
          ac.abort();
          return;
        }
        socket.write(line);
        counters.watchBufferedBytesPeak = Math.max(counters.watchBufferedBytesPeak, socket.writableLength);
      },
    };
    try {
      await subscription.run(sink);
    } catch (err) {
      failure ??= toRpcError(err);
      dispatcher.count(failure.data.code);
    } finally {
      dispatcher.release();
    }
    done = true;
    if (socket.destroyed) return;
    socket.end(`${JSON.stringify({ jsonrpc: '2.0', method: 'watch.end', params: failure === undefined ? {} : { error: failure } })}\n`);
    // A client that does not read may never take the rest: closed for good after the idle timeout.
    const timer = limits.timers.setTimeout(() => socket.destroy(), limits.idleTimeoutMs);
    socket.once('close', () => limits.timers.clearTimeout(timer));
  }
}

// Turns request lines into response lines: decoding, validation, dispatch, serialisation, counting.
class Dispatcher {
  readonly #methods: MethodTable;
  readonly #limits: Limits;
  readonly #counters: AdminServerCounters;
  readonly #log: Logger;
  readonly #utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(methods: MethodTable, limits: Limits, counters: AdminServerCounters, log: Logger) {
    this.#methods = methods;
    this.#limits = limits;
    this.#counters = counters;
    this.#log = log;
  }

  count(code: AdminErrorCode): void {
    this.#counters.errors[code] = (this.#counters.errors[code] ?? 0) + 1;
  }

  oversizedLine(): string {
    this.#counters.oversized++;
    return this.#errorLine(null, rpcError('INVALID_REQUEST',
      `request larger than ${this.#limits.requestBytesMax} bytes (requestBytesMax); closing the connection`));
  }

  /** A watch ended: its place is free. */
  release(): void {
    this.#counters.watches--;
  }

  /**
   * The response line for a request line, or undefined when none is due (notifications, blank
   * line); for a streaming method, the response line and the subscription to serve after it.
   */
  async line(buf: Buffer): Promise<string | undefined | { line: string; subscription: Subscription }> {
    let text: string;
    try {
      text = this.#utf8.decode(buf);
    } catch {
      this.#counters.malformed++;
      return this.#errorLine(null, rpcError('PARSE_ERROR', 'parse error: request is not valid UTF-8'));
    }
    if (text.trim() === '') return undefined;
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      this.#counters.malformed++;
      return this.#errorLine(null, rpcError('PARSE_ERROR', `parse error: ${String((err as Error).message).slice(0, 200)}`));
    }
    if (!Array.isArray(msg)) {
      const r = await this.#entry(msg, true);
      if (r instanceof Subscription) {
        const line = this.#serialize(resultResponse((msg as { id: RpcId }).id, r.result));
        return { line, subscription: r };
      }
      return r === undefined ? undefined : this.#serialize(r);
    }
    if (msg.length === 0) {
      this.#counters.malformed++;
      return this.#errorLine(null, rpcError('INVALID_REQUEST', 'invalid request: empty batch'));
    }
    if (msg.length > this.#limits.batchLengthMax) {
      this.#counters.oversized++;
      return this.#errorLine(null, rpcError('INVALID_REQUEST', `invalid request: batch of ${msg.length} requests, more than ${this.#limits.batchLengthMax}`));
    }
    const parts: string[] = [];
    for (const entry of msg) {
      const r = await this.#entry(entry, false) as RpcResponse | undefined; // never a subscription in a batch
      if (r !== undefined) parts.push(this.#serialize(r));
    }
    return parts.length === 0 ? undefined : `[${parts.join(',')}]`;
  }

  // One request: its response, or undefined for a notification; a streaming method called `alone`
  // (not in a batch) with an id gives its subscription, counted in `watches` until released.
  async #entry(entry: unknown, alone: boolean): Promise<RpcResponse | Subscription | undefined> {
    const p = parseRequest(entry);
    if (!p.ok) {
      this.#counters.malformed++;
      this.count(p.error.data.code);
      return errorResponse(p.id, p.error);
    }
    const { id, method, params } = p.request;
    this.#counters.requests++;
    let response: RpcResponse;
    if (!Object.hasOwn(this.#methods, method)) {
      response = errorResponse(id ?? null, rpcError('METHOD_NOT_FOUND', `unknown method "${method}"`));
    } else {
      try {
        const m = this.#methods[method]!;
        if (m.stream === true) return await this.#subscribe(m, id, params, alone);
        response = resultResponse(id ?? null, await m.handler(m.params(params)));
      } catch (err) {
        const e = toRpcError(err);
        if (e.data.code === 'INTERNAL') this.#log.error({ err, method }, 'admin method failed');
        response = errorResponse(id ?? null, e);
      }
    }
    if ('error' in response) this.count(response.error.data.code);
    return id === undefined ? undefined : response;
  }

  async #subscribe(m: MethodTable[string], id: RpcId | undefined, params: unknown, alone: boolean): Promise<RpcResponse | Subscription | undefined> {
    const refuse = (code: AdminErrorCode, message: string): RpcResponse | undefined => {
      this.count(code);
      return id === undefined ? undefined : errorResponse(id, rpcError(code, message));
    };
    if (!alone || id === undefined) return refuse('INVALID_REQUEST', 'invalid request: a watch must be a request of its own, with an id (not in a batch, not a notification)');
    if (this.#counters.watches >= this.#limits.watchesMax) return refuse('BUSY', `too many watches open (${this.#limits.watchesMax}, watchesMax); try again later`);
    this.#counters.watches++;
    try {
      const sub = await m.handler(m.params(params));
      if (!(sub instanceof Subscription)) throw new TypeError('a streaming method must resolve to a Subscription');
      return sub;
    } catch (err) {
      this.#counters.watches--;
      const e = toRpcError(err);
      if (e.data.code === 'INTERNAL') this.#log.error({ err }, 'admin watch failed to start');
      this.count(e.data.code);
      return errorResponse(id, e);
    }
  }

  #serialize(r: RpcResponse): string {
    let text: string;
    try {
      text = JSON.stringify(r);
    } catch (err) {
      this.#log.error({ err }, 'admin result is not serialisable');
      return this.#errorLine(r.id, rpcError('INTERNAL', `result cannot be encoded: ${(err as Error).message}`));
    }
    if (text.length > this.#limits.responseBytesMax / 3 && Buffer.byteLength(text) > this.#limits.responseBytesMax) {
      this.#counters.oversized++;
      return this.#errorLine(r.id, rpcError('INVALID_ARGUMENT',
        `result of ${Buffer.byteLength(text)} bytes is larger than ${this.#limits.responseBytesMax} (responseBytesMax); ask for less (e.g. a limit)`));
    }
    return text;
  }

  #errorLine(id: RpcId, error: RpcError): string {
    this.count(error.data.code);
    return JSON.stringify(errorResponse(id, error));
  }
}
