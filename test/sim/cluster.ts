// A simulated federation of the REAL node code: ControllerNode and AgentNode, built with components
// from the simulation (virtual timers and wall clocks from the scheduler, seeded randomness, a host on
// the simulated network, a crashable in-memory disk), driven by scripts (script/driver.ts) or by the
// random workload and nemesis (run.ts). Everything above the transport is what ships.
//
// Crash and restart: a crash ends the node's incarnation in the scheduler (no timer or delivery of
// it runs again), takes its host off the network (peers see silence or a reset), and crashes its disk
// (writes whose simulated fsync had not completed are lost). The dead node's objects are dropped, not
// stopped. A restart boots a new incarnation from the same disk and configuration.
import type { AgentStatus } from '../../node/agent/agent-node.ts';
import { AgentNode } from '../../node/agent/agent-node.ts';
import { AGENT_DEFAULTS, FAST_AGENT } from '../../node/agent/agent-config.ts';
import { FAST_PROFILE, type MembershipConfig } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION } from '../../node/config/replication-config.ts';
import type { NodeComponents } from '../../node/components.ts';
import { ControllerNode, type FederationStatus } from '../../node/controller/controller-node.ts';
import { registerControllerMetrics } from '../../node/metrics/index.ts';
import { Registry } from 'prom-client';
import { startMembershipNode, type MembershipNode } from '../../node/membership/membership-node.ts';
import type { QuorumMode } from '../../quorum/index.ts';
import type { Resource } from '../../storage/logic/resource.ts';
import type { StoredRecord } from '../../storage/logic/record.ts';
import type { HlcStamp } from '../../storage/logic/hlc.ts';
import type { CheckBounds } from './check/index.ts';
import type { History, MemberOp, ReadOutcome, WriteOutcome, Durability, FinalState, FinalStatus } from './check/history.ts';
import { writeAckFrom } from './check/history.ts';
import { HistoryRecorder, errorCode, finalState } from './check/recorder.ts';
import type { ClusterSpec, CutMode, LinkConditions, NodeStatus, Pending, SimDriver } from './script/driver.ts';
import { impostorConfig, makeImpostor, makeSimFederation, type SimFederation } from './federation.ts';
import { simHostFactory } from './net/host-factory.ts';
import { SimNetwork } from './net/network.ts';
import { Scheduler } from './scheduler.ts';
import { SimLevel } from './sim-level.ts';

/** Simulated fsync latency of every disk, virtual ms. */
export const FSYNC_MS = 2;
/** Longest a node may take to start (store open, listen), virtual ms. */
const START_WITHIN_MS = 30_000;
/** Federation ID of simulated runs. */
export const SIM_FEDERATION_ID = 'sim-fed';

/** Options of the cluster that are not in the `cluster` command. */
export interface SimClusterOptions {
  /** Keep the whole event trace (default: the tail only). */
  recordTrace?: boolean;
  /** Membership profile (default FAST_PROFILE). */
  membershipProfile?: Readonly<Partial<MembershipConfig>>;
}

type Role = 'controller' | 'agent';

interface Slot {
  name: string;
  role: Role;
  disk: SimLevel;
  controller: ControllerNode | undefined;
  agent: AgentNode | undefined;
  /** Listeners of the current incarnation. */
  offs: Array<() => void>;
  /** Agents: stops the change watch of the current incarnation. */
  watch: AbortController | undefined;
  /** Controllers: records the HLC's height if it stands above the node's clock (after a clock change). */
  sampleStamp?: () => void;
}

/** Options understood in the `cluster` command's key=value list. */
const KNOWN_OPTIONS = new Set(['fenceWrites', 'linkLatencyMs', 'reconnectMaxDelayMs']);

export class SimCluster implements SimDriver {
  readonly options: SimClusterOptions;
  #sched: Scheduler | undefined;
  #net: SimNetwork | undefined;
  #fed: SimFederation | undefined;
  #rec: HistoryRecorder | undefined;
  readonly #slots = new Map<string, Slot>();
  readonly #cuts = new Set<string>(); // `${from}>${to}`
  // Slowed directions: `${from}>${to}` ('*>*' for every link) → largest one-way delay, ms.
  readonly #slow = new Map<string, [number, number]>(); // 'from>to' -> [delay max, delay min]
  #spec: ClusterSpec | undefined;
  // Joiners started at least once (they are controllers of nodes() from then on).
  readonly #joined = new Set<string>();

  constructor(options: SimClusterOptions = {}) {
    this.options = options;
  }

  get scheduler(): Scheduler {
    if (this.#sched === undefined) throw new Error('cluster not started');
    return this.#sched;
  }

  get network(): SimNetwork {
    if (this.#net === undefined) throw new Error('cluster not started');
    return this.#net;
  }

  get #recorder(): HistoryRecorder {
    if (this.#rec === undefined) throw new Error('cluster not started');
    return this.#rec;
  }

  // ---- building ------------------------------------------------------------------------------------

  async start(spec: ClusterSpec): Promise<void> {
    for (const k of Object.keys(spec.options)) if (!KNOWN_OPTIONS.has(k)) throw new Error(`cluster: unknown option ${k}`);
    if (spec.controllers.length === 0) throw new Error('cluster: at least one controller');
    this.#spec = spec;
    const sched = new Scheduler({ seed: spec.seed, recordTrace: this.options.recordTrace ?? false });
    this.#sched = sched;
    const latency = spec.options['linkLatencyMs'] === undefined ? undefined : Number(spec.options['linkLatencyMs']);
    this.#net = new SimNetwork(sched, latency === undefined ? {} : { link: { latencyMinMs: latency } });
    const fenceWrites = spec.options['fenceWrites'] !== 'false';
    this.#fed = await makeSimFederation({
      id: SIM_FEDERATION_ID, controllers: spec.controllers, agents: spec.agents, joiners: spec.joiners ?? [], strategy: spec.strategy,
      splitBrain: { mode: spec.quorumMode, fenceWrites },
    }, sched.random.fork('federation'), sched.trueWallMs());
    const n = spec.controllers.length;
    this.#rec = new HistoryRecorder({
      config: {
        seed: spec.seed, strategy: spec.strategy, quorumMode: spec.quorumMode,
        durabilityQuorum: Math.floor(n / 2) + 1,
        fenceQuorum: spec.quorumMode === 'Controllers' && fenceWrites ? Math.floor(n / 2) + 1 : undefined,
        fenceWrites,
        maxClockOffsetMs: this.#membershipProfile().maxClockOffsetMs ?? 500,
        epochMs: sched.epochMs,
      },
      controllers: [...spec.controllers, ...(spec.joiners ?? [])], agents: spec.agents, now: () => sched.nowMs(),
    });
    if ((spec.joiners ?? []).length > 0) this.#rec.history.joiners = [...spec.joiners!];
    for (const name of [...spec.controllers, ...spec.agents, ...(spec.joiners ?? [])]) {
      const role: Role = spec.agents.includes(name) ? 'agent' : 'controller';
      const disk = new SimLevel({ delay: (fn) => { sched.schedule(FSYNC_MS, `fsync ${name}`, fn, { node: name, incarnation: sched.incarnation(name) }); } });
      this.#slots.set(name, { name, role, disk, controller: undefined, agent: undefined, offs: [], watch: undefined });
    }
    // Installed from the first boot to stop() (the federation's keys above are the harness's): the
    // loop's own install is then a count, not a rewrite of the globals and builtin exports every tick.
    sched.guard?.install();
    for (const name of spec.controllers) await this.#boot(name);
    for (const name of spec.agents) await this.#boot(name);
    // A run starts from a formed federation: every controller accepts writes (when fencing is on),
    // every agent follows a controller.
    await sched.runUntilTrue('federation formed', () => this.formed(), START_WITHIN_MS);
    this.#sampleRoots();
  }

  /** Every controller reaches every other (and accepts writes), every agent is Connected. */
  formed(): boolean {
    const n = this.#spec!.controllers.length;
    for (const s of this.#slots.values()) {
      if (this.#spec!.joiners?.includes(s.name) === true) continue;
      if (s.controller !== undefined) {
        if (s.controller.fence.reachable().length !== n || s.controller.status().quorum.writesFenced) return false;
        if (!s.controller.replicator.status().every((p) => p.connected)) return false;
      } else if (s.agent !== undefined) {
        if (s.agent.state !== 'Connected') return false;
      } else return false;
    }
    return true;
  }

  #membershipProfile(): Readonly<Partial<MembershipConfig>> {
    const profile = this.options.membershipProfile ?? FAST_PROFILE;
    // `reconnectMaxDelayMs=30000`: the redial cap of the membership config (the shipped default is
    // 30 s; between controllers reconnect.controllerMaxDelayMs caps it further).
    const redialMaxMs = this.#spec?.options['reconnectMaxDelayMs'];
    return redialMaxMs === undefined ? profile : { ...profile, reconnect: { ...profile.reconnect, maxDelayMs: Number(redialMaxMs) } };
  }

  #slot(name: string): Slot {
    const s = this.#slots.get(name);
    if (s === undefined) throw new Error(`no node ${name}`);
    return s;
  }

  // Boot a new incarnation of `name` from its disk and wait (in virtual time) until it has started.
  // A joiner's start waits until a member adds it: it is wired whenever it resolves, in its incarnation.
  async #boot(name: string): Promise<void> {
    const joiner = this.#spec!.joiners?.includes(name) === true;
    const sched = this.scheduler;
    const slot = this.#slot(name);
    const rt = sched.boot(name);
    const components: NodeComponents = {
      timers: rt.timers, wallClock: rt.wallClock, random: rt.random,
      createHost: simHostFactory(this.network, name),
      openStoreDb: async () => slot.disk,
    };
    const fed = this.#fed!;
    let started: ControllerNode | AgentNode | undefined;
    let failed: unknown;
    const starting = slot.role === 'controller'
      ? ControllerNode.start(fed.controllerConfig(name), { components, membershipProfile: this.#membershipProfile(), replicationProfile: FAST_REPLICATION })
      : AgentNode.start(fed.agentConfig(name), { components, membershipProfile: this.#membershipProfile(), agentProfile: FAST_AGENT });
    // The node's monotonic clock is virtual time moved by a constant: map its instants back.
    const toVirtual = (monoMs: number): number => this.nowMs() + (monoMs - rt.timers.nowMs());
    if (joiner) {
      this.#joined.add(name);
      starting.then((n) => {
        if (sched.incarnation(name) === rt.incarnation && sched.isUp(name)) this.#wireController(slot, n as ControllerNode, toVirtual);
      }, () => undefined); // a joiner that crashed while waiting: its incarnation is gone
      this.#recordNetwork(`start ${name} (joining)`);
      return;
    }
    starting.then((n) => { started = n; }, (err: unknown) => { failed = err; });
    await sched.runUntilTrue(`${name} started`, () => started !== undefined || failed !== undefined, START_WITHIN_MS);
    if (failed !== undefined) throw failed;
    if (started instanceof ControllerNode) this.#wireController(slot, started, toVirtual);
    else this.#wireAgent(slot, started as AgentNode, rt.incarnation, toVirtual);
    this.#recordNetwork(`start ${name}`);
  }

  #wireController(slot: Slot, node: ControllerNode, toVirtual: (monoMs: number) => number): void {
    slot.controller = node;
    const rec = this.#recorder;
    const name = slot.name;
    const offsetNow = (wallMs: number): number => wallMs - (this.scheduler.epochMs + this.nowMs());
    rec.start(name, offsetNow(node.store.clock.highWater().wallMs));
    // The HLC's height whenever it rises above the node's own clock (between those instants it is the
    // node's clock): what the skew checkers compare. Recorded from its calls, in this incarnation only.
    const clock = node.store.clock;
    let recordedMs = clock.highWater().wallMs;
    const note = (wallMs: number, physicalMs: number): void => {
      if (wallMs > physicalMs + 1 && wallMs !== recordedMs) {
        recordedMs = wallMs;
        rec.stamp(name, offsetNow(wallMs));
      }
    };
    const observe = <A extends unknown[]>(f: (...args: A) => HlcStamp, physicalOf: (...args: A) => number) => (...args: A): HlcStamp => {
      const stamp = f.apply(clock, args);
      note(stamp.wallMs, physicalOf(...args));
      return stamp;
    };
    clock.now = observe(clock.now, (physicalMs: number) => physicalMs);
    clock.receive = observe(clock.receive, (_remote: HlcStamp, physicalMs: number) => physicalMs);
    // A clock set back leaves the height it had reached above it, without any call.
    slot.sampleStamp = () => note(clock.highWater().wallMs, node.components.wallClock());
    rec.fenceFromStatus(name, node.status().quorum, node.fence.reachable());
    slot.offs.push(node.on('fence', (e) => rec.fence(name, e)));
    slot.offs.push(node.on('phase', (e) => rec.phase(name, e.from, e.to)));
    // The membership records it commits: the one it starts from, and each newer one (or learning of
    // its own removal from refusals). The controllers a record removed are those it denies.
    const members = node.members;
    if (members !== undefined) {
      const noteRecord = (): void => {
        const r = members.committed;
        const removed = r.denied.filter((d) => d.role === 'controller').map((d) => d.name);
        if (members.removed && !removed.includes(name)) removed.push(name);
        rec.membership(name, r.epoch, removed, r.controllers.map((c) => c.name), r.voters);
      };
      noteRecord();
      slot.offs.push(members.onAdopted(noteRecord));
    }
    const collector = node.agentVotes?.collector;
    if (collector !== undefined) {
      slot.offs.push(collector.on('counted', (e) => rec.lease({ agent: e.agent, controller: name, kind: 'counted', fromMs: toVirtual(e.fromMs), untilMs: toVirtual(e.untilMs) })));
    }
  }

  #wireAgent(slot: Slot, agent: AgentNode, incarnation: number, toVirtual: (monoMs: number) => number): void {
    slot.agent = agent;
    const rec = this.#recorder;
    const name = slot.name;
    const following = (): string | undefined => agent.status().controller;
    rec.follow(name, following(), agent.state);
    slot.offs.push(agent.on('switch', () => rec.follow(name, following(), agent.state)));
    slot.offs.push(agent.on('state', () => rec.follow(name, following(), agent.state)));
    slot.offs.push(agent.votes.on('granted', (l) => rec.lease({ agent: name, controller: l.controller, kind: 'granted', fromMs: toVirtual(l.grantedAtMs), untilMs: toVirtual(l.expiresAtMs) })));
    const ac = new AbortController();
    slot.watch = ac;
    void (async () => {
      try {
        for await (const ch of agent.store.watch({ signal: ac.signal, hideSystem: true })) {
          rec.agentChange(name, incarnation, { seq: ch.seq, type: ch.type, record: ch.record }, following());
        }
      } catch { /* stopped or crashed */ }
    })();
  }

  #recordNetwork(cause: string): void {
    const sched = this.scheduler;
    const names = [...this.#slots.keys()];
    this.#recorder.network(cause, {
      down: names.filter((n) => !sched.isUp(n)),
      paused: names.filter((n) => sched.isPaused(n)),
      cuts: [...this.#cuts].map((c) => c.split('>') as [string, string]),
      slow: [...this.#slow].map(([k, [max, min]]) => [...(k.split('>') as [string, string]), max, min] as [string, string, number, number]),
    });
  }

  // ---- time ----------------------------------------------------------------------------------------

  nowMs(): number {
    return this.scheduler.nowMs();
  }

  wallBaseMs(): number {
    return this.scheduler.trueWallMs() - this.scheduler.nowMs();
  }

  async tick(ms: number): Promise<void> {
    await this.scheduler.runFor(ms);
    this.#sampleRoots();
  }

  async runUntil(done: () => boolean, withinMs: number): Promise<boolean> {
    try {
      await this.scheduler.runUntilTrue('condition', done, withinMs);
    } catch (err) {
      if ((err as { code?: string }).code !== 'SIM_DEADLINE') throw err;
    }
    this.#sampleRoots();
    return done();
  }

  #sampleRoots(): void {
    this.#recorder.sampleRoots(this.merkleRoots());
  }

  // ---- faults --------------------------------------------------------------------------------------

  async cut(from: string, to: string, mode: CutMode): Promise<void> {
    this.network.cut(from, to, { mode: mode === 'drop' ? 'silent' : 'refuse' });
    this.#cuts.add(`${from}>${to}`);
    this.#recordNetwork(`cut ${from} -> ${to} (${mode})`);
  }

  async heal(pairs?: ReadonlyArray<readonly [string, string]>): Promise<void> {
    if (pairs === undefined) {
      this.network.heal();
      this.#cuts.clear();
    } else {
      for (const [a, b] of pairs) {
        this.network.healBetween(a, b);
        this.#cuts.delete(`${a}>${b}`);
        this.#cuts.delete(`${b}>${a}`);
      }
    }
    this.#recordNetwork(pairs === undefined ? 'heal' : `heal ${pairs.map((p) => p.join('-')).join(' ')}`);
  }

  async reset(a: string, b: string): Promise<void> {
    this.network.resetConnections(a, b);
    this.scheduler.note(`fault reset ${a} ${b}`);
  }

  async silence(a: string, b: string): Promise<void> {
    this.network.silence(a, b);
    this.scheduler.note(`fault silence ${a} ${b}`);
  }

  async halfOpen(a: string, b: string): Promise<void> {
    // `a` forgets its end; `b` keeps a half-open end.
    this.network.halfOpen(b, a);
    this.scheduler.note(`fault half-open ${a} ${b}`);
  }

  async setLink(a: string | undefined, b: string | undefined, c: LinkConditions): Promise<void> {
    // Delays uniform in [delayMinMs, delayMaxMs], as LinkConditions says: bounded, so the history can
    // say how long a round trip may take.
    const p = {
      ...(c.delayMinMs === undefined ? {} : { latencyMinMs: c.delayMinMs }),
      ...(c.delayMaxMs === undefined ? {} : { latencyMaxMs: Math.max(c.delayMaxMs, c.delayMinMs ?? 0) }),
      ...(c.dropRate === undefined ? {} : { gossipDropRate: c.dropRate }),
      ...(c.duplicateRate === undefined ? {} : { gossipDupRate: c.duplicateRate }),
      ...(c.reorderRate === undefined ? {} : { gossipReorderRate: c.reorderRate }),
    };
    if (a === undefined || b === undefined) this.network.setDefaultLink(p);
    else {
      this.network.setLink(a, b, p);
      this.network.setLink(b, a, p);
    }
    if (c.delayMaxMs !== undefined) {
      const pairs = a === undefined || b === undefined ? [['*', '*']] : [[a, b], [b, a]];
      // Under a millisecond is the LAN default again: not slowed.
      for (const [f, t] of pairs) {
        if (c.delayMaxMs < 1) this.#slow.delete(`${f}>${t}`);
        else this.#slow.set(`${f}>${t}`, [Math.max(c.delayMaxMs, c.delayMinMs ?? 0), Math.min(c.delayMinMs ?? 0, c.delayMaxMs)]);
      }
      this.#recordNetwork(`link ${a ?? '*'}-${b ?? '*'} delay ${c.delayMinMs ?? 0}-${c.delayMaxMs} ms`);
    }
  }

  async pause(node: string): Promise<void> {
    this.network.pause(node);
    this.#recordNetwork(`pause ${node}`);
  }

  async resume(node: string): Promise<void> {
    this.network.resume(node);
    this.#recordNetwork(`resume ${node}`);
  }

  async crash(node: string): Promise<void> {
    const slot = this.#slot(node);
    if (!this.scheduler.isUp(node)) throw new Error(`${node} is not running`);
    for (const off of slot.offs.splice(0)) off();
    slot.watch?.abort();
    slot.watch = undefined;
    this.network.crash(node, { peersSee: 'reset' });
    this.scheduler.crash(node);
    slot.disk = slot.disk.crash();
    slot.controller = undefined;
    slot.agent = undefined;
    slot.sampleStamp = undefined;
    this.#recordNetwork(`crash ${node}`);
  }

  async restart(node: string): Promise<void> {
    if (this.scheduler.isUp(node)) throw new Error(`${node} is running`);
    await this.#boot(node);
  }

  async setSkew(node: string, offsetMs: number): Promise<void> {
    this.scheduler.setSkew(node, offsetMs);
    this.#recorder.clock(node, offsetMs);
    const slot = this.#slot(node);
    if (slot.controller !== undefined) slot.sampleStamp?.();
  }

  skewOf(node: string): number {
    return this.scheduler.skewOf(node);
  }

  async setDrift(node: string, ppm: number): Promise<void> {
    this.scheduler.setDrift(node, ppm);
  }

  // ---- clients -------------------------------------------------------------------------------------

  apply(node: string, resource: Resource, durability: Durability): Pending<WriteOutcome> {
    const key = `${resource.kind}/${resource.metadata.namespace ?? 'default'}/${resource.metadata.name}`;
    return this.#write({ kind: 'apply', node, key, durability, value: resource as never }, (c) => c.apply(resource, { durability }));
  }

  delete(node: string, key: string, durability: Durability): Pending<WriteOutcome> {
    return this.#write({ kind: 'delete', node, key, durability, value: null }, (c) => c.delete(key, { durability }));
  }

  resolve(node: string, key: string, keep: 'local' | 'remote', durability: Durability): Pending<WriteOutcome> {
    return this.#write({ kind: 'resolve', node, key, durability, keep }, (c) => c.resolveConflict(key, keep, { durability }));
  }

  #write(req: Parameters<HistoryRecorder['beginWrite']>[0], op: (c: ControllerNode) => Promise<{ changed: boolean; record: StoredRecord }>): Pending<WriteOutcome> {
    const rec = this.#recorder;
    const w = rec.beginWrite(req);
    const c = this.#slots.get(req.node)?.controller;
    if (c === undefined) rec.endWrite(w, { status: 'error', code: 'NODE_DOWN', message: `${req.node} is not a running controller` });
    else {
      this.#onNode(req.node, `client #${w.id} ${req.kind} ${req.key}`, (alive) => op(c).then(
        (res) => { if (alive()) rec.endWrite(w, { status: 'ok', ack: writeAckFrom(req.node, res) }); },
        (err: unknown) => {
          if (!alive()) return;
          // A quorum write that failed after it was stored here carries the record: it replicates still.
          const stored = (err as { record?: StoredRecord } | null)?.record;
          rec.endWrite(w, {
            status: 'error', code: errorCode(err), message: String((err as Error)?.message ?? err),
            ...(stored === undefined ? {} : { stored: writeAckFrom(req.node, { changed: true, record: stored }) }),
          });
        },
      ));
    }
    return { id: w.id, outcome: () => (w.outcome.status === 'pending' ? undefined : w.outcome) };
  }

  /** Ask controller `node` to remove controller `name` from the federation (`members remove`). */
  removeController(node: string, name: string): Pending<MemberOp['outcome']> {
    const rec = this.#recorder;
    const op = rec.beginMemberOp(node, name);
    const c = this.#slots.get(node)?.controller;
    if (c === undefined) rec.endMemberOp(op, { status: 'error', code: 'NODE_DOWN', message: `${node} is not a running controller` });
    else {
      // As an operator removing a region that may be down: drained when connected, forced when not.
      this.#onNode(node, `client #${op.id} members remove ${name}`, (alive) => c.removeController(name, { force: true }).then(
        (res) => { if (alive()) rec.endMemberOp(op, { status: 'ok', epoch: res.record.epoch }); },
        (err: unknown) => { if (alive()) rec.endMemberOp(op, { status: 'error', code: errorCode(err), message: String((err as Error)?.message ?? err) }); },
      ));
    }
    return { id: op.id, outcome: () => (op.outcome.status === 'pending' ? undefined : op.outcome) };
  }

  /** Ask controller `node` to add joiner `name` (started first if it never was). */
  addController(node: string, name: string): Pending<MemberOp['outcome']> {
    const rec = this.#recorder;
    const op = rec.beginMemberOp(node, name, 'add');
    if (this.#spec!.joiners?.includes(name) !== true) throw new Error(`cluster: ${name} is not a joiner`);
    if (!this.#joined.has(name)) void this.#boot(name);
    const c = this.#slots.get(node)?.controller;
    const m = this.#fed!.members.get(name)!;
    if (c === undefined) rec.endMemberOp(op, { status: 'error', code: 'NODE_DOWN', message: `${node} is not a running controller` });
    else {
      const entry = { name, peerId: m.peerId.toString(), endpoints: [m.addr], region: `region-${name}`, autoPromote: true };
      this.#onNode(node, `client #${op.id} members add ${name}`, (alive) => c.addController(entry).then(
        (record) => { if (alive()) rec.endMemberOp(op, { status: 'ok', epoch: record.epoch }); },
        (err: unknown) => { if (alive()) rec.endMemberOp(op, { status: 'error', code: errorCode(err), message: String((err as Error)?.message ?? err) }); },
      ));
    }
    return { id: op.id, outcome: () => (op.outcome.status === 'pending' ? undefined : op.outcome) };
  }

  // A client's call runs on the node as an event addressed to it: held while the node is paused (a
  // stopped process reads no requests), dropped if it crashes first (the call stays pending).
  // Answers count only while the incarnation that took the call lives.
  #onNode(node: string, label: string, call: (alive: () => boolean) => unknown): void {
    const sched = this.scheduler;
    const incarnation = sched.incarnation(node);
    const alive = (): boolean => sched.incarnation(node) === incarnation && sched.isUp(node);
    sched.schedule(0, label, () => { call(alive); }, { node, incarnation });
  }

  read(node: string, key: string): Pending<ReadOutcome> {
    const rec = this.#recorder;
    const r = rec.beginRead(node, key);
    const slot = this.#slots.get(node);
    const store = slot?.controller?.store ?? slot?.agent?.store;
    if (store === undefined) rec.endRead(r, { status: 'error', code: 'NODE_DOWN', message: `${node} is not running` });
    else {
      this.#onNode(node, `client #${r.id} read ${key}`, () => store.getRecord(key).then((rec0) => {
        if (rec0 === undefined) rec.endRead(r, { status: 'ok', found: false });
        else {
          const newest = rec0.entries.reduce((a, b) => (compareStamps(a.hlc, b.hlc) >= 0 ? a : b));
          rec.endRead(r, {
            status: 'ok', found: true, value: (newest.value ?? null) as never, hlc: newest.hlc, origin: newest.hlc.member, vv: rec0.vv,
            digest: rec0.digest, conflict: rec0.entries.length > 1,
          });
        }
      }, (err: unknown) => rec.endRead(r, { status: 'error', code: errorCode(err), message: String(err) })));
    }
    return { id: r.id, outcome: () => (r.outcome.status === 'pending' ? undefined : r.outcome) };
  }

  // ---- observing -----------------------------------------------------------------------------------

  nodes(): { controllers: string[]; agents: string[] } {
    const spec = this.#spec!;
    return { controllers: [...spec.controllers, ...(spec.joiners ?? []).filter((j) => this.#joined.has(j))], agents: [...spec.agents] };
  }

  controller(name: string): ControllerNode | undefined {
    return this.#slots.get(name)?.controller;
  }

  agent(name: string): AgentNode | undefined {
    return this.#slots.get(name)?.agent;
  }

  status(node: string): NodeStatus {
    const slot = this.#slot(node);
    const paused = this.scheduler.isPaused(node);
    if (slot.controller !== undefined) return { node, role: 'controller', running: true, paused, status: slot.controller.status() };
    if (slot.agent !== undefined) return { node, role: 'agent', running: true, paused, status: slot.agent.status() };
    return { node, role: slot.role, running: false };
  }

  merkleRoots(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const s of this.#slots.values()) {
      const store = s.controller?.store ?? s.agent?.store;
      if (store !== undefined) out[s.name] = store.merkle.root();
    }
    return out;
  }

  history(): History {
    return this.#recorder.history;
  }

  async finish(): Promise<History> {
    const states: FinalState[] = [];
    const statuses: FinalStatus[] = [];
    for (const s of this.#slots.values()) {
      const store = s.controller?.store ?? s.agent?.store;
      if (store === undefined) continue;
      const records: StoredRecord[] = [];
      let done = false;
      const collect = (async () => {
        for await (const page of store.scanPages(1_000)) records.push(...page);
        done = true;
      })();
      await this.scheduler.runUntilTrue(`scan ${s.name}`, () => done, 10_000);
      await collect;
      states.push(finalState(s.name, s.role, store.merkle.root(), records));
      if (s.controller !== undefined) {
        const controller = s.controller;
        let metrics: Record<string, number> | undefined;
        const scrape = scrapeControllerMetrics(controller).then((m) => { metrics = m; });
        await this.scheduler.runUntilTrue(`metrics ${s.name}`, () => metrics !== undefined, 10_000);
        await scrape;
        statuses.push({ node: s.name, role: 'controller', status: controller.status() as FederationStatus, metrics: metrics! });
      }
      else statuses.push({ node: s.name, role: 'agent', status: s.agent!.status() as AgentStatus });
    }
    return this.#recorder.finish(states, statuses);
  }

  bounds(): CheckBounds {
    const p = this.#membershipProfile();
    const hc = { intervalMs: 1_000, timeoutMs: 500, failureThreshold: 3, ...(p.healthCheck ?? {}) };
    // The design's contact window: heartbeat interval × failureThreshold + timeout.
    const contactWindowMs = hc.intervalMs * hc.failureThreshold + hc.timeoutMs;
    return {
      // Plus one interval: the link-liveness check that ends the window runs on the interval's grid.
      splitBrainMs: contactWindowMs + hc.intervalMs,
      // The docs: a step of a peer's clock shows at its next clock probe (every rttIntervalMs), one
      // health interval allowed for the probe's answer and the fence's next decision.
      skewFenceMs: (p.rttIntervalMs ?? 5_000) + hc.intervalMs,
      convergeMs: 15_000,
      unfenceMs: 10_000,
      failoverMs: 10_000,
      syncLagMs: 5_000,
      // The agents' health checks (node/agent/controller-prober.ts) have the reachability probe's deadline.
      agentCheckTimeoutMs: FAST_AGENT.reachabilityProbe?.timeoutMs ?? AGENT_DEFAULTS.reachabilityProbe.timeoutMs,
    };
  }

  async stop(): Promise<void> {
    for (const s of this.#slots.values()) {
      for (const off of s.offs.splice(0)) off();
      s.watch?.abort();
    }
    // Stopping is itself simulated: stop() awaits timers (stream closes) on virtual time.
    const nodes: Array<{ stop(): Promise<void> }> = [...this.#slots.values()].map((s) => s.controller ?? s.agent).filter((n) => n !== undefined);
    const stops = [...nodes, ...this.#impostors.values()].map((n) => n.stop().catch(() => undefined));
    let done = false;
    void Promise.all(stops).then(() => { done = true; });
    await this.scheduler.runUntilTrue('stop', () => done, 30_000).catch(() => undefined);
    this.scheduler.guard?.uninstall();
  }

  /** Quorum mode of the run. */
  get quorumMode(): QuorumMode {
    return this.#spec!.quorumMode;
  }

  // ---- attackers -----------------------------------------------------------------------------------

  /** Impostor hosts started by `impostor`, by name (running the real membership node). */
  readonly #impostors = new Map<string, MembershipNode>();

  /** The impostor `name`, if started. */
  impostorNode(name: string): MembershipNode | undefined {
    return this.#impostors.get(name);
  }

  async impostor(name: string, claims: string): Promise<void> {
    const sched = this.scheduler;
    if (this.#slots.has(name) || this.#impostors.has(name) || this.network.host(name) !== undefined) throw new Error(`impostor: the name ${name} is taken`);
    const fed = this.#fed!;
    const m = await makeImpostor(fed, name, claims, sched.random.fork(`impostor:${name}`), sched.trueWallMs());
    const rt = sched.boot(name);
    let started: MembershipNode | undefined;
    let failed: unknown;
    startMembershipNode(impostorConfig(fed, name, m), {
      profile: this.#membershipProfile(),
      components: { timers: rt.timers, wallClock: rt.wallClock, random: rt.random, createHost: simHostFactory(this.network, name) },
    }).then((n) => { started = n; }, (err: unknown) => { failed = err; });
    await sched.runUntilTrue(`impostor ${name} started`, () => started !== undefined || failed !== undefined, START_WITHIN_MS);
    if (failed !== undefined) throw failed;
    this.#impostors.set(name, started!);
    sched.note(`impostor ${name} claims ${claims} as ${m.peerId.toString()}`);
  }
}

function compareStamps(a: { wallMs: number; logical: number; member: string }, b: { wallMs: number; logical: number; member: string }): number {
  return a.wallMs - b.wallMs || a.logical - b.logical || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0);
}

/**
 * What a controller's Prometheus exporter would serve now, as `name{label="value",...}` → value (the
 * status-truth checker reads partition state, member health and sync lag from it).
 */
async function scrapeControllerMetrics(controller: ControllerNode): Promise<Record<string, number>> {
  const registry = new Registry();
  registerControllerMetrics(registry, controller);
  const out: Record<string, number> = {};
  for (const m of await registry.getMetricsAsJSON()) {
    for (const v of m.values) {
      const labels = Object.entries(v.labels).map(([k, x]) => `${k}="${String(x)}"`).join(',');
      out[`${(v as { metricName?: string }).metricName ?? m.name}${labels === '' ? '' : `{${labels}}`}`] = v.value;
    }
  }
  return out;
}
