// A node's network host on the simulated network: the HostNet slice of libp2p that node/ uses
// (node/host/host-net.ts), over SimNetwork. Addresses are `/memory/<node name>/p2p/<peer ID>`; dials
// go through the network's TCP-and-Noise-like handshake (latency, cuts, refusals, the connection
// gater both ways); connections and streams behave as libp2p 2.x's over yamux; ping and identify are
// served as libp2p's are (ping echoes 32-byte payloads and aborts an inbound stream `timeout` after
// each read began, as @libp2p/ping 2.x does; identify answers only unlimited connections, and the
// dialer's identify starts gossip peering). Timers are the node's own (its TimerComponents). A node
// is dialed by name: `/memory/<node>` or a DNS-style `/dns4/<node>/tcp/<port>` (the port is ignored);
// it advertises its first listen address that names it, else `/memory/<node>`.

import { DialError, NotStartedError, ProtocolError, isPeerId, type AbortOptions, type IdentifyResult, type PeerId, type PrivateKey, type Stream, type StreamHandler, type StreamHandlerOptions } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { multiaddr, isMultiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { byteStream } from 'it-byte-stream';
import { lpStream } from 'it-length-prefixed-stream';
import type { RandomSource, TimerComponents } from '../../../node/components.ts';
import { timeoutSignal } from '../../../node/components.ts';
import type { HostOptions } from '../../../node/host/create-host.ts';
import type { SimConnection } from './connection.ts';
import type { GossipRpc } from './frames.ts';
import { GOSSIP_PROTOCOL, SimPubSub } from './pubsub.ts';

/** libp2p's ping protocol. */
export const PING_PROTOCOL = '/ipfs/ping/1.0.0';
/** libp2p's identify protocol. */
export const IDENTIFY_PROTOCOL = '/ipfs/id/1.0.0';
/** Ping payload bytes. */
export const PING_BYTES = 32;
/** Ping handler's per-read timeout (create-host.ts PING_STREAM_IDLE_MS). */
export const PING_TIMEOUT_MS = 60_000;
/** Identify's deadline without a signal (libp2p's default). */
export const IDENTIFY_TIMEOUT_MS = 5_000;
/** Largest identify message, bytes. */
const IDENTIFY_BYTES_MAX = 8_192;

/** What a host asks of the network. */
export interface HostNetwork {
  /** `host` listens (or stops). */
  listen(host: SimHost): void;
  unlisten(host: SimHost): void;
  /** Dial `name` (a node) expecting `peer` if known. */
  dial(host: SimHost, name: string, expect: string | undefined, options: DialOptions): Promise<SimConnection>;
  /** A connection of `host` closed (either way). */
  connectionClosed(host: SimHost, conn: SimConnection): void;
  /** Simulated wall clock of node `name`. */
  wallMsOf(name: string): number;
  /** Node `name` runs (booted and not crashed). */
  isUp(name: string): boolean;
}

/** Options of a dial. */
export interface DialOptions extends AbortOptions {
  onProgress?: (evt: { type: string; detail?: unknown }) => void;
}

/** A dial refused by the connection gater (libp2p's DialDeniedError). */
export class DialDeniedError extends Error {
  override readonly name = 'DialDeniedError';
}

interface HandlerRecord {
  handler: StreamHandler;
  options: StreamHandlerOptions;
}

/** A node's host on the simulated network. */
export class SimHost extends EventTarget {
  readonly name: string;
  readonly peerId: PeerId;
  readonly privateKey: PrivateKey;
  readonly timers: TimerComponents;
  readonly random: RandomSource;
  readonly options: HostOptions;
  status: 'stopped' | 'started' | 'dead' = 'stopped';
  readonly services: {
    pubsub: SimPubSub;
    ping: { ping(peer: PeerId | Multiaddr | Multiaddr[], options?: AbortOptions): Promise<number> };
    identify: { identify(connection: SimConnection, options?: AbortOptions): Promise<IdentifyResult> };
  };
  readonly #net: HostNetwork;
  readonly #handlers = new Map<string, HandlerRecord>();
  readonly #conns: SimConnection[] = [];
  /** Peer store addresses: peer ID → node name (learned from dials and identify). */
  readonly #addresses = new Map<string, string>();

  constructor(net: HostNetwork, name: string, options: HostOptions) {
    super();
    this.#net = net;
    this.name = name;
    this.options = options;
    this.privateKey = options.privateKey as unknown as PrivateKey;
    this.peerId = peerIdFromPrivateKey(this.privateKey);
    this.timers = options.timers;
    this.random = options.random;
    const pubsub = new SimPubSub({
      peerId: this.peerId,
      timers: this.timers,
      seqnoStart: () => {
        const b = this.random.bytes(8);
        let n = 0n;
        for (const x of b) n = (n << 8n) | BigInt(x);
        return n >> 1n; // room to count up
      },
    }, options.gossip);
    this.services = {
      pubsub,
      ping: { ping: (peer, o) => this.#ping(peer, o) },
      identify: { identify: (c, o) => this.#identify(c, o) },
    };
    this.#handlers.set(PING_PROTOCOL, {
      handler: (d) => this.#servePing(d.stream),
      options: { maxInboundStreams: 4, maxOutboundStreams: 4, runOnLimitedConnection: false },
    });
    this.#handlers.set(IDENTIFY_PROTOCOL, { handler: (d) => this.#serveIdentify(d.stream, d.connection as SimConnection), options: {} });
  }

  /**
   * The address other nodes dial: the first listen address that names this node (`/dns4/<name>/...`,
   * `/memory/<name>`), else `/memory/<name>`, with /p2p/.
   */
  get multiaddr(): Multiaddr {
    const own = this.options.listen.map((a) => multiaddr(a)).find((a) => nodeNameOf(a) === this.name);
    return (own ?? multiaddr(`/memory/${this.name}`)).encapsulate(`/p2p/${this.peerId.toString()}`);
  }

  // ---- HostNet ----------------------------------------------------------------------------------

  getConnections(peer?: PeerId): SimConnection[] {
    if (peer === undefined) return [...this.#conns];
    const id = peer.toString();
    return this.#conns.filter((c) => c.remotePeer.toString() === id);
  }

  getMultiaddrs(): Multiaddr[] {
    return this.status === 'started' ? [this.multiaddr] : [];
  }

  getProtocols(): string[] {
    return [...this.#handlers.keys()].sort();
  }

  async handle(protocols: string | string[], handler: StreamHandler, options: StreamHandlerOptions & { force?: boolean } = {}): Promise<void> {
    for (const p of Array.isArray(protocols) ? protocols : [protocols]) {
      if (this.#handlers.has(p) && options.force !== true) {
        const err = new Error(`Handler already registered for protocol ${p}`);
        err.name = 'DuplicateProtocolHandlerError';
        throw err;
      }
      this.#handlers.set(p, { handler, options });
    }
  }

  async unhandle(protocols: string | string[]): Promise<void> {
    for (const p of Array.isArray(protocols) ? protocols : [protocols]) this.#handlers.delete(p);
  }

  async dial(peer: PeerId | Multiaddr | Multiaddr[], options: DialOptions = {}): Promise<SimConnection> {
    if (this.status !== 'started') throw new NotStartedError('Not started');
    let name: string | undefined;
    let expect: string | undefined;
    if (isPeerId(peer)) {
      expect = peer.toString();
      name = this.#addresses.get(expect);
    } else {
      const addr = Array.isArray(peer) ? peer[0] : peer;
      if (addr === undefined || !isMultiaddr(addr)) throw new DialError('no address to dial');
      name = nodeNameOf(addr);
      if (name === undefined) throw new DialError(`no transport for ${addr.toString()}: the simulated network dials /memory/<node> and /dns*/<node>/... addresses`);
      expect = addr.getPeerId() ?? undefined;
    }
    if (expect === this.peerId.toString() || name === this.name) throw new DialError('Tried to dial self');
    if (expect !== undefined) {
      const open = this.#conns.find((c) => c.status === 'open' && c.remotePeer.toString() === expect && c.limits == null)
        ?? this.#conns.find((c) => c.status === 'open' && c.remotePeer.toString() === expect);
      if (open !== undefined) return open;
      if (this.options.isDenied(peerIdFromString(expect), 'outbound')) throw new DialDeniedError('The dial request is blocked by the gater');
    }
    if (name === undefined) throw new DialError(`no known address for ${expect ?? 'the peer'}`);
    options.signal?.throwIfAborted();
    return this.#net.dial(this, name, expect, options);
  }

  async dialProtocol(peer: PeerId | Multiaddr | Multiaddr[], protocols: string | string[], options: DialOptions = {}): Promise<Stream> {
    const conn = await this.dial(peer, options);
    return conn.newStream(protocols, options);
  }

  async start(): Promise<void> {
    if (this.status === 'dead') throw new Error(`host ${this.name} crashed; boot a new one`);
    if (this.status === 'started') return;
    this.status = 'started';
    this.services.pubsub.start();
    this.#net.listen(this);
  }

  async stop(): Promise<void> {
    if (this.status !== 'started') return;
    this.#net.unlisten(this);
    this.services.pubsub.stop();
    await Promise.all([...this.#conns].map(async (c) => c.close()));
    this.status = 'stopped';
  }

  // ---- for connections and the network ----------------------------------------------------------

  wallMs(): number {
    return this.#net.wallMsOf(this.name);
  }

  handlerFor(protocol: string): HandlerRecord | undefined {
    if (this.status !== 'started') return undefined;
    return this.#handlers.get(protocol);
  }

  /** The network upgraded a connection of this host. */
  addConnection(conn: SimConnection, remoteName: string | undefined): void {
    if (remoteName !== undefined) this.#addresses.set(conn.remotePeer.toString(), remoteName);
    const first = !this.#conns.some((c) => c.remotePeer.equals(conn.remotePeer));
    this.#conns.push(conn);
    this.dispatchEvent(new CustomEvent('connection:open', { detail: conn }));
    if (first) this.dispatchEvent(new CustomEvent('peer:connect', { detail: conn.remotePeer }));
  }

  connectionClosed(conn: SimConnection): void {
    const i = this.#conns.indexOf(conn);
    if (i < 0) return;
    this.#conns.splice(i, 1);
    this.services.pubsub.connectionClosed(conn);
    this.#net.connectionClosed(this, conn);
    if (this.status === 'dead') return;
    const last = !this.#conns.some((c) => c.remotePeer.equals(conn.remotePeer));
    // As libp2p: the close event goes out after the close completed, not inside it.
    queueMicrotask(() => {
      this.dispatchEvent(new CustomEvent('connection:close', { detail: conn }));
      if (last) this.dispatchEvent(new CustomEvent('peer:disconnect', { detail: conn.remotePeer }));
    });
  }

  gossipReceived(conn: SimConnection, rpc: GossipRpc): void {
    if (this.status === 'started') this.services.pubsub.received(conn, rpc);
  }

  /** The process died: nothing of it runs again (no events, no sends). */
  die(): void {
    this.status = 'dead';
    this.services.pubsub.stop();
    for (const c of this.#conns) c.vanish();
    this.#conns.length = 0;
  }

  // ---- ping and identify ------------------------------------------------------------------------

  async #ping(peer: PeerId | Multiaddr | Multiaddr[], options: AbortOptions = {}): Promise<number> {
    const start = this.timers.nowMs();
    const data = this.random.bytes(PING_BYTES);
    const conn = await this.dial(peer, options);
    const o = options.signal === undefined ? { ...options, signal: timeoutSignal(this.timers, PING_TIMEOUT_MS) } : options;
    let stream: Stream | undefined;
    try {
      stream = await conn.newStream(PING_PROTOCOL, { ...o, runOnLimitedConnection: false });
      const bytes = byteStream(stream);
      const [, result] = await Promise.all([bytes.write(data, o), bytes.read({ ...o, bytes: PING_BYTES })]);
      const ms = this.timers.nowMs() - start;
      if (!equalBytes(data, result.subarray())) throw new ProtocolError(`Received wrong ping ack after ${ms}ms`);
      return ms;
    } catch (err) {
      stream?.abort(err as Error);
      throw err;
    } finally {
      if (stream !== undefined) await stream.close(o);
    }
  }

  #servePing(stream: Stream): void {
    const bytes = byteStream(stream);
    let pinged = false;
    void (async () => {
      for (;;) {
        // As @libp2p/ping: every read gets a timer that aborts the stream when it fires, even
        // after that read was answered (so a long-lived ping stream ends `timeout` after a read).
        const signal = timeoutSignal(this.timers, PING_TIMEOUT_MS);
        signal.addEventListener('abort', () => stream.abort(new Error('ping timeout')));
        const buf = await bytes.read({ bytes: PING_BYTES, signal });
        await bytes.write(buf, { signal });
        pinged = true;
      }
    })().catch((err: unknown) => {
      if (pinged && (err as Error).name === 'UnexpectedEOFError' && stream.readStatus !== 'ready') return;
      stream.abort(err as Error);
    }).finally(() => {
      stream.close({ signal: timeoutSignal(this.timers, PING_TIMEOUT_MS) }).catch((err: unknown) => stream.abort(err as Error));
    });
  }

  async #identify(conn: SimConnection, options: AbortOptions = {}): Promise<IdentifyResult> {
    const signal = options.signal ?? timeoutSignal(this.timers, IDENTIFY_TIMEOUT_MS);
    const stream = await conn.newStream(IDENTIFY_PROTOCOL, { signal });
    try {
      const lp = lpStream(stream, { maxDataLength: IDENTIFY_BYTES_MAX });
      const msg = JSON.parse(new TextDecoder().decode((await lp.read({ signal })).subarray())) as { protocols: string[]; listenAddrs: string[] };
      await stream.close({ signal }).catch((e: unknown) => stream.abort(e as Error));
      const listenAddrs = msg.listenAddrs.map((a) => multiaddr(a));
      const remoteName = listenAddrs[0] === undefined ? undefined : nodeNameOf(listenAddrs[0]);
      if (remoteName !== undefined) this.#addresses.set(conn.remotePeer.toString(), remoteName);
      this.services.pubsub.identified(conn, msg.protocols);
      return {
        peerId: conn.remotePeer, protocols: msg.protocols, listenAddrs, connection: conn,
        agentVersion: 'simnet', protocolVersion: 'ipfs/0.1.0',
      } as unknown as IdentifyResult;
    } catch (err) {
      stream.abort(err as Error);
      throw err;
    }
  }

  #serveIdentify(stream: Stream, conn: SimConnection): void {
    const protocols = this.getProtocols();
    if (this.services.pubsub.started) protocols.push(GOSSIP_PROTOCOL);
    const body = new TextEncoder().encode(JSON.stringify({ protocols, listenAddrs: this.getMultiaddrs().map(String), observed: conn.remoteAddr.toString() }));
    const signal = timeoutSignal(this.timers, IDENTIFY_TIMEOUT_MS);
    void lpStream(stream).write(body, { signal })
      .then(() => stream.close({ signal }))
      .catch((err: unknown) => stream.abort(err as Error));
  }
}

const NAMING_PROTOCOLS = new Set(['memory', 'dns', 'dns4', 'dns6', 'dnsaddr']);

/** The node an address names: `/memory/<node>...` or `/dns4/<node>/tcp/<port>...` (any /dns*); undefined otherwise. */
export function nodeNameOf(addr: Multiaddr): string | undefined {
  const first = addr.protoNames()[0];
  return first !== undefined && NAMING_PROTOCOLS.has(first) ? addr.stringTuples()[0]?.[1] : undefined;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}
