// The admin server: JSON-RPC 2.0 over a Unix socket (mode 0600), newline-delimited — one request or
// batch per line, one response line per line that needs an answer. Generic over a method table, so
// controllers and agents serve different methods through it.
//
// Pipelining: a client may send many requests on one connection without waiting. Up to
// inFlightPerConnectionMax of them are served at once, started in arrival order and answered as each
// completes, in any order: the client matches answers by id. Requests served at once are not ordered
// against each other (a client that needs B after A waits for A's answer, or sends [A, B] as a batch:
// a batch is one request in flight, its entries served in order and answered as one array).
// Notifications (no id) are served like requests and answered with nothing. A watch (a streaming
// method) is the one request that is ordered: it starts once every request before it on the connection
// has been answered, nothing after it is served, and from its response on the connection carries only
// its notifications (so a client reads them in order, with no response in between).
//
// Bounds: request line bytes, batch length, connections, response bytes, idle time, requests in flight
// per connection, and what one connection may hold. Lines that arrive while the connection is at its
// in-flight bound are queued, and reading stops while they cost more than requestBytesMax (each line
// costs its bytes plus ADMIN_QUEUED_LINE_OVERHEAD_BYTES, so a flood of short lines is bounded too;
// blank lines are dropped by the line splitter, never queued). Responses are written as they come, and
// no further request is started while more than unreadResponseBytesMax of them wait for a client that
// does not read (then the queue fills and reading stops too): a connection holds at most requestBytesMax
// of queued lines, unreadResponseBytesMax of unread responses and the answers of the requests already
// in flight. Nothing a client sends stops the server: bad input gets a JSON-RPC
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
import { errorResponse, parseRequest, resultResponse, type RpcId, type RpcRequest, type RpcResponse } from './rpc-messages.ts';
import { AdminSocketError, prepareSocketPath, removeSocketFile, type FileIdentity } from './socket-file.ts';

/** Default bound on one request line: 8 MiB (an apply carries resources of up to 1 MiB each). */
export const ADMIN_REQUEST_BYTES_MAX = 8 * 1024 * 1024;
/** Default bound on one response line: 64 MiB. */
export const ADMIN_RESPONSE_BYTES_MAX = 64 * 1024 * 1024;
/** Default bound on requests in one batch. */
export const ADMIN_BATCH_LENGTH_MAX = 64;
/** Default bound on the requests of one connection served at once (a batch counts as one). */
export const ADMIN_IN_FLIGHT_PER_CONNECTION_MAX = 64;
/**
 * Default bound on the responses a connection may leave unread before the server stops starting its
 * requests, bytes (beyond the kernel's socket buffer; the answers of requests already in flight are
 * still written).
 */
export const ADMIN_UNREAD_RESPONSE_BYTES_MAX = 1024 * 1024;
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
  /** Most requests of one connection served at once (default 64); later ones wait in its queue. */
  inFlightPerConnectionMax?: number;
  /** Most bytes of responses a client may leave unread before its next request waits (default 1 MiB). */
  unreadResponseBytesMax?: number;
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
  /** Requests (or batches) being served now, every connection. */
  inFlight: number;
  /** Times a connection stopped starting requests because its client left more than unreadResponseBytesMax of responses unread. */
  responsesPaused: number;
  /** Most bytes of responses this server has held for one client (the kernel's socket buffer not included). */
  responseBufferedBytesPeak: number;
  /** Watches open now. */
  watches: number;
  /** Watches ended because the client left more than watchBufferBytesMax unread (slow consumers, disconnected). */
  watchesOverflowed: number;
  /** Most bytes of notifications this server has held for one watching client (the kernel's socket buffer not included); at most watchBufferBytesMax. */
  watchBufferedBytesPeak: number;
}

/** A request line decoded: answered at once (an error, or nothing due), or a request or batch to serve. */
type Decoded =
  | { kind: 'answered'; line: string | undefined }
  | { kind: 'request'; request: RpcRequest; stream: boolean }
  | { kind: 'batch'; entries: unknown[] };

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
  inFlightPerConnectionMax: number;
  unreadResponseBytesMax: number;
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
    inFlightPerConnectionMax: opts.inFlightPerConnectionMax ?? ADMIN_IN_FLIGHT_PER_CONNECTION_MAX,
    unreadResponseBytesMax: opts.unreadResponseBytesMax ?? ADMIN_UNREAD_RESPONSE_BYTES_MAX,
    idleTimeoutMs: opts.idleTimeoutMs ?? ADMIN_IDLE_TIMEOUT_MS,
    watchesMax: opts.watchesMax ?? ADMIN_WATCHES_MAX,
    watchBufferBytesMax: opts.watchBufferBytesMax ?? ADMIN_WATCH_BUFFER_BYTES_MAX,
    timers: opts.timers,
  };
  const connectionsMax = opts.connectionsMax ?? ADMIN_CONNECTIONS_MAX;
  const counters: AdminServerCounters = {
    requests: 0, errors: {}, malformed: 0, oversized: 0, connections: 0, connectionsTotal: 0, connectionsRefused: 0,
    connectionsEvicted: 0, readsPaused: 0, inFlight: 0, responsesPaused: 0, responseBufferedBytesPeak: 0,
    watches: 0, watchesOverflowed: 0, watchBufferedBytesPeak: 0,
  };
  if (!Number.isInteger(limits.inFlightPerConnectionMax) || limits.inFlightPerConnectionMax < 1) {
    throw new RangeError(`inFlightPerConnectionMax must be a positive integer, got ${limits.inFlightPerConnectionMax}`);
  }
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
      responsesPaused: () => { counters.responsesPaused++; },
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

// What a connection tells the server about itself: work in progress or none (for its slot), reading
// paused at the queue bound, and requests held back by unread responses (both counted).
interface ConnectionEvents {
  working(): void;
  idle(): void;
  paused(): void;
  responsesPaused(): void;
}

// What stops a connection from starting the requests after it until those in flight are answered: a
// watch (served alone), the end of the stream, or an oversized line (answered, then the connection closes).
type Barrier = { kind: 'watch'; request: Decoded } | { kind: 'eof' } | { kind: 'oversized' };

// One connection: lines are queued as they arrive; up to inFlightPerConnectionMax are served at once,
// started in order and answered as each completes. Reading goes on while calls are served (so a client
// that goes away is noticed), but stops while the queued lines cost more than requestBytesMax
// (RequestQueue.cost); no request starts while the client leaves more than unreadResponseBytesMax of
// responses unread (the next one starts on 'drain').
function serveConnection(socket: Socket, dispatcher: Dispatcher, limits: Limits, counters: AdminServerCounters, events: ConnectionEvents): void {
  const splitter = new LineSplitter(limits.requestBytesMax);
  const queue = new RequestQueue();
  let overflowQueued = false;
  let inFlight = 0; // requests of this connection being served
  let barrier: Barrier | undefined;
  let held = false; // requests wait for the client to read its responses (counted once per wait)
  let working = false; // as last told to the connection's slot
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
    pump();
  });
  socket.on('end', () => {
    if (watch !== undefined) {
      watch.abort(); // the client hung up: the watch ends
      return;
    }
    const last = splitter.end();
    if (last !== undefined) queue.push(last);
    queue.push('eof');
    pump();
  });
  socket.on('drain', () => pump()); // the client took its responses: the requests held back may start
  socket.once('close', () => {
    done = true;
    idle.disarm();
    watch?.abort();
  });

  // Responses are written as they come; the socket buffers what the client has not taken yet, and
  // pump() starts nothing while that is over its bound. The answers that complete together (a group
  // commit resolves many writes at once) leave in one system call: the socket is corked until the
  // promise callbacks at hand have run.
  let corked = false;
  const uncork = (): void => {
    corked = false;
    socket.uncork();
  };
  const write = (line: string): void => {
    if (socket.destroyed || !socket.writable) return;
    idle.touch();
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(uncork);
    }
    socket.write(`${line}\n`);
    counters.responseBufferedBytesPeak = Math.max(counters.responseBufferedBytesPeak, socket.writableLength);
  };

  const begin = (): void => {
    inFlight++;
    counters.inFlight++;
    idle.disarm(); // a long call (sync, quorum write) is not idleness
  };
  const end = (): void => {
    inFlight--;
    counters.inFlight--;
    if (inFlight === 0 && watch === undefined && !done) idle.arm();
  };

  // Start what may start now, in queue order; then act on a barrier once nothing is in flight.
  function pump(): void {
    while (!done && watch === undefined && barrier === undefined && inFlight < limits.inFlightPerConnectionMax && queue.length > 0) {
      if (socket.writableNeedDrain && socket.writableLength > limits.unreadResponseBytesMax) {
        if (!held) {
          held = true;
          events.responsesPaused();
        }
        break;
      }
      held = false;
      const item = queue.shift()!;
      if (item === 'eof' || item === 'oversized') {
        barrier = { kind: item };
        break;
      }
      const d = dispatcher.decode(item);
      if (d.kind === 'answered') {
        if (d.line !== undefined) write(d.line);
      } else if (d.kind === 'request' && d.stream) {
        barrier = { kind: 'watch', request: d };
      } else {
        begin();
        void dispatcher.serve(d).then((answer) => {
          end();
          if (!done && answer !== undefined) write(answer as string); // only a watch answers with a subscription
          pump();
        });
      }
    }
    if (!done && watch === undefined && barrier?.kind !== 'oversized' && socket.isPaused() && queue.cost <= limits.requestBytesMax) socket.resume();
    if (barrier !== undefined && inFlight === 0 && !done) crossBarrier(barrier);
    const busy = inFlight > 0 || queue.length > 0 || barrier !== undefined || watch !== undefined || socket.writableNeedDrain;
    if (busy !== working && !done) {
      working = busy;
      if (busy) events.working(); else events.idle();
    }
  }

  // Everything before the barrier is answered: end the connection, or start the watch alone.
  function crossBarrier(b: Barrier): void {
    if (b.kind === 'eof') {
      done = true;
      socket.end();
      return;
    }
    if (b.kind === 'oversized') {
      done = true;
      socket.pause();
      write(dispatcher.oversizedLine());
      socket.end(() => socket.destroy());
      return;
    }
    begin();
    void dispatcher.serve(b.request).then((answer) => {
      end();
      if (done) { // the client went away: the answer has nowhere to go
        if (typeof answer === 'object') dispatcher.release();
        return;
      }
      barrier = undefined;
      if (typeof answer === 'object') {
        write(answer.line);
        void serveWatch(answer.subscription);
        return;
      }
      if (answer !== undefined) write(answer); // refused (BUSY, bad params): the connection goes on
      pump();
    });
  }

  // The connection carries one watch from here on: notifications are written as they come while
  // the client takes them (at most watchBufferBytesMax left unread), then a last `watch.end`
  // notification says why it ended, and the connection closes.
  async function serveWatch(subscription: Subscription): Promise<void> {
    const ac = new AbortController();
    watch = ac;
    idle.disarm(); // a quiet watch is not idleness
    splitter.end();
    if (!working) { // a watching connection keeps its slot
      working = true;
      events.working();
    }
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
   * A request line decoded (synchronously): answered already (an error, or nothing due), or a request
   * or batch to serve; `stream` marks a streaming method called alone (a watch).
   */
  decode(buf: Buffer): Decoded {
    let text: string;
    try {
      text = this.#utf8.decode(buf);
    } catch {
      this.#counters.malformed++;
      return { kind: 'answered', line: this.#errorLine(null, rpcError('PARSE_ERROR', 'parse error: request is not valid UTF-8')) };
    }
    if (text.trim() === '') return { kind: 'answered', line: undefined };
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      this.#counters.malformed++;
      return { kind: 'answered', line: this.#errorLine(null, rpcError('PARSE_ERROR', `parse error: ${String((err as Error).message).slice(0, 200)}`)) };
    }
    if (!Array.isArray(msg)) {
      const p = this.#parse(msg);
      if (!('method' in p)) return { kind: 'answered', line: this.#serialize(p) };
      const m = Object.hasOwn(this.#methods, p.method) ? this.#methods[p.method] : undefined;
      return { kind: 'request', request: p, stream: m?.stream === true };
    }
    if (msg.length === 0) {
      this.#counters.malformed++;
      return { kind: 'answered', line: this.#errorLine(null, rpcError('INVALID_REQUEST', 'invalid request: empty batch')) };
    }
    if (msg.length > this.#limits.batchLengthMax) {
      this.#counters.oversized++;
      return { kind: 'answered', line: this.#errorLine(null, rpcError('INVALID_REQUEST', `invalid request: batch of ${msg.length} requests, more than ${this.#limits.batchLengthMax}`)) };
    }
    return { kind: 'batch', entries: msg };
  }

  /**
   * The response line for a decoded request or batch, or undefined when none is due (notifications);
   * for a watch, the response line and the subscription to serve after it. Never rejects.
   */
  async serve(d: Decoded): Promise<string | undefined | { line: string; subscription: Subscription }> {
    try {
      if (d.kind === 'answered') return d.line;
      if (d.kind === 'request') {
        const r = await this.#call(d.request, true);
        if (r instanceof Subscription) return { line: this.#serialize(resultResponse(d.request.id!, r.result)), subscription: r };
        return r === undefined ? undefined : this.#serialize(r);
      }
      const parts: string[] = [];
      for (const entry of d.entries) {
        const p = this.#parse(entry);
        const r = 'method' in p ? await this.#call(p, false) as RpcResponse | undefined : p; // never a subscription in a batch
        if (r !== undefined) parts.push(this.#serialize(r));
      }
      return parts.length === 0 ? undefined : `[${parts.join(',')}]`;
    } catch (err) { // cannot happen: methods' errors are answered; kept so a bug never leaves a request unanswered
      this.#log.error({ err }, 'admin request failed');
      return this.#errorLine(null, rpcError('INTERNAL', `the request failed: ${(err as Error).message}`));
    }
  }

  // A valid request, or the response to an invalid one (counted).
  #parse(entry: unknown): RpcRequest | RpcResponse {
    const p = parseRequest(entry);
    if (p.ok) return p.request;
    this.#counters.malformed++;
    this.count(p.error.data.code);
    return errorResponse(p.id, p.error);
  }

  // One request: its response, or undefined for a notification; a streaming method called `alone`
  // (not in a batch) with an id gives its subscription, counted in `watches` until released.
  async #call(request: RpcRequest, alone: boolean): Promise<RpcResponse | Subscription | undefined> {
    const { id, method, params } = request;
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
