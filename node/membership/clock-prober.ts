// Clock probes to authenticated controller peers (clock-probe.ts): one at once when a peer
// authenticates, so a (re)connected controller's clock is known within a round trip, then one per
// peer per intervalMs, each with a deadline, at most one in flight per peer and
// CLOCK_PROBES_IN_FLIGHT_MAX overall, each over its peer's long-lived channel.

import type { PeerId, Stream } from '@libp2p/interface';
import { every, timeoutSignal, type TimerComponents } from '../components.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import { ClockChannel, type ClockReading } from './clock-probe.ts';

/** Most probes in flight at once. */
export const CLOCK_PROBES_IN_FLIGHT_MAX = 64;

/** Options of the prober. */
export interface ClockProberOptions {
  /** Probe period per peer, milliseconds. */
  intervalMs: number;
  /** Probe deadline, milliseconds. */
  timeoutMs: number;
  /** The peers to probe now (authenticated controllers, connected). */
  targets: () => PeerId[];
  /** Opens a clock probe stream to `peer` over an existing connection. */
  open: (peer: PeerId, signal: AbortSignal) => Promise<Stream>;
  /** A probe was answered. */
  onSample: (peer: PeerId, reading: ClockReading) => void;
  /** Monotonic clock (times each probe) and timers (period, deadlines). */
  timers: TimerComponents;
  /** Logger (default silent). */
  logger?: Logger;
}

/** Periodic clock probes of authenticated controller peers. */
export class ClockProber {
  readonly #o: ClockProberOptions;
  readonly #log: Logger;
  readonly #channels = new Map<string, ClockChannel>(); // by peer ID; only targets keep one
  readonly #inFlight = new Set<string>();
  #cancel: (() => void) | undefined;
  #failures = 0;

  constructor(options: ClockProberOptions) {
    this.#o = options;
    this.#log = loggerOrSilent(options.logger).child({ component: 'clock-probe' });
  }

  /** Start probing: every target now, then once per interval. */
  start(): void {
    if (this.#cancel !== undefined) return;
    this.#cancel = every(this.#o.timers, this.#o.intervalMs, () => this.probeAll());
    this.probeAll();
  }

  /** Stop probing and close the channels; probes in flight end on their own deadline. */
  stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
    for (const c of this.#channels.values()) c.close();
    this.#channels.clear();
  }

  /** Probes that failed, timed out or got a malformed answer. */
  get failures(): number {
    return this.#failures;
  }

  /** Probe every target (and drop the channels of peers that are no longer targets). */
  probeAll(): void {
    const targets = this.#o.targets();
    const ids = new Set(targets.map((p) => p.toString()));
    for (const [id, c] of this.#channels) {
      if (ids.has(id)) continue;
      c.close();
      this.#channels.delete(id);
    }
    for (const peer of targets) this.probe(peer);
  }

  /** Probe one peer now, unless a probe to it is in flight (or too many are). */
  probe(peer: PeerId): void {
    if (this.#cancel === undefined) return;
    const id = peer.toString();
    if (this.#inFlight.has(id) || this.#inFlight.size >= CLOCK_PROBES_IN_FLIGHT_MAX) return;
    let channel = this.#channels.get(id);
    if (channel === undefined) {
      channel = new ClockChannel((signal) => this.#o.open(peer, signal), () => this.#o.timers.nowMs());
      this.#channels.set(id, channel);
    }
    this.#inFlight.add(id);
    channel.probe(timeoutSignal(this.#o.timers, this.#o.timeoutMs)).then(
      (reading) => {
        if (this.#cancel !== undefined) this.#o.onSample(peer, reading);
      },
      (err: unknown) => {
        this.#failures += 1;
        this.#log.debug({ peer: id, err: String(err) }, 'clock probe failed');
      },
    ).finally(() => this.#inFlight.delete(id));
  }
}
