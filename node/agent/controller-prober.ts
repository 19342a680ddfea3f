// Health checks of an agent's controllers: one libp2p ping per controller per period, each with a
// deadline, at a fixed cadence (a controller that stops answering costs one period per failed check,
// not a period plus a deadline). The period is the health-check interval for the controller followed
// now and the reachability-probe interval for the others. A controller whose connection comes up or
// drops is checked at once. Verdicts go to the caller (the pure ControllerSelector decides).
// Controllers are added (learned from the membership record) and removed (denied) while it runs: a
// removed one is not checked again, and a check of it in flight reports nothing.
import { peerIdFromString } from '@libp2p/peer-id';
import { timeoutSignal, type RandomSource, type TimerComponents, type TimerHandle } from '../components.ts';
import type { MembershipNode } from '../membership/membership-node.ts';
import { PING_PROTOCOL, PingChannel } from './ping-channel.ts';

// How much earlier than its period a check may run (see #check).
const PROBE_JITTER_FRACTION = 0.1;

/** What a check found. */
export type CheckVerdict =
  | { ok: true; rttMs: number; member: string }
  | { ok: false }
  /** Never connected yet and the first dial still under way: nothing can be concluded. */
  | { ok: undefined };

/** What the prober needs. */
export interface ControllerProberOptions {
  membership: MembershipNode;
  /** Peer IDs of the configured controllers (more come with `add`). */
  controllers: string[];
  /** Deadline of one check, ms. */
  timeoutMs: number;
  /** Period of the next check of `peerId`, ms (it depends on whether it is followed now). */
  periodMs(peerId: string): number;
  /** A check finished. */
  onVerdict(peerId: string, verdict: CheckVerdict): void;
  /** The node's monotonic clock and timers (cadence, deadlines, round trips). */
  timers: TimerComponents;
  /** The node's randomness (the cadence's jitter, ping payloads). */
  random: RandomSource;
}

export class ControllerProber {
  readonly #o: ControllerProberOptions;
  // Peer IDs checked now: the configured controllers, plus those added, less those removed.
  readonly #controllers: Set<string>;
  readonly #timers = new Map<string, TimerHandle>();
  readonly #inFlight = new Set<string>();
  readonly #everConnected = new Set<string>();
  // One long-lived ping stream per controller (see ping-channel.ts).
  readonly #channels = new Map<string, PingChannel>();
  readonly #stop = new AbortController();
  readonly #offs: Array<() => void> = [];
  #started = false;

  constructor(o: ControllerProberOptions) {
    this.#o = o;
    this.#controllers = new Set(o.controllers);
  }

  /** Peer IDs checked now. */
  get controllers(): string[] {
    return [...this.#controllers];
  }

  /** Check `peerId` too, now (if started) and then on its cadence; false when it is checked already. */
  add(peerId: string): boolean {
    if (this.#controllers.has(peerId)) return false;
    this.#controllers.add(peerId);
    if (this.#started) this.#schedule(peerId, 0);
    return true;
  }

  /** Stop checking `peerId` (a check in flight reports nothing); false when it was not checked. */
  remove(peerId: string): boolean {
    if (!this.#controllers.delete(peerId)) return false;
    this.#o.timers.clearTimeout(this.#timers.get(peerId));
    this.#timers.delete(peerId);
    this.#channels.get(peerId)?.close();
    this.#channels.delete(peerId);
    return true;
  }

  /** Check every controller now, then on its cadence. */
  start(): void {
    this.#started = true;
    for (const id of this.#controllers) this.#schedule(id, 0);
    const now = (p: { peerId: string }): void => {
      if (this.#controllers.has(p.peerId)) this.#schedule(p.peerId, 0);
    };
    const gone = (p: { peerId: string }): void => {
      // Its connection is gone, and the ping stream with it.
      this.#channels.get(p.peerId)?.close();
      now(p);
    };
    this.#offs.push(this.#o.membership.auth.on('authenticated', now), this.#o.membership.auth.on('deauthenticated', gone));
  }

  /** Stop checking; checks in flight end at their deadline and report nothing. */
  stop(): void {
    this.#stop.abort();
    for (const off of this.#offs.splice(0)) off();
    for (const t of this.#timers.values()) this.#o.timers.clearTimeout(t);
    this.#timers.clear();
    for (const c of this.#channels.values()) c.close();
    this.#channels.clear();
  }

  #schedule(peerId: string, delayMs: number): void {
    if (this.#stop.signal.aborted || !this.#controllers.has(peerId)) return;
    this.#o.timers.clearTimeout(this.#timers.get(peerId));
    this.#timers.set(peerId, this.#o.timers.setTimeout(() => void this.#check(peerId), delayMs));
  }

  #channel(peerId: string): PingChannel {
    let c = this.#channels.get(peerId);
    if (c === undefined) {
      const id = peerIdFromString(peerId);
      // Opened lazily (negotiateFully: false): the protocol is negotiated along with the first ping,
      // so the first check on a new connection takes one round trip, not two. With two, a link whose
      // round trip was over half the check deadline failed every first check, and every connection
      // was hung up as dead after failureThreshold of them (simulation seed 700907: a link of
      // 104-128 ms round trip, a 200 ms deadline, the agent Autonomous for 10 s beside a live controller).
      c = new PingChannel((signal) => this.#o.membership.libp2p.dialProtocol(id, PING_PROTOCOL, { signal, negotiateFully: false }), { timers: this.#o.timers, random: this.#o.random });
      this.#channels.set(peerId, c);
    }
    return c;
  }

  async #check(peerId: string): Promise<void> {
    if (this.#inFlight.has(peerId) || !this.#controllers.has(peerId)) return;
    this.#inFlight.add(peerId);
    const startedMs = this.#o.timers.nowMs();
    try {
      const m = this.#o.membership;
      const peer = m.authenticatedPeers().find((p) => p.peerId === peerId && p.role === 'controller');
      let verdict: CheckVerdict;
      if (peer === undefined) {
        // Before the first connection to a controller has been made or refused, a missing
        // connection says nothing about it yet (the dial may still be under way).
        const dialing = !this.#everConnected.has(peerId) && (m.reconnectStatus().find((s) => s.peerId === peerId)?.failures ?? 1) === 0;
        verdict = dialing ? { ok: undefined } : { ok: false };
      } else {
        this.#everConnected.add(peerId);
        const rttMs = await this.#channel(peerId).rttMs(AbortSignal.any([this.#stop.signal, timeoutSignal(this.#o.timers, this.#o.timeoutMs)]))
          .catch(() => undefined);
        verdict = rttMs === undefined ? { ok: false } : { ok: true, rttMs, member: peer.member };
      }
      if (!this.#stop.signal.aborted && this.#controllers.has(peerId)) this.#o.onVerdict(peerId, verdict);
    } finally {
      this.#inFlight.delete(peerId);
      // Up to a tenth of the period early, at random: agents started together (many in one
      // process, or a fleet back after an outage) spread their checks instead of probing every
      // controller in the same instant each period. Never late, so failover bounds hold.
      const periodMs = this.#o.periodMs(peerId) * (1 - PROBE_JITTER_FRACTION * this.#o.random.float());
      this.#schedule(peerId, Math.max(0, startedMs + periodMs - this.#o.timers.nowMs()));
    }
  }
}
