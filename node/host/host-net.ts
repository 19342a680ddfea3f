// The part of a libp2p node that node/ uses: identity, connections and their events, protocol
// handlers and streams, gossip pubsub, ping and identify. Services depend on this, never on the whole
// Libp2p type, so the whole-cluster simulation (test/sim/) can stand a simulated network in its place
// and run the same services. Connections and streams keep libp2p's types (`Connection`, `Stream`).
//
// What membership, auth and the host use of them (a simulated network must provide this much):
//   Connection: id, remotePeer (PeerId: toString, equals), direction ('inbound' | 'outbound'),
//     status ('open' while usable), newStream(protocol, { signal, negotiateFully?, runOnLimitedConnection? }),
//     close({ signal }) (may reject: then abort), abort(err); limits (set on inbound connections until
//     auth, deleted after) and streams (read once at auth) — pre-auth-limits.ts; both may be inert.
//   Stream: source / sink (it-length-prefixed frames, it-byte-stream), close({ signal }), abort(err).
//   Events: 'connection:open' and 'connection:close' (detail: Connection), 'peer:disconnect'
//     (detail: PeerId, the last connection to it closed).
//   handle(protocol, ({ stream, connection }) => void, { maxInboundStreams, maxOutboundStreams,
//     runOnLimitedConnection }) / unhandle(protocol); dial(multiaddr, { signal, onProgress }) resolving
//     to the Connection (an error whose message matches /dial self/ disables the target; with a
//     connect deadline, an onProgress event whose type starts with 'upgrader:' marks the transport
//     connected); dialProtocol(peerId, protocol, { signal }) resolving to a Stream; getConnections(peer?);
//     getMultiaddrs() (Multiaddr[], with /p2p/); peerId; start(); stop().
//   pubsub: topicValidators.set/delete(topic, (propagationSource: PeerId, msg: Message) =>
//     Promise<TopicValidatorResult>) (Reject: not delivered, not forwarded); 'gossipsub:message' with
//     detail { propagationSource, msgId, msg } where msg is { type: 'signed', from (author PeerId),
//     topic, data, sequenceNumber, signature, key } (pass the same msg object to the validator and the
//     event); 'subscription-change' with detail { peerId, subscriptions: [{ topic, subscribe }] };
//     subscribe / unsubscribe (may throw once stopped) / publish(topic, data) / getSubscribers(topic).
//     Gossip reaches and comes from authenticated peers only (HostOptions.gossip.isAuthenticated).
//   ping.ping(peerId, { signal }) resolving to a round trip in ms; the '/ipfs/ping/1.0.0' protocol
//     served on streams (32 bytes echoed; link liveness and agents ping over long-lived streams);
//     identify.identify(connection) (may resolve at once).

import type { GossipsubEvents } from '@chainsafe/libp2p-gossipsub';
import type { Identify } from '@libp2p/identify';
import type { Libp2p, PubSub } from '@libp2p/interface';
import type { PingService } from '@libp2p/ping';

/** Pubsub as node/ uses it: topic validators, subscriptions, publish, message and subscription events. */
export type HostPubSub = Pick<PubSub<GossipsubEvents>,
  'topicValidators' | 'subscribe' | 'unsubscribe' | 'publish' | 'getSubscribers' | 'addEventListener' | 'removeEventListener'>;

/** The services node/ uses. */
export interface HostNetServices {
  pubsub: HostPubSub;
  ping: Pick<PingService, 'ping'>;
  identify: Pick<Identify, 'identify'>;
}

/** A libp2p node as node/ uses it. */
export type HostNet = Pick<Libp2p,
  'peerId' | 'getConnections' | 'getMultiaddrs' | 'handle' | 'unhandle' | 'dial' | 'dialProtocol' |
  'addEventListener' | 'removeEventListener' | 'start' | 'stop'> & { services: HostNetServices };
