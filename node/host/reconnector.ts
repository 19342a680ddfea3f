// Keeps this node connected to the configured members: dials each bootstrap multiaddr, and after a
// failed dial or a lost connection retries with exponential backoff and +-20 % jitter, capped at
// maxDelayMs. One dial in flight per target, each with a deadline; a target that turns out to be
// this node itself is dropped. Peers refused by the auth service are also refused by the connection
// gater for a while, which makes their dials fail and their backoff grow.
//
// Both ends of a pair dial each other at start, so a pair may hold two connections for a while.
// That costs one extra handshake; delaying one end instead would delay every restart, which is
// the common case, to speed up a whole-federation cold start, which is rare.

import type { Libp2p, PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import type { ReconnectConfig } from '../config/membership-config.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';

/** Options of the reconnector. */
export interface ReconnectorOptions extends ReconnectConfig {
  /** Multiaddrs of the configured members. */
  targets: string[];
  /** Deadline of one dial, milliseconds. */
  dialTimeoutMs: number;
  /** Uniform random number in [0, 1) for jitter (default Math.random). */
  random?: () => number;
  /** Logger (default silent). */
  logger?: Logger;
}

/** State of one target, for status output. */
export interface TargetStatus {
  /** The configured multiaddr. */
  addr: string;
  /** Its peer ID, from /p2p/ or learned on the first successful dial. */
  peerId: string | undefined;
  /** Whether a connection to it is open. */
  connected: boolean;
  /** Failed dials since the last success. */
  failures: number;
  /** Last dial error, if the last dial failed. */
  lastError: string | undefined;
}

interface Target {
  addr: Multiaddr;
  peerId: PeerId | undefined;
  failures: number;
  timer: ReturnType<typeof setTimeout> | undefined;
  dialing: boolean;
  lastError: string | undefined;
  disabled: boolean;
}

/** Bounded-backoff reconnection to configured members. */
export class Reconnector {
  readonly #libp2p: Libp2p;
  readonly #o: ReconnectorOptions;
  readonly #log: Logger;
  readonly #targets: Target[];
  #running = false;

  constructor(libp2p: Libp2p, options: ReconnectorOptions) {
    this.#libp2p = libp2p;
    this.#o = options;
    this.#log = loggerOrSilent(options.logger).child({ component: 'reconnector' });
    this.#targets = options.targets
      .map((a) => multiaddr(a))
      .map((addr): Target => {
        const id = addr.getPeerId();
        return { addr, peerId: id === null ? undefined : peerIdFromString(id), failures: 0, timer: undefined, dialing: false, lastError: undefined, disabled: false };
      })
      .filter((t) => t.peerId === undefined || !t.peerId.equals(libp2p.peerId)); // a shared member list includes this node
  }

  /** Dial every target now and keep them connected. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#libp2p.addEventListener('peer:disconnect', this.#onDisconnect);
    const own = new Set(this.#libp2p.getMultiaddrs().map((a) => a.decapsulateCode(421).toString()));
    for (const t of this.#targets) {
      if (own.has(t.addr.decapsulateCode(421).toString())) t.disabled = true;
      else this.#schedule(t, 0);
    }
  }

  /** Stop dialing. */
  stop(): void {
    this.#running = false;
    this.#libp2p.removeEventListener('peer:disconnect', this.#onDisconnect);
    for (const t of this.#targets) {
      clearTimeout(t.timer);
      t.timer = undefined;
    }
  }

  /** State of every target. */
  status(): TargetStatus[] {
    return this.#targets.map((t) => ({
      addr: t.addr.toString(),
      peerId: t.peerId?.toString(),
      connected: t.peerId !== undefined && this.#libp2p.getConnections(t.peerId).length > 0,
      failures: t.failures,
      lastError: t.lastError,
    }));
  }

  /** Backoff delay after `failures` failed dials, before jitter. */
  delayMs(failures: number): number {
    const { initialDelayMs, maxDelayMs, factor } = this.#o;
    return Math.min(maxDelayMs, initialDelayMs * factor ** Math.min(failures, 64));
  }

  readonly #onDisconnect = (evt: CustomEvent<PeerId>): void => {
    for (const t of this.#targets) if (t.peerId?.equals(evt.detail) === true) this.#schedule(t, this.#jitter(this.delayMs(t.failures)));
  };

  #jitter(ms: number): number {
    const r = (this.#o.random ?? Math.random)();
    return Math.round(ms * (0.8 + 0.4 * r));
  }

  #schedule(t: Target, delayMs: number): void {
    if (!this.#running || t.disabled || t.dialing || t.timer !== undefined) return;
    t.timer = setTimeout(() => {
      t.timer = undefined;
      void this.#dial(t);
    }, delayMs);
  }

  async #dial(t: Target): Promise<void> {
    if (!this.#running || t.dialing) return;
    if (t.peerId !== undefined && this.#libp2p.getConnections(t.peerId).length > 0) {
      t.failures = 0;
      return; // already connected (it dialed us); a disconnect event will bring us back
    }
    t.dialing = true;
    try {
      const conn = await this.#libp2p.dial(t.addr, { signal: AbortSignal.timeout(this.#o.dialTimeoutMs) });
      t.peerId ??= conn.remotePeer;
      t.failures = 0;
      t.lastError = undefined;
    } catch (e) {
      const msg = e instanceof Error ? e.message : String(e);
      t.failures += 1;
      t.lastError = msg;
      if (/dial self/i.test(msg)) {
        t.disabled = true; // an address of this very node, written without /p2p/
        return;
      }
      this.#log.debug({ addr: t.addr.toString(), failures: t.failures, err: msg }, 'dial failed');
    } finally {
      t.dialing = false;
    }
    if (t.failures > 0) this.#schedule(t, this.#jitter(this.delayMs(t.failures - 1)));
  }
}
