// One end of a simulated connection, shaped and behaving like libp2p 2.x's ConnectionImpl over yamux:
// newStream negotiates a protocol with the remote (or not, with negotiateFully: false), honours the
// connection's `limits` (an inbound connection not yet authenticated serves only handlers registered
// with runOnLimitedConnection, node/host/pre-auth-limits.ts) and the per-protocol stream limits;
// close() closes every stream gracefully, then the connection (the remote sees its streams end, then
// the connection close); abort() resets (the remote's streams fail). What the remote learns, it learns
// through the network, after the link's latency, and not at all across a cut.

import {
  connectionSymbol, ConnectionClosedError, ConnectionClosingError, LimitedConnectionError, StreamResetError,
  TooManyInboundProtocolStreamsError, TooManyOutboundProtocolStreamsError, UnsupportedProtocolError,
  type AbortOptions, type Connection, type ConnectionLimits, type ConnectionStatus, type ConnectionTimeline, type Direction,
  type NewStreamOptions, type PeerId, type Stream, type StreamHandler, type StreamHandlerOptions,
} from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { TimerComponents } from '../../../node/components.ts';
import { timeoutSignal } from '../../../node/components.ts';
import type { Frame, GossipRpc } from './frames.ts';
import { SILENT_LOG, SimStream } from './stream.ts';

/** libp2p's default most inbound streams per protocol and connection. */
export const INBOUND_STREAMS_MAX_DEFAULT = 32;
/** libp2p's default most outbound streams per protocol and connection. */
export const OUTBOUND_STREAMS_MAX_DEFAULT = 64;
/** Protocol negotiation deadline without a signal (create-host.ts: protocolNegotiationTimeout). */
export const NEGOTIATION_TIMEOUT_MS = 5_000;
/** Graceful close deadline without a signal (libp2p's CLOSE_TIMEOUT). */
export const CONNECTION_CLOSE_TIMEOUT_MS = 500;

/** A connection reset by the remote (TCP RST); code ECONNRESET. */
export class ConnectionResetError extends Error {
  readonly code = 'ECONNRESET';
  override readonly name = 'ConnectionResetError';
}

/** What a connection needs from its host. */
export interface ConnectionOwner {
  readonly timers: TimerComponents;
  wallMs(): number;
  /** The handler of `protocol`, if registered. */
  handlerFor(protocol: string): { handler: StreamHandler; options: StreamHandlerOptions } | undefined;
  /** The connection closed (either end, any way). */
  connectionClosed(conn: SimConnection): void;
  /** A gossip RPC arrived on the connection. */
  gossipReceived(conn: SimConnection, rpc: GossipRpc): void;
}

/** How a connection end sends. */
export interface ConnectionWire {
  /** A frame, in order after every earlier one. */
  send(frame: Frame): void;
  /** A gossip datagram (faults may drop, duplicate or reorder it). */
  gossip(rpc: GossipRpc): void;
}

interface PendingOpen {
  resolve(protocol: string): void;
  reject(err: Error): void;
}

/** Options of a connection end. */
export interface SimConnectionInit {
  id: string;
  direction: Direction;
  remotePeer: PeerId;
  remoteAddr: Multiaddr;
  owner: ConnectionOwner;
  wire: ConnectionWire;
}

/** One end of a simulated connection. */
export class SimConnection implements Connection {
  readonly id: string;
  readonly remoteAddr: Multiaddr;
  readonly remotePeer: PeerId;
  tags: string[] = [];
  readonly direction: Direction;
  readonly timeline: ConnectionTimeline;
  readonly multiplexer = '/yamux/1.0.0';
  readonly encryption = '/noise';
  status: ConnectionStatus = 'open';
  limits?: ConnectionLimits;
  rtt?: number;
  readonly log = SILENT_LOG;
  readonly [Symbol.toStringTag] = 'Connection';
  readonly [connectionSymbol] = true;
  readonly #owner: ConnectionOwner;
  readonly #wire: ConnectionWire;
  readonly #streams = new Map<number, SimStream>();
  readonly #pendingOpen = new Map<number, PendingOpen>();
  #nextStreamId: number;
  /** Sends nothing more (reset, or the process died). */
  #mute = false;

  constructor(init: SimConnectionInit) {
    this.id = init.id;
    this.direction = init.direction;
    this.remotePeer = init.remotePeer;
    this.remoteAddr = init.remoteAddr;
    this.#owner = init.owner;
    this.#wire = init.wire;
    const now = init.owner.wallMs();
    this.timeline = { open: now, upgraded: now };
    // Yamux: the dialer's streams are odd, the listener's even.
    this.#nextStreamId = init.direction === 'outbound' ? 1 : 2;
  }

  get streams(): Stream[] {
    return [...this.#streams.values()];
  }

  #send(frame: Frame): void {
    if (!this.#mute) this.#wire.send(frame);
  }

  #makeStream(id: number, direction: Direction): SimStream {
    const stream = new SimStream({
      id: String(id),
      direction,
      wallMs: () => this.#owner.wallMs(),
      onEnd: () => {
        this.#streams.delete(id);
        this.#pendingOpen.get(id)?.reject(new StreamResetError('stream ended before the protocol was agreed'));
        this.#pendingOpen.delete(id);
      },
      wire: {
        data: (bytes) => { if (this.status !== 'closed') this.#send({ k: 'data', s: id, bytes }); },
        credit: (n) => { if (this.status !== 'closed') this.#send({ k: 'credit', s: id, n }); },
        fin: () => { if (this.status !== 'closed') this.#send({ k: 'fin', s: id }); },
        reset: () => { if (this.status !== 'closed') this.#send({ k: 'reset', s: id }); },
      },
    });
    this.#streams.set(id, stream);
    return stream;
  }

  async newStream(protocols: string | string[], options: NewStreamOptions = {}): Promise<Stream> {
    if (this.status === 'closing') throw new ConnectionClosingError('the connection is being closed');
    if (this.status === 'closed') throw new ConnectionClosedError('the connection is closed');
    const list = Array.isArray(protocols) ? protocols : [protocols];
    if (list.length === 0) throw new UnsupportedProtocolError('no protocol to negotiate');
    if (this.limits != null && options.runOnLimitedConnection !== true) {
      throw new LimitedConnectionError('Cannot open protocol stream on limited connection');
    }
    options.signal?.throwIfAborted();
    const id = this.#nextStreamId;
    this.#nextStreamId += 2;
    const stream = this.#makeStream(id, 'outbound');
    this.#send({ k: 'open', s: id, protocols: list });
    let protocol = list[0]!;
    if (list.length > 1 || options.negotiateFully !== false) {
      try {
        protocol = await this.#agreed(id, options.signal ?? timeoutSignal(this.#owner.timers, NEGOTIATION_TIMEOUT_MS));
      } catch (err) {
        stream.abort(err as Error);
        throw err;
      }
    }
    const limit = this.#owner.handlerFor(protocol)?.options.maxOutboundStreams ?? options.maxOutboundStreams ?? OUTBOUND_STREAMS_MAX_DEFAULT;
    const count = this.streams.filter((s) => s.protocol === protocol && s.direction === 'outbound').length;
    if (count >= limit) {
      const err = new TooManyOutboundProtocolStreamsError(`Too many outbound protocol streams for protocol "${protocol}" - ${count}/${limit}`);
      stream.abort(err);
      throw err;
    }
    stream.protocol = protocol;
    return stream;
  }

  #agreed(id: number, signal: AbortSignal): Promise<string> {
    return new Promise<string>((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        this.#pendingOpen.delete(id);
        reject(signal.reason);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.#pendingOpen.set(id, {
        resolve: (p) => { signal.removeEventListener('abort', onAbort); resolve(p); },
        reject: (e) => { signal.removeEventListener('abort', onAbort); reject(e); },
      });
    });
  }

  async close(options: AbortOptions = {}): Promise<void> {
    if (this.status === 'closed' || this.status === 'closing') return;
    this.status = 'closing';
    const signal = options.signal ?? timeoutSignal(this.#owner.timers, CONNECTION_CLOSE_TIMEOUT_MS);
    try {
      await raceSignal(Promise.all(this.streams.map(async (s) => s.close({ signal }))), signal);
      if (this.status !== 'closing') return; // reset meanwhile
      this.#send({ k: 'goaway' });
      for (const s of [...this.#streams.values()]) s.destroy();
      this.#finish();
    } catch (err) {
      this.abort(err as Error);
    }
  }

  abort(err: Error): void {
    if (this.status === 'closed') return;
    this.#send({ k: 'rst' });
    this.#mute = true;
    for (const s of [...this.#streams.values()]) s.abort(err);
    this.#finish();
  }

  // ---- from the network -------------------------------------------------------------------------

  /** A frame arrived from the remote end. */
  receive(f: Frame): void {
    if (this.status === 'closed') return;
    switch (f.k) {
      case 'open': this.#incoming(f.s, f.protocols); return;
      case 'ack': {
        const p = this.#pendingOpen.get(f.s);
        this.#pendingOpen.delete(f.s);
        p?.resolve(f.protocol);
        return;
      }
      case 'na': {
        const err = new UnsupportedProtocolError('protocol selection failed');
        const p = this.#pendingOpen.get(f.s);
        this.#pendingOpen.delete(f.s);
        if (p !== undefined) p.reject(err);
        else this.#streams.get(f.s)?.abort(err);
        return;
      }
      case 'data': this.#streams.get(f.s)?.receive(f.bytes); return;
      case 'credit': this.#streams.get(f.s)?.addCredit(f.n); return;
      case 'fin': this.#streams.get(f.s)?.remoteCloseWrite(); return;
      case 'reset': {
        const p = this.#pendingOpen.get(f.s);
        this.#pendingOpen.delete(f.s);
        p?.reject(new StreamResetError('stream reset'));
        this.#streams.get(f.s)?.reset();
        return;
      }
      case 'gossip': this.#owner.gossipReceived(this, f.rpc); return;
      case 'goaway': this.remoteClosed(); return;
      case 'rst': this.remoteReset(); return;
      default: return; // handshake frames are the socket's
    }
  }

  #incoming(id: number, protocols: string[]): void {
    let found: { protocol: string; handler: StreamHandler; options: StreamHandlerOptions } | undefined;
    for (const p of protocols) {
      const h = this.#owner.handlerFor(p);
      if (h !== undefined) {
        found = { protocol: p, ...h };
        break;
      }
    }
    if (found === undefined) {
      this.#send({ k: 'na', s: id });
      return;
    }
    const limit = found.options.maxInboundStreams ?? INBOUND_STREAMS_MAX_DEFAULT;
    const count = this.streams.filter((s) => s.protocol === found.protocol && s.direction === 'inbound').length;
    const stream = this.#makeStream(id, 'inbound');
    this.#send({ k: 'ack', s: id, protocol: found.protocol });
    if (count === limit) {
      stream.abort(new TooManyInboundProtocolStreamsError(`Too many inbound protocol streams for protocol "${found.protocol}" - limit ${limit}`));
      return;
    }
    stream.protocol = found.protocol;
    if (this.limits != null && found.options.runOnLimitedConnection !== true) {
      // libp2p refuses it after negotiation and closes the stream gracefully: the opener reads EOF.
      void stream.close().catch((e: unknown) => stream.abort(e as Error));
      return;
    }
    try {
      // As libp2p: not awaited; a handler's rejection is the handler's to handle.
      void found.handler({ connection: this, stream });
    } catch (err) {
      void stream.close().catch(() => stream.abort(err as Error));
    }
  }

  /** The remote closed the connection gracefully. */
  remoteClosed(): void {
    if (this.status === 'closed') return;
    for (const s of [...this.#streams.values()]) s.destroy();
    this.#finish();
  }

  /** The remote reset the connection (or it was reset on the path). */
  remoteReset(err: Error = new ConnectionResetError('connection reset by peer')): void {
    if (this.status === 'closed') return;
    this.#mute = true;
    for (const s of [...this.#streams.values()]) s.abort(err);
    this.#finish();
  }

  /** This end's process died: nothing of it runs or sends again, nothing is reported. */
  vanish(): void {
    this.#mute = true;
  }

  /** Close silently (this end believes the connection closed; the remote learns nothing). */
  forget(err: Error): void {
    if (this.status === 'closed') return;
    this.#mute = true;
    for (const s of [...this.#streams.values()]) s.abort(err);
    this.#finish();
  }

  /** Send a gossip RPC on this connection. */
  gossip(rpc: GossipRpc): void {
    if (this.status === 'open' && !this.#mute) this.#wire.gossip(rpc);
  }

  #finish(): void {
    this.status = 'closed';
    this.timeline.close = this.#owner.wallMs();
    for (const p of this.#pendingOpen.values()) p.reject(new ConnectionClosedError('the connection is closed'));
    this.#pendingOpen.clear();
    this.#owner.connectionClosed(this);
  }
}

/** `p`, or the signal's reason once it aborts. */
function raceSignal<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e as Error); },
    );
  });
}
