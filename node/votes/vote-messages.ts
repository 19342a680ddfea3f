// Messages of the vote-lease protocol (/novaedge/<federationID>/vote-lease/1.0.0). One exchange per
// stream: a controller asks an agent for its vote lease, the agent grants it (for a DURATION on its
// own clock: clocks differ, so no timestamps travel) or refuses it with a stable reason. The lease
// logic itself is pure and lives in quorum/ (agent-vote-state.ts, lease-table.ts).
import { int, messageType, obj, ProtocolError, str } from '../wire/protocol-error.ts';
import { MAX_LEASE_MS } from '../../quorum/index.ts';
import type { TimerComponents } from '../host/timer-components.ts';
import { remoteClockProblem, type RemoteClock } from '../membership/clock-probe.ts';
import type { MessageStreamOptions } from '../wire/message-stream.ts';

/**
 * Protocol version a controller sends. 2: a grant carries the agent's clocks (its vote counts only
 * while they agree with the controller's, quorum/clock-skew.ts). 3: a request carries the
 * controller's membership epoch, and an agent refuses an epoch below one it granted at
 * (quorum/agent-epochs.ts), which its grant repeats. Agents answer 1 to 3; an agent that refuses 3
 * (an older one) is asked in version 2 from then on while it stays connected.
 */
export const VOTE_LEASE_VERSION = 3;

/** Versions an agent answers (1: a grant without clocks; below 3: a request without an epoch, taken as epoch 0). */
export const VOTE_LEASE_VERSIONS_ANSWERED: readonly number[] = [1, 2, 3];

/** Highest membership epoch a request may carry. */
export const VOTE_EPOCH_MAX = Number.MAX_SAFE_INTEGER;

/** Largest vote-lease frame, bytes: the messages are a few hundred bytes at most. */
export const VOTE_FRAME_BYTES_MAX = 4096;

/** Longest request id (an incarnation of at most 64 characters, '/', a counter). */
export const REQUEST_ID_CHARS_MAX = 96;

/** Longest refusal reason code and message. */
export const REASON_CHARS_MAX = 32;
export const MESSAGE_CHARS_MAX = 500;

/** Refusal code for a request of an unsupported protocol version (the others come from quorum's GrantRefusal). */
export const UNSUPPORTED_VERSION = 'unsupported_version';

/** The libp2p protocol ID of vote leases. */
export function voteLeaseProtocol(federationId: string): string {
  return `/novaedge/${federationId}/vote-lease/1.0.0`;
}

/** Controller to agent: may I count your vote? */
export interface VoteRequest {
  t: 'request';
  /** Scoped by the controller's incarnation, so ids never repeat across its restarts. */
  id: string;
  /** Protocol version. */
  v: number;
  /** The controller's committed membership epoch (version 3; 0 when it keeps no membership record). */
  epoch?: number;
}

/** Agent to controller. */
export type VoteReply =
  /**
   * Granted: the lease lasts durationMs on the agent's clock, from the moment it granted. `clock` is
   * the agent's clocks when it granted (version 2), read between the controller's request and its
   * receipt of the answer: a clock-offset sample, as a clock probe's answer is. `epoch` (version 3)
   * is the membership epoch it granted at: the request's.
   */
  | { t: 'grant'; id: string; durationMs: number; clock?: RemoteClock; epoch?: number }
  /** Refused: reason is a stable code (starting, not_primary, held_by_other, old_epoch, unsupported_version). */
  | { t: 'refused'; id: string; reason: string; message: string };

/** Stream options of one exchange: small frames, no compression, one deadline per read or write. */
export function voteStreamOptions(timers: TimerComponents, ioTimeoutMs: number): MessageStreamOptions {
  return { frameBytesMax: VOTE_FRAME_BYTES_MAX, messageBytesMax: VOTE_FRAME_BYTES_MAX, ioTimeoutMs, compress: false, timers };
}

/** Validate a controller's request. */
export function parseVoteRequest(v: unknown): VoteRequest {
  const m = obj(v, 'vote request');
  messageType(m, ['request'] as const, 'vote request');
  const id = requestId(m.id, 'request.id');
  const version = int(m.v, 0, 1_000, 'request.v');
  return m.epoch === undefined ? { t: 'request', id, v: version } : { t: 'request', id, v: version, epoch: int(m.epoch, 0, VOTE_EPOCH_MAX, 'request.epoch') };
}

/** Validate an agent's reply. */
export function parseVoteReply(v: unknown): VoteReply {
  const m = obj(v, 'vote reply');
  const t = messageType(m, ['grant', 'refused'] as const, 'vote reply');
  const id = requestId(m.id, `${t}.id`);
  if (t === 'grant') {
    const durationMs = int(m.durationMs, 1, MAX_LEASE_MS, 'grant.durationMs');
    const epoch = m.epoch === undefined ? {} : { epoch: int(m.epoch, 0, VOTE_EPOCH_MAX, 'grant.epoch') };
    if (m.clock === undefined) return { t, id, durationMs, ...epoch };
    const c = obj(m.clock, 'grant.clock');
    const clock = { stampMs: c.stampMs, physicalMs: c.physicalMs };
    const problem = remoteClockProblem(clock);
    if (problem !== undefined) throw new ProtocolError(`grant.clock ${problem}`);
    return { t, id, durationMs, clock: clock as RemoteClock, ...epoch };
  }
  const reason = str(m.reason, REASON_CHARS_MAX, 'refused.reason');
  if (!/^[a-z_]+$/.test(reason)) throw new ProtocolError('refused.reason: not a code (a-z and _)');
  return { t, id, reason, message: str(m.message, MESSAGE_CHARS_MAX, 'refused.message') };
}

function requestId(v: unknown, what: string): string {
  const id = str(v, REQUEST_ID_CHARS_MAX, what);
  if (id.length === 0) throw new ProtocolError(`${what}: empty`);
  return id;
}
