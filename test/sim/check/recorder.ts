// Fills a History as a simulated run goes: one call per event, each O(1) but for the network and
// root snapshots (a few small arrays). The cluster owns one recorder, calls it from its fault
// methods, client operations and node event listeners, and hands `history` to the checkers.
import type { QuorumStatus } from '../../../quorum/index.ts';
import type { StoredRecord } from '../../../storage/logic/record.ts';
import type {
  AgentFollow, ClockChange, FenceChange, FinalState, FinalStatus, History, LeaseInterval, MemberOp, NetworkState, ReadOp, ReadOutcome, Role,
  RunConfig, SlowLink, WriteOp, WriteOutcome,
} from './history.ts';

/** Options of a recorder. */
export interface RecorderOptions {
  config: RunConfig;
  controllers: readonly string[];
  agents: readonly string[];
  /** Virtual time now, ms (the scheduler's clock). */
  now: () => number;
}

/** A write as the client asks it. */
export type WriteRequest = Pick<WriteOp, 'kind' | 'node' | 'key' | 'durability'> & Partial<Pick<WriteOp, 'value' | 'keep'>>;

/** The stable code of an error (its `code`, else ERROR). */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.length > 0 ? code : 'ERROR';
}

export class HistoryRecorder {
  readonly history: History;
  readonly #now: () => number;
  #nextOp = 1;

  constructor(o: RecorderOptions) {
    this.#now = o.now;
    const t = o.now();
    this.history = {
      config: o.config, controllers: [...o.controllers], agents: [...o.agents], startMs: t, endMs: t,
      writes: [], reads: [], network: [{ atMs: t, cause: 'start', down: [], paused: [], cuts: [] }], clocks: [], starts: [], stamps: [], fences: [], phases: [],
      follows: [], agentChanges: [], leases: [], rootSamples: [], memberships: [], memberOps: [], final: {}, finalStatus: {},
    };
  }

  /** The true network from now on (kept only when it differs from the last state). */
  network(cause: string, state: Pick<NetworkState, 'down' | 'paused' | 'cuts' | 'slow'>): void {
    const byPair = <T extends [string, string, ...unknown[]]>(a: T, b: T): number => {
      const ka = `${a[0]}>${a[1]}`, kb = `${b[0]}>${b[1]}`;
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    };
    const slow = (state.slow ?? []).map((l) => [...l] as SlowLink).sort(byPair);
    const next: NetworkState = {
      atMs: this.#now(), cause,
      down: [...state.down].sort(), paused: [...state.paused].sort(),
      cuts: state.cuts.map(([f, t]) => [f, t] as [string, string]).sort(byPair),
      ...(slow.length === 0 ? {} : { slow }),
    };
    const last = this.history.network[this.history.network.length - 1]!;
    const same = JSON.stringify([last.down, last.paused, last.cuts, last.slow ?? []]) === JSON.stringify([next.down, next.paused, next.cuts, next.slow ?? []]);
    if (same) return;
    if (last.atMs === next.atMs) this.history.network[this.history.network.length - 1] = next;
    else this.history.network.push(next);
  }

  /** `node`'s wall clock is `offsetMs` from true time from now on. */
  clock(node: string, offsetMs: number): void {
    const c: ClockChange = { atMs: this.#now(), node, offsetMs };
    this.history.clocks.push(c);
  }

  /** `node` committed membership epoch `epoch`, which denies the controllers `removed`. */
  membership(node: string, epoch: number, removed: readonly string[], members?: readonly string[], voters?: readonly string[]): void {
    this.history.memberships.push({
      atMs: this.#now(), node, epoch, removed: [...removed].sort(),
      ...(members === undefined ? {} : { members: [...members].sort() }), ...(voters === undefined ? {} : { voters: [...voters].sort() }),
    });
  }

  /** A membership change begins; settle it with endMemberOp. */
  beginMemberOp(node: string, name: string, kind: MemberOp['op'] = 'remove'): MemberOp {
    const op: MemberOp = { id: this.#nextOp++, op: kind, node, name, startMs: this.#now(), endMs: undefined, outcome: { status: 'pending' } };
    this.history.memberOps.push(op);
    return op;
  }

  /** A membership change ended. */
  endMemberOp(op: MemberOp, outcome: MemberOp['outcome']): void {
    op.endMs = this.#now();
    op.outcome = outcome;
  }

  /** A controller started with its HLC's wall part `hlcOffsetMs` from true time. */
  start(node: string, hlcOffsetMs: number): void {
    this.history.starts.push({ atMs: this.#now(), node, hlcOffsetMs });
  }

  /** A controller's HLC rose to `hlcOffsetMs` from true time, above its own clock. */
  stamp(node: string, hlcOffsetMs: number): void {
    this.history.stamps.push({ atMs: this.#now(), node, hlcOffsetMs });
  }

  /** A client write begins; settle it with endWrite. */
  beginWrite(req: WriteRequest): WriteOp {
    const op: WriteOp = { id: this.#nextOp++, ...req, startMs: this.#now(), endMs: undefined, outcome: { status: 'pending' } };
    this.history.writes.push(op);
    return op;
  }

  /** A client write's answer. */
  endWrite(op: WriteOp, outcome: Exclude<WriteOutcome, { status: 'pending' }>): void {
    op.endMs = this.#now();
    op.outcome = outcome;
  }

  /** A client read begins; settle it with endRead. */
  beginRead(node: string, key: string): ReadOp {
    const op: ReadOp = { id: this.#nextOp++, node, key, startMs: this.#now(), endMs: undefined, outcome: { status: 'pending' } };
    this.history.reads.push(op);
    return op;
  }

  /** A client read's answer. */
  endRead(op: ReadOp, outcome: Exclude<ReadOutcome, { status: 'pending' }>): void {
    op.endMs = this.#now();
    op.outcome = outcome;
  }

  /** A controller's fence state (its 'fence' event, or its baseline at start: see fenceFromStatus). */
  fence(node: string, e: Omit<FenceChange, 'atMs' | 'node'>): void {
    this.history.fences.push({
      atMs: this.#now(), node, fenced: e.fenced, reason: e.reason, haveQuorum: e.haveQuorum, votes: e.votes, total: e.total,
      threshold: e.threshold, reachable: [...e.reachable],
    });
  }

  /** A controller's fence baseline from its status (at every start: no event reports it). */
  fenceFromStatus(node: string, q: QuorumStatus, reachable: readonly string[]): void {
    this.fence(node, {
      fenced: q.writesFenced, reason: q.fenceReason === 'NONE' ? undefined : q.fenceReason, haveQuorum: q.haveQuorum,
      votes: q.ourVotes, total: q.totalVotes, threshold: q.threshold, reachable: [...reachable],
    });
  }

  /** A controller's partition phase changed. */
  phase(node: string, from: History['phases'][number]['from'], to: History['phases'][number]['to']): void {
    this.history.phases.push({ atMs: this.#now(), node, from, to });
  }

  /** An agent's controller or state (kept only when either changed). */
  follow(agent: string, controller: string | undefined, state: AgentFollow['state']): void {
    const prev = [...this.history.follows].reverse().find((f) => f.agent === agent);
    if (prev !== undefined && prev.controller === controller && prev.state === state) return;
    this.history.follows.push({ atMs: this.#now(), agent, controller, state });
  }

  /** A change an agent applied (from its store's watch). */
  agentChange(agent: string, incarnation: number, change: { seq: number; type: 'PUT' | 'DELETE'; record: StoredRecord }, controller: string | undefined): void {
    this.history.agentChanges.push({
      atMs: this.#now(), agent, incarnation, seq: change.seq, key: change.record.key, type: change.type,
      digest: change.record.digest, vv: change.record.vv, controller,
    });
  }

  /** A vote lease interval (already mapped to virtual time). */
  lease(l: LeaseInterval): void {
    this.history.leases.push({ ...l });
  }

  /** Merkle roots of the running nodes now (kept only when they differ from the last sample). */
  sampleRoots(roots: Record<string, string>): void {
    const sorted = Object.fromEntries(Object.entries(roots).sort(([a], [b]) => (a < b ? -1 : 1)));
    const last = this.history.rootSamples[this.history.rootSamples.length - 1];
    if (last !== undefined && JSON.stringify(last.roots) === JSON.stringify(sorted)) return;
    this.history.rootSamples.push({ atMs: this.#now(), roots: sorted });
  }

  /** The end of the run: final states and statuses of the running nodes, taken now. */
  finish(states: readonly FinalState[], statuses: readonly FinalStatus[]): History {
    this.history.endMs = this.#now();
    this.history.final = Object.fromEntries(states.map((s) => [s.node, s]));
    this.history.finalStatus = Object.fromEntries(statuses.map((s) => [s.node, s]));
    return this.history;
  }
}

/** A final state from a node's records (client keys at least) and Merkle root. */
export function finalState(node: string, role: Role, merkleRoot: string, records: Iterable<StoredRecord>): FinalState {
  const out: Record<string, StoredRecord> = {};
  for (const r of records) out[r.key] = r;
  return { node, role, merkleRoot, records: out };
}
