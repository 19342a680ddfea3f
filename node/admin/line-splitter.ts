// Newline framing with a bound: splits a byte stream into lines of at most `lineBytesMax` bytes
// (the newline excluded). A longer line, complete or not, is reported as an overflow at once, so a
// client can never make the server buffer more than the bound.

/** What one chunk produced: complete lines, and whether the bound was exceeded (after those lines). */
export interface SplitResult {
  lines: Buffer[];
  overflow: boolean;
}

/** Splits chunks into lines; stops producing anything after the first overflow. */
export class LineSplitter {
  readonly lineBytesMax: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #overflowed = false;

  constructor(lineBytesMax: number) {
    this.lineBytesMax = lineBytesMax;
  }

  /** Bytes buffered in an unfinished line. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** Feed a chunk. */
  push(chunk: Buffer): SplitResult {
    const lines: Buffer[] = [];
    if (this.#overflowed) return { lines, overflow: true };
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      if (nl === -1) break;
      if (this.#pendingBytes + (nl - start) > this.lineBytesMax) return this.#overflow(lines);
      const part = chunk.subarray(start, nl);
      lines.push(this.#pendingBytes === 0 ? Buffer.from(part) : Buffer.concat([...this.#pending, part]));
      this.#pending = [];
      this.#pendingBytes = 0;
      start = nl + 1;
    }
    if (start < chunk.length) {
      if (this.#pendingBytes + (chunk.length - start) > this.lineBytesMax) return this.#overflow(lines);
      this.#pending.push(Buffer.from(chunk.subarray(start)));
      this.#pendingBytes += chunk.length - start;
    }
    return { lines, overflow: false };
  }

  /** The unfinished last line at end of stream, if any (a request need not end with a newline). */
  end(): Buffer | undefined {
    if (this.#overflowed || this.#pendingBytes === 0) return undefined;
    const line = Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    return line;
  }

  #overflow(lines: Buffer[]): SplitResult {
    this.#overflowed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    return { lines, overflow: true };
  }
}
