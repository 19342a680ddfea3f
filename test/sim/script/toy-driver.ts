// A toy SimDriver for the script language's own tests: a few lines of "federation" (instant
// replication within a side, a majority fence, agents that follow the first controller they reach),
// enough to show that the interpreter calls the driver as the interface says and renders what it
// returns. It is NOT the simulator (test/sim/cluster.ts runs the real nodes); nothing else uses it.
import type { AgentStatus } from '../../../node/agent/agent-node.ts';
import type { FederationStatus } from '../../../node/controller/controller-node.ts';
import { canonicalJson, sha256Hex } from '../../../storage/logic/canonical.ts';
import { joinRecords } from '../../../storage/logic/join.ts';
import { makeRecord, type StoredRecord } from '../../../storage/logic/record.ts';
import type { Resource } from '../../../storage/logic/resource.ts';
import { lastWriterWins } from '../../../storage/logic/rules/last-writer-wins.ts';
import { incrementVv, vvCount } from '../../../storage/logic/version-vector.ts';
import type { Durability, FinalStatus, History, MemberOp, ReadOutcome, WriteOp, WriteOutcome } from '../check/history.ts';
import { writeAckFrom } from '../check/history.ts';
import type { CheckBounds } from '../check/index.ts';
import { finalState, HistoryRecorder } from '../check/recorder.ts';
import { sides } from '../check/truth.ts';
import type { ClusterSpec, CutMode, LinkConditions, NodeStatus, Pending, SimDriver } from './driver.ts';

const BASE_MS = Date.UTC(2026, 0, 1);
const QUORUM_DELAY_MS = 5;

interface Op {
  settleAtMs: number;
  settle: () => void;
}

export class ToyDriver implements SimDriver {
  // Joiners added so far.
  readonly #added = new Set<string>();
  /** Every driver call, for the tests to look at. */
  readonly calls: string[] = [];
  #now = 0;
  #spec: ClusterSpec | undefined;
  #rec: HistoryRecorder | undefined;
  readonly #cuts = new Set<string>();
  readonly #down = new Set<string>();
  readonly #paused = new Set<string>();
  readonly #skew = new Map<string, number>();
  readonly #stores = new Map<string, Map<string, StoredRecord>>();
  readonly #ops: Op[] = [];
  readonly #fenced = new Map<string, boolean>();
  stopped = false;

  async start(spec: ClusterSpec): Promise<void> {
    this.calls.push(`start ${JSON.stringify(spec)}`);
    // leaseMs is the toy's own; the others are the real cluster's (cluster.ts), which the toy has no mechanism for and ignores.
    if (Object.keys(spec.options).some((k) => !['leaseMs', 'fenceWrites', 'linkLatencyMs', 'reconnectMaxDelayMs'].includes(k))) throw new Error(`unknown cluster option ${Object.keys(spec.options).join(',')}`);
    this.#spec = spec;
    this.#rec = new HistoryRecorder({
      config: { seed: spec.seed, strategy: spec.strategy, quorumMode: spec.quorumMode, durabilityQuorum: this.#majority(), fenceQuorum: this.#majority(), maxClockOffsetMs: 5000 },
      controllers: spec.controllers, agents: spec.agents, now: () => this.#now,
    });
    for (const n of [...spec.controllers, ...spec.agents]) this.#stores.set(n, new Map());
    this.#observe();
  }

  nowMs(): number { return this.#now; }
  wallBaseMs(): number { return BASE_MS; }

  async tick(ms: number): Promise<void> {
    this.calls.push(`tick ${ms}`);
    this.#advance(this.#now + ms);
  }

  async runUntil(done: () => boolean, withinMs: number): Promise<boolean> {
    const deadline = this.#now + withinMs;
    while (!done() && this.#now < deadline) this.#advance(this.#now + 1);
    return done();
  }

  async cut(from: string, to: string, mode: CutMode, cause = `cut ${from}>${to}`): Promise<void> {
    this.calls.push(`cut ${from}>${to} ${mode}`);
    this.#cuts.add(`${from}>${to}`);
    this.#observe(cause);
  }

  async heal(pairs?: ReadonlyArray<readonly [string, string]>, cause = 'heal'): Promise<void> {
    this.calls.push(`heal ${JSON.stringify(pairs ?? 'all')}`);
    if (pairs === undefined) this.#cuts.clear();
    else for (const [a, b] of pairs) { this.#cuts.delete(`${a}>${b}`); this.#cuts.delete(`${b}>${a}`); }
    this.#observe(cause);
  }

  async reset(a: string, b: string): Promise<void> { this.calls.push(`reset ${a} ${b}`); }
  async silence(a: string, b: string): Promise<void> { this.calls.push(`silence ${a} ${b}`); }
  async halfOpen(a: string, b: string): Promise<void> { this.calls.push(`halfOpen ${a} ${b}`); }
  async setLink(a: string | undefined, b: string | undefined, c: LinkConditions): Promise<void> {
    this.calls.push(`setLink ${a ?? '*'} ${b ?? '*'} ${JSON.stringify(c)}`);
  }

  async pause(node: string, cause = `pause ${node}`): Promise<void> { this.#paused.add(node); this.#observe(cause); }
  async resume(node: string, cause = `resume ${node}`): Promise<void> { this.#paused.delete(node); this.#observe(cause); }
  async crash(node: string, cause = `crash ${node}`): Promise<void> { this.#down.add(node); this.#observe(cause); }
  async restart(node: string, cause = `restart ${node}`): Promise<void> { this.#down.delete(node); this.#observe(cause); }
  async setSkew(node: string, offsetMs: number): Promise<void> {
    this.calls.push(`setSkew ${node} ${offsetMs}`);
    this.#skew.set(node, offsetMs);
    this.#rec!.clock(node, offsetMs);
  }
  skewOf(node: string): number { return this.#skew.get(node) ?? 0; }
  async setDrift(node: string, ppm: number): Promise<void> { this.calls.push(`setDrift ${node} ${ppm}`); }
  /** The toy has no authentication: an impostor changes nothing in it (the real cluster runs one). */
  async impostor(name: string, claims: string): Promise<void> { this.calls.push(`impostor ${name} ${claims}`); }

  /** The toy has no membership record: a removal is answered at once and changes nothing else. */
  removeController(node: string, name: string): Pending<MemberOp['outcome']> {
    this.calls.push(`remove ${name} on ${node}`);
    const op = this.#rec!.beginMemberOp(node, name);
    this.#rec!.endMemberOp(op, { status: 'ok', epoch: 2 });
    return { id: op.id, outcome: () => op.outcome };
  }

  /** Nor joining: an add is answered at once, and the joiner is a controller of the toy from then on. */
  addController(node: string, name: string): Pending<MemberOp['outcome']> {
    this.calls.push(`add ${name} on ${node}`);
    if (this.#spec!.joiners?.includes(name) !== true) throw new Error(`toy: ${name} is not a joiner`);
    this.#added.add(name);
    if (!this.#stores.has(name)) this.#stores.set(name, new Map());
    const op = this.#rec!.beginMemberOp(node, name, 'add');
    this.#rec!.endMemberOp(op, { status: 'ok', epoch: 2 });
    return { id: op.id, outcome: () => op.outcome };
  }

  apply(node: string, resource: Resource, durability: Durability): Pending<WriteOutcome> {
    const key = `${resource.kind}/${resource.metadata.namespace}/${resource.metadata.name}`;
    return this.#write({ kind: 'apply', node, key, durability, value: resource as never }, resource);
  }

  delete(node: string, key: string, durability: Durability): Pending<WriteOutcome> {
    return this.#write({ kind: 'delete', node, key, durability, value: null }, null);
  }

  resolve(node: string, key: string, keep: 'local' | 'remote', durability: Durability): Pending<WriteOutcome> {
    const op = this.#rec!.beginWrite({ kind: 'resolve', node, key, durability, keep });
    this.#rec!.endWrite(op, { status: 'error', code: 'NO_CONFLICT', message: 'toy: no conflicts here' });
    return { id: op.id, outcome: () => op.outcome };
  }

  read(node: string, key: string): Pending<ReadOutcome> {
    const op = this.#rec!.beginRead(node, key);
    const r = this.#stores.get(node)!.get(key);
    let out: ReadOutcome;
    if (r === undefined) out = { status: 'ok', found: false };
    else {
      const e = r.entries[0]!;
      out = { status: 'ok', found: true, value: e.value, hlc: e.hlc, origin: e.hlc.member, vv: r.vv, digest: r.digest, conflict: false };
    }
    // Reads take 2 ms, to show the interpreter runs time until an operation settles.
    this.#ops.push({ settleAtMs: this.#now + 2, settle: () => this.#rec!.endRead(op, out as Exclude<ReadOutcome, { status: 'pending' }>) });
    return { id: op.id, outcome: () => (op.outcome.status === 'pending' ? undefined : op.outcome) };
  }

  nodes(): { controllers: string[]; agents: string[] } {
    return { controllers: [...this.#spec!.controllers, ...this.#added], agents: [...this.#spec!.agents] };
  }

  status(node: string): NodeStatus {
    const role = this.#spec!.controllers.includes(node) ? 'controller' : 'agent';
    if (this.#down.has(node)) return { node, role, running: false };
    const paused = this.#paused.has(node);
    if (role === 'controller') return { node, role, running: true, paused, status: this.#controllerStatus(node) };
    const controller = this.#followed(node);
    const status = {
      state: controller === undefined ? 'Autonomous' : 'Connected', controller, failovers: 0, failbacks: 0, records: this.#stores.get(node)!.size,
      merkleRoot: this.#root(node), vote: { holder: undefined },
      controllers: this.#spec!.controllers.map((c) => ({ name: c, endpoint: c, connected: c === controller, healthy: c === controller, current: c === controller })),
    } as unknown as AgentStatus;
    return { node, role, running: true, paused, status };
  }

  merkleRoots(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const n of [...this.#spec!.controllers, ...this.#spec!.agents]) if (!this.#down.has(n)) out[n] = this.#root(n);
    return out;
  }

  history(): History { return this.#rec!.history; }

  async finish(): Promise<History> {
    const live = [...this.#spec!.controllers, ...this.#spec!.agents].filter((n) => !this.#down.has(n));
    const statuses: FinalStatus[] = live.map((n) => {
      const s = this.status(n);
      if (!s.running) throw new Error('assertion: live');
      return s.role === 'controller' ? { node: n, role: 'controller', status: s.status } : { node: n, role: 'agent', status: s.status };
    });
    return this.#rec!.finish(live.map((n) => finalState(n, this.#spec!.controllers.includes(n) ? 'controller' : 'agent', this.#root(n), this.#stores.get(n)!.values())), statuses);
  }

  bounds(): CheckBounds {
    return { splitBrainMs: 1000, convergeMs: 1000, unfenceMs: 1000, failoverMs: 1000, syncLagMs: 1000, skewFenceMs: 1000 };
  }

  async stop(): Promise<void> { this.stopped = true; }

  // ---- the toy world ------------------------------------------------------------------------------

  #majority(): number { return Math.floor(this.#spec!.controllers.length / 2) + 1; }

  #state() {
    return { atMs: this.#now, cause: '', down: [...this.#down], paused: [...this.#paused], cuts: [...this.#cuts].map((c) => c.split('>') as [string, string]) };
  }

  #side(node: string): string[] {
    return sides(this.#state(), [...this.#spec!.controllers, ...this.#spec!.agents]).find((s) => s.includes(node)) ?? [node];
  }

  #fencedNow(node: string): boolean {
    return this.#side(node).filter((n) => this.#spec!.controllers.includes(n)).length < this.#majority();
  }

  #followed(agent: string): string | undefined {
    return this.#side(agent).find((n) => this.#spec!.controllers.includes(n));
  }

  #write(req: Pick<WriteOp, 'kind' | 'node' | 'key' | 'durability' | 'value'>, value: Resource | null): Pending<WriteOutcome> {
    const rec = this.#rec!;
    const op = rec.beginWrite(req);
    const pending = { id: op.id, outcome: () => (op.outcome.status === 'pending' ? undefined : op.outcome) };
    if (this.#down.has(req.node)) { rec.endWrite(op, { status: 'error', code: 'NODE_STATE', message: 'down' }); return pending; }
    if (this.#fencedNow(req.node)) { rec.endWrite(op, { status: 'error', code: 'FENCED', message: 'toy fence' }); return pending; }
    const store = this.#stores.get(req.node)!;
    const current = store.get(req.key);
    const hlc = { logical: 0, member: req.node, wallMs: BASE_MS + this.#now + this.skewOf(req.node) };
    const entries = lastWriterWins.write(current, value as never, { self: req.node, hlc, counter: vvCount(current?.vv ?? {}, req.node) + 1 });
    if (entries === undefined) {
      rec.endWrite(op, { status: 'ok', ack: writeAckFrom(req.node, { changed: false, record: current! }) });
      return pending;
    }
    const record = makeRecord(req.key, incrementVv(current?.vv ?? {}, req.node), entries);
    store.set(req.key, record);
    this.#spread();
    const ack = writeAckFrom(req.node, { changed: true, record });
    if (req.durability === 'local') rec.endWrite(op, { status: 'ok', ack });
    else this.#ops.push({ settleAtMs: this.#now + QUORUM_DELAY_MS, settle: () => rec.endWrite(op, { status: 'ok', ack }) });
    return pending;
  }

  // Instant replication within each side.
  #spread(): void {
    for (const side of sides(this.#state(), [...this.#spec!.controllers, ...this.#spec!.agents])) {
      const joined = new Map<string, StoredRecord>();
      for (const n of side) for (const [k, r] of this.#stores.get(n)!) joined.set(k, joined.has(k) ? joinRecords(lastWriterWins, joined.get(k), r) : r);
      for (const n of side) this.#stores.set(n, new Map(joined));
    }
  }

  #root(node: string): string {
    return sha256Hex(canonicalJson([...this.#stores.get(node)!.values()].map((r) => r.digest).sort()));
  }

  #advance(toMs: number): void {
    for (;;) {
      const due = this.#ops.filter((o) => o.settleAtMs <= toMs).sort((a, b) => a.settleAtMs - b.settleAtMs)[0];
      if (due === undefined) break;
      this.#now = Math.max(this.#now, due.settleAtMs);
      this.#ops.splice(this.#ops.indexOf(due), 1);
      due.settle();
    }
    this.#now = toMs;
    this.#observe();
  }

  // Record what changed: the network truth, fences, agents, roots.
  #observe(cause?: string): void {
    const rec = this.#rec!;
    if (cause !== undefined) rec.network(cause, this.#state());
    this.#spread();
    for (const c of this.#spec!.controllers) {
      if (this.#down.has(c)) continue;
      const fenced = this.#fencedNow(c);
      if (this.#fenced.get(c) !== fenced) {
        this.#fenced.set(c, fenced);
        const q = this.#controllerStatus(c).quorum;
        rec.fence(c, { fenced, reason: fenced ? 'NO_QUORUM' : undefined, haveQuorum: !fenced, votes: q.ourVotes, total: q.totalVotes, threshold: q.threshold, reachable: [c] });
      }
    }
    for (const a of this.#spec!.agents) {
      if (this.#down.has(a)) continue;
      const c = this.#followed(a);
      rec.follow(a, c, c === undefined ? 'Autonomous' : 'Connected');
    }
    rec.sampleRoots(this.merkleRoots());
  }

  #controllerStatus(node: string): FederationStatus {
    const side = this.#side(node);
    const votes = side.filter((n) => this.#spec!.controllers.includes(n)).length;
    const fenced = votes < this.#majority();
    const n = this.#spec!.controllers.length;
    return {
      federationId: 'toy', localMember: node,
      members: this.#spec!.controllers.map((c) => (c === node
        ? { name: c, region: 'r', status: 'Local', syncLagMs: undefined, lastSyncMs: undefined, agents: 0 }
        : { name: c, region: 'r', status: side.includes(c) ? 'Healthy' : 'Unhealthy', syncLagMs: side.includes(c) ? 0 : 1500, lastSyncMs: 0, agents: 0 })),
      quorum: {
        phase: votes === n ? 'Healthy' : 'Partitioned', partitionState: votes === n ? 'None' : 'Confirmed', reachablePeers: `${votes - 1}/${n - 1}`,
        writesFenced: fenced, fenceReason: fenced ? 'NO_QUORUM' : 'NONE', clockSkewedPeers: [], readsAllowed: true, quorumMode: 'Controllers',
        ourVotes: votes, totalVotes: n, threshold: this.#majority(), haveQuorum: !fenced, reachableAgents: 0,
      },
    };
  }
}
