// The clock probe protocol: a controller asks another for its clock, over a long-lived stream on their
// existing connection, and times the round trip (membership/clock-offset.ts turns the answers into
// offsets). One byte asks, thirty-two answer:
//   request  (prober -> peer): 0x01
//   response (peer -> prober): four big-endian float64s: the stamp height, max(its physical clock,
//                              its HLC's wall part), what its next write is stamped with, ms since the
//                              epoch; its physical clock, ms since the epoch; the membership epoch it
//                              has committed (0: no live membership); and for how long, in ms from
//                              the probe's sending, that epoch may be relied on (its own probe cycle:
//                              it waits longer than that after committing an epoch before it accepts
//                              a voter change, members-acceptor.ts). The clocks are needed
//                              to follow the stamp height between probes: it advances with the
//                              physical clock, except while the HLC is ahead of it (a clock set back),
//                              when it stands still. The epoch is what the write fence's count rule
//                              reads (a peer on a newer membership epoch does not count): taken in the
//                              same round trip that measures the clock, so it is as fresh as the clock.
// Anything else ends the stream with CLOCK_PROBE_MALFORMED; a stream silent for the idle time is
// closed by the answering side. Fixed-size frames: nothing a peer sends is buffered beyond 32 bytes.
// (Version 3.0.0 of the protocol; 2.0.0 had no epoch, 1.0.0 answered the stamp height only.)
import type { Stream } from '@libp2p/interface';
import { byteStream, type ByteStream } from 'it-byte-stream';
import { timeoutSignal, type TimerComponents } from '../components.ts';
import { NovaEdgeError } from '../errors.ts';

/** The request byte. */
export const CLOCK_PROBE_REQUEST = 0x01;
/** Bytes of a response. */
export const CLOCK_PROBE_RESPONSE_BYTES = 32;

/** A clock probe frame that is not one: stable code CLOCK_PROBE_MALFORMED. */
export class ClockProbeError extends NovaEdgeError {
  readonly code = 'CLOCK_PROBE_MALFORMED';
}

/** A peer's clocks when it answered, ms since the epoch. */
export interface RemoteClock {
  /** Its stamp height: max(physical clock, HLC wall part). */
  stampMs: number;
  /** Its physical clock (at most stampMs). */
  physicalMs: number;
}

/** What a peer answers a probe with. */
export interface ClockAnswer {
  /** Its clocks when it answered. */
  remote: RemoteClock;
  /** The membership epoch it had committed when it answered (0: no live membership). */
  epoch: number;
  /** How long after the probe's sending that epoch may be relied on, ms. */
  epochValidMs: number;
}

/** One answered probe, on the prober's monotonic clock. */
export interface ClockReading {
  /** The peer's clocks when it answered. */
  remote: RemoteClock;
  /** The membership epoch it had committed when it answered (0: none). */
  epoch: number;
  /** How long after sentAtMs that epoch may be relied on, ms. */
  epochValidMs: number;
  /** When the request was sent. */
  sentAtMs: number;
  /** When the answer arrived. */
  receivedAtMs: number;
}

/** Encodes an answer as a response frame. */
export function encodeClockResponse(answer: ClockAnswer): Uint8Array {
  const out = new Uint8Array(CLOCK_PROBE_RESPONSE_BYTES);
  const view = new DataView(out.buffer);
  view.setFloat64(0, answer.remote.stampMs, false);
  view.setFloat64(8, answer.remote.physicalMs, false);
  view.setFloat64(16, answer.epoch, false);
  view.setFloat64(24, answer.epochValidMs, false);
  return out;
}

/** Decodes a response frame; throws ClockProbeError unless it is a plausible clock reading and epoch. */
export function decodeClockResponse(frame: Uint8Array): ClockAnswer {
  if (frame.byteLength !== CLOCK_PROBE_RESPONSE_BYTES) throw new ClockProbeError(`clock response of ${frame.byteLength} bytes, not ${CLOCK_PROBE_RESPONSE_BYTES}`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const remote = { stampMs: view.getFloat64(0, false), physicalMs: view.getFloat64(8, false) };
  const problem = remoteClockProblem(remote);
  if (problem !== undefined) throw new ClockProbeError(`clock response ${problem}`);
  const epoch = view.getFloat64(16, false);
  if (!Number.isSafeInteger(epoch) || epoch < 0) throw new ClockProbeError('clock response has an epoch that is not a whole number ≥ 0');
  const epochValidMs = view.getFloat64(24, false);
  if (!Number.isSafeInteger(epochValidMs) || epochValidMs < 0) throw new ClockProbeError('clock response has an epoch validity that is not a whole number of ms ≥ 0');
  return { remote, epoch, epochValidMs };
}

/**
 * Why `clock` is not a plausible reading of a peer's clocks (undefined when it is): both whole
 * non-negative ms since the epoch, the physical clock not above the stamp height. Shared by every
 * message that carries one (clock probes, vote-lease grants).
 */
export function remoteClockProblem(clock: { stampMs: unknown; physicalMs: unknown }): string | undefined {
  const { stampMs, physicalMs } = clock;
  for (const ms of [stampMs, physicalMs]) {
    if (typeof ms !== 'number' || !Number.isSafeInteger(ms) || ms < 0) return 'is not a whole number of ms since the epoch';
  }
  if ((physicalMs as number) > (stampMs as number)) return 'has a physical clock above its stamp height';
  return undefined;
}

/** This node's clocks as a peer reads them: its physical clock and its stamp height, max(physical, HLC wall part). */
export function readRemoteClock(physicalMs: number, hlcWallMs: number): RemoteClock {
  const physical = Math.round(physicalMs);
  return { stampMs: Math.max(physical, Math.round(hlcWallMs)), physicalMs: physical };
}

/**
 * Answers probes on `stream` with `answer()` (readRemoteClock and the committed membership epoch)
 * until the prober closes it, sends something else (ClockProbeError, the stream is aborted) or stays
 * silent for `idleMs` on `timers` (closed).
 */
export async function serveClockProbes(stream: Stream, answer: () => ClockAnswer, idleMs: number, timers: TimerComponents): Promise<void> {
  const bytes = byteStream(stream);
  for (;;) {
    let req;
    try {
      req = await bytes.read({ bytes: 1, signal: timeoutSignal(timers, idleMs) });
    } catch {
      await stream.close().catch(() => undefined); // idle, or the prober went away
      return;
    }
    if (req.get(0) !== CLOCK_PROBE_REQUEST) {
      const err = new ClockProbeError(`clock probe request byte 0x${req.get(0).toString(16)}`);
      stream.abort(err);
      throw err;
    }
    try {
      await bytes.write(encodeClockResponse(answer()), { signal: timeoutSignal(timers, idleMs) });
    } catch {
      stream.abort(new Error('clock probe answer not delivered')); // the prober went away
      return;
    }
  }
}

/** The prober's end: one long-lived stream to one peer, reopened once when it was found closed. */
export class ClockChannel {
  readonly #open: (signal: AbortSignal) => Promise<Stream>;
  readonly #nowMs: () => number;
  #stream: Stream | undefined;
  #bytes: ByteStream<Stream> | undefined;

  /** `open` opens a clock probe stream over the existing connection; `nowMs` is the monotonic clock. */
  constructor(open: (signal: AbortSignal) => Promise<Stream>, nowMs: () => number) {
    this.#open = open;
    this.#nowMs = nowMs;
  }

  /** One probe; throws when the peer does not answer well before `signal` aborts. */
  async probe(signal: AbortSignal): Promise<ClockReading> {
    const reused = this.#bytes !== undefined;
    try {
      return await this.#probe(signal);
    } catch (err) {
      this.close();
      // An idle channel the peer closed says nothing about the peer: try once on a new stream.
      if (!reused || signal.aborted || err instanceof ClockProbeError) throw err;
      return await this.#probe(signal).catch((again: unknown) => {
        this.close();
        throw again;
      });
    }
  }

  /** Drop the stream (the next probe opens a new one). */
  close(): void {
    this.#stream?.abort(new Error('clock probe channel closed'));
    this.#stream = undefined;
    this.#bytes = undefined;
  }

  async #probe(signal: AbortSignal): Promise<ClockReading> {
    if (this.#bytes === undefined) {
      this.#stream = await this.#open(signal);
      this.#bytes = byteStream(this.#stream);
    }
    const bytes = this.#bytes;
    const sentAtMs = this.#nowMs();
    // Read while writing: a duplex may only take the request once its reply is being read.
    const [, frame] = await Promise.all([
      bytes.write(Uint8Array.of(CLOCK_PROBE_REQUEST), { signal }),
      bytes.read({ bytes: CLOCK_PROBE_RESPONSE_BYTES, signal }),
    ]);
    const receivedAtMs = this.#nowMs();
    return { ...decodeClockResponse(frame.subarray()), sentAtMs, receivedAtMs };
  }
}
