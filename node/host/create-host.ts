// The libp2p host of a NovaEdge node: TCP + Noise + Yamux, identify, ping and gossipsub, built from
// an options object, plus the reconnector that keeps it connected to the configured members.
// Everything has a bound: connections, inbound connection rate per host, pending upgrades, dial
// deadline, stream negotiation deadlines, gossip RPC size and topics — and what an inbound connection
// may use before its remote authenticated (pre-auth-limits.ts): one auth stream with a small window.
// Identify does not run when a connection opens: the dialer runs it once both sides authenticated
// (`afterAuthenticated`), and it answers no peer that has not.

import { gossipsub, type GossipsubEvents } from '@chainsafe/libp2p-gossipsub';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { identify, type Identify } from '@libp2p/identify';
import type { Connection, ConnectionGater, Ed25519PrivateKey, Libp2p, PeerId, PubSub } from '@libp2p/interface';
import { ping, type PingService } from '@libp2p/ping';
import { tcp } from '@libp2p/tcp';
import { createLibp2p } from 'libp2p';
import type { RedialBackoff } from '../../membership/redial-backoff.ts';
import { sleep, type RandomSource, type TimerComponents } from '../components.ts';
import type { Logger } from '../util/logger.ts';
import { gossipOptions, type GossipTuning } from './gossip-options.ts';
import { cachedKeyNoiseCrypto } from './noise-crypto.ts';
import { preAuthLimited } from './pre-auth-limits.ts';
import type { HostNet } from './host-net.ts';
import { Reconnector, type ReconnectorHost } from './reconnector.ts';
import { batchWindowUpdates } from './yamux-window-updates.ts';

/** Services every NovaEdge host runs. */
export interface HostServices extends Record<string, unknown> {
  /** Identify (required by gossipsub to learn protocols). */
  identify: Identify;
  /** Ping, for round-trip times. */
  ping: PingService;
  /** Gossipsub. */
  pubsub: PubSub<GossipsubEvents>;
}

/** A libp2p node with the NovaEdge services. */
export type HostLibp2p = Libp2p<HostServices>;

/**
 * Options of a host: what a HostFactory (node/components.ts) gets, the real one (createHost) or the
 * simulation's.
 */
export interface HostOptions {
  /** Identity key (the peer ID is derived from it). */
  privateKey: Ed25519PrivateKey;
  /** Listen multiaddrs. */
  listen: string[];
  /** Multiaddrs of configured members to stay connected to. */
  bootstrap: string[];
  /** Reconnection backoff (membership/redial-backoff.ts picks it for the node's role). */
  reconnect: RedialBackoff;
  /** Most simultaneous connections. */
  connectionsMax: number;
  /** Most new inbound connections per second from one host. */
  inboundConnectionsPerHostPerSecondMax: number;
  /** Deadline of one dial (connect + Noise + Yamux), milliseconds. */
  dialTimeoutMs: number;
  /** Gossip tuning. */
  gossip: GossipTuning;
  /** Largest auth frame (sizes the receive window of a stream before auth; default 8192). */
  authFrameBytesMax?: number;
  /** Refuse connections from and dials to these peers (the auth deny list). */
  isDenied: (peerId: PeerId, direction: 'inbound' | 'outbound') => boolean;
  /** Monotonic clock and timers (the reconnector, identify retries). */
  timers: TimerComponents;
  /** Randomness (redial jitter). */
  random: RandomSource;
  /** Logger (default silent). */
  logger?: Logger;
}

/** A host: the network node and its reconnector, started and stopped together. */
export interface Host<N extends HostNet = HostNet> {
  /** The network node (not started until `start`): libp2p, or the simulation's. */
  libp2p: N;
  /** Keeps the bootstrap members connected. */
  reconnector: Reconnector;
  /** Start listening, then dial the bootstrap members. */
  start(): Promise<void>;
  /** Stop dialing, then close every connection and listener. */
  stop(): Promise<void>;
  /** Both ends of `connection` authenticated: identify its remote if this node dialed it. */
  afterAuthenticated(connection: Connection): void;
}

// Bounds that are not configuration: generous for a federation, tight for an attacker.
const PENDING_INBOUND_MAX = 64;
const UPGRADE_TIMEOUT_MS = 5_000;
const NEGOTIATION_TIMEOUT_MS = 5_000;
// How long an inbound ping stream may stay silent before the ping handler ends it (see below).
const PING_STREAM_IDLE_MS = 60_000;
// Before auth an inbound connection needs one stream (auth); one more lets the auth service see,
// and refuse, a dialer that opens a second auth stream.
const PRE_AUTH_STREAMS_MAX = 2;
// The pre-auth receive window: one auth frame plus protocol negotiation and framing.
const PRE_AUTH_WINDOW_SLACK_BYTES = 1_024;
const AUTH_FRAME_BYTES_DEFAULT = 8_192;
// Identify after auth: attempts, and the pause before attempt n+1 (n × this).
const IDENTIFY_ATTEMPTS_MAX = 3;
const IDENTIFY_RETRY_MS = 250;

/** The reconnector of a host over `net`, from the host's options. */
export function reconnectorFor(net: ReconnectorHost, o: HostOptions): Reconnector {
  return new Reconnector(net, {
    ...o.reconnect, targets: o.bootstrap, dialTimeoutMs: o.dialTimeoutMs, timers: o.timers, random: o.random,
    ...(o.logger === undefined ? {} : { logger: o.logger }),
  });
}

/**
 * A host over a network node that is built but not started: the node and its reconnector (from
 * `o`), started and stopped together, and identify once a dialed connection authenticated. The real
 * host is this over libp2p; the simulation's is this over its simulated network node.
 */
export function hostFromNet<N extends HostNet>(net: N, o: HostOptions): Host<N> {
  const reconnector = reconnectorFor(net, o);
  return {
    libp2p: net,
    reconnector,
    async start() {
      await net.start();
      reconnector.start();
    },
    async stop() {
      reconnector.stop();
      await net.stop();
    },
    afterAuthenticated(connection) {
      // The listener answered only after accepting us, so it serves identify by now. Without identify
      // gossipsub never learns the peer's protocols, so a failure (a slow peer) is retried a few times.
      if (connection.direction !== 'outbound') return;
      void (async () => {
        for (let attempt = 1; attempt <= IDENTIFY_ATTEMPTS_MAX && connection.status === 'open'; attempt++) {
          try {
            await net.services.identify.identify(connection);
            return;
          } catch {
            await sleep(o.timers, IDENTIFY_RETRY_MS * attempt);
          }
        }
      })();
    },
  };
}

/** Build a host (not started). Register protocol handlers on `libp2p` before calling `start`. */
export async function createHost(o: HostOptions): Promise<Host<HostLibp2p>> {
  const gater: ConnectionGater = {
    denyDialPeer: (peerId) => o.isDenied(peerId, 'outbound'),
    denyInboundEncryptedConnection: (peerId) => o.isDenied(peerId, 'inbound'),
    denyOutboundEncryptedConnection: (peerId) => o.isDenied(peerId, 'outbound'),
  };
  // Yamux credits a stream back per 32 KiB received, not after every small message (see the file).
  batchWindowUpdates();
  const libp2p = await createLibp2p<HostServices>({
    start: false,
    privateKey: o.privateKey,
    addresses: { listen: o.listen },
    transports: [tcp()],
    // Same wire protocol as the default; reuses each session's cipher key instead of rebuilding it per message.
    connectionEncrypters: [noise({ crypto: cachedKeyNoiseCrypto })],
    streamMuxers: [preAuthLimited(yamux(), {
      streamsMax: PRE_AUTH_STREAMS_MAX,
      streamWindowBytes: (o.authFrameBytesMax ?? AUTH_FRAME_BYTES_DEFAULT) + PRE_AUTH_WINDOW_SLACK_BYTES,
    })],
    connectionGater: gater,
    // libp2p's connection monitor opens a ping stream on every connection every 10 s, all in the
    // same tick: with 100 agents, a burst of 600 stream opens (negotiation, peer-store writes) across
    // the federation every 10 s that stalled every node for a few hundred ms. Liveness and RTT are
    // already measured by membership's heartbeats and RTT prober and by the agents' health checks
    // over their long-lived ping streams; a peer that vanishes is found by those, and a stale
    // connection to a restarted peer fails on its next write.
    connectionMonitor: { enabled: false },
    connectionManager: {
      maxConnections: o.connectionsMax,
      inboundConnectionThreshold: o.inboundConnectionsPerHostPerSecondMax,
      maxIncomingPendingConnections: PENDING_INBOUND_MAX,
      dialTimeout: o.dialTimeoutMs,
      inboundUpgradeTimeout: UPGRADE_TIMEOUT_MS,
      outboundUpgradeTimeout: UPGRADE_TIMEOUT_MS,
      protocolNegotiationTimeout: NEGOTIATION_TIMEOUT_MS,
      // The reconnector owns reconnection to members; libp2p's own queue would race it.
      reconnectRetries: 0,
    },
    services: {
      // Not on connection open, and never for a limited (not yet authenticated) connection: see above.
      identify: identify({ runOnConnectionOpen: false, runOnLimitedConnection: false }),
      // Two probers may ping the same peer at once (membership's RTT prober, an agent's health
      // checks); libp2p's default of one outbound ping stream per connection would fail the second.
      // Agents keep one ping stream open per controller and ping on it every health-check or probe
      // period (node/agent/ping-channel.ts); the handler ends a stream silent for `timeout`, so it
      // must outlast the usual periods (10 s by default) or every check would find its stream gone.
      ping: ping({ maxOutboundStreams: 4, maxInboundStreams: 4, timeout: PING_STREAM_IDLE_MS, runOnLimitedConnection: false }),
      pubsub: gossipsub(gossipOptions(o.gossip)),
    },
  });
  return hostFromNet(libp2p, o);
}
