// The liveness rule of direct links between controllers, as a pure state machine.
//
// A link is one connection to a peer. It is proven alive when it is first watched (its handshake and
// authentication have just completed over it) and whenever a ping sent over that very connection is
// answered. A link unproven for the contact window is dead: the caller closes it and dials again.
// Relayed traffic (gossip forwarded by a third member) proves nothing about a link, so a half-open
// connection, open at both ends while its packets are lost, cannot pass for a live one.
//
// The contact window is the failure detector's own bound (failureThreshold × interval + timeout,
// failure-detector.ts): a link is given up at the moment a silent member would be called Unhealthy.
//
// Time is detector time (detector-clock.ts): a stall of the caller (GC, a stopped VM) advances it by
// at most maxStepMs, so the caller's own pause cannot condemn every link at once; the replies that
// queued up during the pause are read right after it.

import { DetectorClock } from './detector-clock.ts';
import type { HealthCheckOptions } from './health-check.ts';

/**
 * How long a silent peer still counts as reached: failureThreshold × intervalMs + timeoutMs, the
 * moment the failure detector would call it Unhealthy.
 */
export function healthContactWindowMs(hc: Pick<HealthCheckOptions, 'intervalMs' | 'timeoutMs' | 'failureThreshold'>): number {
  return hc.failureThreshold * hc.intervalMs + hc.timeoutMs;
}

/** Options of a link table. */
export interface LinkTableOptions {
  /** A link unproven this long is dead (the contact window), milliseconds. */
  windowMs: number;
  /** Largest single advance of detector time (default windowMs / 2; see detector-clock.ts). */
  maxStepMs?: number;
}

/** A link found dead. */
export interface DeadLink {
  /** The link (connection) ID. */
  link: string;
  /** Its peer. */
  peer: string;
  /** How long it went unproven, detector milliseconds (at least the window). */
  silentMs: number;
  /**
   * Whether it ever answered a ping. One that did and fell silent is half-open: the path to the peer
   * is suspect and the caller drops every connection to it. One that never did (a connection still
   * authenticating, say) says less; the caller drops that connection alone.
   */
  answered: boolean;
}

interface Entry {
  peer: string;
  answered: boolean;
  provenAtMs: number; // detector time
  provenAtInputMs: number | undefined; // caller's clock, for provenAtMs(peer); undefined until a ping is answered
}

/** Direct links and when each was last proven alive. */
export class LinkTable {
  readonly windowMs: number;
  readonly #clock: DetectorClock;
  readonly #links = new Map<string, Entry>();

  constructor(options: LinkTableOptions) {
    if (!(Number.isFinite(options.windowMs) && options.windowMs > 0)) throw new Error('LinkTable: windowMs must be > 0');
    this.windowMs = options.windowMs;
    // Half the window: a pause can cost a link at most half its window, never all of it.
    this.#clock = new DetectorClock(options.maxStepMs ?? options.windowMs / 2);
  }

  /** Links watched. */
  get size(): number {
    return this.#links.size;
  }

  /** Whether `link` is watched. */
  has(link: string): boolean {
    return this.#links.has(link);
  }

  /**
   * Start watching `link` to `peer`; being new, it is given a whole window from now before it is called
   * dead. A known link is left as it is. Opening is no proof for `provenAtMs(peer)`: the link may have
   * been authenticated long before it is first watched (the caller paused in between), so only an
   * answered ping proves it.
   */
  opened(link: string, peer: string, nowMs: number): void {
    const t = this.#clock.advance(nowMs);
    if (!this.#links.has(link)) this.#links.set(link, { peer, answered: false, provenAtMs: t, provenAtInputMs: undefined });
  }

  /**
   * A ping over `link`, sent at `sentAtMs`, was answered at `nowMs`. Unknown links (closed meanwhile)
   * are ignored. The peer answered somewhere between the two: the link is kept open from the answer
   * (detector time, so a reply read right after our own pause saves the link), but the proof
   * `provenAtMs(peer)` reports (what the write fence counts contact by) is the send: a reply that
   * queued up while we were paused was sent before the pause, perhaps before a cut, and must not
   * restart the contact window.
   */
  proven(link: string, nowMs: number, sentAtMs: number = nowMs): void {
    const t = this.#clock.advance(nowMs);
    const e = this.#links.get(link);
    if (e === undefined) return;
    e.answered = true;
    e.provenAtMs = t;
    e.provenAtInputMs = Math.max(e.provenAtInputMs ?? -Infinity, Math.min(sentAtMs, nowMs));
  }

  /** Stop watching `link` (closed). */
  closed(link: string): void {
    this.#links.delete(link);
  }

  /** Links unproven for the window, which stop being watched: the caller closes them. */
  takeDead(nowMs: number): DeadLink[] {
    const t = this.#clock.advance(nowMs);
    const dead: DeadLink[] = [];
    for (const [link, e] of this.#links) {
      if (t - e.provenAtMs >= this.windowMs) dead.push({ link, peer: e.peer, silentMs: t - e.provenAtMs, answered: e.answered });
    }
    for (const d of dead) this.#links.delete(d.link);
    return dead;
  }

  /** When the next link goes dead unless proven first, caller's clock; undefined without links. */
  nextDeadlineMs(): number | undefined {
    let earliest = Infinity;
    for (const e of this.#links.values()) earliest = Math.min(earliest, e.provenAtMs + this.windowMs);
    return earliest === Infinity ? undefined : this.#clock.toInputMs(earliest);
  }

  /** The latest proof of any watched link to `peer` (an answered ping's send), caller's clock; undefined when none is watched or answered yet. */
  provenAtMs(peer: string): number | undefined {
    let latest: number | undefined;
    for (const e of this.#links.values()) {
      if (e.peer === peer && e.provenAtInputMs !== undefined && (latest === undefined || e.provenAtInputMs > latest)) latest = e.provenAtInputMs;
    }
    return latest;
  }
}
