// Messages of the push protocol (/novaedge/<federationID>/push/1.0.0): a long-lived stream from one
// controller to another carrying batches of records; the receiver acknowledges each batch once every
// record in it is durable.
import { arr, int, messageType, obj, ProtocolError, str } from '../wire/protocol-error.ts';

/** Protocol version carried in hello. */
export const PUSH_VERSION = 1;

/**
 * A batch carries records, and "have" offers of relayed records as (key, digest): a relayed record
 * is often one the receiver already got from its writer directly, so it is offered first and sent
 * only when the receiver's ack says it wants it.
 */
export type PushSenderMessage =
  | { t: 'hello'; v: number }
  | { t: 'batch'; id: number; records: unknown[]; have: Array<[string, string]> };

export type PushReceiverMessage =
  | { t: 'hello'; v: number }
  | { t: 'ack'; id: number; applied: number; unchanged: number; rejected: number; want: string[] }
  | { t: 'error'; code: string; message: string };

const KEY_MAX = 600;

/** Validate a message from the sender. */
export function parseSenderMessage(v: unknown, recordsMax: number): PushSenderMessage {
  const m = obj(v, 'push message');
  const t = messageType(m, ['hello', 'batch'] as const, 'push message');
  if (t === 'hello') return { t, v: int(m.v, 0, 1_000, 'hello.v') };
  return {
    t,
    id: int(m.id, 0, Number.MAX_SAFE_INTEGER, 'batch.id'),
    records: arr(m.records, recordsMax, 'batch.records', (x) => x),
    have: arr(m.have ?? [], recordsMax, 'batch.have', (x, w) => {
      const pair = arr(x, 2, w, (y, w2) => str(y, KEY_MAX, w2));
      if (pair.length !== 2 || pair[1]!.length !== 64) throw new ProtocolError(`${w}: not a (key, digest) pair`);
      return pair as [string, string];
    }),
  };
}

/** Validate a message from the receiver. */
export function parseReceiverMessage(v: unknown, recordsMax: number): Exclude<PushReceiverMessage, { t: 'error' }> {
  const m = obj(v, 'push reply');
  const t = messageType(m, ['hello', 'ack', 'error'] as const, 'push reply');
  if (t === 'error') throw new ProtocolError(`peer refused: ${str(m.code, 64, 'error.code')}: ${str(m.message, 1000, 'error.message')}`);
  if (t === 'hello') return { t, v: int(m.v, 0, 1_000, 'hello.v') };
  return {
    t,
    id: int(m.id, 0, Number.MAX_SAFE_INTEGER, 'ack.id'),
    applied: int(m.applied, 0, recordsMax, 'ack.applied'),
    unchanged: int(m.unchanged, 0, recordsMax, 'ack.unchanged'),
    rejected: int(m.rejected, 0, recordsMax, 'ack.rejected'),
    want: arr(m.want ?? [], recordsMax, 'ack.want', (x, w) => str(x, KEY_MAX, w)),
  };
}
