// Keeps the agent registry (which agents count in the AgentAssisted total): reads the replicated
// registry record for the tally, and — on the registrar only — proposes changes.
//
// Every change goes through quorum's decideRegistryChange (quorum held at that moment, old and new
// majorities overlap), is written as one system record, and is made quorum-durable
// (replicator.waitForQuorum) before the next change is proposed. That last rule is what makes
// "consecutive versions overlap" enough: no controller can be more than one version behind the
// proposer.
//
// Why one registrar (the first configured controller, sorted) rather than every controller: two
// proposers could each change version k concurrently — say one adds a6 and the other a7 — right before
// a partition. Last-writer-wins would make the replicas agree after the heal, but during the whole
// partition each side would count its own registry, and two registries that are not nested are not
// covered by the overlap rule: 2 controllers and 4 agents, then a6 on one side and a7 on the other,
// give each side a total of 25 and threshold 13 out of 26 real votes: both sides can reach 13. With a
// single proposer the versions form one chain. The cost is liveness only: while the registrar is away
// (down, or on the minority side, where it could not change anything anyway) the registry stays as it
// is; agents keep following controllers and only their weight waits.
//
// Restarts and timeouts. A registrar that does not know whether the version it holds reached a quorum
// (after a restart, or when waitForQuorum timed out) first re-confirms it: it rewrites the same version
// (generation + 1) quorum-durably, and only then proposes the next change. And it proposes nothing
// before it has run anti-entropy once with every controller it reaches, so a registrar with an
// emptied data directory does not restart the chain below what its peers hold.
import {
  decideRegistryChange, isQuorumMemberName, tally,
  type AgentRegistry, type QuorumConfig, type RegistryChange, type RegistryRefusal,
} from '../../quorum/index.ts';
import { StoreClosedError, type Resource, type Store, type StoredRecord } from '../../storage/index.ts';
import { every, type TimerComponents } from '../components.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import { decodeRegistry, REGISTRY_KEY, registryResource, type RegistryValue } from './registry-record.ts';

/** Most registry changes one maintenance step makes (each waits for quorum durability). */
export const REGISTRY_CHANGES_PER_STEP_MAX = 16;

/** What a registry keeper needs. */
export interface RegistryKeeperOptions {
  /** The store holding the registry record. */
  store: Store;
  /** This controller's quorum configuration (the registrar is the first of its controllers). */
  config: QuorumConfig;
  /**
   * Live membership: the configuration counted by now (the record's voters) and the voters before
   * its voter change (joint accounting), as the write fence counts; default `config` alone. The
   * registry's quorum and overlap decisions use them, and the registrar proposes only while a voter.
   */
  counted?: () => CountedConfig;
  /** Controllers reached now (the write fence's view). */
  reachableControllers(): string[];
  /** Agents whose vote lease this controller counts at `nowMs`. */
  leasedAgents(nowMs: number): string[];
  /** Authenticated agents connected to this controller now. */
  connectedAgents(): string[];
  /** When `agent` was last heard from (its heartbeats), on the monotonic clock. */
  lastHeardMs(agent: string): number | undefined;
  /** True once anti-entropy ran with every other controller reached now, since this process started. */
  caughtUp(): boolean;
  /** Resolves once a quorum of controllers holds `record` durably; rejects on timeout. */
  waitForQuorum(record: StoredRecord): Promise<void>;
  /** Period of maintenance steps on the registrar, ms. */
  periodMs: number;
  /** The node's monotonic clock (when agents were seen) and timers (the maintenance period). */
  timers: TimerComponents;
  /** Logger (default silent). */
  logger?: Logger;
}

/** What the write fence counts by now (live membership). */
export interface CountedConfig {
  config: QuorumConfig;
  priorControllers: readonly string[] | undefined;
  /** This controller is a voter of its record (not a learner, not removed). */
  voter: boolean;
  /** Its committed membership epoch (written with each registry version). */
  epoch?: number;
  /**
   * Why registry changes wait now, if they do: a membership change is being decided here (an
   * accepted value for the next epoch), a voter change is not finished, or the voters are settling
   * (quorum/agent-epochs.ts; test/quorum/agent-epoch-explorer.ts finds splits without it).
   */
  hold?: string;
}

/** Outcome of one maintenance step (stable codes, for tests and logs). */
export type StepOutcome = 'not_registrar' | 'busy' | 'catching_up' | 'membership_change' | 'idle' | 'changed' | 'confirmed' | 'unconfirmed' | RegistryRefusal;

/** What status shows about the registry. */
export interface AgentRegistryStatus {
  /** Registry version (0: nothing registered yet). */
  version: number;
  /** Registered agents, sorted. */
  agents: string[];
  /** The controller that proposes changes. */
  registrar: string;
  /** The version held is known to be quorum-durable (only the registrar knows: false elsewhere). */
  confirmed: boolean;
}

export class RegistryKeeper {
  /** The controller that proposes changes: the first configured controller. */
  readonly registrar: string;
  /** Counters. */
  readonly counters = { changes: 0, confirmations: 0, refusals: 0, quorumTimeouts: 0, invalidRecords: 0 };
  readonly #o: RegistryKeeperOptions;
  readonly #timers: TimerComponents;
  readonly #log: Logger;
  readonly #lastSeenMs = new Map<string, number>();
  readonly #stop = new AbortController();
  readonly #startedAtMs: number;
  #current: RegistryValue & { digest: string | undefined };
  #confirmedDigest: string | undefined;
  #busy = false;
  #cancelTimer: (() => void) | undefined;
  #watching: Promise<void> | undefined;

  constructor(o: RegistryKeeperOptions) {
    this.#o = o;
    this.#timers = o.timers;
    this.#startedAtMs = o.timers.nowMs();
    this.#log = loggerOrSilent(o.logger).child({ component: 'agent-registry' });
    this.registrar = [...o.config.controllers].sort()[0]!;
    this.#current = { ...decodeRegistry(undefined), digest: undefined };
  }

  /** True when this controller proposes registry changes. */
  get isRegistrar(): boolean {
    return this.registrar === this.#o.config.self;
  }

  /** Load the record, follow its changes, and (registrar) start maintenance. */
  async start(): Promise<void> {
    const seq = this.#o.store.seq;
    await this.#reload();
    this.#watching = this.#follow(seq);
    if (this.isRegistrar) {
      this.#cancelTimer = every(this.#timers, this.#o.periodMs, () => { void this.step(); });
    }
  }

  /** Stop following and proposing. */
  async stop(): Promise<void> {
    this.#cancelTimer?.();
    this.#stop.abort();
    await this.#watching;
  }

  /** The registry this controller counts with now. */
  registry(): AgentRegistry {
    return this.#current.registry;
  }

  /** The registered agents. */
  agents(): ReadonlySet<string> {
    return this.#current.registry.agents;
  }

  /** What status shows. */
  status(): AgentRegistryStatus {
    return {
      version: this.#current.registry.version, agents: [...this.#current.registry.agents].sort(), registrar: this.registrar,
      confirmed: this.isRegistrar && (this.#current.digest === undefined || this.#current.digest === this.#confirmedDigest),
    };
  }

  /** One maintenance step: note who is here, then (registrar) make the changes due, one at a time. */
  async step(): Promise<StepOutcome> {
    if (this.#busy || this.#stop.signal.aborted) return 'busy';
    this.#busy = true;
    try {
      this.#noteSeen();
      const counted = this.#counted();
      if (!this.isRegistrar || !counted.voter) return 'not_registrar';
      if (counted.hold !== undefined) {
        this.#log.debug({ why: counted.hold }, 'registry changes wait');
        return 'membership_change';
      }
      let outcome: StepOutcome = 'idle';
      for (let i = 0; i < REGISTRY_CHANGES_PER_STEP_MAX && !this.#stop.signal.aborted; i++) {
        outcome = await this.#once();
        if (outcome !== 'changed' && outcome !== 'confirmed') break;
      }
      return outcome;
    } finally {
      this.#busy = false;
    }
  }

  async #once(): Promise<StepOutcome> {
    const change = this.#nextChange();
    if (change === undefined) return 'idle';
    if (!this.#o.caughtUp()) return 'catching_up';
    const now = this.#timers.nowMs();
    const cur = this.#current;
    const reached = this.#o.reachableControllers();
    const leased = this.#o.leasedAgents(now);
    if (cur.digest !== undefined && cur.digest !== this.#confirmedDigest) {
      // Not known to be quorum-durable: re-confirm the version held before building on it.
      const { config, priorControllers } = this.#counted();
      const t = tally(config, { reachableControllers: reached, leasedAgents: leased, registeredAgents: cur.registry.agents, ...(priorControllers === undefined ? {} : { priorControllers }) });
      if (!t.haveQuorum) return 'no_quorum';
      const ok = await this.#write({ registry: cur.registry, generation: cur.generation + 1, writtenBy: this.#o.config.self, ...this.#epochTag() });
      if (ok) this.counters.confirmations++;
      return ok ? 'confirmed' : 'unconfirmed';
    }
    const lastSeen = this.#lastSeenMs.get(change.agent);
    const heard = this.#o.lastHeardMs(change.agent);
    const { config, priorControllers } = this.#counted();
    const d = decideRegistryChange(cur.registry, change, {
      config, reachableControllers: reached, leasedAgents: leased, nowMs: now, ...(priorControllers === undefined ? {} : { priorControllers }),
      lastSeenMs: lastSeen === undefined ? heard : heard === undefined ? lastSeen : Math.max(lastSeen, heard),
      startedAtMs: this.#startedAtMs,
    });
    if (!d.accepted) {
      this.counters.refusals++;
      this.#log.debug({ change, reason: d.reason, detail: d.message }, 'registry change refused');
      return d.reason;
    }
    const ok = await this.#write({ registry: d.registry, generation: cur.generation + 1, writtenBy: this.#o.config.self, ...this.#epochTag() });
    if (!ok) return 'unconfirmed';
    this.counters.changes++;
    this.#log.info({ op: change.op, agent: change.agent, version: d.registry.version, votes: d.tally.votes, threshold: d.tally.threshold }, d.message);
    return 'changed';
  }

  // The membership epoch a version is written at, when there is one.
  #epochTag(): { epoch?: number } {
    const e = this.#counted().epoch;
    return e === undefined ? {} : { epoch: e };
  }

  /** The membership epoch the registry held here was written at (0: none). */
  epoch(): number {
    return this.#current.epoch ?? 0;
  }

  // The configuration counted by now (live membership), and the voters before its voter change.
  #counted(): CountedConfig {
    return this.#o.counted?.() ?? { config: this.#o.config, priorControllers: undefined, voter: true };
  }

  // The next change due: a connected agent not registered yet, else a registered one away too long.
  #nextChange(): RegistryChange | undefined {
    const reg = this.#current.registry;
    const controllers = new Set([...this.#o.config.controllers, ...this.#counted().config.controllers]);
    const add = this.#o.connectedAgents().filter((a) => !reg.agents.has(a) && !controllers.has(a) && isQuorumMemberName(a)).sort()[0];
    if (add !== undefined) return { op: 'add', agent: add };
    const now = this.#timers.nowMs();
    const expiry = this.#o.config.agentAbsenceExpiryMs;
    for (const a of [...reg.agents].sort()) {
      const seen = Math.max(this.#lastSeenMs.get(a) ?? this.#startedAtMs, this.#o.lastHeardMs(a) ?? -Infinity);
      if (now - seen >= expiry) return { op: 'remove', agent: a };
    }
    return undefined;
  }

  #noteSeen(): void {
    const now = this.#timers.nowMs();
    const connected = new Set(this.#o.connectedAgents());
    for (const a of connected) this.#lastSeenMs.set(a, now);
    // Bounded: only registered or connected agents are remembered.
    for (const a of this.#lastSeenMs.keys()) if (!connected.has(a) && !this.#current.registry.agents.has(a)) this.#lastSeenMs.delete(a);
  }

  // Write one version and wait until a quorum of controllers holds it; false when that timed out
  // (the version stays, unconfirmed: the next step re-confirms it first).
  async #write(v: RegistryValue): Promise<boolean> {
    const res = await this.#o.store.apply(registryResource(v), { system: true });
    this.#adopt(res.view.value, res.record.digest);
    try {
      await this.#o.waitForQuorum(res.record);
      this.#confirmedDigest = res.record.digest;
      return true;
    } catch (err) {
      this.counters.quorumTimeouts++;
      this.#log.warn({ version: v.registry.version, err: (err as Error).message }, 'registry version not confirmed by a quorum yet');
      return false;
    }
  }

  async #reload(): Promise<void> {
    const r = await this.#o.store.getRecord(REGISTRY_KEY);
    if (r === undefined) return;
    const view = await this.#o.store.get(REGISTRY_KEY);
    this.#adopt(view?.value ?? null, r.digest);
  }

  #adopt(value: Resource | null, digest: string): void {
    try {
      this.#current = { ...decodeRegistry(value), digest };
    } catch (err) {
      // Only a faulty controller writes a bad record: keep counting with the last good one.
      this.counters.invalidRecords++;
      this.#log.error({ err: (err as Error).message }, 'agent registry record refused');
    }
  }

  // Adopt every new version of the record as it lands (replicated or local). A watch event is
  // published when the write commits, before its push acknowledgement is sent, so a controller counts
  // with a version before it confirms having it.
  async #follow(fromSeq: number): Promise<void> {
    let from = fromSeq;
    while (!this.#stop.signal.aborted) {
      try {
        for await (const e of this.#o.store.watch({ fromSeq: from, signal: this.#stop.signal })) {
          from = e.seq;
          if (e.view.key === REGISTRY_KEY) this.#adopt(e.view.value, e.record.digest);
        }
        return;
      } catch (err) {
        if (err instanceof StoreClosedError || this.#stop.signal.aborted) return;
        // Fell behind (WATCH_OVERFLOW) or the history was compacted: read the record again.
        from = this.#o.store.seq;
        await this.#reload().catch(() => undefined);
      }
    }
  }
}
