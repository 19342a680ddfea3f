// Messages of the push protocol (/novaedge/<federationID>/push/1.0.0): a long-lived stream from one
// controller to another carrying batches of records; the receiver acknowledges each batch once every
// record in it is durable.
import { arr, int, messageType, obj, ProtocolError, str } from '../wire/protocol-error.ts';

/** Protocol version carried in hello. */
export const PUSH_VERSION = 1;

export type PushSenderMessage =
  | { t: 'hello'; v: number }
  | { t: 'batch'; id: number; records: unknown[] };

export type PushReceiverMessage =
  | { t: 'hello'; v: number }
  | { t: 'ack'; id: number; applied: number; unchanged: number; rejected: number }
  | { t: 'error'; code: string; message: string };

/** Validate a message from the sender. */
export function parseSenderMessage(v: unknown, recordsMax: number): PushSenderMessage {
  const m = obj(v, 'push message');
  const t = messageType(m, ['hello', 'batch'] as const, 'push message');
  if (t === 'hello') return { t, v: int(m.v, 0, 1_000, 'hello.v') };
  return { t, id: int(m.id, 0, Number.MAX_SAFE_INTEGER, 'batch.id'), records: arr(m.records, recordsMax, 'batch.records', (x) => x) };
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
  };
}
