// Keeps this node connected to the configured members: dials each bootstrap multiaddr, and after a
// failed dial or a lost connection retries with exponential backoff and +-20 % jitter, never above
// maxDelayMs (the rule is membership/redial-backoff.ts; between controllers the cap is short). One
// dial in flight per target, each with a deadline; a target that turns out to be this node itself is
// dropped. Peers refused by the auth service are also refused by the connection gater for a while,
// which makes their dials fail and their backoff grow. Delays run from one dial's start to the next
// one's; with connectTimeoutMs (controllers), a dial whose TCP connection has not opened by then is
// abandoned, so a network that drops packets gets a fresh SYN that often.
//
// `dialNow` cuts a wait short: membership calls it when a relayed heartbeat shows an unconnected
// member alive, and link liveness when it has closed a dead link. It dials at once unless the target
// is connected or a dial is in flight, so it adds at most one dial per call, and callers call it at
// most once per heartbeat (or contact window) per member.
//
// Both ends of a pair dial each other at start, so a pair may hold two connections for a while.
// That costs one extra handshake; delaying one end instead would delay every restart, which is
// the common case, to speed up a whole-federation cold start, which is rare.

import type { PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { redialBaseDelayMs, redialJitteredDelayMs, redialWaitMs, type RedialBackoff } from '../../membership/redial-backoff.ts';
import { NovaEdgeError } from '../errors.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import type { RandomSource } from '../components.ts';
import type { HostNet } from './host-net.ts';
import type { TimerComponents, TimerHandle } from './timer-components.ts';

/** A dial abandoned at its deadline; stable code DIAL_TIMEOUT. */
export class DialTimeoutError extends NovaEdgeError {
  readonly code = 'DIAL_TIMEOUT';
}

/** Options of the reconnector. */
export interface ReconnectorOptions extends RedialBackoff {
  /** Multiaddrs of the configured members. */
  targets: string[];
  /** Deadline of one dial, milliseconds. */
  dialTimeoutMs: number;
  /** Randomness (backoff jitter). */
  random: RandomSource;
  /** Monotonic clock and timers. */
  timers: TimerComponents;
  /** Logger (default silent). */
  logger?: Logger;
}

/** The host surface the reconnector uses. */
export type ReconnectorHost = Pick<HostNet, 'peerId' | 'getConnections' | 'getMultiaddrs' | 'dial' | 'addEventListener' | 'removeEventListener'>;

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
  /** The longest wait scheduled before a dial so far, milliseconds (never above maxDelayMs). */
  longestDelayMs: number;
  /** Dials started at once by `dialNow`. */
  dialsNow: number;
}

interface Target {
  addr: Multiaddr;
  peerId: PeerId | undefined;
  failures: number;
  timer: TimerHandle | undefined;
  dialing: boolean;
  lastError: string | undefined;
  disabled: boolean;
  longestDelayMs: number;
  dialsNow: number;
}

/** Bounded-backoff reconnection to configured members. */
export class Reconnector {
  readonly #libp2p: ReconnectorHost;
  readonly #o: ReconnectorOptions;
  readonly #log: Logger;
  readonly #targets: Target[]; // grows by addTarget only (bounded by the membership record's size)
  readonly #timers: TimerComponents;
  #running = false;

  constructor(libp2p: ReconnectorHost, options: ReconnectorOptions) {
    this.#libp2p = libp2p;
    this.#o = options;
    this.#timers = options.timers;
    this.#log = loggerOrSilent(options.logger).child({ component: 'reconnector' });
    this.#targets = options.targets
      .map((a) => multiaddr(a))
      .map((addr): Target => {
        const id = addr.getPeerId();
        return {
          addr, peerId: id === null ? undefined : peerIdFromString(id), failures: 0, timer: undefined, dialing: false,
          lastError: undefined, disabled: false, longestDelayMs: 0, dialsNow: 0,
        };
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
      this.#timers.clearTimeout(t.timer);
      t.timer = undefined;
    }
  }

  /**
   * Dial the target with this peer ID now instead of at the end of its backoff wait; nothing when it
   * is not a target, is connected, or a dial to it is in flight. Returns whether a dial started.
   */
  dialNow(peerId: string): boolean {
    if (!this.#running) return false;
    const t = this.#targets.find((x) => x.peerId?.toString() === peerId);
    if (t === undefined || t.disabled || t.dialing || this.#libp2p.getConnections(t.peerId).length > 0) return false;
    this.#timers.clearTimeout(t.timer);
    t.timer = undefined;
    t.dialsNow += 1;
    this.#log.debug({ addr: t.addr.toString(), failures: t.failures }, 'dialing at once');
    void this.#dial(t);
    return true;
  }

  /**
   * Keep `addr` connected too (live membership: a controller the membership record added). Nothing
   * when it names this node or a peer that is a target already. Returns whether it was added.
   */
  addTarget(addr: string): boolean {
    const a = multiaddr(addr);
    const id = a.getPeerId();
    if (id === null || id === this.#libp2p.peerId.toString() || this.#targets.some((t) => t.peerId?.toString() === id)) return false;
    const t: Target = {
      addr: a, peerId: peerIdFromString(id), failures: 0, timer: undefined, dialing: false,
      lastError: undefined, disabled: false, longestDelayMs: 0, dialsNow: 0,
    };
    this.#targets.push(t);
    if (this.#running) this.#schedule(t, 0);
    return true;
  }

  /** State of every target. */
  status(): TargetStatus[] {
    return this.#targets.map((t) => ({
      addr: t.addr.toString(),
      peerId: t.peerId?.toString(),
      connected: t.peerId !== undefined && this.#libp2p.getConnections(t.peerId).length > 0,
      failures: t.failures,
      lastError: t.lastError,
      longestDelayMs: t.longestDelayMs,
      dialsNow: t.dialsNow,
    }));
  }

  /** Backoff delay after `failures` failed dials, before jitter. */
  delayMs(failures: number): number {
    return redialBaseDelayMs(failures, this.#o);
  }

  readonly #onDisconnect = (evt: CustomEvent<PeerId>): void => {
    for (const t of this.#targets) if (t.peerId?.equals(evt.detail) === true) this.#schedule(t, this.#jitter(this.delayMs(t.failures)));
  };

  #jitter(ms: number): number {
    return redialJitteredDelayMs(ms, this.#o, this.#o.random.float());
  }

  #schedule(t: Target, delayMs: number): void {
    if (!this.#running || t.disabled || t.dialing || t.timer !== undefined) return;
    t.longestDelayMs = Math.max(t.longestDelayMs, delayMs);
    t.timer = this.#timers.setTimeout(() => {
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
    const startedMs = this.#timers.nowMs();
    const abort = new AbortController();
    const { dialTimeoutMs, connectTimeoutMs } = this.#o;
    const deadline = this.#timers.setTimeout(() => abort.abort(new DialTimeoutError(`not connected within ${dialTimeoutMs} ms`)), dialTimeoutMs);
    // The TCP connection must open within connectTimeoutMs (the upgrade then has the rest of the
    // dial deadline): a SYN lost in a network that drops packets is sent again by a new dial at
    // once, not after TCP's own 1 s, 2 s, 4 s backoff (see redial-backoff.ts).
    let connectDeadline = connectTimeoutMs === undefined ? undefined
      : this.#timers.setTimeout(() => abort.abort(new DialTimeoutError(`TCP connection not open within ${connectTimeoutMs} ms`)), connectTimeoutMs);
    const onProgress = (evt: { type: string }): void => {
      if (connectDeadline !== undefined && evt.type.startsWith('upgrader:')) {
        this.#timers.clearTimeout(connectDeadline);
        connectDeadline = undefined;
      }
    };
    try {
      const conn = await this.#libp2p.dial(t.addr, { signal: abort.signal, onProgress });
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
      this.#timers.clearTimeout(deadline);
      this.#timers.clearTimeout(connectDeadline);
      t.dialing = false;
    }
    if (t.failures > 0) this.#schedule(t, redialWaitMs(this.#jitter(this.delayMs(t.failures - 1)), this.#timers.nowMs() - startedMs));
  }
}
