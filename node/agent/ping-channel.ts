// A long-lived ping stream to one controller. libp2p's ping protocol echoes 32-byte payloads for as
// long as the stream stays open, so a health check on an open channel is one small frame each way.
// ping.ping() opens, negotiates and closes a stream per check instead, and with every agent checking
// every controller that churn (multistream negotiation, peer-store updates, yamux and Noise frames,
// on both ends) was most of an idle federation's CPU. The controller's ping handler ends a stream
// that stays silent for its timeout (create-host.ts), and connections drop: a check that finds its
// channel dead opens a new one and tries once more, within the same deadline.
import type { Stream } from '@libp2p/interface';
import { byteStream, type ByteStream } from 'it-byte-stream';
import type { RandomSource, TimerComponents } from '../components.ts';

/** libp2p's ping protocol (what the ping service answers). */
export const PING_PROTOCOL = '/ipfs/ping/1.0.0';

// Payload of one ping, fixed by the protocol.
const PING_BYTES = 32;

/** A ping reply that is not the payload sent: the stream is not speaking ping. */
export class PingEchoError extends Error {
  readonly code = 'PING_ECHO_MISMATCH';
}

/** What a ping channel takes from its node: the clock that times round trips, the randomness of payloads. */
export interface PingChannelParts {
  timers: TimerComponents;
  random: RandomSource;
}

export class PingChannel {
  readonly #open: (signal: AbortSignal) => Promise<Stream>;
  readonly #parts: PingChannelParts;
  #stream: Stream | undefined;
  #bytes: ByteStream<Stream> | undefined;

  /** `open` opens a ping stream to the controller (dialling only over an existing connection is the caller's choice). */
  constructor(open: (signal: AbortSignal) => Promise<Stream>, parts: PingChannelParts) {
    this.#open = open;
    this.#parts = parts;
  }

  /** One round trip, ms; throws when the controller does not answer before `signal` aborts. */
  async rttMs(signal: AbortSignal): Promise<number> {
    const reused = this.#bytes !== undefined;
    try {
      return await this.#ping(signal);
    } catch (err) {
      this.close();
      // A channel that had been idle may have been closed by the other side meanwhile: that says
      // nothing about the controller, so try once on a new stream. A new one failing does.
      if (!reused || signal.aborted) throw err;
      return await this.#ping(signal).catch((again: unknown) => {
        this.close();
        throw again;
      });
    }
  }

  /** Drop the stream (the next check opens a new one). */
  close(): void {
    this.#stream?.abort(new Error('ping channel closed'));
    this.#stream = undefined;
    this.#bytes = undefined;
  }

  async #ping(signal: AbortSignal): Promise<number> {
    if (this.#bytes === undefined) {
      this.#stream = await this.#open(signal);
      this.#bytes = byteStream(this.#stream);
    }
    const payload = this.#parts.random.bytes(PING_BYTES);
    const startedMs = this.#parts.timers.nowMs();
    // Read while writing, as libp2p's own ping does: a duplex may only take the payload once its
    // reply is being read.
    const [, echo] = await Promise.all([this.#bytes.write(payload, { signal }), this.#bytes.read({ bytes: PING_BYTES, signal })]);
    const rttMs = this.#parts.timers.nowMs() - startedMs;
    if (!Buffer.from(payload).equals(echo.subarray())) throw new PingEchoError('ping echo differs from the payload sent');
    return rttMs;
  }
}
