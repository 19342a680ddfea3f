// Receiving pushed records from one controller: apply each batch (durably), then acknowledge it.
// A bad record or frame ends the stream (counted by the caller); records refused for clock skew are
// counted in the ack and the stream goes on.
import type { Store, StoredRecord } from '../../storage/index.ts';
import type { MessageStream } from '../wire/message-stream.ts';
import { ProtocolError } from '../wire/protocol-error.ts';
import { parseSenderMessage, PUSH_VERSION } from './push-messages.ts';

/** Options of a receiving stream. */
export interface ReceiveOptions {
  /** Most records in one batch. */
  recordsMax: number;
  /** Called for each record that changed the store, to relay it onwards. */
  onApplied: (record: StoredRecord) => void;
  /** Ends the loop when aborted (node stopping, link cut). */
  signal: AbortSignal;
}

/** Counters of one receiving stream. */
export interface ReceiveReport {
  batches: number;
  applied: number;
  rejected: number;
}

/** Serve one push stream until it ends; throws on protocol violations. */
export async function receivePushes(stream: MessageStream, store: Store, opts: ReceiveOptions): Promise<ReceiveReport> {
  const report: ReceiveReport = { batches: 0, applied: 0, rejected: 0 };
  const hello = parseSenderMessage(await stream.read(opts.signal), opts.recordsMax);
  if (hello.t !== 'hello') throw new ProtocolError('push stream must start with hello');
  if (hello.v !== PUSH_VERSION) {
    await stream.write({ t: 'error', code: 'VERSION', message: `push version ${hello.v} not supported (${PUSH_VERSION})` });
    throw new ProtocolError(`push version ${hello.v} not supported`);
  }
  await stream.write({ t: 'hello', v: PUSH_VERSION });
  while (!opts.signal.aborted) {
    let msg;
    try {
      msg = parseSenderMessage(await stream.read(opts.signal, Infinity), opts.recordsMax);
    } catch (err) {
      // The sender closing its side between batches is the normal end of the stream.
      if ((err as { code?: string }).code === 'FRAME_TRUNCATED') return report;
      throw err;
    }
    if (msg.t !== 'batch') throw new ProtocolError('hello sent twice');
    let applied = 0;
    let unchanged = 0;
    let rejected = 0;
    // Records of one batch go to the store together, so they share synced batches (group commit).
    const results = await Promise.allSettled(msg.records.map((r) => store.applyRemote(r)));
    for (const res of results) {
      if (res.status === 'fulfilled') {
        if (res.value.changed) { applied++; opts.onApplied(res.value.record); } else { unchanged++; }
        continue;
      }
      const code = (res.reason as { code?: string }).code;
      if (code === 'INVALID_RECORD' || code === 'INVALID_ARGUMENT') {
        throw new ProtocolError(`bad record in batch ${msg.id}: ${(res.reason as Error).message}`);
      }
      if (code !== 'CLOCK_SKEW') throw res.reason;
      rejected++;
    }
    const want = msg.have.filter(([key, digest]) => !store.holds(key, digest)).map(([key]) => key);
    report.batches++;
    report.applied += applied;
    report.rejected += rejected;
    await stream.write({ t: 'ack', id: msg.id, applied, unchanged, rejected, want });
  }
  return report;
}
