// Gossip pubsub on the simulated network, shaped like the parts of gossipsub node/ uses (with the
// options of node/host/gossip-options.ts): StrictSign messages (the author is `from`, the
// forwarder `propagationSource`), floodPublish to every subscribed peer whose score passes
// publishThreshold (an unauthenticated peer does not: its score is re-read once per gossip
// heartbeat, as gossipsub caches it), topic validators ('accept' | 'reject' | 'ignore'),
// 'gossipsub:message' and 'message' events for subscribed topics only, dedupe by message ID for
// seenTTL, relay of accepted messages to the other subscribed peers, 'subscription-change' events,
// allowedTopics and the RPC size bound. Peering starts as gossipsub's does: the dialer's identify
// learns the listener's protocols (create-host.ts: identify runs after auth), then the dialer sends
// its subscriptions and the listener answers with its own; a peer is dropped with the connection it
// was peered over (gossipsub does not move to another connection to the same peer), and peers again
// at the next identify. RPCs of a peered peer are read whichever connection they come over (both
// ends of a pair that dialed each other peer over their own outbound connections).
//
// Not modelled: meshes (D, grafts, prunes), IHAVE/IWANT gossip, scoring beyond the app-specific
// score, real signatures (messages carry a placeholder signature; `from` is always the sending node
// unless a test forges one with `publishAs`).

import type { GossipsubMessage } from '@chainsafe/libp2p-gossipsub';
import type { Message, PeerId, PublishResult, SignedMessage, TopicValidatorFn } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { GossipTuning } from '../../../node/host/gossip-options.ts';
import type { TimerComponents } from '../../../node/components.ts';
import type { SimConnection } from './connection.ts';
import type { GossipRpc, GossipWireMessage } from './frames.ts';

/** Gossipsub's protocol, as identify lists it. */
export const GOSSIP_PROTOCOL = '/meshsub/1.1.0';
/** How long a message ID is remembered (gossipsub seenTTL), ms. */
export const GOSSIP_SEEN_TTL_MS = 120_000;

interface GossipPeer {
  peerId: PeerId;
  conn: SimConnection;
  topics: Set<string>;
}

/** Counters of a node's pubsub. */
export interface SimPubSubStats {
  published: number;
  received: number;
  duplicates: number;
  accepted: number;
  rejected: number;
  ignored: number;
  forwarded: number;
  /** Messages dropped: topic not allowed or not subscribed, or larger than rpcBytesMax. */
  dropped: number;
}

/** What the pubsub needs from its host. */
export interface PubSubHost {
  readonly peerId: PeerId;
  readonly timers: TimerComponents;
  /** A fresh 64-bit sequence number start (seeded). */
  seqnoStart(): bigint;
}

/** A node's pubsub. */
export class SimPubSub extends EventTarget {
  readonly topicValidators = new Map<string, TopicValidatorFn>();
  readonly #host: PubSubHost;
  readonly #tuning: GossipTuning;
  readonly #subs = new Set<string>();
  readonly #peers = new Map<string, GossipPeer>();
  readonly #seen = new Map<string, number>();
  readonly #score = new Map<string, { tick: number; ok: boolean }>();
  readonly #stats: SimPubSubStats = { published: 0, received: 0, duplicates: 0, accepted: 0, rejected: 0, ignored: 0, forwarded: 0, dropped: 0 };
  #started = false;
  #startedAtMs = 0;
  #seqno = 0n;

  constructor(host: PubSubHost, tuning: GossipTuning) {
    super();
    this.#host = host;
    this.#tuning = tuning;
  }

  get started(): boolean {
    return this.#started;
  }

  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#startedAtMs = this.#host.timers.nowMs();
    this.#seqno = this.#host.seqnoStart();
  }

  /** Stop: forget peers and subscriptions (gossipsub's stop). */
  stop(): void {
    this.#started = false;
    this.#peers.clear();
    this.#subs.clear();
    this.#seen.clear();
    this.#score.clear();
  }

  stats(): SimPubSubStats {
    return { ...this.#stats };
  }

  subscribe(topic: string): void {
    if (!this.#started) throw new Error('Pubsub has not started');
    if (this.#subs.has(topic)) return;
    this.#subs.add(topic);
    for (const p of this.#peers.values()) p.conn.gossip({ subscriptions: [{ topic, subscribe: true }] });
  }

  unsubscribe(topic: string): void {
    if (!this.#started) throw new Error('Pubsub is not started');
    if (!this.#subs.delete(topic)) return;
    for (const p of this.#peers.values()) p.conn.gossip({ subscriptions: [{ topic, subscribe: false }] });
  }

  getTopics(): string[] {
    return [...this.#subs];
  }

  getSubscribers(topic: string): PeerId[] {
    if (!this.#started) throw new Error('Pubsub has not started');
    return [...this.#peers.values()].filter((p) => p.topics.has(topic)).map((p) => p.peerId);
  }

  /** Peers this pubsub exchanges messages with (string form). */
  getPeers(): string[] {
    return [...this.#peers.keys()];
  }

  async publish(topic: string, data?: Uint8Array): Promise<PublishResult> {
    return this.publishAs(this.#host.peerId.toString(), topic, data ?? new Uint8Array(0));
  }

  /** Publish with any author (a forgery: real gossipsub would refuse its signature; for attack tests). */
  async publishAs(from: string, topic: string, data: Uint8Array): Promise<PublishResult> {
    if (!this.#started) throw new Error('Pubsub has not started');
    this.#seqno += 1n;
    const m: GossipWireMessage = { from, topic, data: data.slice(), seqno: this.#seqno };
    this.#remember(msgIdOf(m));
    this.#stats.published += 1;
    const recipients: PeerId[] = [];
    for (const p of this.#peers.values()) {
      if (!p.topics.has(topic) || !this.#publishable(p.peerId.toString())) continue;
      p.conn.gossip({ messages: [m] });
      recipients.push(p.peerId);
    }
    return { recipients };
  }

  // ---- from the host ----------------------------------------------------------------------------

  /** The dialer's identify of `conn` found the remote's protocols: peer with it over `conn`. */
  identified(conn: SimConnection, protocols: readonly string[]): void {
    if (!this.#started || !protocols.includes(GOSSIP_PROTOCOL)) return;
    if (this.#peerOf(conn) !== undefined) return;
    // Peered over another connection already: what the peer subscribed to stays known (gossipsub
    // keeps topics per peer; the remote does not send them again on this hello, as it is peered).
    const known = this.#peers.get(conn.remotePeer.toString())?.topics;
    const peer = this.#addPeer(conn);
    for (const topic of known ?? []) peer.topics.add(topic);
    conn.gossip({ hello: true, subscriptions: [...this.#subs].map((topic) => ({ topic, subscribe: true })) });
  }

  /** A gossip RPC arrived over `conn`. */
  received(conn: SimConnection, rpc: GossipRpc): void {
    if (!this.#started) return;
    // Gossipsub reads every stream of a known peer, whichever connection it rides.
    let peer = this.#peers.get(conn.remotePeer.toString());
    if (peer === undefined) {
      // Only a hello starts a peering (the remote's outbound gossip stream), and not over a
      // connection still limited (unauthenticated): that stream would have been refused.
      if (rpc.hello !== true || conn.limits != null) return;
      peer = this.#addPeer(conn);
      conn.gossip({ subscriptions: [...this.#subs].map((topic) => ({ topic, subscribe: true })) });
    }
    const subs = (rpc.subscriptions ?? []).filter((s) => this.#tuning.allowedTopics.includes(s.topic));
    for (const s of subs) {
      if (s.subscribe) peer.topics.add(s.topic);
      else peer.topics.delete(s.topic);
    }
    if (subs.length > 0) {
      this.dispatchEvent(new CustomEvent('subscription-change', { detail: { peerId: peer.peerId, subscriptions: subs } }));
    }
    for (const m of rpc.messages ?? []) void this.#handleMessage(peer, m);
  }

  /** `conn` closed: the peer peered over it is gone. */
  connectionClosed(conn: SimConnection): void {
    const id = conn.remotePeer.toString();
    if (this.#peers.get(id)?.conn === conn) {
      this.#peers.delete(id);
      this.#score.delete(id);
    }
  }

  #peerOf(conn: SimConnection): GossipPeer | undefined {
    const p = this.#peers.get(conn.remotePeer.toString());
    return p?.conn === conn ? p : undefined;
  }

  #addPeer(conn: SimConnection): GossipPeer {
    const p: GossipPeer = { peerId: conn.remotePeer, conn, topics: new Set() };
    this.#peers.set(conn.remotePeer.toString(), p);
    return p;
  }

  // gossipsub's score cache: recomputed once per gossip heartbeat.
  #publishable(peerId: string): boolean {
    const tick = Math.floor((this.#host.timers.nowMs() - this.#startedAtMs) / this.#tuning.heartbeatMs);
    const cached = this.#score.get(peerId);
    if (cached !== undefined && cached.tick === tick) return cached.ok;
    const ok = this.#tuning.isAuthenticated(peerId);
    this.#score.set(peerId, { tick, ok });
    return ok;
  }

  #remember(id: string): void {
    const now = this.#host.timers.nowMs();
    for (const [k, at] of this.#seen) {
      if (now - at < GOSSIP_SEEN_TTL_MS) break;
      this.#seen.delete(k);
    }
    this.#seen.set(id, now);
  }

  async #handleMessage(peer: GossipPeer, m: GossipWireMessage): Promise<void> {
    this.#stats.received += 1;
    if (!this.#tuning.allowedTopics.includes(m.topic) || m.data.byteLength > this.#tuning.rpcBytesMax) {
      this.#stats.dropped += 1;
      return;
    }
    const id = msgIdOf(m);
    if (this.#seen.has(id)) {
      this.#stats.duplicates += 1;
      return;
    }
    this.#remember(id);
    const from = peerIdFromString(m.from);
    const msg: SignedMessage = {
      type: 'signed', from, topic: m.topic, data: m.data, sequenceNumber: m.seqno,
      signature: new TextEncoder().encode(id), key: from.publicKey!,
    };
    const validator = this.topicValidators.get(m.topic);
    const verdict = validator === undefined ? 'accept' : await validator(peer.peerId, msg);
    if (!this.#started) return;
    if (verdict === 'reject') {
      this.#stats.rejected += 1;
      return;
    }
    if (verdict === 'ignore') {
      this.#stats.ignored += 1;
      return;
    }
    this.#stats.accepted += 1;
    if (!this.#subs.has(m.topic)) return;
    if (m.from !== this.#host.peerId.toString()) {
      const detail: GossipsubMessage = { propagationSource: peer.peerId, msgId: id, msg: msg as Message };
      this.dispatchEvent(new CustomEvent('gossipsub:message', { detail }));
      this.dispatchEvent(new CustomEvent('message', { detail: msg }));
    }
    for (const p of this.#peers.values()) {
      const pid = p.peerId.toString();
      if (p === peer || pid === m.from || !p.topics.has(m.topic) || !this.#publishable(pid)) continue;
      p.conn.gossip({ messages: [m] });
      this.#stats.forwarded += 1;
    }
  }
}

/** Gossipsub's StrictSign message ID: author and sequence number. */
export function msgIdOf(m: Pick<GossipWireMessage, 'from' | 'seqno'>): string {
  return `${m.from}:${m.seqno.toString(16)}`;
}
