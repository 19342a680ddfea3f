// A stream of a simulated connection: libp2p's own AbstractStream (the base of yamux streams, so the
// sink/source/close/closeRead/closeWrite/abort/reset semantics and statuses are libp2p's), over the
// simulated connection's frames. Flow control as yamux: the sender has a window of bytes the
// receiver has not yet read; the receiver gives credit back as its reader takes chunks (batched
// like node/host/yamux-window-updates.ts), so a reader that stops reading stalls its writer.
// Close-read sends nothing (yamux has no such frame); close-write sends FIN; abort sends RST.

import type { AbortOptions, Direction, Logger } from '@libp2p/interface';
import { AbstractStream } from '@libp2p/utils/abstract-stream';
import { Uint8ArrayList } from 'uint8arraylist';

/** Yamux's initial stream window, bytes. */
export const STREAM_WINDOW_BYTES = 256 * 1024;
/** Credit goes back once this many bytes were read since the last credit (or half the window). */
export const WINDOW_CREDIT_BYTES_MIN = 32 * 1024;

/** What a stream sends through its connection. */
export interface StreamWire {
  data(bytes: Uint8Array): void;
  credit(bytes: number): void;
  fin(): void;
  reset(): void;
}

const silent = Object.assign(() => undefined, { error: () => undefined, trace: () => undefined, enabled: false }) as unknown as Logger;
(silent as unknown as { newScope: () => Logger }).newScope = () => silent;

/** A logger that logs nothing. */
export const SILENT_LOG: Logger = silent;

/** Options of a simulated stream. */
export interface SimStreamInit {
  id: string;
  direction: Direction;
  wire: StreamWire;
  /** Wall-clock ms for the timeline. */
  wallMs: () => number;
  /** Called once both ends of the stream closed (or it was reset/aborted). */
  onEnd: () => void;
}

/** A stream of a simulated connection. */
export class SimStream extends AbstractStream {
  readonly #wire: StreamWire;
  #sendWindow = STREAM_WINDOW_BYTES;
  #uncredited = 0;
  #windowWaiter: (() => void) | undefined;
  /** Whether the remote accepted the protocol (outbound streams that negotiated fully wait for it). */
  negotiated = false;

  constructor(init: SimStreamInit) {
    super({ id: init.id, direction: init.direction, log: SILENT_LOG, onEnd: () => init.onEnd() });
    this.#wire = init.wire;
    this.timeline.open = init.wallMs();
    // The reader taking a chunk frees that much of the window (yamux: it-foreach over the source).
    const inner = this.source;
    const self = this;
    this.source = (async function* credited() {
      for await (const chunk of inner) {
        self.#read(chunk.byteLength);
        yield chunk;
      }
    })();
  }

  #read(n: number): void {
    this.#uncredited += n;
    if (this.#uncredited >= Math.min(WINDOW_CREDIT_BYTES_MIN, STREAM_WINDOW_BYTES / 2)) {
      const c = this.#uncredited;
      this.#uncredited = 0;
      if (this.status === 'open' || this.status === 'closing') this.#wire.credit(c);
    }
  }

  /** The remote read `n` bytes: they may be sent again. */
  addCredit(n: number): void {
    this.#sendWindow += n;
    const w = this.#windowWaiter;
    this.#windowWaiter = undefined;
    w?.();
  }

  /** Bytes arrived from the remote. */
  receive(bytes: Uint8Array): void {
    if (this.readStatus !== 'ready') return; // nobody reads: dropped, and not credited (as yamux)
    this.sourcePush(new Uint8ArrayList(bytes));
  }

  sendNewStream(): void {
    // The connection announced the stream when it was opened.
  }

  async sendData(buf: Uint8ArrayList, options?: AbortOptions): Promise<void> {
    let rest = buf.subarray();
    while (rest.byteLength > 0) {
      while (this.#sendWindow <= 0) await this.#waitForWindow(options?.signal);
      const n = Math.min(this.#sendWindow, rest.byteLength);
      this.#sendWindow -= n;
      this.#wire.data(rest.slice(0, n));
      rest = rest.subarray(n);
    }
  }

  #waitForWindow(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(signal.reason);
        return;
      }
      const onAbort = (): void => {
        this.#windowWaiter = undefined;
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#windowWaiter = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
    });
  }

  sendReset(): void {
    this.#wire.reset();
  }

  sendCloseWrite(): void {
    this.#wire.fin();
  }

  sendCloseRead(): void {
    // Yamux has no close-read frame: the remote learns nothing.
  }
}
