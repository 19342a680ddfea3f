// A duplex stream of messages: varint length-prefixed frames carrying codec-encoded JSON, each read
// and write bounded in size and time. What it receives is bounded by the caps its protocol declares
// (message-limits.ts): a frame longer than the largest message it accepts is refused at its length
// prefix, before its body is read. Works on libp2p streams and on any duplex (tests use it-pair).
import { byteStream, type ByteStream } from 'it-byte-stream';
import type { Duplex } from 'it-stream-types';
import { FrameError } from '../errors.ts';
import { decodeMessage, encodeJsonText, encodeMessage } from './codec.ts';
import type { TimerComponents } from '../host/timer-components.ts';
import { withDeadline } from './deadline.ts';
import { FrameReader, lengthPrefixed } from './frame-reader.ts';
import { largestMessageBytes, type InboundCaps } from './message-limits.ts';

/**
 * Options of a message stream. messageBytesMax (and messageBytesMaxByType) cap each decoded message
 * received, by type; see message-limits.ts.
 */
export interface MessageStreamOptions extends InboundCaps {
  /** Largest frame on the wire, bytes (compressed size). */
  frameBytesMax: number;
  /** Deadline of one read or write, milliseconds. */
  ioTimeoutMs: number;
  /** Compress outgoing messages. */
  compress: boolean;
  /** The node's timers: the read and write deadlines run on them. */
  timers: TimerComponents;
}

/** Counters a stream updates as it goes. */
export interface MessageStreamStats {
  bytesIn: number;
  bytesOut: number;
  messagesIn: number;
  messagesOut: number;
}

export class MessageStream {
  readonly stats: MessageStreamStats = { bytesIn: 0, bytesOut: 0, messagesIn: 0, messagesOut: 0 };
  readonly #reader: FrameReader;
  // Only its writing side is used: reads go through #reader, which takes the same source iterator.
  readonly #bytes: ByteStream<any>;
  readonly #opts: MessageStreamOptions;

  constructor(duplex: Duplex<any, any, any>, opts: MessageStreamOptions) {
    this.#opts = opts;
    // A frame holds one message, compressed only when that makes it smaller: no frame this stream
    // accepts is longer than its largest message and the encoding byte.
    this.#reader = new FrameReader(duplex.source, Math.min(opts.frameBytesMax, largestMessageBytes(opts) + 1));
    this.#bytes = byteStream(duplex);
  }

  /**
   * Read one message (unvalidated JSON); throws FrameError on timeout, size or format problems.
   * `timeoutMs` overrides the deadline: Infinity for long-lived streams that wait idle between
   * messages (they end through `signal` instead).
   */
  async read(signal?: AbortSignal, timeoutMs = this.#opts.ioTimeoutMs): Promise<unknown> {
    // No deadline timer at all for idle waits (Infinity): long-lived streams end through `signal`.
    const bytes = await withDeadline(this.#opts.timers, timeoutMs, signal, (s) => this.#reader.read(s), toFrameError);
    this.stats.bytesIn += bytes.length;
    this.stats.messagesIn++;
    return decodeMessage(bytes, this.#opts);
  }

  /** Write one message. */
  write(message: unknown, signal?: AbortSignal): Promise<void> {
    return this.writeFrame(encodeMessage(message, this.#opts.compress), signal);
  }

  /** Write one message given as JSON text (the caller vouches that it is valid JSON). */
  writeJsonText(text: string, signal?: AbortSignal): Promise<void> {
    return this.writeFrame(encodeJsonText(text, this.#opts.compress), signal);
  }

  /**
   * Write a frame already encoded by codec.ts (encodeMessage / encodeJsonText): one encoding can go
   * to many streams. The caller vouches that it holds one valid message.
   */
  async writeFrame(bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
    if (bytes.length > this.#opts.frameBytesMax) {
      throw new FrameError('FRAME_TOO_LARGE', `message of ${bytes.length} bytes exceeds frameBytesMax ${this.#opts.frameBytesMax}`);
    }
    const framed = lengthPrefixed(bytes);
    await withDeadline(this.#opts.timers, this.#opts.ioTimeoutMs, signal, (s) => this.#bytes.write(framed, s === undefined ? {} : { signal: s }), toFrameError);
    this.stats.bytesOut += bytes.length;
    this.stats.messagesOut++;
  }
}

function toFrameError(err: unknown, timedOut: boolean): FrameError {
  if (err instanceof FrameError) return err;
  const name = (err as Error)?.name ?? '';
  if (timedOut || name === 'AbortError' || name === 'TimeoutError') return new FrameError('FRAME_TIMEOUT', 'stream deadline passed', { cause: err });
  return new FrameError('FRAME_TRUNCATED', `stream ended: ${(err as Error)?.message ?? String(err)}`, { cause: err });
}
