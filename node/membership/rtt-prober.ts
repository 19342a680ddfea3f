// Round-trip times to authenticated peers, measured with libp2p ping over their existing
// connections: one probe per peer per rttIntervalMs, each with a deadline, at most one in flight
// per peer and RTT_PROBES_IN_FLIGHT_MAX overall.

import type { PeerId } from '@libp2p/interface';
import { every, timeoutSignal, type TimerComponents } from '../components.ts';
import type { HostNetServices } from '../host/host-net.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';

/** Most probes in flight at once. */
export const RTT_PROBES_IN_FLIGHT_MAX = 64;

/** Options of the prober. */
export interface RttProberOptions {
  /** Probe period, milliseconds. */
  intervalMs: number;
  /** Probe deadline, milliseconds. */
  timeoutMs: number;
  /** The peers to probe now (authenticated, connected). */
  targets: () => PeerId[];
  /** A sample arrived. */
  onSample: (peerId: PeerId, rttMs: number) => void;
  /** Timers (period, deadlines). */
  timers: TimerComponents;
  /** Logger (default silent). */
  logger?: Logger;
}

/** Periodic ping of authenticated peers. */
export class RttProber {
  readonly #ping: HostNetServices['ping'];
  readonly #o: RttProberOptions;
  readonly #log: Logger;
  readonly #inFlight = new Set<string>();
  #cancel: (() => void) | undefined;
  #failures = 0;

  constructor(ping: HostNetServices['ping'], options: RttProberOptions) {
    this.#ping = ping;
    this.#o = options;
    this.#log = loggerOrSilent(options.logger).child({ component: 'rtt' });
  }

  /** Start probing (first round after one interval). */
  start(): void {
    if (this.#cancel !== undefined) return;
    this.#cancel = every(this.#o.timers, this.#o.intervalMs, () => this.probeAll());
  }

  /** Stop probing; probes in flight finish on their own deadline. */
  stop(): void {
    this.#cancel?.();
    this.#cancel = undefined;
  }

  /** Probes that failed or timed out. */
  get failures(): number {
    return this.#failures;
  }

  /** Probe every target that has no probe in flight. */
  probeAll(): void {
    for (const peer of this.#o.targets()) {
      const id = peer.toString();
      if (this.#inFlight.has(id) || this.#inFlight.size >= RTT_PROBES_IN_FLIGHT_MAX) continue;
      this.#inFlight.add(id);
      this.#ping.ping(peer, { signal: timeoutSignal(this.#o.timers, this.#o.timeoutMs) }).then(
        (ms) => {
          if (this.#cancel !== undefined) this.#o.onSample(peer, ms);
        },
        (err: unknown) => {
          this.#failures += 1;
          this.#log.debug({ peer: id, err: String(err) }, 'ping failed');
        },
      ).finally(() => this.#inFlight.delete(id));
    }
  }
}
