// Message codec for the streaming protocols: one JSON message per length-prefixed frame, optionally
// deflate-compressed. The first byte says which, so each side may choose per frame.
//
// A received frame is bounded before it is parsed (message-limits.ts): inflation stops at the
// largest message the stream accepts and at INFLATE_RATIO_MAX times the compressed bytes, so a small
// frame never makes this node materialise a large one; then the message's own type caps it. Every
// sender writes the type first (`{"t":"batch",...`: JSON.stringify keeps the order of the literals
// the protocols build, and hand-built frames start so), so the type is read without parsing.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { FrameError } from '../errors.ts';
import { INFLATE_RATIO_MAX, largestMessageBytes, type InboundCaps } from './message-limits.ts';

const PLAIN = 0;
const DEFLATE = 1;
// Below this size compression costs more than it saves.
const COMPRESS_MIN_BYTES = 512;
// Longest message type read from a frame's first bytes.
const TYPE_CHARS_MAX = 32;
const TYPE_PREFIX = Buffer.from('{"t":"');

/** Encode a message; compressed when asked and worth it. */
export function encodeMessage(message: unknown, compress: boolean): Uint8Array {
  return encodeJsonText(JSON.stringify(message), compress);
}

/** Encode a message already serialised as JSON text (callers that hold encoded parts skip a re-serialisation). */
export function encodeJsonText(text: string, compress: boolean): Uint8Array {
  const json = Buffer.from(text);
  if (compress && json.length >= COMPRESS_MIN_BYTES) {
    const packed = deflateRawSync(json, { level: 1 });
    // Sent plain when compression saves nothing, or so much that receivers would refuse it as a bomb.
    if (packed.length < json.length && json.length <= packed.length * INFLATE_RATIO_MAX) return Buffer.concat([Buffer.of(DEFLATE), packed]);
  }
  return Buffer.concat([Buffer.of(PLAIN), json]);
}

/**
 * Decode a frame into an (unvalidated) JSON value, within `caps` (a number: one cap for every
 * message). Throws FrameError: FRAME_TOO_LARGE for a message over its type's cap or a frame that
 * inflates past the stream's largest cap or the ratio bound, FRAME_MALFORMED for anything else
 * malformed. Nothing is parsed before the size checks.
 */
export function decodeMessage(frame: Uint8Array, caps: InboundCaps | number): unknown {
  const c: InboundCaps = typeof caps === 'number' ? { messageBytesMax: caps } : caps;
  if (frame.length < 2) throw new FrameError('FRAME_MALFORMED', 'empty message frame');
  const body = Buffer.from(frame.buffer, frame.byteOffset + 1, frame.length - 1);
  let json: Buffer;
  if (frame[0] === PLAIN) {
    json = body;
  } else if (frame[0] === DEFLATE) {
    json = inflateBounded(body, largestMessageBytes(c));
  } else {
    throw new FrameError('FRAME_MALFORMED', `unknown message encoding ${frame[0]}`);
  }
  const type = messageTypeOf(json);
  const byType = c.messageBytesMaxByType;
  const cap = type !== undefined && byType !== undefined && Object.hasOwn(byType, type) ? byType[type]! : c.messageBytesMax;
  if (json.length > cap) {
    throw new FrameError('FRAME_TOO_LARGE', `${type === undefined ? 'untyped' : JSON.stringify(type)} message of ${json.length} bytes exceeds its cap of ${cap}`);
  }
  try {
    return JSON.parse(json.toString('utf8'));
  } catch (err) {
    throw new FrameError('FRAME_MALFORMED', 'message is not JSON', { cause: err });
  }
}

// Inflate `body`, stopping (and refusing the frame) as soon as the output passes `bytesMax` or
// INFLATE_RATIO_MAX times the compressed size: zlib works in chunks and gives up at the limit,
// so the work done is bounded by the limit, not by what the frame would expand to.
function inflateBounded(body: Buffer, bytesMax: number): Buffer {
  const ratioBytesMax = body.length * INFLATE_RATIO_MAX;
  const outMax = Math.min(bytesMax, ratioBytesMax);
  try {
    return inflateRawSync(body, { maxOutputLength: outMax });
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') throw new FrameError('FRAME_MALFORMED', 'bad compressed message', { cause: err });
    const why = outMax === bytesMax
      ? `inflates past ${bytesMax} bytes, the largest message this stream accepts`
      : `of ${body.length} compressed bytes inflates more than ${INFLATE_RATIO_MAX}x`;
    throw new FrameError('FRAME_TOO_LARGE', `message ${why}`, { cause: err });
  }
}

/** The `t` of a message that starts `{"t":"<type>"`, or undefined. */
function messageTypeOf(json: Buffer): string | undefined {
  if (json.length < TYPE_PREFIX.length + 2 || json.compare(TYPE_PREFIX, 0, TYPE_PREFIX.length, 0, TYPE_PREFIX.length) !== 0) return undefined;
  const start = TYPE_PREFIX.length;
  const end = Math.min(json.length, start + TYPE_CHARS_MAX + 1);
  for (let i = start; i < end; i++) {
    const b = json[i]!;
    if (b === 0x22) return i === start ? undefined : json.toString('latin1', start, i); // closing quote
    const lower = b >= 0x61 && b <= 0x7a;
    if (!lower && b !== 0x5f && b !== 0x2d) return undefined; // a-z, _ and - only
  }
  return undefined;
}
