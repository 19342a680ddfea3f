// Gossipsub tuned for a federation: small, fully authenticated, latency-sensitive.
//
// Unauthenticated peers: gossipsub opens its own streams as soon as identify completes, which can be
// before our auth exchange finishes, so the auth guard alone cannot keep it away. Instead the
// application-specific peer score puts every unauthenticated peer at UNAUTHENTICATED_PEER_SCORE:
// below publishThreshold (we never publish or forward to it), below 0 (never grafted into a mesh),
// below gossipThreshold (no IHAVE gossip), yet above graylistThreshold, so its SUBSCRIBE is still
// recorded and it receives heartbeats the moment it authenticates (its score is re-read within one
// gossip heartbeat). Its own messages are rejected by the topic validator (heartbeat-gate.ts).

import type { GossipsubOpts } from '@chainsafe/libp2p-gossipsub';
import { toString as uint8ArrayToString } from 'uint8arrays/to-string';

/** Score of an unauthenticated peer: publishThreshold (-50) > this > graylistThreshold (-80). */
export const UNAUTHENTICATED_PEER_SCORE = -60;

/** Inputs of the gossip tuning. */
export interface GossipTuning {
  /** Mesh-maintenance period (also how long a peer score is cached). */
  heartbeatMs: number;
  /** The only topics this node handles; others are ignored, so peers cannot grow our state. */
  allowedTopics: string[];
  /** Largest gossipsub RPC accepted from a peer, bytes. */
  rpcBytesMax: number;
  /** Whether `peerId` (string form) is authenticated. */
  isAuthenticated: (peerId: string) => boolean;
}

/** Gossipsub options for the given tuning. */
export function gossipOptions(t: GossipTuning): Partial<GossipsubOpts> {
  return {
    emitSelf: false,
    // Publish to every subscribed, authenticated peer directly: in a federation of a few dozen
    // members that is cheap and removes mesh formation from the time to first delivery.
    floodPublish: true,
    allowPublishToZeroTopicPeers: true,
    // Members come only from configuration; peer exchange would let gossip introduce strangers.
    doPX: false,
    fallbackToFloodsub: false,
    heartbeatInterval: t.heartbeatMs,
    // Without a fast id, gossipsub verifies the signature of every duplicate copy before noticing it
    // is a duplicate; with one, copies are dropped first. The signature identifies a signed message
    // uniquely; the id is only recorded after a copy has verified, so a forgery cannot pre-empt it.
    fastMsgIdFn: (m) => uint8ArrayToString(m.signature ?? m.data ?? new Uint8Array(0), 'base64'),
    allowedTopics: t.allowedTopics,
    maxInboundDataLength: t.rpcBytesMax,
    decodeRpcLimits: {
      maxSubscriptions: 32,
      maxMessages: 256,
      maxIhaveMessageIDs: 1024,
      maxIwantMessageIDs: 1024,
      maxIdontwantMessageIDs: 1024,
      maxControlMessages: 256,
      maxPeerInfos: 0,
    },
    scoreParams: {
      appSpecificScore: (peerId: string) => (t.isAuthenticated(peerId) ? 0 : UNAUTHENTICATED_PEER_SCORE),
      appSpecificWeight: 1,
      // Every member is authenticated by certificate; several on one host (tests, small sites) is normal.
      IPColocationFactorWeight: 0,
    },
  };
}
