// What a scenario script drives: a simulated federation of real ControllerNodes and AgentNodes on the
// simulated network (test/sim/cluster.ts implements it). The interpreter (interpreter.ts) parses each
// command, calls these methods and renders what they return; nothing here formats text.
//
// Time. Only tick and runUntil advance virtual time. Every other method acts at the current virtual
// instant and returns at once (fault methods may await the simulated network's bookkeeping, but
// must not let virtual time pass). Client operations start now and return a handle; the interpreter
// runs virtual time until the handle settles (runUntil), so an operation can also be left in flight
// across later commands.
//
// Recording. The driver records everything into its History (test/sim/check/history.ts) as it goes:
// client operations and their outcomes, the true network and clocks after every fault, fence and
// phase events, agent follows and applied changes, vote leases, Merkle-root samples (after every
// tick at least). `finish()` adds the final states and statuses.
import type { AgentStatus } from '../../../node/agent/agent-node.ts';
import type { FederationStatus } from '../../../node/controller/controller-node.ts';
import type { QuorumMode } from '../../../quorum/index.ts';
import type { Resource } from '../../../storage/logic/resource.ts';
import type { StrategyName } from '../../../storage/logic/rules/conflict-rule.ts';
import type { CheckBounds } from '../check/index.ts';
import type { Durability, History, MemberOp, ReadOutcome, WriteOutcome } from '../check/history.ts';

/** The `cluster` command: what to build. */
export interface ClusterSpec {
  /** Controller member names, in order. */
  controllers: string[];
  /** Agent member names, in order. */
  agents: string[];
  /**
   * Controllers that join during the run (live membership): in no configuration but their own, which
   * lists the controllers as its bootstrap addresses; not started until a `members add` names them.
   */
  joiners?: string[];
  /** Seed of everything random in the run. */
  seed: number;
  /** Conflict strategy (default LastWriterWins). */
  strategy: StrategyName;
  /** Quorum counting mode (default Controllers). */
  quorumMode: QuorumMode;
  /**
   * Every other `key=value` of the command, uninterpreted (e.g. `leaseMs=4000`, `failureThreshold=3`):
   * the driver refuses keys it does not know (throw), so a typo is not silently ignored.
   */
  options: Record<string, string>;
}

/** How a cut treats what crosses it. */
export type CutMode =
  /** Packets vanish, nobody is told (iptables DROP): connections stall until their own timeouts. */
  | 'drop'
  /** New connections are refused at once (iptables REJECT of SYNs); bytes of existing ones are held until the heal, as with 'drop'. */
  | 'reject';

/** Message-level conditions of a link (each direction). Unset fields keep their current value. */
export interface LinkConditions {
  /** One-way delay range, ms: each message takes a seeded delay in [min, max]. */
  delayMinMs?: number;
  delayMaxMs?: number;
  /** Fraction of gossip datagrams dropped, 0..1 (streams are reliable: loss there shows as delay). */
  dropRate?: number;
  /** Fraction of gossip datagrams delivered twice, 0..1. */
  duplicateRate?: number;
  /** Fraction of gossip datagrams that may overtake earlier ones, 0..1. */
  reorderRate?: number;
}

/** A client operation in flight. */
export interface Pending<T> {
  /** The operation's number in the history (WriteOp/ReadOp id: 1, 2, ... in the order operations start). */
  readonly id: number;
  /** Its outcome once settled, else undefined. */
  outcome(): T | undefined;
}

/** A node as `status` sees it. */
export type NodeStatus =
  | { node: string; role: 'controller'; running: true; paused: boolean; status: FederationStatus }
  | { node: string; role: 'agent'; running: true; paused: boolean; status: AgentStatus }
  | { node: string; role: 'controller' | 'agent'; running: false };

/** A simulated federation, as scripts drive it. */
export interface SimDriver {
  /** Build and start the federation (nodes started, connected and caught up or not: as the cluster does at start). */
  start(spec: ClusterSpec): Promise<void>;
  /** Virtual time now, ms since the start of the run. */
  nowMs(): number;
  /** The wall clock an unskewed node reads at virtual time 0 (HLC stamps are shown relative to it). */
  wallBaseMs(): number;

  /** Run the simulation for `ms` virtual milliseconds (0: run what is due now). */
  tick(ms: number): Promise<void>;
  /**
   * Run event by event until `done()` holds (checked before the first event and after each) or
   * `withinMs` of virtual time has passed; resolves whether it holds.
   */
  runUntil(done: () => boolean, withinMs: number): Promise<boolean>;

  // ---- faults: each records the new truth in the history; `cause` is what to record as the change's
  // cause (the script's command line, e.g. "partition a | b c"; default: the driver's own words) -----
  /** Nothing `from` sends reaches `to` from now on (one direction; call twice for both). */
  cut(from: string, to: string, mode: CutMode, cause?: string): Promise<void>;
  /** Remove the cuts between each given pair (both directions), or every cut when none is given. */
  heal(pairs?: ReadonlyArray<readonly [string, string]>, cause?: string): Promise<void>;
  /** Reset the connections between `a` and `b` now (both ends see a reset); new ones may be opened. */
  reset(a: string, b: string): Promise<void>;
  /** The connections between `a` and `b` go silent now: nothing they carry arrives, nobody is told; new connections work. */
  silence(a: string, b: string): Promise<void>;
  /** `a` drops its end of its connections with `b` without a word; `b` keeps a half-open end that carries nothing. */
  halfOpen(a: string, b: string): Promise<void>;
  /** Set the conditions of the links between `a` and `b` (or of every link, when both are undefined). */
  setLink(a: string | undefined, b: string | undefined, c: LinkConditions): Promise<void>;
  /** Freeze a node (SIGSTOP): its timers and messages wait until resume. */
  pause(node: string, cause?: string): Promise<void>;
  resume(node: string, cause?: string): Promise<void>;
  /** Kill a node (kill -9): its unsynced store writes are lost, its connections reset by the network. */
  crash(node: string, cause?: string): Promise<void>;
  /** Start a crashed node again from its data. */
  restart(node: string, cause?: string): Promise<void>;
  /** Set `node`'s wall clock `offsetMs` away from true time (a step; monotonic clocks do not move). */
  setSkew(node: string, offsetMs: number): Promise<void>;
  /** `node`'s wall clock offset from true time now. */
  skewOf(node: string): number;
  /** Set `node`'s wall-clock rate error, parts per million (positive: fast); its monotonic clock keeps true time. */
  setDrift(node: string, ppm: number): Promise<void>;
  /**
   * Start an attacker host `name` (not a member, not in the history's network): a fresh key with a
   * valid certificate the federation's CA issued for member `claims`, running the real membership
   * protocols as that member and dialing every controller but the one it claims. It waits (in
   * virtual time) until the host has started, as restart does. Optional: drivers without attackers
   * leave it out, and scripts that use it fail there.
   */
  impostor?(name: string, claims: string, cause?: string): Promise<void>;

  // ---- membership ------------------------------------------------------------------------------------
  /**
   * Ask controller `node` to remove controller `name` from the federation (`novactl federation
   * members remove`); recorded in the history's memberOps. Optional, like impostor.
   */
  removeController?(node: string, name: string): Pending<MemberOp['outcome']>;
  /**
   * Ask controller `node` to add joiner `name` (`novactl federation members add`, promoted once
   * caught up); the joiner is started first if it is not running yet. Optional, like removeController.
   */
  addController?(node: string, name: string): Pending<MemberOp['outcome']>;

  // ---- clients: each records the operation and its outcome in the history -------------------
  /** Create or update a resource on a controller. */
  apply(node: string, resource: Resource, durability: Durability): Pending<WriteOutcome>;
  /** Delete a resource on a controller. */
  delete(node: string, key: string, durability: Durability): Pending<WriteOutcome>;
  /** Resolve a conflict on a controller. */
  resolve(node: string, key: string, keep: 'local' | 'remote', durability: Durability): Pending<WriteOutcome>;
  /** Read a resource on a controller or an agent. */
  read(node: string, key: string): Pending<ReadOutcome>;

  // ---- observing ----------------------------------------------------------------------------------
  /** Controller names, agent names. */
  nodes(): { controllers: string[]; agents: string[] };
  /** A node's status now (its own status() object). */
  status(node: string): NodeStatus;
  /** Merkle root of every running node now. */
  merkleRoots(): Record<string, string>;
  /** The history so far (live: it grows as the run goes; final states as of the last finish()). */
  history(): History;
  /** Take the final states and statuses of the running nodes now; returns the history. */
  finish(): Promise<History>;
  /** The bounds the checkers hold this run to (from its configuration). */
  bounds(): CheckBounds;
  /** Stop every node. */
  stop(): Promise<void>;
}
