// A controller: the durable store, the membership node (identity, auth, health gossip) and the
// replicator, wired together over libp2p. This is what createNode() returns for the controller role.
import { Store, type ConflictInfo, type ResourceView, type WriteResult, type WriteOptions, type ChangeEvent } from '../../storage/index.ts';
import type { PeerView } from '../../membership/peer-table.ts';
import { resolveMembershipConfig, type MembershipConfig } from '../config/membership-config.ts';
import { resolveReplicationConfig, type ReplicationConfig, type ResolvedReplicationConfig } from '../config/replication-config.ts';
import { ConfigError, NodeStateError } from '../errors.ts';
import { loggerOrSilent } from '../util/logger.ts';
import { nodeComponents, type NodeComponents } from '../components.ts';
import { DISK_WRITE_BUFFER_BYTES } from '../../storage/store/disk-db.ts';
import { ResourceKinds } from '../../storage/logic/resource-kinds.ts';
import { startMembershipNode, type MembershipNode, type MembershipNodeOptions } from '../membership/membership-node.ts';
import { controllerPinsFrom } from '../auth/member-pins.ts';
import type { AntiEntropyReport } from '../replication/anti-entropy-client.ts';
import { replicationProtocol } from '../replication/protocol-ids.ts';
import { Replicator, type PeerLinks, type PeerReplicationStatus, type ReplicationProtocol } from '../replication/replicator.ts';
import { resolveSplitBrain, WriteFence, type SplitBrainConfig } from './write-fence.ts';
import type { FenceListeners } from './fence-transitions.ts';
import { waitUntilWritable, type ReadyOptions } from './write-readiness.ts';
import { countsByRegistry, registryWait, type QuorumConfig, type QuorumStatus } from '../../quorum/index.ts';
import { AgentVotes } from '../votes/agent-votes.ts';
import type { AgentRegistryStatus } from '../votes/registry-keeper.ts';
import { SYSTEM_RECORD_SCHEMAS } from '../votes/registry-record.ts';
import { FrameRefusals } from '../wire/frame-refusals.ts';
import { membersProtocol } from '../membership/members-messages.ts';
import { firstMembersRecord, MembershipRequestError, MembersService } from '../membership/members-service.ts';
import { controllerNamed, MemberChangeError, type ControllerEntry, type FederationMembers } from '../../membership/federation-members.ts';
import { levelSlotStorage } from '../membership/members-storage.ts';
import { serveMembersExchange, streamMembersTransport } from '../membership/members-wire.ts';
import { settleMsFor } from '../membership/members-settle.ts';
import { PROMOTE_CHECK_INTERVAL_MS } from '../../membership/promotion.ts';
import { awaitKnowers } from '../membership/members-knowers.ts';
import { joinRecord } from '../membership/members-join.ts';
import { wireLiveMembership } from './live-membership.ts';
import { serveControllerDirectory } from '../membership/controller-directory.ts';
import { controllersProtocol } from '../protocols.ts';

/** Which connections a cut link refuses. */
export type LinkDirection = 'both' | 'inbound' | 'outbound';

/** Configuration of a controller node. */
export interface ControllerConfig {
  /** Identity, certificates, addresses and health checking. */
  membership: MembershipConfig;
  /** Store and replication. */
  replication: ReplicationConfig;
  /**
   * Join a running federation (live membership): this controller's configuration names no other
   * controller, only `membership.bootstrap` (members' addresses with their peer IDs). It learns the
   * membership record from them once a member has added it (`novactl federation members add`), and
   * start() resolves then (or at once when a record is saved from an earlier run).
   */
  join?: boolean;
  /** Quorum and write fencing (default: Controllers mode, majority of the controllers, writes fenced). */
  splitBrain?: SplitBrainConfig;
}

/** Options that are not configuration. */
export interface ControllerOptions extends Pick<MembershipNodeOptions, 'logger'> {
  /** Membership profile (e.g. FAST_PROFILE). */
  membershipProfile?: MembershipNodeOptions['profile'];
  /**
   * What the node takes from its environment (node/components.ts): monotonic clock and timers, the
   * physical clock (what writes and heartbeats are stamped with and clock offsets are measured
   * against: a test skews one controller with it), randomness, the network host and the store's
   * database. What is not given is the real one; resolved once, and every part of the node shares it.
   */
  components?: Partial<NodeComponents>;
  /** Records queued per peer before the push queue is dropped for anti-entropy (default 10,000; a benchmark lowers it to overflow on a slow machine). */
  pushQueueMax?: number;
  /** Replication profile (e.g. FAST_REPLICATION). */
  replicationProfile?: Readonly<Partial<ReplicationConfig>>;
  /** Aborts a start that is waiting to join (ControllerConfig `join`): it then stops and rejects. */
  signal?: AbortSignal;
}

/** Durability of one write: on this controller, or on a weighted majority of controllers. */
export type Durability = 'local' | 'quorum';

/** The outcome of a write on a controller. */
export interface ControllerWriteResult extends WriteResult {
  /**
   * A quorum write that changed something: the controllers that held it when it returned, this one
   * first, then the peers in the order they acknowledged it as stored (a majority).
   */
  acknowledgedBy?: string[];
}

/** One row of `federation status`. */
export interface MemberStatus {
  name: string;
  region: string;
  /** Local, Healthy, Suspect, Unhealthy, Left or Unknown (never heard from). */
  status: string;
  /** Replication lag to this member, ms (undefined for the local member). */
  syncLagMs: number | undefined;
  /** When this member last acknowledged a sync, ms since epoch (0: never). */
  lastSyncMs: number | undefined;
  /** Agents it reports. */
  agents: number;
}

/** What `federation status` shows. */
export interface FederationStatus {
  federationId: string;
  localMember: string;
  members: MemberStatus[];
  /** The `--verbose` partition fields. */
  quorum: QuorumStatus;
  /** AgentAssisted only: the replicated agent registry (which agents count in the total). */
  agentRegistry?: AgentRegistryStatus;
  /** Live membership: the epoch of the record committed here, and whether it says this controller was removed. */
  membership?: { epoch: number; removed: boolean };
}

export class ControllerNode {
  /** The resolved components the node runs on (the admin and metrics services read its clock from them). */
  readonly components: NodeComponents;
  readonly membership: MembershipNode;
  readonly store: Store;
  readonly replicator: Replicator;
  readonly config: ResolvedReplicationConfig;
  readonly fence: WriteFence;
  /** AgentAssisted only: agents' vote leases and the agent registry. */
  readonly agentVotes: AgentVotes | undefined;
  /**
   * The federation's membership record (live membership: its deny list is enforced on every
   * connection); undefined when the configuration does not give every controller's peer ID.
   */
  readonly members: MembersService | undefined;
  /** Frames refused from peers on the replication streams they open here, by peer, protocol and code. */
  readonly frameRefusals = new FrameRefusals();
  // Fault hook state: members whose link is cut, and the peer IDs refused because of it.
  readonly #cutMembers = new Map<string, LinkDirection>();
  readonly #blocked: Map<string, { member: string; direction: LinkDirection }>; // by peer ID
  readonly #offs: Array<() => void> = [];
  #running = true;

  private constructor(components: NodeComponents, membership: MembershipNode, store: Store, replicator: Replicator, config: ResolvedReplicationConfig,
    blocked: Map<string, { member: string; direction: LinkDirection }>, fence: WriteFence, agentVotes: AgentVotes | undefined, members: MembersService | undefined) {
    this.components = components;
    this.members = members;
    this.membership = membership;
    this.fence = fence;
    this.agentVotes = agentVotes;
    this.store = store;
    this.replicator = replicator;
    this.config = config;
    this.#blocked = blocked;
  }

  /** Validate the configuration, open the store, start membership and replication. */
  static async start(config: ControllerConfig, options: ControllerOptions = {}): Promise<ControllerNode> {
    if (config.membership.role !== 'controller') throw new Error('ControllerNode: membership.role must be controller');
    const repl = resolveReplicationConfig(config.replication, config.membership.memberName, options.replicationProfile);
    // One maxClockOffsetMs for store, replication (the store checks received records) and membership
    // (the HLC is shared); checked with the rest of the membership section before anything opens.
    const { maxClockOffsetMs } = resolveMembershipConfig(config.membership, options.membershipProfile);
    const components = nodeComponents(options.components);
    const { timers, wallClock, random } = components;
    // The default database is LevelDB in <dataDir>/store, the directory made private (0700) first; an
    // injected one (the simulation's) has no directory at all.
    const db = await components.openStoreDb(repl.dataDir, {
      writeBufferBytes: DISK_WRITE_BUFFER_BYTES, logger: loggerOrSilent(options.logger).child({ component: 'controller' }),
    });
    const store = await Store.open({
      db, member: config.membership.memberName, strategy: repl.strategy,
      tombstoneGraceMs: repl.tombstoneGraceMs, systemRecords: SYSTEM_RECORD_SCHEMAS, resourceKinds: new ResourceKinds(repl.resourceKinds), maxClockOffsetMs, nowMs: wallClock, monoMs: timers.nowMs,
    });
    const { fromVersion, toVersion, keys } = store.migration;
    if (fromVersion !== toVersion) {
      loggerOrSilent(options.logger).child({ component: 'controller' }).info({ fromVersion, toVersion, keys }, 'store converted to the current key layout');
    }
    const blocked = new Map<string, { member: string; direction: LinkDirection }>();
    let membership: MembershipNode;
    let replicator: Replicator | undefined;
    let members: MembersService | undefined;
    // AgentAssisted: the agent registry version counted here, once the agent votes exist (-1 before:
    // an acceptor refuses every value until then).
    let registryVersion: (() => number) | undefined;
    // Identities pinned both ways (node/auth/member-pins.ts): the configured controllers, by default
    // every name in replication.controllers and the peer IDs of the bootstrap addresses.
    const controllers = config.membership.controllers
      ?? controllerPinsFrom(config.membership.memberName, repl.controllers, config.membership.bootstrap ?? []);
    try {
      membership = await startMembershipNode({ ...config.membership, controllers }, {
        ...(options.membershipProfile === undefined ? {} : { profile: options.membershipProfile }),
        ...(options.logger === undefined ? {} : { logger: options.logger }),
        clock: store.clock,
        components,
        merkleRoot: () => store.merkle.root(),
        // The AGENTS column: agents following this controller, not every agent that can reach it.
        agentCount: () => replicator?.followingAgents().length ?? 0,
        // The record's deny list, and everyone once this controller knows it was removed (it then
        // neither replicates nor serves agents, which fail over). Nobody before the record is loaded,
        // a moment after start: connections made in that moment are checked again (dropRevoked below).
        revoked: (peerId) => members !== undefined && (members.removed || members.isRevoked(peerId)),
        // Answered with each clock probe: the write fence's count rule reads it (live-membership.ts).
        membersEpoch: () => members?.committed.epoch ?? 0,
        isBlocked: (peerId, direction) => {
          const cut = blocked.get(peerId.toString());
          return cut !== undefined && (cut.direction === 'both' || cut.direction === direction);
        },
      });
    } catch (err) {
      await store.close();
      throw err;
    }
    let quorum: QuorumConfig;
    try {
      quorum = resolveSplitBrain(membership, repl.controllers, config.splitBrain ?? {});
      const fid = membership.config.federationId;
      const m = membership;
      const transport = streamMembersTransport(async (member, signal) => {
        const peer = m.authenticatedPeers().find((p) => p.member === member && p.role === 'controller');
        if (peer === undefined) throw new NodeStateError(`${member} is not connected`);
        return m.openStream(peer.peerId, membersProtocol(fid), signal);
      }, timers);
      const connected = (): string[] => m.authenticatedPeers().filter((p) => p.role === 'controller').map((p) => p.member);
      const storage = levelSlotStorage(db);
      const first = config.join === true
        ? await joinRecord({
          self: m.memberName, selfPeerId: m.peerId.toString(), listenAddrs: () => m.multiaddrs(), connected, transport, storage, timers,
          ...(options.signal === undefined ? {} : { signal: options.signal }),
          ...(options.logger === undefined ? {} : { logger: options.logger.child({ component: 'members' }) }),
        })
        : firstMembersRecord(membership.memberName, membership.peerId.toString(), repl.controllers, controllers);
      if (first !== undefined) {
        members = new MembersService({
          self: m.memberName,
          initial: first,
          storage,
          transport,
          connected,
          timers,
          settleMs: settleMsFor(m.config),
          // AgentAssisted: the knowers rule before each round, and accepts only on the same agent
          // registry version (quorum/agent-epochs.ts).
          ...(quorum.mode === 'AgentAssisted' ? {
            registryVersion: () => registryVersion?.() ?? -1,
            refuseWritesInDoubt: true,
            beforePropose: (epoch: number) => awaitKnowers({
              knowersBlock: () => fence.knowersBlock(members?.committedBy(members.committed.epoch) ?? []), committedEpoch: () => members?.committed.epoch ?? 0,
              settleMs: settleMsFor(m.config), waitMaxMs: quorum.leaseMs + 4 * settleMsFor(m.config), timers,
            }, epoch),
          } : {}),
          ...(options.logger === undefined ? {} : { logger: options.logger.child({ component: 'members' }) }),
        });
        await members.start();
        m.auth.dropRevoked();
      }
    } catch (err) {
      await membership.stop();
      await store.close();
      throw err;
    }
    const links: PeerLinks = {
      open: async (member, protocol, signal) => {
        const peer = membership.authenticatedPeers().find((p) => p.member === member && p.role === 'controller');
        if (peer === undefined) throw new NodeStateError(`${member} is not connected`);
        return membership.openStream(peer.peerId, replicationProtocol(membership.config.federationId, protocol), signal);
      },
    };
    replicator = new Replicator(store, links, {
      self: membership.memberName,
      controllers: repl.controllers,
      pushEnabled: repl.sync.pushEnabled,
      batchSize: repl.sync.batchSize,
      compression: repl.sync.compression,
      syncTimeoutMs: repl.sync.timeoutMs,
      quorumTimeoutMs: repl.sync.quorumTimeoutMs,
      reachable: () => fence.reachable(),
      logger: options.logger,
      pushWindowMax: 4,
      pushQueueMax: options.pushQueueMax ?? 10_000,
      antiEntropyEnabled: repl.antiEntropy.enabled,
      antiEntropyIntervalMs: repl.antiEntropy.intervalMs,
      antiEntropyBatchSize: repl.antiEntropy.batchSize,
      repairMode: repl.antiEntropy.repairMode,
      frameBytesMax: 8 * 1024 * 1024,
      retryMs: 100,
      // Agents learn the vote lease duration from the config-stream hello (node/votes/vote-responder.ts).
      voteLeaseMs: quorum.mode === 'AgentAssisted' ? quorum.leaseMs : undefined,
      wallClock,
      timers,
    });
    const votes = quorum.mode === 'AgentAssisted'
      ? new AgentVotes({
        membership, store, replicator, config: quorum, reachableControllers: () => fence.votingControllers(), timers, random, logger: options.logger,
        epoch: () => members?.committed.epoch ?? 0,
        counted: () => ({
          config: fence.config, priorControllers: fence.priorVoters, voter: !fence.learner && members?.removed !== true,
          ...(members === undefined ? {} : { epoch: members.committed.epoch }),
          ...(members === undefined ? {} : { hold: registryHold(members, fence) }),
        }),
      })
      : undefined;
    const fence = new WriteFence(membership, quorum, votes, {
      hlc: store.clock, timers, wallClock, ...(options.logger === undefined ? {} : { logger: options.logger }),
      // Removed (or maybe), or behind the agent registry's epoch: no writes (quorum/agent-epochs.ts).
      refusal: () => members?.leaving ?? (votes === undefined || members === undefined ? undefined : registryAhead(votes, members)),
    });
    if (votes !== undefined) registryVersion = () => votes.registry.registry().version;
    const node = new ControllerNode(components, membership, store, replicator, repl, blocked, fence, votes, members);
    node.#wire(options.logger);
    replicator.start();
    try {
      await votes?.start();
    } catch (err) {
      await node.stop();
      throw err;
    }
    return node;
  }

  #wire(logger: ControllerOptions['logger']): void {
    const blocked = this.#blocked;
    const m = this.membership;
    const fid = m.config.federationId;
    const handle = (p: ReplicationProtocol, roles: Array<'controller' | 'agent'>, serve: (duplex: any, member: string, role: string) => Promise<void>): void => {
      void m.libp2p.handle(replicationProtocol(fid, p), m.guard(async ({ stream }, peer) => {
        if (blocked.has(peer.peerId)) { stream.abort(new Error('link cut')); return; }
        try {
          await serve(stream, peer.member, peer.role);
          await stream.close();
        } catch (err) {
          this.frameRefusals.count(peer.member, p, err);
          stream.abort(err instanceof Error ? err : new Error(String(err)));
        }
      }, { roles }), { maxInboundStreams: 8, maxOutboundStreams: 8 });
    };
    handle('push', ['controller'], (d, member) => this.replicator.handlePush(d, member));
    // Agents may run anti-entropy against a controller, read-only.
    handle('anti-entropy', ['controller', 'agent'], (d, member, role) => this.replicator.handleAntiEntropy(d, member, role === 'controller'));
    handle('config-stream', ['agent'], (d, member) => this.replicator.handleConfigStream(d, member));
    const members = this.members;
    const auth = m.auth;
    if (members !== undefined) {
      void m.libp2p.handle(membersProtocol(fid), m.guard(async ({ stream }, peer) => {
        if (blocked.has(peer.peerId)) { stream.abort(new Error('link cut')); return; }
        try {
          await serveMembersExchange(stream, peer.member, members, this.components.timers);
          await stream.close();
        } catch (err) {
          this.frameRefusals.count(peer.member, 'members', err);
          stream.abort(err instanceof Error ? err : new Error(String(err)));
        }
      }, { roles: ['controller'] }), { maxInboundStreams: 4, maxOutboundStreams: 4 });
      // Agents read the controller directory here (controller-directory.ts): they learn the controller set live.
      void m.libp2p.handle(controllersProtocol(fid), m.guard(async ({ stream }, peer) => {
        if (blocked.has(peer.peerId)) { stream.abort(new Error('link cut')); return; }
        try {
          await serveControllerDirectory(stream, members, this.components.timers);
          await stream.close();
        } catch (err) {
          stream.abort(err instanceof Error ? err : new Error(String(err)));
        }
      }, { roles: ['agent'] }), { maxInboundStreams: 2, maxOutboundStreams: 1 });
      // A newer record may deny identities connected now; a controller that connects may hold one.
      this.#offs.push(members.onAdopted(() => { auth.dropRevoked(); }));
      this.#offs.push(auth.on('authenticated', (p) => { if (p.role === 'controller') void members.catchUp(p.member); }));
      this.#offs.push(auth.on('refused', (r) => { if (r.peerCode !== undefined) members.noteRefusedBy(r.peerId, r.peerCode); }));
      this.#offs.push(wireLiveMembership({
        membership: m, members, fence: this.fence, replicator: this.replicator, timers: this.components.timers, running: () => this.#running,
        finishVoterChanges: this.agentVotes !== undefined,
        undecidedAfterMs: 4 * settleMsFor(m.config) + PROMOTE_CHECK_INTERVAL_MS,
        ...(logger === undefined ? {} : { logger: logger.child({ component: 'members' }) }),
      }));
    }
    const up = (p: { member: string; role: string; peerId: string }): void => {
      const direction = this.#cutMembers.get(p.member);
      if (direction === 'both') {
        // A cut member that got through (it dialed before the block took effect) is dropped again.
        blocked.set(p.peerId, { member: p.member, direction });
        dropConnections(this.membership, p.peerId);
        return;
      }
      if (direction !== undefined) blocked.set(p.peerId, { member: p.member, direction });
      if (p.role === 'controller') this.replicator.peerUp(p.member);
    };
    this.#offs.push(auth.on('authenticated', up));
    this.#offs.push(auth.on('deauthenticated', (p) => { if (p.role === 'controller') this.replicator.peerDown(p.member); }));
    for (const p of auth.authenticatedPeers()) up(p);
  }

  // ---- the embedded API -------------------------------------------------------------------------

  /**
   * Subscribe to what happens to this controller's writes: 'fence' (writes refused, with the reason,
   * votes and reachable peers, or accepted again), 'quorum' (lost or regained) and 'phase' (partition
   * phase changes). Each change is one event (and one log line). Returns the unsubscribe function.
   */
  on<K extends keyof FenceListeners>(event: K, listener: FenceListeners[K]): () => void {
    return this.fence.on(event, listener);
  }

  /**
   * Resolves once this controller accepts writes: not fenced, and enough controllers reachable for a
   * quorum write. Right after start its peers are still being reached, and writes are FENCED until
   * then; await this before the first write. Rejects with NotReadyError (code NOT_READY, the reason
   * in its message) after `timeoutMs` (default 30 s), when `signal` aborts, or when the node stops.
   */
  ready(opts: ReadyOptions = {}): Promise<void> {
    const blocker = (): string | undefined => {
      const q = this.fence.status();
      if (q.writesFenced) return `writes fenced (${q.fenceReason}): ${q.ourVotes} of ${q.totalVotes} votes reached, ${q.threshold} needed`;
      try {
        this.replicator.checkQuorumAvailable();
      } catch (err) {
        return (err as Error).message;
      }
      return undefined;
    };
    return waitUntilWritable(this.components.timers, { blocker, stopped: () => !this.#running, changed: (check) => this.fence.on('fence', check) }, opts);
  }

  /** Create or update a resource; with durability 'quorum', resolves once a majority has it. */
  apply(resource: unknown, opts: { durability?: Durability } = {}): Promise<ControllerWriteResult> {
    return this.#write(opts.durability, (w) => this.store.apply(resource, w));
  }

  /** Delete a resource (replicated tombstone). */
  delete(key: string, opts: { durability?: Durability } = {}): Promise<ControllerWriteResult> {
    return this.#write(opts.durability, (w) => this.store.delete(key, w));
  }

  // Every write: refused when stopped or fenced (nothing stored), then durable here, and on a
  // majority if asked (naming the controllers that acknowledged it). A quorum write counts the
  // peers' acknowledgements from the moment its record exists: it may reach them before it is
  // durable here (Store.onSendable), and is answered once both are true.
  async #write(durability: Durability | undefined, op: (w: WriteOptions) => Promise<WriteResult>): Promise<ControllerWriteResult> {
    this.#checkRunning();
    this.fence.check();
    if (durability !== 'quorum') return op({});
    this.replicator.checkQuorumAvailable();
    let quorum: Promise<string[]> | undefined;
    const res = await op({
      onRecord: (record) => {
        quorum = this.replicator.waitForQuorum(record);
        // Answered below once the write is durable here; if it never is, its store error is the answer.
        quorum.catch(() => undefined);
      },
    });
    if (!res.changed) return res;
    return { ...res, acknowledgedBy: await (quorum ?? this.replicator.waitForQuorum(res.record)) };
  }

  /** Read one resource as this controller serves it. */
  get(key: string): Promise<ResourceView | undefined> {
    return this.store.get(key);
  }

  /** List resources. */
  list(filter?: Parameters<Store['list']>[0]): Promise<ResourceView[]> {
    return this.store.list(filter);
  }

  /** Watch changes from a seq (the federation's own system records are left out). */
  watch(opts?: Parameters<Store['watch']>[0]): AsyncIterable<ChangeEvent> {
    return this.store.watch({ hideSystem: true, ...opts });
  }

  /** Conflicts held. */
  conflicts(): Promise<ConflictInfo[]> {
    return this.store.conflicts();
  }

  /** One conflict with both sides, or undefined. */
  async describeConflict(key: string): Promise<ConflictInfo | undefined> {
    const r = await this.store.getRecord(key);
    return r === undefined ? undefined : this.store.ruleFor(key).conflict(r, this.membership.memberName);
  }

  /** Resolve a conflict keeping this controller's side or the other. */
  resolveConflict(key: string, keep: 'local' | 'remote', opts: { durability?: Durability } = {}): Promise<ControllerWriteResult> {
    return this.#write(opts.durability, (w) => this.store.resolve(key, keep, w));
  }

  /** Run anti-entropy with a peer now. */
  sync(peer: string): Promise<AntiEntropyReport> {
    return this.replicator.sync(peer);
  }

  /** The membership record's service; MembershipRequestError NO_LIVE_MEMBERSHIP when this controller has none. */
  liveMembers(): MembersService {
    if (this.members === undefined) throw new MembershipRequestError('NO_LIVE_MEMBERSHIP', 'this controller has no live membership: its configuration must give every controller\'s peer ID (spec.members[].endpoint with /p2p/…)');
    return this.members;
  }

  /**
   * Remove controller `name` from the federation (`novactl federation members remove`). A connected
   * controller is drained first: one anti-entropy session pulls here what it holds and others lack
   * (its writes acknowledged with local durability), so they do not leave with it. One that is not
   * connected is removed only with `force` (NOT_CONNECTED otherwise): what it had not replicated is
   * lost, also for agents that hold it (docs/regions.md). The removal itself commits with a majority
   * of the voters (ProposeError NO_MAJORITY otherwise).
   */
  async removeController(name: string, opts: { force?: boolean } = {}): Promise<{ record: FederationMembers; removed: ControllerEntry; drained: boolean }> {
    this.#checkRunning();
    const members = this.liveMembers();
    const self = this.membership.memberName;
    if (name === self) throw new MembershipRequestError('SELF', `${name} is this controller: remove it from another one`);
    const removed = controllerNamed(members.committed, name);
    if (removed === undefined) throw new MemberChangeError('NOT_A_MEMBER', `${name} is not a member`);
    const connected = this.membership.authenticatedPeers().some((p) => p.member === name && p.role === 'controller');
    if (!connected && opts.force !== true) {
      throw new MembershipRequestError('NOT_CONNECTED', `${name} is not connected: writes it acknowledged with local durability and did not replicate would be lost; remove it with force to accept that`);
    }
    let drained = false;
    if (connected) {
      try {
        await this.sync(name);
        drained = true;
      } catch (err) {
        if (opts.force !== true) throw new MembershipRequestError('NOT_CONNECTED', `${name} could not be drained (${(err as Error).message}); remove it with force to accept losing what it did not replicate`);
      }
    }
    const { record } = await members.propose({ op: 'remove', name });
    return { record, removed, drained };
  }

  /**
   * Add controller `entry` to the federation as a learner (`novactl federation members add`): from
   * the commit on, every controller admits its certificate, dials its endpoints and replicates with
   * it; it does not vote until promoted (automatically once caught up when `entry.autoPromote`,
   * live-membership.ts; else by promoteController). Commits with a majority of the voters.
   */
  async addController(entry: ControllerEntry): Promise<FederationMembers> {
    this.#checkRunning();
    const members = this.liveMembers();
    return (await members.propose({ op: 'add', controller: entry })).record;
  }

  /** Make learner `name` a voter (`novactl federation members promote`). Commits with a majority of the voters and of the voters after it. */
  async promoteController(name: string): Promise<FederationMembers> {
    this.#checkRunning();
    const members = this.liveMembers();
    return (await members.propose({ op: 'promote', name })).record;
  }

  /**
   * Every controller of the federation as this one knows it: the configured ones (in configured
   * order), then those its membership record added, less those the record removed.
   */
  knownControllers(): string[] {
    const record = this.members?.committed;
    const names = new Set(this.config.controllers);
    for (const c of record?.controllers ?? []) names.add(c.name);
    const listed = new Set(record?.controllers.map((c) => c.name));
    // A name removed once may be a member again, under a new identity.
    for (const d of record?.denied ?? []) if (d.role === 'controller' && d.name !== this.membership.memberName && !listed.has(d.name)) names.delete(d.name);
    return [...names];
  }

  /** Members, health, sync lag and last sync. */
  status(): FederationStatus {
    const peers = new Map<string, PeerView>(this.membership.peers().map((p) => [p.member, p] as const));
    const repl = new Map<string, PeerReplicationStatus>(this.replicator.status().map((s) => [s.member, s] as const));
    const self = this.membership.memberName;
    // The configured controllers and those the membership record added, less those it removed.
    const members: MemberStatus[] = this.knownControllers().map((name) => {
      if (name === self) {
        return { name, region: this.membership.config.region, status: 'Local', syncLagMs: undefined, lastSyncMs: undefined, agents: this.replicator.followingAgents().length };
      }
      const p = peers.get(name);
      const r = repl.get(name);
      return {
        name, region: p?.region ?? '', status: p?.state ?? 'Unknown',
        syncLagMs: r?.lagMs, lastSyncMs: r?.lastSyncMs, agents: p?.agentCount ?? 0,
      };
    });
    const status: FederationStatus = { federationId: this.membership.config.federationId, localMember: self, members, quorum: this.fence.status() };
    if (this.agentVotes !== undefined) status.agentRegistry = this.agentVotes.status();
    if (this.members !== undefined) status.membership = { epoch: this.members.committed.epoch, removed: this.members.removed };
    return status;
  }

  /**
   * Test hook: cut the link to a member at the connection layer. 'both' refuses connections either
   * way; 'outbound' refuses only our dials to it and 'inbound' only its dials to us (a one-way
   * firewall: a connection opened the allowed way still carries traffic both ways). Existing
   * connections are aborted.
   */
  async cutLink(member: string, direction: LinkDirection = 'both'): Promise<void> {
    this.#cutMembers.set(member, direction);
    if (direction === 'both') this.replicator.peerDown(member);
    for (const p of this.membership.authenticatedPeers()) {
      if (p.member !== member) continue;
      this.#blocked.set(p.peerId, { member, direction });
      dropConnections(this.membership, p.peerId);
    }
  }

  /** Test hook: restore a cut link; the reconnector dials the member again. */
  restoreLink(member: string): void {
    this.#cutMembers.delete(member);
    for (const [peerId, b] of this.#blocked) if (b.member === member) this.#blocked.delete(peerId);
  }

  /** Stop replication, membership and the store. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    for (const off of this.#offs) off();
    this.fence.stop();
    this.members?.stop();
    await this.agentVotes?.stop();
    await this.replicator.stop();
    await this.membership.stop();
    await this.store.close();
  }

  #checkRunning(): void {
    if (!this.#running) throw new NodeStateError('node is stopped');
  }
}

// A cut is abrupt, like a firewall's reset or a dead host: the connections are aborted. A graceful
// hang-up waits up to 500 ms (libp2p's close timeout) for every stream to finish first, which the
// fencing bench measured as the time to notice the cut.
function dropConnections(m: MembershipNode, peerId: string): void {
  for (const c of m.libp2p.getConnections()) if (c.remotePeer.toString() === peerId) c.abort(new Error('link cut'));
}

// Why the agent registry's changes wait now (AgentAssisted, live membership; quorum/agent-epochs.ts registryWait), if they do.
function registryHold(members: MembersService, fence: WriteFence): string | undefined {
  const epoch = members.committed.epoch;
  switch (registryWait({ pendingValue: members.acceptor.acceptor.accepted !== undefined, joint: fence.priorVoters !== undefined, settling: members.acceptor.settlingMs() > 0 })) {
    case 'pending': return `a membership change for epoch ${epoch + 1} is being decided`;
    case 'joint': return `the voter change of epoch ${epoch} is not finished`;
    case 'settling': return `settling after membership epoch ${epoch}`;
    case undefined: return undefined;
  }
}

// A registry written at a later membership epoch than this controller's (quorum/agent-epochs.ts countsByRegistry).
function registryAhead(votes: AgentVotes, members: MembersService): string | undefined {
  const at = votes.registry.epoch();
  const epoch = members.committed.epoch;
  if (countsByRegistry(at, epoch)) return undefined;
  return `the agent registry was written at membership epoch ${at}, and this controller holds epoch ${epoch}: it refuses writes until it catches up (the record is fetched from its peers)`;
}
