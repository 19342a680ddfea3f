// Receiving pushed records from one controller: apply each batch (durably), then acknowledge it,
// naming each record refused and why (clock skew, validation): the sender counts only the others
// as copies held here. A bad frame ends the stream (counted by the caller); a refused record does not.
import type { Store } from '../../storage/index.ts';
import type { MessageStream } from '../wire/message-stream.ts';
import { ProtocolError } from '../wire/protocol-error.ts';
import { applyRecordBatch, type RefusalReason } from './apply-batch.ts';
import type { RecordRejections } from './record-rejections.ts';
import { parseSenderMessage, PUSH_VERSION, type PushAck } from './push-messages.ts';

/** Options of a receiving stream. */
export interface ReceiveOptions {
  /** Most records in one batch. */
  recordsMax: number;
  /** Most batches being applied at once (they share synced writes); acks still go in order. */
  concurrentBatchesMax: number;
  /** Member the stream comes from: the source of the changes it makes (relaying skips it). */
  source: string;
  /** Ends the loop when aborted (node stopping, link cut). */
  signal: AbortSignal;
  /** Where refused records are counted and logged. */
  rejections?: RecordRejections;
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
  // Batches are applied as they arrive, several at once, so their records share fsyncs instead of
  // paying one each in turn; acks are written strictly in batch order.
  let acks: Promise<void> = Promise.resolve();
  let outstanding = 0;
  let failure: unknown;
  const slotFreed: Array<() => void> = [];
  while (!opts.signal.aborted) {
    let msg;
    try {
      msg = parseSenderMessage(await stream.read(opts.signal, Infinity), opts.recordsMax);
    } catch (err) {
      // The sender closing its side between batches is the normal end of the stream.
      if ((err as { code?: string }).code === 'FRAME_TRUNCATED') break;
      throw err;
    }
    if (failure !== undefined) throw failure;
    if (msg.t !== 'batch') throw new ProtocolError('hello sent twice');
    const batch = msg;
    const applied = applyRecordBatch(store, batch.records, `push batch ${batch.id}`, opts.source, opts.rejections);
    outstanding++;
    acks = acks.then(async () => {
      const result = await applied;
      const want = batch.have.filter(([key, digest]) => !store.holds(key, digest)).map(([key]) => key);
      const refused: Array<[number, RefusalReason]> = [];
      result.outcomes.forEach((o, i) => { if (o.status === 'refused') refused.push([i, o.reason]); });
      report.batches++;
      report.applied += result.applied;
      report.rejected += refused.length;
      const ack: PushAck = { t: 'ack', id: batch.id, refused, want };
      await stream.write(ack);
    }).catch((err: unknown) => { failure ??= err; }).finally(() => {
      outstanding--;
      slotFreed.shift()?.();
    });
    while (outstanding >= opts.concurrentBatchesMax && failure === undefined) await new Promise<void>((r) => slotFreed.push(r));
    if (failure !== undefined) throw failure;
  }
  await acks;
  if (failure !== undefined) throw failure;
  return report;
}
