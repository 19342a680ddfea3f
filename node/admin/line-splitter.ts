// Newline framing with a bound: splits a byte stream into lines of at most `lineBytesMax` bytes
// (the newline excluded). A longer line, complete or not, is reported as an overflow at once, so a
// client can never make the server buffer more than the bound. Blank lines (empty, or only JSON
// whitespace: space, tab, CR) carry nothing and are dropped as they are found, with nothing
// allocated for them, so a flood of newlines or of blank lines costs no memory.

/** What one chunk produced: complete non-blank lines, and whether the bound was exceeded (after those lines). */
export interface SplitResult {
  lines: Buffer[];
  overflow: boolean;
}

// True when bytes [from, to) of `b` are all JSON whitespace other than the newline.
function blank(b: Buffer, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c !== 0x20 && c !== 0x09 && c !== 0x0d) return false;
  }
  return true;
}

/** Splits chunks into non-blank lines; stops producing anything after the first overflow. */
export class LineSplitter {
  readonly lineBytesMax: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  #pendingBlank = true; // the unfinished line is blank so far
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
      if (!this.#pendingBlank || !blank(chunk, start, nl)) {
        const part = chunk.subarray(start, nl);
        lines.push(this.#pendingBytes === 0 ? Buffer.from(part) : Buffer.concat([...this.#pending, part]));
      }
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#pendingBlank = true;
      start = nl + 1;
    }
    if (start < chunk.length) {
      if (this.#pendingBytes + (chunk.length - start) > this.lineBytesMax) return this.#overflow(lines);
      this.#pending.push(Buffer.from(chunk.subarray(start)));
      this.#pendingBytes += chunk.length - start;
      this.#pendingBlank &&= blank(chunk, start, chunk.length);
    }
    return { lines, overflow: false };
  }

  /** The unfinished last line at end of stream, if any and not blank (a request need not end with a newline). */
  end(): Buffer | undefined {
    if (this.#overflowed || this.#pendingBytes === 0) return undefined;
    const line = this.#pendingBlank ? undefined : Buffer.concat(this.#pending);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#pendingBlank = true;
    return line;
  }

  #overflow(lines: Buffer[]): SplitResult {
    this.#overflowed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#pendingBlank = true;
    return { lines, overflow: true };
  }
}
