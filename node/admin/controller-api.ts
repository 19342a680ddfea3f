// Result shapes of the controller's admin methods: what `novactl` (and any other client) receives.
// The methods themselves are in controller-methods.ts; docs/cli.md lists them with their params.
import type { ConflictInfo, HlcStamp, ResourceView, VersionVector } from '../../storage/index.ts';
import type { QuorumStatus } from '../../quorum/index.ts';
import type { FederationStatus } from '../controller/controller-node.ts';
import type { FenceEvent, PhaseEvent, QuorumEvent } from '../controller/fence-transitions.ts';
import type { AntiEntropyReport } from '../replication/anti-entropy-client.ts';
import type { ControllerEntry, DeniedIdentity, FederationMembers } from '../../membership/federation-members.ts';
import type { PeerReplicationStatus } from '../replication/replicator.ts';

/** Durability of a write: on this controller, or on a weighted majority of controllers. */
export type WriteDurability = 'local' | 'quorum';

/** The node answering. */
export interface NodeInfo {
  member: string;
  role: 'controller' | 'agent';
  region: string;
  zone: string;
  peerId: string;
  multiaddrs: string[];
  /** Conflict strategy (controllers). */
  strategy: string;
  /** Records held (resources and tombstones): the record count. */
  storeSize: number;
  /** Store sequence number of the last change. */
  seq: number;
  /** Root of the store's Merkle tree, hex (controllers; equal roots mean equal stores). */
  merkleRoot?: string;
}

/** A row of `federation.status`'s members, with the member's Merkle root. */
export type MemberRootStatus = FederationStatus['members'][number] & {
  /**
   * The member's Merkle root: this controller's own, or a peer's as its last heartbeat carried it
   * (undefined: none heard yet).
   */
  merkleRoot?: string | undefined;
  /** How old that root is, ms (0 for this controller; a peer's is as old as its last heartbeat). */
  rootAgoMs?: number | undefined;
  /** The root equals this controller's (undefined: not known). */
  sameRoot?: boolean | undefined;
};

/** `federation.status`. */
export interface StatusResult extends FederationStatus {
  members: MemberRootStatus[];
  node: NodeInfo;
  /** With `verbose`: per-peer replication state. */
  replication?: PeerReplicationStatus[];
  /**
   * With `verbose`: writes refused without quorum, writes accepted without it (fenceWrites off), and
   * why writes are refused now (NO_QUORUM, CLOCK_SKEW; NONE while accepted).
   */
  fence?: { fenced: number; minorityWrites: number; reason: QuorumStatus['fenceReason'] };
}

/** `federation.conflicts`. */
export interface ConflictsResult {
  /** The member answering: versions it wrote are its "local" side. */
  member: string;
  conflicts: ConflictInfo[];
}

/** The outcome of one write. */
export interface WriteOutcome {
  key: string;
  /** False when the write changed nothing (same value re-applied). */
  changed: boolean;
  /** Store sequence number of the key after the write. */
  seq: number;
  /** The key's newest version after the write: its HLC stamp (a no-op write: the version held). */
  hlc?: HlcStamp;
  /** The key's version vector after the write. */
  vv?: VersionVector;
  /**
   * A quorum write that changed something: the controllers holding it when the call returned, this
   * one first, then the peers in the order they acknowledged it as stored (a majority of them).
   */
  acknowledgedBy?: string[];
}

/** `resources.apply`: one outcome per resource, in order. */
export interface ApplyResult {
  results: Array<WriteOutcome & { index: number }>;
}

/**
 * `error.data` of a failed `resources.apply`: the index of the resource that failed (the ones before
 * it were applied and are listed in `results`; the ones after it were not tried).
 */
export interface ApplyErrorData {
  code: string;
  index: number;
  key?: string;
  field?: string;
  results: ApplyResult['results'];
}

/** `resources.list`: one page, in key order. */
export interface ListResult {
  items: ResourceView[];
  /** Store seq when the page was read: a watch from the first page's seq sees every later change. */
  seq: number;
  /** True when more resources follow this page (then `continue` is set). */
  truncated: boolean;
  /** Opaque token for the next page (pass it as `continue` with the same kind and namespace); absent on the last page. */
  continue?: string;
}

/** `resources.watch`: the seq the watch starts after (changes with a higher seq follow as `resources.event`). */
export interface WatchStarted {
  seq: number;
}

/** The params of a `resources.event` notification: one change (DELETE: `view.value` is null). */
export interface ResourceEvent {
  type: 'PUT' | 'DELETE';
  /** Store seq of the change on the node watched: resume with `fromSeq` set to the last one received. */
  seq: number;
  view: ResourceView;
}

/** The params of a `federation.event` notification. */
export type FederationEvent =
  | { type: 'state'; seq: number; phase: string; writesFenced: boolean; fenceReason: string; haveQuorum: boolean }
  | ({ type: 'fence'; seq: number } & FenceEvent)
  | ({ type: 'quorum'; seq: number } & QuorumEvent)
  | ({ type: 'phase'; seq: number } & PhaseEvent);

/** `resources.kinds`: the kinds stored (tombstones included), sorted. */
export interface KindsResult {
  kinds: string[];
}

/** `federation.sync`. */
export interface SyncResult {
  peer: string;
  report: AntiEntropyReport;
}

/** `federation.reconcile`: one entry per connected controller. */
export interface ReconcileResult {
  peers: Array<{ peer: string; ok: true; report: AntiEntropyReport } | { peer: string; ok: false; error: { code: string; message: string } }>;
}

/** `federation.members.list`: the membership record committed on this controller, and who is connected now. */
export interface MembersListResult {
  record: FederationMembers;
  /** Controllers with an authenticated connection to this one now (this one included). */
  connected: string[];
  /** Controllers whose latest heartbeat carried this one's Merkle root (this one included): caught up, as far as it can tell. */
  sameRoot: string[];
}

/** `federation.members.deny`: the identity denied and the record that denies it. */
export interface MembersDenyResult {
  denied: DeniedIdentity;
  epoch: number;
}

/** `federation.members.remove`: the controller removed (its peer ID denied from then on) and the voters left. */
export interface MembersRemoveResult {
  removed: ControllerEntry;
  epoch: number;
  voters: string[];
  /** True when it was connected and drained first (its writes pulled here by anti-entropy). */
  drained: boolean;
}

/** `federation.members.add`: the controller added as a learner, and the record after it. */
export interface MembersAddResult {
  added: ControllerEntry;
  epoch: number;
  voters: string[];
  learners: string[];
}

/** `federation.members.promote`: the learner made a voter, and the voters after it. */
export interface MembersPromoteResult {
  promoted: string;
  epoch: number;
  voters: string[];
}

/** One agent known to this controller. */
export interface AgentInfo {
  name: string;
  region: string;
  zone: string;
  /** Health as this controller sees it (Unknown: connected, no heartbeat yet). */
  state: string;
  /** Has an authenticated connection to this controller now. */
  connected: boolean;
  /** Controllers it reports reaching (from its heartbeats). */
  reachable: string[];
  /** Milliseconds since its last heartbeat (undefined: none yet). */
  lastSeenAgoMs: number | undefined;
  /** Smoothed round-trip time to this controller, ms, as the agent reported it in its last heartbeat (undefined: none reported). */
  rttMs: number | undefined;
  /** AgentAssisted only: in the replicated registry (its vote counts in the total). */
  registered?: boolean;
  /** AgentAssisted only: its vote lease is counted by this controller now. */
  voteHere?: boolean;
}

/** `agents.list`. */
export interface AgentsResult {
  agents: AgentInfo[];
}

/** `resources.get`. */
export type GetResult = ResourceView;

/** `conflicts.describe`: the conflict, and the member answering (its versions are "local"). */
export type DescribeResult = ConflictInfo & { member: string };
