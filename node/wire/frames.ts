// One length-prefixed frame in, one out, on a libp2p stream — with a size limit and a deadline.
//
// Request/response protocols here exchange exactly one frame each way, so a stream carries at most
// one frame per direction: the reader stops after the first frame, the writer closes its side after
// it. The deadline (an AbortSignal) aborts the stream itself, so a peer that stalls mid-frame
// cannot hold it open.

import type { Stream } from '@libp2p/interface';
import * as lp from 'it-length-prefixed';
import { FrameError } from '../errors.ts';

/** Abort `stream` when `signal` fires; returns the function that stops watching. */
export function abortOnSignal(stream: Stream, signal: AbortSignal): () => void {
  const onAbort = (): void => stream.abort(new FrameError('FRAME_TIMEOUT', 'stream deadline passed'));
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  return () => signal.removeEventListener('abort', onAbort);
}

function asFrameError(e: unknown, signal: AbortSignal): FrameError {
  if (e instanceof FrameError) return e;
  if (signal.aborted) return new FrameError('FRAME_TIMEOUT', 'no complete frame before the deadline', { cause: e });
  const name = e instanceof Error ? e.name : '';
  if (name === 'InvalidDataLengthError') return new FrameError('FRAME_TOO_LARGE', 'frame larger than allowed', { cause: e });
  if (name === 'UnexpectedEOFError') return new FrameError('FRAME_TRUNCATED', 'stream ended inside a frame', { cause: e });
  if (name === 'InvalidDataLengthLengthError' || name === 'InvalidMessageLengthError') {
    return new FrameError('FRAME_MALFORMED', 'invalid length prefix', { cause: e });
  }
  return new FrameError('FRAME_TRUNCATED', `stream failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
}

/** Read exactly one frame of at most `bytesMax` bytes before `signal` fires; throws FrameError. */
export async function readFrame(stream: Stream, bytesMax: number, signal: AbortSignal): Promise<Uint8Array> {
  const stop = abortOnSignal(stream, signal);
  try {
    // The length prefix of a bytesMax frame fits in few bytes; a longer varint is refused early.
    const frames = lp.decode(stream.source, { maxDataLength: bytesMax, maxLengthLength: 4 });
    const first = await frames.next();
    if (first.done === true) throw new FrameError('FRAME_TRUNCATED', 'stream ended before a frame');
    await frames.return(undefined); // one frame per direction: stop reading
    return first.value.subarray();
  } catch (e) {
    throw asFrameError(e, signal);
  } finally {
    stop();
  }
}

/** Write one frame and close the writing side before `signal` fires; throws FrameError. */
export async function writeFrame(stream: Stream, payload: Uint8Array, signal: AbortSignal): Promise<void> {
  const stop = abortOnSignal(stream, signal);
  try {
    await stream.sink([lp.encode.single(payload)]);
  } catch (e) {
    throw asFrameError(e, signal);
  } finally {
    stop();
  }
}
