// An agent: a read-only replica of the federation's configuration, taken from one controller at a
// time. It probes every configured controller; the pure AgentFollow machine (membership/agent-follow.ts:
// the ControllerSelector's failover, latency-aware choice and delayed failback, and the
// Connected/FailingOver/Autonomous states) decides which one to follow and what state that puts the
// agent in; this file carries its decisions out: it follows the controller through a controller
// session (Merkle catch-up, then live changes), keeps a file copy for autonomous starts, and serves
// reads and watches to the program on top (the proxy) from its durable replica whatever the
// controllers do. Clocks, timers, randomness, the host and the store's database come from the node's
// components (node/components.ts), resolved once in start().
//
// It learns the controller set live from the controller directory (directory-learner.ts).
import { AgentFollow, type AgentState, type Following, type FollowDecision } from '../../membership/agent-follow.ts';
import type { Switch } from '../../membership/controller-selector.ts';
import {
  Store, StoreClosedError, type ChangeEvent, type ResourceView, type StoredRecord, type StrategyName,
} from '../../storage/index.ts';
import { DISK_WRITE_BUFFER_BYTES } from '../../storage/store/disk-db.ts';
import { nodeComponents, type NodeComponents } from '../components.ts';
import { resolveMembershipConfig, type MembershipConfig } from '../config/membership-config.ts';
import { ReadOnlyError } from '../errors.ts';
import { startMembershipNode, type MembershipNode, type MembershipNodeOptions } from '../membership/membership-node.ts';
import type { AntiEntropyReport } from '../replication/anti-entropy-client.ts';
import { antiEntropyResponseCaps, DEFAULT_ANTI_ENTROPY_LIMITS } from '../replication/anti-entropy-messages.ts';
import { configStreamCaps } from '../replication/config-stream-messages.ts';
import { mergeCaps } from '../wire/message-limits.ts';
import { replicationProtocol } from '../replication/protocol-ids.ts';
import { Emitter } from '../util/emitter.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import { resolveAgentConfig, type AgentConfig, type ResolvedAgentConfig } from './agent-config.ts';
import { every } from '../components.ts';
import { DirectoryLearner, type AgentDirectoryStatus } from './directory-learner.ts';
import { CacheWriter, type CacheWriterStats } from './cache-writer.ts';
import { ControllerProber, type CheckVerdict } from './controller-prober.ts';
import { CacheFiles, loadConfigCache } from './cache-journal.ts';
import type { CacheCode } from './config-cache.ts';
import { runControllerSession } from './controller-session.ts';
import { resyncSchedule } from './resync-schedule.ts';
import { VoteResponder, type VoteResponderStatus } from '../votes/vote-responder.ts';
import { levelVoteEpochStorage, type VoteEpochStorage } from '../votes/vote-epoch-storage.ts';
import { voteLeaseProtocol } from '../votes/vote-messages.ts';
import { SYSTEM_RECORD_SCHEMAS } from '../votes/registry-record.ts';
import { RecordRejections } from '../replication/record-rejections.ts';

export type { AgentState } from '../../membership/agent-follow.ts';

/** One controller as the agent sees it: configured, or learned from the controller directory. */
export interface AgentControllerStatus {
  /** Member name from its certificate (undefined until it has authenticated once). */
  name: string | undefined;
  endpoint: string;
  peerId: string;
  priority: number;
  /** Authenticated connection right now. */
  connected: boolean;
  /** Passing health checks. */
  healthy: boolean;
  /** Smoothed round-trip time, ms. */
  rttMs: number | undefined;
  /** The controller the agent follows now. */
  current: boolean;
  /** Learned from the controller directory (not in the configuration). */
  learned?: true;
  /** The directory denies its peer ID: not a candidate, not probed. */
  denied?: true;
}

/** What an agent reports (for status, `agents list` and metrics). */
export interface AgentStatus {
  federationId: string;
  member: string;
  region: string;
  state: AgentState;
  /** Name (or endpoint, before it authenticated) of the controller followed now. */
  controller: string | undefined;
  /** Times the agent left a failed controller. */
  failovers: number;
  /** Times it went back to a recovered better-priority controller. */
  failbacks: number;
  controllers: AgentControllerStatus[];
  /** Resources held (tombstones included). */
  records: number;
  merkleRoot: string;
  /** The last catch-up with a controller. */
  lastCatchUp: AntiEntropyReport | undefined;
  /** Live changes applied from config streams. */
  liveApplied: number;
  /** The controller directory: learned controllers and the reads of the directory. */
  directory: AgentDirectoryStatus;
  /** AgentAssisted vote lease: the duration learned from the controllers and who holds the vote. */
  vote: VoteResponderStatus;
  /** The file copy. */
  cache: { enabled: boolean; path: string; loadError: { code: CacheCode | 'CACHE_IO'; message: string } | undefined } & CacheWriterStats;
}

/** Events of an agent. */
export type AgentEvents = {
  /** The state changed. */
  state: (e: { from: AgentState; to: AgentState }) => void;
  /** The controller followed changed. */
  switch: (e: Switch) => void;
};

/** Options that are not configuration. */
export interface AgentOptions extends Pick<MembershipNodeOptions, 'logger'> {
  /** Membership profile (e.g. FAST_PROFILE). */
  membershipProfile?: MembershipNodeOptions['profile'];
  /** Agent profile (e.g. FAST_AGENT). */
  agentProfile?: Readonly<Partial<AgentConfig>>;
  /** Test hook: latency added to every RTT sample of a controller (by peer ID), ms. */
  extraRttMs?: (peerId: string) => number;
  /**
   * What the node takes from its environment (node/components.ts): monotonic clock and timers, the
   * physical clock, randomness, the network host and the store's database. What is not given is the
   * real one; resolved once, and every part of the agent shares it.
   */
  components?: Partial<NodeComponents>;
}

// Records read per page when the file copy takes its snapshot.
const SNAPSHOT_PAGE_MAX = 1_000;
// Largest frame on the agent's streams with its controller, bytes (the controllers' frameBytesMax).
const AGENT_FRAME_BYTES_MAX = 8 * 1024 * 1024;


export class AgentNode {
  /** The resolved components the agent runs on. */
  readonly components: NodeComponents;
  readonly membership: MembershipNode;
  readonly config: ResolvedAgentConfig;
  /** Answers controllers' vote-lease requests (AgentAssisted): the vote goes to the controller followed. */
  readonly votes: VoteResponder;
  /** Records refused from controllers, per controller and reason (novaedge_federation_records_rejected_total). */
  readonly rejections: RecordRejections;
  readonly #follow: AgentFollow;
  readonly #events: Emitter<AgentEvents>;
  readonly #log: Logger;
  readonly #opts: AgentOptions;
  readonly #stop = new AbortController();
  readonly #prober: ControllerProber;
  readonly #cache: CacheWriter | undefined;
  readonly #cacheLoadError: AgentStatus['cache']['loadError'];
  readonly #names = new Map<string, string>(); // peer ID → member name
  // Health checks failed in a row on each controller's connection (reset by one that answers).
  readonly #failedChecks = new Map<string, number>();
  #store: Store;
  #reopening: Promise<Store> | undefined;
  #session: AbortController | undefined;
  #lastCatchUp: AntiEntropyReport | undefined;
  #liveApplied = 0;
  #running = true;
  // Where the highest membership epoch voted at is saved: the replica's database.
  #voteEpochs: VoteEpochStorage;
  // The controller directory: controllers learned, identities denied (directory-learner.ts).
  readonly #directory: DirectoryLearner;
  #stopDirectoryRefresh: (() => void) | undefined;

  private constructor(components: NodeComponents, membership: MembershipNode, config: ResolvedAgentConfig, store: Store,
    cacheLoadError: AgentStatus['cache']['loadError'], o: AgentOptions, voteEpoch: { knownEpoch: number; storage: VoteEpochStorage }) {
    const { timers, wallClock, random } = components;
    this.components = components;
    this.membership = membership;
    this.config = config;
    this.#store = store;
    this.#voteEpochs = voteEpoch.storage;
    this.#cacheLoadError = cacheLoadError;
    this.#opts = o;
    this.#log = loggerOrSilent(o.logger).child({ component: 'agent', member: membership.memberName });
    this.#events = new Emitter((err, event) => this.#log.error({ err: String(err), event }, 'agent listener threw'));
    this.rejections = new RecordRejections({ log: this.#log, nowMs: timers.nowMs });
    const f = config.failover;
    this.#follow = new AgentFollow(config.controllers.map((c) => ({ id: c.peerId, priority: c.priority })), {
      failureThreshold: f.failureThreshold, timeoutMs: f.timeoutMs, recoveryDelayMs: f.recoveryDelayMs, latencyAware: f.latencyAware,
      // A dial is decided within authTimeoutMs (its deadline), and a refused one ends the grace early.
      startGraceMs: f.healthCheckIntervalMs + membership.config.authTimeoutMs,
      // A session that ended is tried again after one health-check interval.
      retryMs: f.healthCheckIntervalMs,
    }, timers.nowMs());
    this.#prober = new ControllerProber({
      membership, controllers: config.controllers.map((c) => c.peerId), timeoutMs: config.reachabilityProbe.timeoutMs,
      periodMs: (peerId) => (this.#follow.current === peerId ? f.healthCheckIntervalMs : config.reachabilityProbe.intervalMs),
      onVerdict: (peerId, v) => { if (this.#running) this.#onVerdict(peerId, v); },
      timers, random,
    });
    this.#directory = new DirectoryLearner({
      membership, config, names: this.#names, prober: this.#prober, follow: this.#follow,
      apply: (d) => this.#apply(d), nameOf: (p) => this.#nameOf(p), running: () => this.#running,
      timers, signal: this.#stop.signal, log: this.#log,
    });
    this.votes = new VoteResponder({
      primary: () => {
        const current = this.#follow.current;
        return current === undefined ? undefined : this.#names.get(current);
      },
      readClock: () => membership.readClock(),
      ioTimeoutMs: membership.config.authTimeoutMs,
      timers,
      knownEpoch: voteEpoch.knownEpoch,
      // In the replica's database, which a change of strategy reopens (#replica).
      saveEpoch: async (e) => {
        await this.#reopening;
        await this.#voteEpochs.save(e);
      },
      ...(o.logger === undefined ? {} : { logger: o.logger }),
    });
    const am = config.autonomousMode;
    this.#cache = am.enabled ? new CacheWriter({
      coalesceMs: am.writeCoalesceMs,
      snapshot: () => this.#snapshot(),
      read: (keys) => this.#store.getRecordTexts(keys),
      files: new CacheFiles(am.configPath, this.#identity(), () => this.#store.rule.name),
      timers, wallClock,
      logger: o.logger,
    }) : undefined;
  }

  /** Validate the configuration, open the replica (loading the file copy), start membership and probing. */
  static async start(config: AgentConfig, options: AgentOptions = {}): Promise<AgentNode> {
    const cfg = resolveAgentConfig(config, options.agentProfile);
    const m = config.membership;
    const log = loggerOrSilent(options.logger).child({ component: 'agent', member: m.memberName });
    const components = nodeComponents(options.components);
    const { timers, wallClock } = components;
    // The default database is LevelDB in <dataDir>/store, the directory made private (0700, like key
    // files) first. The replica reopens under the strategy it last had, kept in its database (until it
    // hears the federation's from a controller, an agent upgraded from a version that kept it in a
    // file beside the database serves under LastWriterWins, or its file copy's).
    const db = await components.openStoreDb(cfg.dataDir, { writeBufferBytes: DISK_WRITE_BUFFER_BYTES, logger: log });
    let strategy = await Store.storedStrategy(db);
    let cached: StoredRecord[] = [];
    let loadError: AgentStatus['cache']['loadError'];
    if (cfg.autonomousMode.enabled) {
      try {
        const c = await loadConfigCache(cfg.autonomousMode.configPath, { federationId: m.federationId, member: m.memberName });
        const j = c.journal;
        log.info({ records: c.records.length, snapshotBytes: c.bytes, journalEntries: j.entries, journalTornEntries: j.tornEntries,
          journalTornBytes: j.tornBytes, journalStale: j.stale }, 'configuration cache read');
        strategy ??= c.strategy;
        if (c.strategy === strategy) cached = c.records;
        else loadError = { code: 'CACHE_CORRUPT', message: `cache strategy ${c.strategy} differs from the replica's ${strategy}` };
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (code !== 'CACHE_MISSING') {
          loadError = { code: (code ?? 'CACHE_IO') as CacheCode, message: (err as Error).message };
          log.error({ code, err: (err as Error).message }, 'configuration cache refused: not served');
        }
      }
    }
    // One maxClockOffsetMs for the replica and membership (they share the HLC).
    const { maxClockOffsetMs } = resolveMembershipConfig(m, options.membershipProfile);
    const store = await Store.open({
      db, member: m.memberName, strategy: strategy ?? 'LastWriterWins', systemRecords: SYSTEM_RECORD_SCHEMAS, maxClockOffsetMs,
      nowMs: wallClock, monoMs: timers.nowMs,
    });
    const voteEpochs = levelVoteEpochStorage(db);
    let knownVoteEpoch: number;
    try {
      for (const r of cached) await store.applyRemote(r, { source: 'cache' });
      knownVoteEpoch = await voteEpochs.load();
    } catch (err) {
      await store.close();
      throw err;
    }
    let node: AgentNode | undefined;
    let membership: MembershipNode;
    try {
      // Its controllers are what it dials, and the only controllers it accepts (by their peer IDs).
      const membershipConfig: MembershipConfig = {
        ...m, bootstrap: cfg.controllers.map((c) => c.endpoint), controllers: m.controllers ?? cfg.controllers.map((c) => ({ peerId: c.peerId })),
      };
      membership = await startMembershipNode(membershipConfig, {
        ...(options.membershipProfile === undefined ? {} : { profile: options.membershipProfile }),
        ...(options.logger === undefined ? {} : { logger: options.logger }),
        clock: store.clock,
        components,
        merkleRoot: () => (node === undefined ? store : node.#store).merkle.root(),
        reachable: () => (node === undefined ? [] : node.#reachable()),
        // The health checks measure the controllers' round trips; a second pinger would only add load.
        // Controllers do not ping agents either: they show the figures reported here.
        rttMs: () => (node === undefined ? new Map() : node.#controllerRtts()),
        rttProbe: false,
        // Identities the controller directory denies (a removed controller): refused, never dialed.
        revoked: (peerId) => node !== undefined && node.#directory.isDenied(peerId),
      });
    } catch (err) {
      await store.close();
      throw err;
    }
    node = new AgentNode(components, membership, cfg, store, loadError, options, { knownEpoch: knownVoteEpoch, storage: voteEpochs });
    node.#begin();
    const { fromVersion, toVersion, keys } = store.migration;
    if (fromVersion !== toVersion) log.info({ fromVersion, toVersion, keys }, 'replica converted to the current key layout');
    log.info({ records: store.size, cacheLoaded: cached.length, loadError: loadError?.code }, 'agent started');
    return node;
  }

  #begin(): void {
    const m = this.membership;
    // Vote leases: only controllers may ask, and the name answered to is the one in their certificate.
    void m.libp2p.handle(voteLeaseProtocol(m.config.federationId), m.guard(async ({ stream }, peer) => {
      try {
        await this.votes.serve(stream, peer.member);
        await stream.close();
      } catch (err) {
        stream.abort(err instanceof Error ? err : new Error(String(err)));
      }
    }, { roles: ['controller'] }), { maxInboundStreams: 16 });
    this.#prober.start();
    void this.#followChanges();
    this.#stopDirectoryRefresh = every(this.components.timers, this.config.directoryRefreshMs, () => {
      const current = this.#follow.current;
      if (current !== undefined) void this.#directory.read(current);
    });
  }

  // ---- the embedded API -------------------------------------------------------------------------

  /** Read one resource. */
  get(key: string): Promise<ResourceView | undefined> {
    return this.#store.get(key);
  }

  /** List resources. */
  list(filter?: Parameters<Store['list']>[0]): Promise<ResourceView[]> {
    return this.#store.list(filter);
  }

  /**
   * Changes after `fromSeq` (0: from the beginning; default: from now), then live ones, in order,
   * each once. Survives failovers and the replica's reopening under a new strategy.
   */
  async *watch(opts: { fromSeq?: number; signal?: AbortSignal } = {}): AsyncGenerator<ChangeEvent> {
    let from = opts.fromSeq ?? this.#store.seq;
    while (true) {
      const store = this.#store;
      try {
        for await (const e of store.watch({ fromSeq: from, hideSystem: true, ...(opts.signal === undefined ? {} : { signal: opts.signal }) })) {
          from = e.seq;
          yield e;
        }
      } catch (err) {
        if (!(err instanceof StoreClosedError)) throw err;
      }
      // The watch ends when the replica closes: for good when the agent stops, or to be reopened
      // under the controller's strategy, in which case it resumes on the new one.
      if (!this.#running || opts.signal?.aborted === true) return;
      await this.#reopening;
      if (this.#store === store) return;
    }
  }

  /** Agents do not write: configuration is changed on a controller. */
  async apply(_resource: unknown): Promise<never> {
    throw new ReadOnlyError('agents are read-only: apply the change on a controller');
  }

  /** Agents do not write: configuration is changed on a controller. */
  async delete(_key: string): Promise<never> {
    throw new ReadOnlyError('agents are read-only: delete on a controller');
  }

  /** The replica (read-only use). */
  get store(): Store {
    return this.#store;
  }

  /** Current state. */
  get state(): AgentState {
    return this.#follow.state;
  }

  /** Subscribe to agent events; returns the unsubscribe function. */
  on<K extends keyof AgentEvents>(event: K, listener: AgentEvents[K]): () => void {
    return this.#events.on(event, listener);
  }

  /** Everything the agent reports. */
  status(): AgentStatus {
    const now = this.components.timers.nowMs();
    const connected = new Set(this.membership.authenticatedPeers().filter((p) => p.role === 'controller').map((p) => p.peerId));
    const view = new Map(this.#follow.view(now).map((v) => [v.id, v] as const));
    const current = this.#follow.current;
    return {
      federationId: this.membership.config.federationId,
      member: this.membership.memberName,
      region: this.membership.config.region,
      state: this.#follow.state,
      controller: current === undefined ? undefined : this.#nameOf(current),
      failovers: this.#follow.failovers,
      failbacks: this.#follow.failbacks,
      controllers: [
        ...this.config.controllers.map((c): AgentControllerStatus => {
          const v = view.get(c.peerId);
          return {
            name: this.#names.get(c.peerId), endpoint: c.endpoint, peerId: c.peerId, priority: c.priority,
            connected: connected.has(c.peerId), healthy: v?.healthy ?? false, rttMs: v?.rtt?.smoothedMs, current: c.peerId === current,
            ...(this.#directory.isDenied(c.peerId) ? { denied: true as const } : {}),
          };
        }),
        ...[...this.#directory.learned].map(([peerId, l]): AgentControllerStatus => {
          const v = view.get(peerId);
          return {
            name: l.name, endpoint: l.endpoint, peerId, priority: l.priority,
            connected: connected.has(peerId), healthy: v?.healthy ?? false, rttMs: v?.rtt?.smoothedMs, current: peerId === current, learned: true,
          };
        }),
      ],
      records: this.#store.size,
      merkleRoot: this.#store.merkle.root(),
      lastCatchUp: this.#lastCatchUp,
      liveApplied: this.#liveApplied,
      directory: this.#directory.status(),
      vote: this.votes.status(),
      cache: {
        enabled: this.config.autonomousMode.enabled, path: this.config.autonomousMode.configPath, loadError: this.#cacheLoadError,
        ...(this.#cache?.stats ?? { writes: 0, failures: 0, bytes: 0, lastWriteMs: 0, lastError: undefined, lastWriteDurationMs: 0 }),
      },
    };
  }

  /** Stop probing and following, write the file copy a last time, stop membership and the replica. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#stop.abort();
    this.#session?.abort();
    this.#stopDirectoryRefresh?.();
    this.#prober.stop();
    await this.#cache?.stop();
    await this.membership.stop();
    await this.#reopening?.catch(() => undefined);
    await this.#store.close();
    this.#events.clear();
  }

  // ---- probing and choosing -----------------------------------------------------------------------

  // A finished health check: the follow machine records it and decides whether to switch.
  #onVerdict(peerId: string, v: CheckVerdict): void {
    if (v.ok === undefined) return;
    const now = this.components.timers.nowMs();
    if (v.ok) {
      this.#failedChecks.delete(peerId);
      this.#names.set(peerId, v.member);
      this.#apply(this.#follow.checkOk(peerId, v.rttMs + (this.#opts.extraRttMs?.(peerId) ?? 0), now));
    } else {
      this.#apply(this.#follow.checkFailed(peerId, now));
      this.#hangUpDeadLink(peerId);
    }
  }

  // A connection whose checks fail failureThreshold times in a row is closed, so the reconnector
  // dials the controller afresh: a connection can be dead without either end being told (the
  // controller crashed or restarted while the path was cut, a middlebox forgot it), and checks over
  // it would fail until a TCP timeout minutes later while the controller itself is back. Controllers
  // do the same for their links (node/host/link-liveness.ts).
  #hangUpDeadLink(peerId: string): void {
    const failed = (this.#failedChecks.get(peerId) ?? 0) + 1;
    this.#failedChecks.set(peerId, failed);
    if (failed % this.config.failover.failureThreshold !== 0) return;
    for (const c of this.membership.libp2p.getConnections()) {
      if (c.remotePeer.toString() === peerId) c.abort(new Error(`${failed} health checks failed in a row: connection closed to redial`));
    }
  }

  // Carries out a decision of the follow machine: end the session of a controller left, report the
  // state change, start following the controller chosen, say so.
  #apply(d: FollowDecision): void {
    const sw = d.switch;
    if (sw !== undefined) {
      this.#log.info({ from: sw.from && this.#nameOf(sw.from), to: sw.to && this.#nameOf(sw.to), reason: sw.reason }, 'controller switch');
      this.#session?.abort();
      this.#session = undefined;
    }
    if (d.state !== undefined) {
      this.#log.info(d.state, 'agent state');
      this.#events.emit('state', d.state);
    }
    if (d.follow !== undefined) this.#run(d.follow);
    if (sw !== undefined) this.#events.emit('switch', sw);
  }

  #reachable(): string[] {
    if (!this.config.reachabilityProbe.enabled) return [];
    const now = this.components.timers.nowMs();
    return this.#follow.view(now).filter((v) => v.healthy).map((v) => this.#names.get(v.id)).filter((n): n is string => n !== undefined);
  }

  // Smoothed RTT of each healthy controller, by member name, for the heartbeat. The selector keeps
  // them (fed by the health checks); an unhealthy controller's last figure is stale, so it is left
  // out. Reported whether or not reachability is: it replaces the controllers' own pings of agents.
  #controllerRtts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const v of this.#follow.view(this.components.timers.nowMs())) {
      const name = this.#names.get(v.id);
      if (v.healthy && v.rtt !== undefined && name !== undefined) out.set(name, v.rtt.smoothedMs);
    }
    return out;
  }

  // ---- following a controller ---------------------------------------------------------------------

  // Runs sessions with the controller of `f` until the follow machine switches away (or the agent
  // stops): after each end it says whether to run another, and when.
  #run(f: Following): void {
    const session = new AbortController();
    this.#session = session;
    const signal = AbortSignal.any([session.signal, this.#stop.signal]);
    const fid = this.membership.config.federationId;
    const peerId = f.controller;
    const timers = this.components.timers;
    void (async () => {
      while (!signal.aborted) {
        let failed = false;
        try {
          await runControllerSession({
            open: (protocol, sig) => this.membership.openStream(peerId, replicationProtocol(fid, protocol), sig),
            replica: (strategy) => this.#replica(strategy),
            // The agent reads config-stream batches and anti-entropy responses from its controller.
            stream: {
              frameBytesMax: AGENT_FRAME_BYTES_MAX,
              ...mergeCaps(configStreamCaps(AGENT_FRAME_BYTES_MAX), antiEntropyResponseCaps(DEFAULT_ANTI_ENTROPY_LIMITS, AGENT_FRAME_BYTES_MAX)),
              ioTimeoutMs: this.config.failover.timeoutMs, compress: true, timers,
            },
            limits: DEFAULT_ANTI_ENTROPY_LIMITS,
            batchSize: this.config.antiEntropyBatchSize,
            onHello: (member, hello) => {
              this.#names.set(peerId, member);
              if (hello.voteLeaseMs !== undefined) this.votes.learnLeaseMs(hello.voteLeaseMs);
              // Each new session reads the controller directory (and every directoryRefreshMs).
              void this.#directory.read(peerId);
            },
            onCaughtUp: (report) => {
              this.#lastCatchUp = report;
              if (!signal.aborted) this.#apply(this.#follow.caughtUp(f.id));
              this.#log.info({ controller: this.#nameOf(peerId), pulled: report.pulled, bytesIn: report.bytesReceived, ms: Math.round(report.durationMs) }, 'caught up');
            },
            onBatch: (applied) => { this.#liveApplied += applied; },
            // The catch-up repeats within the session: what the live stream refused or lost comes later.
            resync: resyncSchedule(this.config.failover.healthCheckIntervalMs),
            onResync: (report) => {
              if (report.inSync) return;
              this.#log.info({ controller: this.#nameOf(peerId), pulled: report.pulled, rejected: report.rejected, ms: Math.round(report.durationMs) }, 'caught up again');
            },
            rejections: this.rejections,
            signal,
          });
        } catch (err) {
          if (signal.aborted) return;
          this.#log.warn({ controller: this.#nameOf(peerId), err: (err as Error).message }, 'controller session failed');
          failed = true;
        }
        if (signal.aborted) return;
        // A broken session is evidence against the controller: the machine counts it as a failed check.
        const d = this.#follow.sessionEnded(f.id, failed, timers.nowMs());
        this.#apply(d);
        const retryInMs = d.retryInMs;
        if (retryInMs === undefined || signal.aborted) return;
        await new Promise<void>((resolve) => {
          const done = (): void => {
            timers.clearTimeout(t);
            signal.removeEventListener('abort', done);
            resolve();
          };
          const t = timers.setTimeout(done, retryInMs);
          signal.addEventListener('abort', done, { once: true });
        });
      }
    })();
  }

  // The replica under the controller's strategy: reopened (same data, same seqs) when it differs.
  async #replica(strategy: StrategyName): Promise<Store> {
    await this.#reopening;
    if (this.#store.rule.name === strategy) return this.#store;
    this.#reopening = (async () => {
      this.#log.info({ from: this.#store.rule.name, to: strategy }, 'replica reopened under the federation strategy');
      await this.#store.close();
      const { timers, wallClock } = this.components;
      const db = await this.components.openStoreDb(this.config.dataDir, { writeBufferBytes: DISK_WRITE_BUFFER_BYTES, logger: this.#log });
      this.#voteEpochs = levelVoteEpochStorage(db);
      this.#store = await Store.open({
        db, member: this.membership.memberName, strategy, systemRecords: SYSTEM_RECORD_SCHEMAS, maxClockOffsetMs: this.membership.config.maxClockOffsetMs,
        nowMs: wallClock, monoMs: timers.nowMs,
      });
      void this.#followChanges();
      return this.#store;
    })();
    return this.#reopening;
  }

  // Every change of the replica schedules a write of its key to the file copy. The replica (re)opened:
  // the next write is a whole snapshot (its strategy may have changed, and the file may predate it).
  async #followChanges(): Promise<void> {
    const cache = this.#cache;
    if (cache === undefined) return;
    const store = this.#store;
    cache.resync();
    try {
      for await (const e of store.watch({ signal: this.#stop.signal })) cache.schedule(e.record.key);
    } catch (err) {
      if (!(err instanceof StoreClosedError)) this.#log.error({ err: String(err) }, 'replica watch ended');
      if ((err as { code?: string }).code === 'WATCH_OVERFLOW' && this.#running) {
        // Changes were missed: a whole snapshot covers them.
        cache.schedule();
        void this.#followChanges();
      }
    }
  }

  // Every record as the store holds it (encoded), for the file copy: nothing decoded or re-encoded.
  async #snapshot(): Promise<string[]> {
    const out: string[] = [];
    for await (const page of this.#store.scanTextPages(SNAPSHOT_PAGE_MAX)) for (const e of page) out.push(e.text);
    return out;
  }


  #nameOf(peerId: string): string {
    return this.#names.get(peerId) ?? this.config.controllers.find((c) => c.peerId === peerId)?.endpoint ?? this.#directory.learned.get(peerId)?.endpoint ?? peerId;
  }

  #identity(): { federationId: string; member: string } {
    return { federationId: this.membership.config.federationId, member: this.membership.memberName };
  }
}
