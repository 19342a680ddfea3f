// Message codec for the streaming protocols: one JSON message per length-prefixed frame, optionally
// deflate-compressed. The first byte says which, so each side may choose per frame. Inflation is
// bounded, so a small compressed frame cannot expand into an unbounded one.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { FrameError } from '../errors.ts';

const PLAIN = 0;
const DEFLATE = 1;
// Below this size compression costs more than it saves.
const COMPRESS_MIN_BYTES = 512;

/** Encode a message; compressed when asked and worth it. */
export function encodeMessage(message: unknown, compress: boolean): Uint8Array {
  return encodeJsonText(JSON.stringify(message), compress);
}

/** Encode a message already serialised as JSON text (callers that hold encoded parts skip a re-serialisation). */
export function encodeJsonText(text: string, compress: boolean): Uint8Array {
  const json = Buffer.from(text);
  if (compress && json.length >= COMPRESS_MIN_BYTES) {
    const packed = deflateRawSync(json, { level: 1 });
    if (packed.length < json.length) return Buffer.concat([Buffer.of(DEFLATE), packed]);
  }
  return Buffer.concat([Buffer.of(PLAIN), json]);
}

/** Decode a frame into an (unvalidated) JSON value; throws FrameError on anything malformed. */
export function decodeMessage(frame: Uint8Array, bytesMax: number): unknown {
  if (frame.length < 2) throw new FrameError('FRAME_MALFORMED', 'empty message frame');
  const body = Buffer.from(frame.buffer, frame.byteOffset + 1, frame.length - 1);
  let json: Buffer;
  if (frame[0] === PLAIN) {
    json = body;
  } else if (frame[0] === DEFLATE) {
    try {
      json = inflateRawSync(body, { maxOutputLength: bytesMax });
    } catch (err) {
      const tooLarge = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
      throw new FrameError(tooLarge ? 'FRAME_TOO_LARGE' : 'FRAME_MALFORMED', tooLarge ? 'inflated message too large' : 'bad compressed message', { cause: err });
    }
  } else {
    throw new FrameError('FRAME_MALFORMED', `unknown message encoding ${frame[0]}`);
  }
  try {
    return JSON.parse(json.toString('utf8'));
  } catch (err) {
    throw new FrameError('FRAME_MALFORMED', 'message is not JSON', { cause: err });
  }
}
