// The admin API's engine: JSON-RPC 2.0, newline-delimited — one request or batch per line, one
// response line per line that needs an answer — over any byte stream (a Node Duplex): the Unix socket
// (admin-server.ts) and the remote admin protocol over libp2p (remote-admin.ts) hand it their
// connections, with the caller. Generic over a method table, so controllers and agents serve
// different methods through it; the caller decides which methods it may call (admin-dispatcher.ts).
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
import type { Duplex } from 'node:stream';
import type { TimerComponents } from '../host/timer-components.ts';
import type { ClientRole } from '../identity/roles.ts';
import { ConnectionSlots } from '../util/connection-slots.ts';
import { IdleTimer } from '../util/idle-timer.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import { Dispatcher } from './admin-dispatcher.ts';
import { rpcError, toRpcError, type AdminErrorCode, type RpcError } from './admin-errors.ts';
import { LineSplitter } from './line-splitter.ts';
import type { MethodTable, NotificationSink, Subscription } from './method-table.ts';
import { RequestQueue } from './request-queue.ts';
import { errorResponse, type RpcRequest } from './rpc-messages.ts';

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

/** Options of an admin service (the socket server's and the remote admin protocol's). */
export interface AdminServiceOptions {
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
  /** Logger component name (default 'admin'). */
  component?: string;
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
  /** Calls from remote clients, by `<role> <method>` (unknown methods as `<role> ?`). */
  remoteCalls: Record<string, number>;
}

/** A request line decoded: answered at once (an error, or nothing due), or a request or batch to serve. */
export type Decoded =
  | { kind: 'answered'; line: string | undefined }
  | { kind: 'request'; request: RpcRequest; stream: boolean }
  | { kind: 'batch'; entries: unknown[] };


export interface Limits {
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

/** Who is calling: the local socket (its file mode is the access control) or a remote client authenticated by its certificate. */
export type AdminCaller =
  | { kind: 'local' }
  | { kind: 'remote'; role: ClientRole; name: string; peerId: string };

/** The local caller. */
export const LOCAL_CALLER: AdminCaller = Object.freeze({ kind: 'local' });

/**
 * The admin API's engine over any byte stream: the socket server (admin-server.ts) and the remote
 * admin protocol (remote-admin.ts) each hand it their connections with the caller.
 */
export class AdminService {
  readonly #limits: Limits;
  readonly #counters: AdminServerCounters;
  readonly #dispatcher: Dispatcher;
  readonly #slots: ConnectionSlots<Duplex>;
  readonly #conns = new Set<Duplex>();
  readonly #connectionsMax: number;
  readonly #log: Logger;

  constructor(opts: AdminServiceOptions) {
    this.#log = loggerOrSilent(opts.logger).child({ component: opts.component ?? 'admin' });
    this.#limits = {
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
    this.#connectionsMax = opts.connectionsMax ?? ADMIN_CONNECTIONS_MAX;
    this.#counters = {
      requests: 0, errors: {}, malformed: 0, oversized: 0, connections: 0, connectionsTotal: 0, connectionsRefused: 0,
      connectionsEvicted: 0, readsPaused: 0, inFlight: 0, responsesPaused: 0, responseBufferedBytesPeak: 0,
      watches: 0, watchesOverflowed: 0, watchBufferedBytesPeak: 0, remoteCalls: {},
    };
    if (!Number.isInteger(this.#limits.inFlightPerConnectionMax) || this.#limits.inFlightPerConnectionMax < 1) {
      throw new RangeError(`inFlightPerConnectionMax must be a positive integer, got ${this.#limits.inFlightPerConnectionMax}`);
    }
    this.#slots = new ConnectionSlots<Duplex>(this.#connectionsMax);
    this.#dispatcher = new Dispatcher(opts.methods, this.#limits, this.#counters, this.#log);
  }

  /** Serve one connection for `caller` until it ends (or refuse it with BUSY at the connection bound). */
  accept(socket: Duplex, caller: AdminCaller): void {
    const counters = this.#counters;
    const slots = this.#slots;
    socket.on('error', (err) => this.#log.debug({ err }, 'admin connection error'));
    const admission = slots.admit(socket);
    if (!admission.admitted) {
      counters.connectionsRefused++;
      this.#dispatcher.count('BUSY');
      const line = JSON.stringify(errorResponse(null, rpcError('BUSY', `too many admin connections (${this.#connectionsMax}), every one serving a request; try again`)));
      socket.end(`${line}\n`, () => socket.destroy());
      return;
    }
    if (admission.evicted !== undefined) {
      counters.connectionsEvicted++;
      this.#log.debug({ connectionsMax: this.#connectionsMax }, 'admin connections at the bound: closed the longest-idle one for a new client');
      admission.evicted.destroy();
      this.#conns.delete(admission.evicted);
    }
    this.#conns.add(socket);
    counters.connections = this.#conns.size;
    counters.connectionsTotal++;
    socket.once('close', () => {
      this.#conns.delete(socket);
      slots.release(socket);
      counters.connections = this.#conns.size;
    });
    serveConnection(socket, caller, this.#dispatcher, this.#limits, counters, {
      working: () => slots.working(socket),
      idle: () => slots.idle(socket),
      paused: () => { counters.readsPaused++; },
      responsesPaused: () => { counters.responsesPaused++; },
    });
  }

  /** A snapshot of the counters. */
  counters(): AdminServerCounters {
    return { ...this.#counters, errors: { ...this.#counters.errors }, remoteCalls: { ...this.#counters.remoteCalls } };
  }

  /** Close every connection now. */
  closeAll(): void {
    for (const s of this.#conns) s.destroy();
  }
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
function serveConnection(socket: Duplex, caller: AdminCaller, dispatcher: Dispatcher, limits: Limits, counters: AdminServerCounters, events: ConnectionEvents): void {
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
        void dispatcher.serve(d, caller).then((answer) => {
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
    void dispatcher.serve(b.request, caller).then((answer) => {
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
