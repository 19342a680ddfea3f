// Applying a batch of replicated records to the store, durably and concurrently (they share synced
// writes). A malformed record is a protocol violation of whoever sent it; a record refused for clock
// skew is counted and skipped (anti-entropy brings it again once clocks agree).
import type { Store } from '../../storage/index.ts';
import { ProtocolError } from '../wire/protocol-error.ts';

/** What one batch did. */
export interface BatchCounts {
  applied: number;
  unchanged: number;
  rejected: number;
}

/** Apply `records` from `source`; `what` names the batch in errors. Throws ProtocolError on a bad record. */
export async function applyRecordBatch(store: Store, records: unknown[], what: string, source: string): Promise<BatchCounts> {
  const counts: BatchCounts = { applied: 0, unchanged: 0, rejected: 0 };
  const results = await Promise.allSettled(records.map((r) => store.applyRemote(r, { source })));
  for (const res of results) {
    if (res.status === 'fulfilled') {
      if (res.value.changed) counts.applied++; else counts.unchanged++;
      continue;
    }
    const code = (res.reason as { code?: string }).code;
    if (code === 'INVALID_RECORD' || code === 'INVALID_ARGUMENT') {
      throw new ProtocolError(`bad record in ${what}: ${(res.reason as Error).message}`);
    }
    if (code !== 'CLOCK_SKEW') throw res.reason;
    counts.rejected++;
  }
  return counts;
}
