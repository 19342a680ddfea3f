// The part of a libp2p node that node/ uses: identity, connections and their events, protocol
// handlers and streams, gossip pubsub, ping and identify. Services depend on this, never on the whole
// Libp2p type, so the whole-cluster simulation (test/sim/) can stand a simulated network in its place
// and run the same services. Connections and streams keep libp2p's types (`Connection`, `Stream`):
// node/ uses of them are listed in test/sim/ next to the simulated ones.

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
