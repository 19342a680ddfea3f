// The embeddable membership node: identity, host, auth and membership wired together.
//
//   const node = await startMembershipNode({ federationId, memberName, role, region, keyFile,
//     certificateFile, controllerCaFiles, agentCaFiles, listen, bootstrap }, { profile: FAST_PROFILE });
//   node.on('state-changed', (e) => ...); node.peers(); await node.stop();
//
// Start-up order matters for security: configuration is validated and credentials cross-checked
// first (a node that would be refused by its peers does not start); the auth protocol and the gossip
// validator are installed before the host listens, so no connection ever exists without them.

import type { PeerId } from '@libp2p/interface';
import { HybridClock } from '../../storage/logic/hlc.ts';
import type { PeerView } from '../../membership/peer-table.ts';
import { healthContactWindowMs } from '../../membership/link-liveness.ts';
import { redialBackoffFor } from '../../membership/redial-backoff.ts';
import { AuthService, type AuthCounters, type AuthenticatedPeer } from '../auth/auth-service.ts';
import { guardHandler, type GuardedHandler, type GuardOptions } from '../auth/guard.ts';
import { resolveMembershipConfig, type MembershipConfig, type ResolvedMembershipConfig } from '../config/membership-config.ts';
import { nodeComponents, type NodeComponents } from '../components.ts';
import type { HostNet } from '../host/host-net.ts';
import { LinkLiveness, type LinkLivenessCounters } from '../host/link-liveness.ts';
import { openStream, type OpenStreamOptions, type PeerStream } from '../host/open-stream.ts';
import type { TargetStatus } from '../host/reconnector.ts';
import { checkCredentials, loadCredentials, type Credentials } from '../identity/credentials.ts';
import type { WallClock } from '../util/clock.ts';
import { healthTopic } from '../protocols.ts';
import { NodeStateError } from '../errors.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import { MembershipService, type HeartbeatSources, type MembershipCounters, type MembershipListeners, type ClockSample } from './membership-service.ts';
import type { RemoteClock } from './clock-probe.ts';

/** Run-time hooks of a membership node (not configuration). */
export interface MembershipNodeOptions extends HeartbeatSources {
  /** Defaults to apply under the configuration, e.g. FAST_PROFILE. */
  profile?: Readonly<Partial<MembershipConfig>>;
  /** Logger (default silent). */
  logger?: Logger;
  /** Measure round-trip times to controller peers (default true); agents measure their controllers themselves. */
  rttProbe?: boolean;
  /** The node's HLC, when the embedding node already has one (storage); default a new one. */
  clock?: HybridClock;
  /**
   * Physical clock (HLC stamps, certificate validity); overrides `components.wallClock` (default the
   * system clock; see node/util/clock.ts).
   */
  wallClock?: WallClock;
  /**
   * What the node takes from its environment: clocks, timers, randomness, the host factory
   * (node/components.ts). Partial: the rest are the real ones; an embedding node passes the object it
   * resolved itself, so every part of it shares one clock.
   */
  components?: NodeComponents | Partial<NodeComponents>;
  /**
   * Credentials already built (e.g. with credentialsFromParts): used instead of reading keyFile,
   * certificateFile and the CA files; checked against the configuration all the same.
   */
  credentials?: Credentials;
  /**
   * Extra connection filter (fault injection, operator block lists): peers for which it returns
   * true are refused by the connection gater in that direction ('outbound': our dials to them;
   * 'inbound': their dials to us), like peers on the auth deny list.
   */
  isBlocked?: (peerId: PeerId, direction: 'inbound' | 'outbound') => boolean;
  /** Identities refused federation-wide (AuthServiceOptions.revoked; a controller: its membership record's deny list). */
  revoked?: (peerId: string) => boolean;
  /** The membership epoch this controller has committed (answered with its clock; default 0: none). */
  membersEpoch?: () => number;
}

/** All counters of a membership node. */
export interface MembershipNodeCounters extends MembershipCounters {
  /** Auth protocol counters. */
  auth: AuthCounters;
  /** Liveness of the direct controller links (controllers only). */
  links?: LinkLivenessCounters;
}

/** A running membership node. */
export interface MembershipNode {
  /** This node's peer ID. */
  readonly peerId: PeerId;
  /** This node's member name. */
  readonly memberName: string;
  /** The resolved configuration. */
  readonly config: ResolvedMembershipConfig;
  /** The network host (for other protocols: register handlers wrapped with `guard`). */
  readonly libp2p: HostNet;
  /** The resolved components this node runs on (clocks, timers, randomness, host factory). */
  readonly components: NodeComponents;
  /** The auth service (isAuthenticated / peerInfo for other protocols). */
  readonly auth: AuthService;
  /** Addresses this node listens on, with /p2p/<peerId>. */
  multiaddrs(): string[];
  /** Every member in the peer table, sorted by name. */
  peers(): PeerView[];
  /** One member, or undefined. */
  peer(member: string): PeerView | undefined;
  /** Open `protocol` to a connected peer (peer ID in string form); the signal bounds dial and negotiation. */
  openStream(peerId: string, protocol: string, signal: AbortSignal, options?: OpenStreamOptions): Promise<PeerStream>;
  /** Peers with an authenticated connection right now. */
  authenticatedPeers(): AuthenticatedPeer[];
  /**
   * When a direct connection to this controller last proved alive (authenticated, or answered a
   * liveness ping over that very connection), monotonic ms; undefined when none is open or this node
   * is not a controller. Relayed heartbeats never move it. Connections unproven for the contact
   * window are closed, so while one is open this is within the window (give or take a timer's delay).
   */
  linkProvenAtMs(member: string): number | undefined;
  /** Subscribe to membership events ('event' for all); returns the unsubscribe function. */
  on<K extends keyof MembershipListeners>(event: K, listener: MembershipListeners[K]): () => void;
  /** This node's clocks as a peer reads them: physical clock and stamp height (max of it and the HLC's wall part). */
  readClock(): RemoteClock;
  /** The latest clock sample of each controller probed so far (the 'clock-sample' events before a listener subscribed). */
  clockSamples(): ClockSample[];
  /** Wrap a protocol handler so only authenticated peers (of the given roles) reach it. */
  guard(handler: GuardedHandler, options?: Partial<Omit<GuardOptions, 'timers'>>): ReturnType<typeof guardHandler>;
  /** Counters of every part. */
  counters(): MembershipNodeCounters;
  /** State of the connections to configured members. */
  reconnectStatus(): TargetStatus[];
  /** Keep `addr` (with /p2p/<peerId>) connected too, as a configured member is (live membership). */
  addDialTarget(addr: string): boolean;
  /** Announce leaving the federation (peers mark this member Left), then stop. */
  leave(): Promise<void>;
  /** Stop: timers, protocols, connections, listeners. Idempotent. */
  stop(): Promise<void>;
}

/** Validate `config`, load credentials, start the host and membership; resolves once listening. */
export async function startMembershipNode(config: MembershipConfig, options: MembershipNodeOptions = {}): Promise<MembershipNode> {
  const cfg = resolveMembershipConfig(config, options.profile);
  const components = nodeComponents({ ...options.components, ...(options.wallClock === undefined ? {} : { wallClock: options.wallClock }) });
  const { timers, wallClock, random } = components;
  const credentials: Credentials = options.credentials === undefined
    ? await loadCredentials(cfg, wallClock())
    : await checkCredentials(cfg, options.credentials, wallClock());
  const logger = loggerOrSilent(options.logger);
  const log = logger.child({ component: 'node', member: cfg.memberName });

  const auth = new AuthService({
    federationId: cfg.federationId,
    certificate: credentials.certificate,
    trust: credentials.trust,
    authTimeoutMs: cfg.authTimeoutMs,
    authDenyMs: cfg.authDenyMs,
    frameBytesMax: cfg.authFrameBytesMax,
    certificateClockSkewMs: cfg.certificateClockSkewMs,
    controllers: cfg.controllers,
    unauthenticatedInboundMax: cfg.unauthenticatedConnectionsMax,
    clients: cfg.remoteClients === undefined ? undefined : { connectionsMax: cfg.remoteClients.connectionsMax },
    ...(options.revoked === undefined ? {} : { revoked: options.revoked }),
    wallClock,
    timers,
    onConnectionAuthenticated: (c) => host.afterAuthenticated(c),
    logger,
  });
  const host = await components.createHost({
    privateKey: credentials.identity.privateKey,
    listen: cfg.listen,
    bootstrap: cfg.bootstrap,
    // Between controllers the redial cap is short: a cut-off controller is fenced until redialed.
    reconnect: redialBackoffFor(cfg.role, cfg.reconnect),
    connectionsMax: cfg.connectionsMax,
    inboundConnectionsPerHostPerSecondMax: cfg.inboundConnectionsPerHostPerSecondMax,
    // A dial (TCP, Noise, Yamux) is the first half of what authTimeoutMs bounds anyway.
    dialTimeoutMs: cfg.authTimeoutMs,
    authFrameBytesMax: cfg.authFrameBytesMax,
    gossip: {
      heartbeatMs: cfg.gossipHeartbeatMs,
      allowedTopics: [healthTopic(cfg.federationId)],
      // Room for a full-size heartbeat plus gossipsub framing and a few batched messages.
      rpcBytesMax: cfg.heartbeatBytesMax * 4,
      isAuthenticated: (p) => auth.isAuthenticated(p),
    },
    // A revoked peer is never dialed: it is refused when it dials us, at authentication, where it hears
    // AUTH_REVOKED (a removed controller learns its removal from those refusals). Were we to dial it,
    // we would refuse its certificate after it had accepted ours, and it would hear nothing.
    isDenied: (p, direction) => auth.isDenied(p) || (direction === 'outbound' && options.revoked?.(p.toString()) === true) || (options.isBlocked?.(p, direction) ?? false),
    timers,
    random,
    logger,
  });
  const membership = new MembershipService({
    config: cfg,
    credentials,
    libp2p: host.libp2p,
    auth,
    clock: options.clock ?? new HybridClock(cfg.memberName, { maxClockOffsetMs: cfg.maxClockOffsetMs }),
    wallClock,
    timers,
    random,
    logger,
    ...(options.merkleRoot === undefined ? {} : { merkleRoot: options.merkleRoot }),
    ...(options.quorumView === undefined ? {} : { quorumView: options.quorumView }),
    ...(options.agentCount === undefined ? {} : { agentCount: options.agentCount }),
    ...(options.reachable === undefined ? {} : { reachable: options.reachable }),
    ...(options.rttMs === undefined ? {} : { rttMs: options.rttMs }),
    ...(options.rttProbe === undefined ? {} : { rttProbe: options.rttProbe }),
    ...(options.membersEpoch === undefined ? {} : { membersEpoch: options.membersEpoch }),
    // A controller heard through a relay but not connected is alive: dial it now, not at the end of
    // its backoff (a no-op while connected or dialing).
    onHeard: (p) => {
      if (cfg.role === 'controller' && p.role === 'controller') host.reconnector.dialNow(p.peerId);
    },
  });
  // Controllers check each direct link to another controller end to end (see link-liveness.ts).
  const links = cfg.role !== 'controller' ? undefined : new LinkLiveness(host.libp2p, {
    watches: (p) => auth.peerInfo(p)?.role === 'controller',
    intervalMs: cfg.healthCheck.intervalMs,
    windowMs: healthContactWindowMs(cfg.healthCheck),
    onDead: (p) => { host.reconnector.dialNow(p.toString()); },
    heardAtMs: (p) => {
      const member = auth.peerInfo(p)?.member;
      return member === undefined ? undefined : membership.table.get(member)?.lastHeardAtMs;
    },
    timers,
    random,
    logger,
  });

  let state: 'running' | 'stopping' | 'stopped' = 'running';
  try {
    await auth.start(host.libp2p);
    membership.install();
    await host.start();
    membership.start();
    links?.start();
  } catch (e) {
    links?.stop();
    membership.stop();
    await auth.stop();
    await host.stop().catch(() => undefined);
    throw e;
  }
  log.info({ peerId: host.libp2p.peerId.toString(), addrs: host.libp2p.getMultiaddrs().map(String) }, 'membership node started');

  const stop = async (): Promise<void> => {
    if (state !== 'running') return;
    state = 'stopping';
    links?.stop();
    membership.stop();
    await auth.stop();
    await host.stop();
    state = 'stopped';
    log.info('membership node stopped');
  };

  return {
    peerId: host.libp2p.peerId,
    memberName: cfg.memberName,
    config: cfg,
    libp2p: host.libp2p,
    components,
    auth,
    multiaddrs: () => host.libp2p.getMultiaddrs().map(String),
    peers: () => membership.peers(),
    peer: (member) => membership.table.get(member),
    openStream: (peerId, protocol, signal, options) => openStream(host.libp2p, peerId, protocol, signal, timers, options),
    authenticatedPeers: () => auth.authenticatedPeers(),
    linkProvenAtMs: (member) => {
      const p = auth.authenticatedPeers().find((x) => x.member === member && x.role === 'controller');
      return p === undefined ? undefined : links?.provenAtMs(p.peerId);
    },
    on: (event, listener) => membership.on(event, listener),
    clockSamples: () => membership.clockSamples(),
    readClock: () => membership.readClock(),
    guard: (handler, o) => guardHandler(auth, handler, { waitMs: cfg.authTimeoutMs, ...o, timers }),
    counters: () => ({ ...membership.counters(), auth: auth.counters(), ...(links === undefined ? {} : { links: links.counters() }) }),
    reconnectStatus: () => host.reconnector.status(),
    addDialTarget: (addr) => host.reconnector.addTarget(addr),
    leave: async () => {
      if (state !== 'running') throw new NodeStateError('leave() on a node that is not running');
      await membership.announceLeave();
      await stop();
    },
    stop,
  };
}
