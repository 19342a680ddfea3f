// Messages of the push protocol (/novaedge/<federationID>/push/1.0.0): a long-lived stream from one
// controller to another carrying batches of records; the receiver answers each batch once it has
// dealt with every record in it: each one is either stored durably there or refused with a reason.
import { arr, int, messageType, obj, ProtocolError, str } from '../wire/protocol-error.ts';
import { SMALL_MESSAGE_BYTES_MAX, type InboundCaps } from '../wire/message-limits.ts';
import { isRefusalReason, type RefusalReason } from './apply-batch.ts';

/**
 * Protocol version carried in hello. 2: the ack names each refused record and its reason (version 1
 * gave only counts, and its senders took every record of an acked batch as stored).
 */
export const PUSH_VERSION = 2;

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
  | { t: 'ack'; id: number; refused: Array<[number, RefusalReason]>; want: string[] }
  | { t: 'error'; code: string; message: string };

/**
 * The ack of a batch: `refused` lists, by index in the batch's `records`, each record the receiver
 * did not store and why (a RefusalReason such as clock_skew); every other record of the batch is stored
 * durably there (or the receiver already held that state or a newer one). `want` lists the offered
 * keys the receiver lacks; the offers it does not want it holds.
 */
export type PushAck = Extract<PushReceiverMessage, { t: 'ack' }>;

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
    refused: arr(m.refused, recordsMax, 'ack.refused', (x, w) => {
      const pair = arr(x, 2, w, (y) => y);
      if (pair.length !== 2) throw new ProtocolError(`${w}: not an (index, reason) pair`);
      if (!isRefusalReason(pair[1])) throw new ProtocolError(`${w}[1]: not a refusal reason`);
      return [int(pair[0], 0, recordsMax - 1, `${w}[0]`), pair[1]] as [number, RefusalReason];
    }),
    want: arr(m.want ?? [], recordsMax, 'ack.want', (x, w) => str(x, KEY_MAX, w)),
  };
}

// Bytes of one entry of an ack's lists: a refused record ([index,"reason"],) and a wanted key ("key",).
const REFUSED_ITEM_BYTES_MAX = 64;
const KEY_ITEM_BYTES_MAX = KEY_MAX + 3;

/**
 * What a receiver reads (message-limits.ts): hello, then batches. A batch's records are cut by its
 * sender at half a frame (or are one record of at most recordBytesMax, 4 MiB) and its offers name at
 * most batchSize keys, so a frame's worth holds any batch a sender makes.
 */
export function pushReceiverCaps(frameBytesMax: number): InboundCaps {
  return { messageBytesMax: SMALL_MESSAGE_BYTES_MAX, messageBytesMaxByType: { batch: frameBytesMax } };
}

/** What a sender reads: hello, an error, and acks naming at most `recordsMax` refused records and wanted keys. */
export function pushSenderCaps(recordsMax: number): InboundCaps {
  const ack = SMALL_MESSAGE_BYTES_MAX + recordsMax * (REFUSED_ITEM_BYTES_MAX + KEY_ITEM_BYTES_MAX);
  return { messageBytesMax: SMALL_MESSAGE_BYTES_MAX, messageBytesMaxByType: { ack } };
}
