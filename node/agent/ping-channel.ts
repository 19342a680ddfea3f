// A long-lived ping stream to one controller. libp2p's ping protocol echoes 32-byte payloads for as
// long as the stream stays open, so a health check on an open channel is one small frame each way.
// ping.ping() opens, negotiates and closes a stream per check instead, and with every agent checking
// every controller that churn (multistream negotiation, peer-store updates, yamux and Noise frames,
// on both ends) was most of an idle federation's CPU. The controller's ping handler ends a stream
// that stays silent for its timeout (create-host.ts), and connections drop: a check that finds its
// channel dead opens a new one and tries once more, within the same deadline.
//
// Pings are pipelined: a ping may be sent while earlier ones are still unanswered, and the echoes,
// which come back in order, are matched to them in order. With one ping in flight per link, a link
// whose round trip was over half the contact window proved itself only every other interval, and
// the proof (dated by its sending) aged past the window before the next came back: a healthy majority
// over a slow link dropped quorum for a tick every few seconds (simulation seed 700966's scenario).
// A ping whose caller gave up (its deadline passed) still has its echo read, so the ones after it
// stay matched.
import type { Stream } from '@libp2p/interface';
import { byteStream, type ByteStream } from 'it-byte-stream';
import type { RandomSource, TimerComponents } from '../components.ts';

/** libp2p's ping protocol (what the ping service answers). */
export const PING_PROTOCOL = '/ipfs/ping/1.0.0';

// Payload of one ping, fixed by the protocol.
const PING_BYTES = 32;

/** Most pings in flight on one channel; one more is refused at once (PingBusyError). */
export const PINGS_IN_FLIGHT_MAX = 64;

/** A ping reply that is not the payload sent: the stream is not speaking ping. */
export class PingEchoError extends Error {
  readonly code = 'PING_ECHO_MISMATCH';
}

/** More than PINGS_IN_FLIGHT_MAX pings unanswered on one channel. */
export class PingBusyError extends Error {
  readonly code = 'PING_BUSY';
}

/** What a ping channel takes from its node: the clock that times round trips, the randomness of payloads. */
export interface PingChannelParts {
  timers: TimerComponents;
  random: RandomSource;
}

// One ping waiting for its echo.
interface InFlight {
  payload: Uint8Array;
  startedMs: number;
  settle(result: { rttMs: number } | { err: unknown }): void;
}

// One open ping stream, with the pings in flight on it.
interface Open {
  stream: Stream;
  bytes: ByteStream<Stream>;
  inFlight: InFlight[];
  // Writes are made one after another.
  writes: Promise<unknown>;
  reading: boolean;
  dead: boolean;
}

export class PingChannel {
  readonly #open: (signal: AbortSignal) => Promise<Stream>;
  readonly #parts: PingChannelParts;
  #current: Promise<Open> | undefined;

  /** `open` opens a ping stream to the controller (dialling only over an existing connection is the caller's choice). */
  constructor(open: (signal: AbortSignal) => Promise<Stream>, parts: PingChannelParts) {
    this.#open = open;
    this.#parts = parts;
  }

  /** One round trip, ms; throws when the controller does not answer before `signal` aborts. */
  async rttMs(signal: AbortSignal): Promise<number> {
    const reused = this.#current !== undefined;
    try {
      return await this.#ping(signal);
    } catch (err) {
      // A channel that had been idle may have been closed by the other side meanwhile: that says
      // nothing about the controller, so try once on a new stream. A new one failing does.
      if (!reused || signal.aborted || err instanceof PingBusyError) throw err;
      this.close();
      return await this.#ping(signal);
    }
  }

  /** Drop the stream and fail the pings in flight on it (the next ping opens a new one). */
  close(): void {
    const current = this.#current;
    this.#current = undefined;
    void current?.then((o) => this.#kill(o, new Error('ping channel closed')), () => undefined);
  }

  async #ping(signal: AbortSignal): Promise<number> {
    signal.throwIfAborted();
    this.#current ??= this.#open(signal).then((stream) => ({
      stream, bytes: byteStream(stream), inFlight: [], writes: Promise.resolve(), reading: false, dead: false,
    }));
    const opening = this.#current;
    let o: Open;
    try {
      o = await opening;
    } catch (err) {
      if (this.#current === opening) this.#current = undefined;
      throw err;
    }
    signal.throwIfAborted();
    if (o.dead) throw new Error('ping stream closed');
    if (o.inFlight.length >= PINGS_IN_FLIGHT_MAX) throw new PingBusyError(`${PINGS_IN_FLIGHT_MAX} pings unanswered on one stream`);
    const payload = this.#parts.random.bytes(PING_BYTES);
    const answered = new Promise<number>((resolve, reject) => {
      const entry: InFlight = {
        payload, startedMs: this.#parts.timers.nowMs(),
        settle: (r) => ('err' in r ? reject(r.err) : resolve(r.rttMs)),
      };
      o.inFlight.push(entry);
    });
    // The caller may give up first; the echo is read all the same (see #read).
    answered.catch(() => undefined);
    o.writes = o.writes.then(() => o.bytes.write(payload)).catch((err: unknown) => this.#kill(o, err));
    if (!o.reading) void this.#read(o);
    return await new Promise<number>((resolve, reject) => {
      const abort = (): void => reject(signal.reason);
      signal.addEventListener('abort', abort, { once: true });
      answered.then(resolve, reject).finally(() => signal.removeEventListener('abort', abort));
    });
  }

  // Reads echoes while pings are in flight, settling them in order.
  async #read(o: Open): Promise<void> {
    o.reading = true;
    try {
      while (!o.dead && o.inFlight.length > 0) {
        const echo = await o.bytes.read({ bytes: PING_BYTES });
        const head = o.inFlight.shift();
        if (head === undefined) break;
        if (!Buffer.from(head.payload).equals(echo.subarray())) {
          const err = new PingEchoError('ping echo differs from the payload sent');
          head.settle({ err });
          this.#kill(o, err);
          return;
        }
        head.settle({ rttMs: this.#parts.timers.nowMs() - head.startedMs });
      }
    } catch (err) {
      this.#kill(o, err);
    } finally {
      o.reading = false;
    }
  }

  // The stream is unusable: fail what is in flight, abort it, and let the next ping open another.
  #kill(o: Open, err: unknown): void {
    if (o.dead) return;
    o.dead = true;
    for (const p of o.inFlight.splice(0)) p.settle({ err });
    o.stream.abort(err instanceof Error ? err : new Error(String(err)));
    void this.#current?.then((cur) => {
      if (cur === o) this.#current = undefined;
    }, () => undefined);
  }
}
