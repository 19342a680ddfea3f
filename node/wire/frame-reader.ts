// Reading varint length-prefixed frames from a byte source. it-length-prefixed-stream reads each
// length one byte at a time (three awaits, and a thrown RangeError for every length longer than one
// byte) before it reads the body: that showed in profiles of agents receiving config frames. Here a
// frame that is already buffered costs no await, and a chunk holding several frames is read once.
import { FrameError } from '../errors.ts';

/** A chunk as byte sources yield it: a Uint8Array, or an iterable of them (a Uint8ArrayList). */
export type ByteChunk = Uint8Array | Iterable<Uint8Array>;

/** Bytes a varint length prefix of at most `value` takes. */
export function varintBytes(value: number): number {
  let n = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    n++;
  }
  return n;
}

/** `payload` with its varint length prefix, in one buffer. */
export function lengthPrefixed(payload: Uint8Array): Uint8Array {
  const prefix = varintBytes(payload.length);
  const out = Buffer.allocUnsafe(prefix + payload.length);
  let value = payload.length;
  for (let i = 0; i < prefix - 1; i++) {
    out[i] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  out[prefix - 1] = value;
  out.set(payload, prefix);
  return out;
}

/** Frames read one at a time from a byte source, each at most frameBytesMax bytes. */
export class FrameReader {
  readonly #source: AsyncIterator<ByteChunk>;
  readonly #frameBytesMax: number;
  readonly #prefixBytesMax: number;
  readonly #chunks: Uint8Array[] = [];
  /** Bytes of #chunks[0] already consumed. */
  #head = 0;
  #buffered = 0;
  #ended = false;
  /**
   * A chunk request a read stopped waiting for (its deadline passed): the next read takes its result,
   * so giving up on a read never drops bytes from the stream.
   */
  #inFlight: Promise<IteratorResult<ByteChunk>> | undefined;

  constructor(source: AsyncIterable<ByteChunk> | Iterable<ByteChunk>, frameBytesMax: number) {
    this.#source = Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : toAsync(source[Symbol.iterator]());
    this.#frameBytesMax = frameBytesMax;
    this.#prefixBytesMax = varintBytes(frameBytesMax);
  }

  /**
   * The next frame's payload. Throws FrameError: FRAME_TOO_LARGE as soon as a length prefix exceeds
   * frameBytesMax, FRAME_MALFORMED for a prefix longer than that limit needs, FRAME_TRUNCATED when
   * the source ends or fails; the signal's reason when it aborts first.
   */
  async read(signal?: AbortSignal): Promise<Uint8Array> {
    while (true) {
      const frame = this.#take();
      if (frame !== undefined) return frame;
      if (this.#ended) {
        throw new FrameError('FRAME_TRUNCATED', this.#buffered === 0 ? 'stream ended' : 'stream ended inside a frame');
      }
      await this.#fill(signal);
    }
  }

  /** A whole buffered frame, removed from the buffer; undefined when more bytes are needed. */
  #take(): Uint8Array | undefined {
    let length = 0;
    let scale = 1;
    let prefix = 0;
    for (let i = 0; ; i++) {
      if (i === this.#prefixBytesMax) throw new FrameError('FRAME_MALFORMED', 'invalid length prefix');
      if (i === this.#buffered) return undefined;
      const b = this.#byteAt(i);
      length += (b & 0x7f) * scale;
      scale *= 0x80;
      if (b < 0x80) {
        prefix = i + 1;
        break;
      }
    }
    if (length > this.#frameBytesMax) {
      throw new FrameError('FRAME_TOO_LARGE', `frame of ${length} bytes exceeds the ${this.#frameBytesMax} this stream accepts`);
    }
    if (this.#buffered < prefix + length) return undefined;
    this.#consume(prefix);
    return this.#takeBytes(length);
  }

  #byteAt(i: number): number {
    let at = this.#head + i;
    for (const c of this.#chunks) {
      if (at < c.length) return c[at]!;
      at -= c.length;
    }
    throw new Error('assertion failed: byteAt beyond the buffered bytes');
  }

  #consume(n: number): void {
    this.#buffered -= n;
    while (n > 0) {
      const first = this.#chunks[0]!;
      const left = first.length - this.#head;
      if (n < left) {
        this.#head += n;
        return;
      }
      n -= left;
      this.#chunks.shift();
      this.#head = 0;
    }
  }

  #takeBytes(n: number): Uint8Array {
    const first = this.#chunks[0];
    // The usual case: the frame lies in one chunk, and a view of it is enough.
    if (first !== undefined && first.length - this.#head >= n) {
      const view = first.subarray(this.#head, this.#head + n);
      this.#consume(n);
      return view;
    }
    const out = new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[0]!;
      const part = Math.min(n - filled, c.length - this.#head);
      out.set(c.subarray(this.#head, this.#head + part), filled);
      filled += part;
      this.#consume(part);
    }
    return out;
  }

  async #fill(signal: AbortSignal | undefined): Promise<void> {
    signal?.throwIfAborted();
    if (this.#inFlight === undefined) {
      const next = this.#source.next();
      // A read that gave up on it leaves nobody awaiting: its failure is the next read's to report.
      next.catch(() => undefined);
      this.#inFlight = next;
    }
    let r: IteratorResult<ByteChunk>;
    try {
      r = await abortable(this.#inFlight, signal);
    } catch (err) {
      if (signal?.aborted === true && err === signal.reason) throw err;
      this.#inFlight = undefined;
      this.#ended = true;
      throw new FrameError('FRAME_TRUNCATED', `stream failed: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
    this.#inFlight = undefined;
    if (r.done === true) {
      this.#ended = true;
      return;
    }
    const chunk = r.value;
    if (chunk instanceof Uint8Array) this.#append(chunk);
    else for (const c of chunk) this.#append(c);
  }

  #append(c: Uint8Array): void {
    if (c.length === 0) return;
    this.#chunks.push(c);
    this.#buffered += c.length;
  }
}

/** `p`, or the signal's reason if it aborts first (one listener, removed when either settles). */
function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => {
      signal.removeEventListener('abort', onAbort);
      resolve(v);
    }, (err: unknown) => {
      signal.removeEventListener('abort', onAbort);
      reject(err);
    });
  });
}

async function* toAsync<T>(it: Iterator<T>): AsyncGenerator<T> {
  for (let r = it.next(); r.done !== true; r = it.next()) yield r.value;
}
