// Applying a batch of replicated records to the store, durably and concurrently (they share synced
// writes). Every record gets its own outcome: stored, unchanged (this store durably holds that state
// or a newer one), or refused with a stable reason. A refused record (bad shape or digest, a value a
// local write could not store, a bad version vector or system record, a stamp too far ahead) is
// never stored, so never relayed; it is counted and logged against its sender (RecordRejections) and
// the rest of the batch goes on. Only a store failure (closed, failed disk, full commit queue) fails
// the whole batch.
import type { RecordProblem, Store } from '../../storage/index.ts';
import { RECORD_PROBLEMS } from '../../storage/index.ts';
import type { RecordRejections } from './record-rejections.ts';

/**
 * Why a record was refused, a stable snake_case code: one of the store's record problems (see
 * RECORD_PROBLEMS in storage/logic/record.ts: malformed, digest_mismatch, too_large, invalid_key,
 * invalid_resource, key_mismatch, invalid_version_vector, invalid_system_record) or clock_skew (its
 * stamp is further ahead than maxClockOffset; anti-entropy brings it again once clocks agree).
 */
export type RefusalReason = RecordProblem | 'clock_skew';

/** Every refusal reason. */
export const REFUSAL_REASONS: readonly RefusalReason[] = Object.freeze([...RECORD_PROBLEMS, 'clock_skew']);

/** True when `s` is a refusal reason (for parsing a peer's answer). */
export function isRefusalReason(s: unknown): s is RefusalReason {
  return typeof s === 'string' && (REFUSAL_REASONS as readonly string[]).includes(s);
}

/** What happened to one record. 'unchanged': this store durably holds that state or a newer one. */
export type RecordOutcome = { status: 'stored' } | { status: 'unchanged' } | { status: 'refused'; reason: RefusalReason };

/** What one batch did. */
export interface BatchCounts {
  /** Records stored (they changed the store). */
  applied: number;
  /** Records whose state (or a newer one) the store already held durably. */
  unchanged: number;
  /** Records refused. */
  rejected: number;
}

/** What one batch did, and per record: `outcomes[i]` is the outcome of `records[i]`. */
export interface BatchResult extends BatchCounts {
  outcomes: RecordOutcome[];
}

const STORED: RecordOutcome = Object.freeze({ status: 'stored' });
const UNCHANGED: RecordOutcome = Object.freeze({ status: 'unchanged' });

/** The peer label of refusals whose sender is not known. */
export const UNKNOWN_SOURCE = 'unknown';

/**
 * Apply `records` received from `source` (a member name; undefined when not known); `what` names the
 * batch in log lines. Refusals are counted in `rejections` when given. Throws only when the store
 * itself fails.
 */
export async function applyRecordBatch(
  store: Store, records: unknown[], what: string, source: string | undefined, rejections?: RecordRejections,
): Promise<BatchResult> {
  const result: BatchResult = { applied: 0, unchanged: 0, rejected: 0, outcomes: [] };
  const from = source === undefined ? {} : { source };
  const settled = await Promise.allSettled(records.map((r) => store.applyRemote(r, from)));
  let failure: unknown;
  for (const [i, res] of settled.entries()) {
    if (res.status === 'fulfilled') {
      if (res.value.changed) {
        result.applied++;
        result.outcomes.push(STORED);
      } else {
        result.unchanged++;
        result.outcomes.push(UNCHANGED);
      }
      continue;
    }
    const reason = refusalReason(res.reason);
    if (reason === undefined) {
      failure ??= res.reason;
      continue;
    }
    result.rejected++;
    result.outcomes.push({ status: 'refused', reason });
    rejections?.refused(source ?? UNKNOWN_SOURCE, reason, claimedKey(records[i]), `in ${what}: ${(res.reason as Error).message}`);
  }
  if (failure !== undefined) throw failure;
  return result;
}

/** The refusal reason of an error applyRemote threw, or undefined when the store failed instead. */
export function refusalReason(err: unknown): RefusalReason | undefined {
  const e = err as { code?: unknown; problem?: unknown } | null;
  switch (e?.code) {
    case 'CLOCK_SKEW': return 'clock_skew';
    case 'INVALID_RECORD': return isRefusalReason(e.problem) ? e.problem : 'malformed';
    // A key that is not Kind/namespace/name (parseKey).
    case 'INVALID_ARGUMENT': return 'invalid_key';
    default: return undefined;
  }
}

// The key a record claims, for log lines (it may be anything).
function claimedKey(r: unknown): string {
  const key = (r as { key?: unknown } | null)?.key;
  return typeof key === 'string' ? key : '?';
}
