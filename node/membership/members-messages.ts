// Messages of the membership protocol (/novaedge/<federationID>/members/1.0.0), between controllers:
// the Paxos exchanges that decide each epoch's membership record (quorum/voter-slot.ts) and the
// fetch of a committed record by a controller that saw a newer epoch in a heartbeat. One exchange
// per stream: a request, an answer. The rules are pure and live in quorum/voter-slot.ts and
// membership/federation-members.ts; this file only checks that what arrives is well formed.
//   prepare {epoch, ballot}          → promise {epoch, accepted?} | refused
//   accept  {epoch, ballot, value}   → accepted {epoch} | refused
//   fetch   {epoch}                  → record {value} | refused (NOT_FOUND: not committed here)
//   commit  {value}                  → accepted {epoch} | refused: a chosen record, told by whoever
//                                      learnt it was chosen (the others adopt it without waiting for
//                                      a heartbeat to show its epoch)
// `epoch` is the epoch the proposer has committed; the slot decided is epoch + 1, and `value` is the
// record proposed for it.
import { int, messageType, obj, ProtocolError, str } from '../wire/protocol-error.ts';
import type { Ballot } from '../../quorum/voter-slot.ts';
import { isMemberName } from '../../membership/member-name.ts';
import { membersProblem, type FederationMembers } from '../../membership/federation-members.ts';
import type { TimerComponents } from '../host/timer-components.ts';
import type { MessageStreamOptions } from '../wire/message-stream.ts';

/**
 * Largest membership frame, bytes. A record of 32 controllers (8 endpoints of 256 characters each) and
 * 1,024 denied identities is under 400 KiB as JSON.
 */
export const MEMBERS_FRAME_BYTES_MAX = 512 * 1024;

/** Highest ballot round accepted: far above any real use, below any precision concern. */
export const BALLOT_ROUND_MAX = 2 ** 31;

/** Highest epoch accepted. */
export const EPOCH_MAX = Number.MAX_SAFE_INTEGER;

/** Longest refusal message. */
export const MEMBERS_MESSAGE_CHARS_MAX = 500;

/** The libp2p protocol ID of the membership protocol. */
export function membersProtocol(federationId: string): string {
  return `/novaedge/${federationId}/members/1.0.0`;
}

/** A request from a controller. */
export type MembersRequest =
  | { t: 'prepare'; epoch: number; ballot: Ballot }
  /** `registry` (AgentAssisted): the agent registry version the proposer counts by; an acceptor holding another refuses (REGISTRY). */
  | { t: 'accept'; epoch: number; ballot: Ballot; value: FederationMembers; registry?: number }
  | { t: 'fetch'; epoch: number }
  | { t: 'commit'; value: FederationMembers };

/** Why a request was refused (stable codes). */
export type MembersRefusal = 'LOWER_BALLOT' | 'OTHER_EPOCH' | 'INVALID_SUCCESSOR' | 'NOT_A_VOTER' | 'NOT_FOUND' | 'SETTLING' | 'REGISTRY';

const REFUSALS: readonly MembersRefusal[] = ['LOWER_BALLOT', 'OTHER_EPOCH', 'INVALID_SUCCESSOR', 'NOT_A_VOTER', 'NOT_FOUND', 'SETTLING', 'REGISTRY'];

/** The answer. */
export type MembersReply =
  | { t: 'promise'; epoch: number; accepted?: { ballot: Ballot; value: FederationMembers } }
  | { t: 'accepted'; epoch: number }
  | { t: 'record'; value: FederationMembers }
  /** `epoch`: the epoch the answering controller has committed; `promised`: its promise, when LOWER_BALLOT. */
  | { t: 'refused'; why: MembersRefusal; epoch: number; promised?: Ballot; message: string };

/** Stream options of one exchange: records can be a few hundred KiB, no compression, one deadline per read or write. */
export function membersStreamOptions(timers: TimerComponents, ioTimeoutMs: number): MessageStreamOptions {
  return { frameBytesMax: MEMBERS_FRAME_BYTES_MAX, messageBytesMax: MEMBERS_FRAME_BYTES_MAX, ioTimeoutMs, compress: false, timers };
}

function epochOf(v: unknown, what: string): number {
  return int(v, 1, EPOCH_MAX, what);
}

function ballotOf(v: unknown, what: string): Ballot {
  const b = obj(v, what);
  const extra = Object.keys(b).find((k) => k !== 'round' && k !== 'proposer');
  if (extra !== undefined) throw new ProtocolError(`${what}: unknown field ${extra.slice(0, 40)}`);
  const proposer = str(b.proposer, 63, `${what}.proposer`);
  if (!isMemberName(proposer)) throw new ProtocolError(`${what}.proposer: not a member name`);
  return { round: int(b.round, 1, BALLOT_ROUND_MAX, `${what}.round`), proposer };
}

function recordOf(v: unknown, what: string): FederationMembers {
  const problem = membersProblem(v);
  if (problem !== undefined) throw new ProtocolError(`${what}: ${problem}`);
  return v as FederationMembers;
}

/** Validate a controller's request. */
export function parseMembersRequest(v: unknown): MembersRequest {
  const m = obj(v, 'membership request');
  const t = messageType(m, ['prepare', 'accept', 'fetch', 'commit'] as const, 'membership request');
  if (t === 'commit') return { t, value: recordOf(m.value, 'commit.value') };
  const epoch = epochOf(m.epoch, `${t}.epoch`);
  if (t === 'fetch') return { t, epoch };
  const ballot = ballotOf(m.ballot, `${t}.ballot`);
  if (t === 'prepare') return { t, epoch, ballot };
  const value = recordOf(m.value, 'accept.value');
  if (value.epoch !== epoch + 1) throw new ProtocolError(`accept.value: epoch ${value.epoch} is not the slot after ${epoch}`);
  if (m.registry === undefined) return { t, epoch, ballot, value };
  return { t, epoch, ballot, value, registry: int(m.registry, 0, EPOCH_MAX, 'accept.registry') };
}

/** Validate an answer. */
export function parseMembersReply(v: unknown): MembersReply {
  const m = obj(v, 'membership reply');
  const t = messageType(m, ['promise', 'accepted', 'record', 'refused'] as const, 'membership reply');
  if (t === 'record') return { t, value: recordOf(m.value, 'record.value') };
  const epoch = epochOf(m.epoch, `${t}.epoch`);
  if (t === 'accepted') return { t, epoch };
  if (t === 'promise') {
    if (m.accepted === undefined) return { t, epoch };
    const a = obj(m.accepted, 'promise.accepted');
    const value = recordOf(a.value, 'promise.accepted.value');
    if (value.epoch !== epoch + 1) throw new ProtocolError(`promise.accepted.value: epoch ${value.epoch} is not the slot after ${epoch}`);
    return { t, epoch, accepted: { ballot: ballotOf(a.ballot, 'promise.accepted.ballot'), value } };
  }
  const why = str(m.why, 32, 'refused.why') as MembersRefusal;
  if (!REFUSALS.includes(why)) throw new ProtocolError('refused.why: not a refusal code');
  const message = str(m.message, MEMBERS_MESSAGE_CHARS_MAX, 'refused.message');
  if (m.promised === undefined) return { t, why, epoch, message };
  return { t, why, epoch, promised: ballotOf(m.promised, 'refused.promised'), message };
}
