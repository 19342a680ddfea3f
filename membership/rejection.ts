// Why the peer table refused an input. Every refusal is returned to the caller and counted.

/** Stable reason codes of refused inputs. */
export type RejectReason =
  /** The heartbeat failed validation (see `field`). */
  | 'invalid'
  /** The heartbeat claims to come from the local member. */
  | 'self'
  /** Not newer (by HLC) than the last heartbeat accepted from that member: a replay or reorder. */
  | 'stale'
  /** Another peer ID claims a member that is alive under its current peer ID. */
  | 'member_conflict'
  /** The table is full and no departed member can be dropped to make room. */
  | 'table_full'
  /** An RTT sample or leave notice for a member not in the table. */
  | 'unknown_member'
  /** An RTT sample that is not a number in 0..RTT_MS_MAX. */
  | 'bad_rtt';

/** Every reason, in a stable order (for counters and metrics). */
export const REJECT_REASONS: readonly RejectReason[] = [
  'invalid', 'self', 'stale', 'member_conflict', 'table_full', 'unknown_member', 'bad_rtt',
];

/** A refused input. */
export interface Rejection {
  /** Stable reason code. */
  reason: RejectReason;
  /** For `invalid`: the offending field. */
  field?: string;
  /** Human-readable detail for logs. */
  detail: string;
}

/** Counters per reason, all present, starting at zero. */
export function emptyRejectCounts(): Record<RejectReason, number> {
  const out = {} as Record<RejectReason, number>;
  for (const r of REJECT_REASONS) out[r] = 0;
  return out;
}
