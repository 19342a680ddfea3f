// The recorded history of one simulated run: everything the checkers judge, and nothing else. Every
// time is VIRTUAL milliseconds since the start of the run (the simulator's scheduler clock), never a
// node's own clock: a node's wall or monotonic reading is mapped to virtual time by whoever records it.
//
// The history is plain data (JSON-friendly, no classes) so a failing seed can dump it, and so the
// checkers (test/sim/check/*.ts) stay pure functions of it. The cluster fills it as the run goes,
// mostly through HistoryRecorder (recorder.ts): one append per client operation, fault, fence event,
// agent event and lease, plus periodic Merkle-root samples and, at the end, the final states.
import type { Json } from '../../../storage/logic/canonical.ts';
import type { HlcStamp } from '../../../storage/logic/hlc.ts';
import { newestEntry, type StoredRecord } from '../../../storage/logic/record.ts';
import type { StrategyName } from '../../../storage/logic/rules/conflict-rule.ts';
import type { VersionVector } from '../../../storage/logic/version-vector.ts';
import type { FenceReason, Phase, QuorumMode } from '../../../quorum/index.ts';
import type { AgentState, AgentStatus } from '../../../node/agent/agent-node.ts';
import type { FederationStatus } from '../../../node/controller/controller-node.ts';
import type { FenceState } from '../../../node/controller/fence-transitions.ts';

/** Durability asked of a write. */
export type Durability = 'local' | 'quorum';

/** The role of a simulated node. */
export type Role = 'controller' | 'agent';

/** What the run was configured with (what the checkers need to know of it). */
export interface RunConfig {
  /** Seed of the run (replay with it). */
  seed: number;
  /** Conflict strategy of the federation. */
  strategy: StrategyName;
  /** Quorum counting mode. */
  quorumMode: QuorumMode;
  /**
   * Controllers that must hold a quorum-durable write before it is acknowledged, the origin
   * included (the replicator's majority of the configured controllers).
   */
  durabilityQuorum: number;
  /**
   * Controllers (unweighted) whose contact gives the write fence quorum: set only when that is
   * exact (Controllers mode, every weight 1); undefined turns off the checks that need it.
   */
  fenceQuorum: number | undefined;
  /** Whether the controllers fence writes without quorum (splitBrain.fenceWrites; default true). */
  fenceWrites?: boolean;
  /** The federation's maxClockOffset, ms. */
  maxClockOffsetMs: number;
  /** True wall time at virtual time 0, ms since the Unix epoch (the scheduler's epochMs): reads write stamps against true time. */
  epochMs?: number;
}

/** A write as its origin acknowledged it: the write's own identity and causal past. */
export interface WriteAck {
  /** The write's stamp; `hlc.member` is the origin. */
  hlc: HlcStamp;
  /** The origin's counter for this key: (hlc.member, counter) is the write's dot. */
  counter: number;
  /** The record's version vector right after the write on its origin: its causal past, itself included. */
  vv: VersionVector;
  /** False when the write changed nothing (the same value again): no dot of its own, nothing to lose. */
  changed: boolean;
}

/** Outcome of a write, delete or resolve. */
export type WriteOutcome =
  /**
   * Acknowledged. `holders` (optional, fill it when cheap): the controllers whose store held the
   * write at the instant it was acknowledged; a quorum ack with fewer than durabilityQuorum holders
   * is a violation even if the write spreads later.
   */
  | { status: 'ok'; ack: WriteAck; holders?: string[] }
  /**
   * Refused or failed with a stable error code (FENCED, QUORUM_UNAVAILABLE, QUORUM_TIMEOUT,
   * REFUSED_BY_PEERS, CONFLICT, NODE_STATE, ...). `stored` is set when the write was nevertheless
   * stored on its origin (a quorum write that failed after storing): it may still replicate, so it
   * may supersede others, but nobody was promised it.
   */
  | { status: 'error'; code: string; message: string; stored?: WriteAck }
  /** No answer by the end of the run (its node crashed or stayed paused). */
  | { status: 'pending' };

/** One client write, delete or resolve. */
export interface WriteOp {
  /** Operation number in the run (shared with reads), from 1. */
  id: number;
  kind: 'apply' | 'delete' | 'resolve';
  /** Controller the client sent it to. */
  node: string;
  /** `Kind/namespace/name`. */
  key: string;
  /** apply: the resource written; delete: null; resolve: undefined. */
  value?: Json | null;
  /** resolve: the side kept. */
  keep?: 'local' | 'remote';
  durability: Durability;
  /** When the client called (the write fence decides at this instant). */
  startMs: number;
  /** When the answer came; undefined while pending. */
  endMs: number | undefined;
  outcome: WriteOutcome;
}

/** What a read returned. */
export type ReadOutcome =
  | { status: 'ok'; found: false }
  | { status: 'ok'; found: true; value: Json | null; hlc: HlcStamp; origin: string; vv: VersionVector; digest: string; conflict: boolean }
  | { status: 'error'; code: string; message: string }
  | { status: 'pending' };

/** One client read, on a controller or an agent. */
export interface ReadOp {
  id: number;
  node: string;
  key: string;
  startMs: number;
  endMs: number | undefined;
  outcome: ReadOutcome;
}

/** A slowed direction: from, to, the largest delay and the smallest, ms. */
export type SlowLink = [string, string, number] | [string, string, number, number];

/**
 * The TRUE state of the network from `atMs` until the next entry: not what any node believes. Two
 * nodes can exchange data when both run, neither is paused, and neither direction between them is
 * cut. Message delay, loss below 100 %, duplication, reordering, and connections reset, silenced or
 * left half-open do not change it: a new connection would carry data. Slowed links are recorded
 * too (`slow`), for the checkers whose rule depends on a timeout: a peer whose round trip can exceed
 * the deadline of a health check cannot be seen answering one in time.
 */
export interface NetworkState {
  atMs: number;
  /** What changed, as the script or nemesis put it (e.g. "partition a | b c"). */
  cause: string;
  /** Nodes not running (crashed and not restarted yet). */
  down: string[];
  /** Nodes paused (SIGSTOP): running, but doing nothing. */
  paused: string[];
  /** Directed cuts: [from, to] means nothing `from` sends reaches `to`. */
  cuts: Array<[string, string]>;
  /**
   * Slowed directions: [from, to, delayMaxMs, delayMinMs], each message from `from` to `to` delayed by
   * delayMinMs to delayMaxMs (absent: the LAN default, under 1 ms; delayMinMs absent: 0).
   */
  slow?: Array<SlowLink>;
}

/**
 * A controller committed a membership record (live membership): at its start (the record it saved)
 * and at each newer one it adopted. `removed`: the controllers that record denies (removed from the
 * federation). A record is saved before it is adopted, so a node that knew of a removal knows of it
 * in every later incarnation too.
 */
export interface MembershipRecordSeen {
  atMs: number;
  node: string;
  epoch: number;
  removed: string[];
  /** The record's controllers (voters and learners) and its voters; absent in histories recorded before adds. */
  members?: string[];
  voters?: string[];
}

/** A membership change a client asked of a controller (`members remove`, `members add`). */
export interface MemberOp {
  id: number;
  op: 'remove' | 'add';
  /** The controller asked. */
  node: string;
  /** The controller to remove or add. */
  name: string;
  startMs: number;
  endMs: number | undefined;
  outcome: { status: 'ok'; epoch: number } | { status: 'error'; code: string; message: string } | { status: 'pending' };
}

/** A node's wall clock was set `offsetMs` away from true time (skew or jump), from `atMs` on. */
export interface ClockChange {
  atMs: number;
  node: string;
  offsetMs: number;
}

/**
 * The height of a controller's hybrid logical clock (the wall part of its stamps), as an offset from
 * true time: at each (re)start (restored from its disk: a crash loses the height its stamps had
 * reached in memory), and whenever it rose above the node's own clock (a clock set back while its
 * stamps stand still, or stamps received from others pulling it ahead).
 */
export interface NodeStart {
  atMs: number;
  node: string;
  hlcOffsetMs: number;
}

/**
 * A controller's write fence changed (its 'fence' events, plus one entry with its state at every
 * start or restart: the node logs its baseline without an event). Before a controller's first entry
 * its fence state is unknown to the checkers.
 */
export interface FenceChange extends Pick<FenceState, 'fenced' | 'reason' | 'haveQuorum' | 'votes' | 'total' | 'threshold' | 'reachable'> {
  atMs: number;
  node: string;
}

/** A controller's partition phase changed (its 'phase' events). */
export interface PhaseChange {
  atMs: number;
  node: string;
  from: Phase;
  to: Phase;
}

/** An agent's controller or state changed (its 'switch' and 'state' events, and one entry at every start). */
export interface AgentFollow {
  atMs: number;
  agent: string;
  /** Member name of the controller it follows now (undefined: none). */
  controller: string | undefined;
  state: AgentState;
}

/** One change an agent applied to its replica (its store's watch, system records included or not: say which). */
export interface AgentChange {
  atMs: number;
  agent: string;
  /** Counts the agent's starts from 1: seqs and order are judged within one incarnation. */
  incarnation: number;
  /** The replica's sequence number of this change. */
  seq: number;
  key: string;
  type: 'PUT' | 'DELETE';
  /** The record after the change. */
  digest: string;
  vv: VersionVector;
  /** The controller it followed when it applied the change (undefined: none, e.g. its file copy). */
  controller: string | undefined;
}

/**
 * A vote lease interval, mapped to virtual time. 'granted': the agent's own lease to the controller
 * (grantedAtMs..expiresAtMs on its clock; a renewal is a new interval). 'counted': the interval in
 * which the controller counted the agent's vote (the grant's receipt .. validUntilMs on its clock,
 * which is anchored at the request's sending).
 */
export interface LeaseInterval {
  agent: string;
  controller: string;
  kind: 'granted' | 'counted';
  fromMs: number;
  untilMs: number;
}

/** Merkle roots of the running nodes at one instant (sample them often: after every tick is fine). */
export interface RootSample {
  atMs: number;
  /** Node -> Merkle root, running nodes only. */
  roots: Record<string, string>;
}

/** What a node held at the end of the run. */
export interface FinalState {
  node: string;
  role: Role;
  merkleRoot: string;
  /** Key -> record, client keys at least (system records may be left out). */
  records: Record<string, StoredRecord>;
}

/** What a node reported at the end of the run. */
export type FinalStatus =
  | { node: string; role: 'controller'; status: FederationStatus; metrics?: Record<string, number> }
  | { node: string; role: 'agent'; status: AgentStatus; metrics?: Record<string, number> };

/** The history of one run. */
export interface History {
  config: RunConfig;
  controllers: string[];
  agents: string[];
  /** Start of the run (0) and the instant the final states were taken. */
  startMs: number;
  endMs: number;
  writes: WriteOp[];
  reads: ReadOp[];
  /** Truth of the network, in time order; the first entry is at startMs. */
  network: NetworkState[];
  clocks: ClockChange[];
  /** Controller starts, with their HLC heights (truth.ts stampOffsetAt). */
  starts: NodeStart[];
  /** HLC heights above the node's own clock, between starts (truth.ts stampOffsetAt). */
  stamps: NodeStart[];
  fences: FenceChange[];
  phases: PhaseChange[];
  follows: AgentFollow[];
  agentChanges: AgentChange[];
  leases: LeaseInterval[];
  rootSamples: RootSample[];
  /** Membership records committed by the controllers (empty when no controller runs live membership). */
  memberships: MembershipRecordSeen[];
  /** Membership changes asked by clients. */
  memberOps: MemberOp[];
  /** Controllers that join during the run (in `controllers` too, in no configuration but their own). */
  joiners?: string[];
  /** Node -> final state, running nodes only (filled at the end). */
  final: Record<string, FinalState>;
  /** Node -> final status, running nodes only (filled at the end). */
  finalStatus: Record<string, FinalStatus>;
}

/** The part of a write result (storage WriteResult) a WriteAck is made from. */
export interface WriteResultLike {
  changed: boolean;
  record: StoredRecord;
}

/**
 * The ack of a write `member` made, from the store's WriteResult: its dot is `member`'s counter in
 * the record's version vector, its stamp that entry's.
 */
export function writeAckFrom(member: string, res: WriteResultLike): WriteAck {
  const vv = res.record.vv;
  const counter = Object.hasOwn(vv, member) ? vv[member]! : 0;
  const own = res.record.entries.find((e) => e.hlc.member === member && e.counter === counter);
  if (!res.changed || own === undefined) {
    // Nothing written: the record's newest stamp stands for the answer.
    return { hlc: newestEntry(res.record).hlc, counter, vv, changed: false };
  }
  return { hlc: own.hlc, counter, vv, changed: true };
}

/** The write's dot as text, `member:counter`. */
export function dotText(ack: Pick<WriteAck, 'hlc' | 'counter'>): string {
  return `${ack.hlc.member}:${ack.counter}`;
}

/** Virtual milliseconds as seconds with three decimals, e.g. `12.345s`. */
export function fmtMs(ms: number): string {
  return `${(ms / 1000).toFixed(3)}s`;
}

/** The ack a write carries if it reached a store: acknowledged, or stored though it failed. */
export function storedAck(op: WriteOp): WriteAck | undefined {
  if (op.outcome.status === 'ok') return op.outcome.ack;
  if (op.outcome.status === 'error') return op.outcome.stored;
  return undefined;
}
