// End-to-end liveness of each direct controller link: a ping over every watched connection once per
// heartbeat interval, whether or not the previous ones were answered yet (pipelined over one stream:
// over a link whose round trip is longer than an interval, a proof still comes every interval,
// dated by its sending); a connection that has not
// answered for the contact window is closed, with every other connection to the same peer, and the
// peer is redialed (`onDead`). The rule (when a link is dead) is membership/link-liveness.ts.
//
// A ping's deadline is the contact window itself, not the health check's timeout: a reply that comes
// late (a loaded peer, a slow path) still proves the link alive when it comes, and a ping still
// unanswered after a window is moot, the link being dead by then. With the timeout as deadline, a
// peer answering in 150 ms under load would fail every 100 ms ping and lose a live link.
//
// Why not libp2p's connection monitor: it pings every connection (agents too) from one interval in the
// same tick, on a new stream each time, with an adaptive deadline; that burst is why it is off
// (create-host.ts). Here only controller links are watched (a handful), each over one long-lived ping
// stream (PingChannel: one small frame each way per check), with a fixed deadline.
//
// Why close every connection to the peer when a link that answered pings falls silent: the pair's
// gossip and replication streams may live on any of them, and gossipsub drops a peer whose stream
// breaks without noticing its other connection; a fresh connection re-creates every stream. A
// connection that never answered (still authenticating, say) is closed alone. Why at all: heartbeats relayed by a third member keep a peer
// Healthy in the peer table while the direct link is dead, so nothing else notices a half-open link.

import type { Connection, PeerId } from '@libp2p/interface';
import { GOSSIP_REPAIR_BACKOFF_WINDOWS, gossipSilent } from '../../membership/gossip-silence.ts';
import { LinkTable, type DeadLink } from '../../membership/link-liveness.ts';
import { PING_PROTOCOL, PingChannel } from '../agent/ping-channel.ts';
import { NovaEdgeError } from '../errors.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import type { HostNet } from './host-net.ts';
import type { TimerComponents, TimerHandle } from './timer-components.ts';
import type { RandomSource } from '../components.ts';

/** Why a watched connection was closed; stable code LINK_SILENT. */
export class LinkSilentError extends NovaEdgeError {
  readonly code = 'LINK_SILENT';
}

/** Why a peer's connections were re-made although its link answers: its gossip fell silent; stable code GOSSIP_SILENT. */
export class GossipSilentError extends NovaEdgeError {
  readonly code = 'GOSSIP_SILENT';
}

/** Options of link liveness. */
export interface LinkLivenessOptions {
  /** Whether connections to this peer are watched (authenticated controllers). */
  watches(peerId: PeerId): boolean;
  /** Ping period per connection, milliseconds (the heartbeat interval). */
  intervalMs: number;
  /** A connection unproven this long is closed, milliseconds (the contact window); also a ping's deadline. */
  windowMs: number;
  /** Called after the connections to a peer were closed as dead (redial it). */
  onDead?(peerId: PeerId): void;
  /**
   * When a heartbeat of this peer was last accepted (direct or relayed), on the monotonic clock. Given,
   * a peer whose link answers but whose heartbeats stopped has its connections re-made
   * (membership/gossip-silence.ts).
   */
  heardAtMs?(peerId: PeerId): number | undefined;
  /** Monotonic clock and timers. */
  timers: TimerComponents;
  /** Randomness (ping payloads). */
  random: RandomSource;
  /** Logger (default silent). */
  logger?: Logger;
}

/** Counters of link liveness. */
export interface LinkLivenessCounters {
  /** Pings answered. */
  proofs: number;
  /** Pings that failed, or were still unanswered after the window. */
  probeFailures: number;
  /** Peers whose connections were closed because a link went silent for the contact window. */
  linksClosed: number;
  /** Peers whose connections were re-made because their gossip fell silent over a live link. */
  gossipRepairs: number;
}

/** The host surface used here. */
export type LinkHost = Pick<HostNet, 'getConnections' | 'addEventListener' | 'removeEventListener'>;

interface Watched {
  conn: Connection;
  channel: PingChannel;
  /** When it began to be watched (monotonic). */
  sinceMs: number;
}

/** Pings every watched connection and closes the ones that stay silent for the contact window. */
export class LinkLiveness {
  readonly #host: LinkHost;
  readonly #o: LinkLivenessOptions;
  readonly #timers: TimerComponents;
  readonly #log: Logger;
  readonly #table: LinkTable;
  readonly #watched = new Map<string, Watched>(); // by connection ID
  readonly #counters: LinkLivenessCounters = { proofs: 0, probeFailures: 0, linksClosed: 0, gossipRepairs: 0 };
  // Last gossip repair of each peer (monotonic); entries older than the backoff are dropped.
  readonly #repairedAtMs = new Map<string, number>();
  #timer: TimerHandle | undefined;
  #nextProbeMs = 0;
  #running = false;

  constructor(host: LinkHost, options: LinkLivenessOptions) {
    if (!(options.intervalMs > 0 && options.windowMs > 0)) throw new Error('LinkLiveness: needs intervalMs > 0 and windowMs > 0');
    this.#host = host;
    this.#o = options;
    this.#timers = options.timers;
    this.#log = loggerOrSilent(options.logger).child({ component: 'link-liveness' });
    // Detector steps of at most one interval, as the peer table's: a pause costs a link at most one
    // interval of its window, and this runs at least once per interval.
    this.#table = new LinkTable({ windowMs: options.windowMs, maxStepMs: options.intervalMs });
  }

  /** Start watching (first pings at once). */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#host.addEventListener('connection:close', this.#onClose);
    this.#nextProbeMs = this.#timers.nowMs();
    this.#run();
  }

  /** Stop: timers and ping streams. */
  stop(): void {
    this.#running = false;
    this.#host.removeEventListener('connection:close', this.#onClose);
    this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const id of [...this.#watched.keys()]) this.#forget(id);
  }

  /** Counters. */
  counters(): LinkLivenessCounters {
    return { ...this.#counters };
  }

  /**
   * When a direct connection to `peerId` last proved alive: the sending of the latest ping it
   * answered, on the monotonic clock (a reply read after this node was paused proves nothing later);
   * undefined when no connection to it is watched or none answered yet.
   */
  provenAtMs(peerId: string): number | undefined {
    return this.#table.provenAtMs(peerId);
  }

  /** Watch new connections, close dead ones, ping the rest when a round is due; runs on its timer. */
  check(): void {
    if (!this.#running) return;
    const now = this.#timers.nowMs();
    const open = new Map<string, Connection>();
    for (const c of this.#host.getConnections()) if (c.status === 'open' && this.#o.watches(c.remotePeer)) open.set(c.id, c);
    for (const id of this.#watched.keys()) if (!open.has(id)) this.#forget(id);
    for (const [id, conn] of open) {
      if (this.#watched.has(id)) continue;
      this.#table.opened(id, conn.remotePeer.toString(), now);
      this.#watched.set(id, {
        conn, sinceMs: now,
        // Negotiated lazily (the protocol rides with the first ping): a new connection's first answer
        // then takes one round trip, not two or three, and a slow link can answer within the window
        // (simulation seed 700966: closed as silent and redialled over and over at 190 ms each way).
        channel: new PingChannel((signal) => conn.newStream(PING_PROTOCOL, { signal, negotiateFully: false, runOnLimitedConnection: true }), { timers: this.#timers, random: this.#o.random }),
      });
    }
    for (const d of this.#table.takeDead(now)) this.#closeDead(d);
    if (this.#o.heardAtMs !== undefined) this.#repairSilentGossip(now, this.#o.heardAtMs);
    if (now >= this.#nextProbeMs) {
      this.#nextProbeMs = now + this.#o.intervalMs;
      for (const [id, w] of this.#watched) this.#probe(id, w);
    }
  }

  #run(): void {
    this.check();
    if (!this.#running) return;
    const now = this.#timers.nowMs();
    const wakeMs = Math.min(this.#nextProbeMs, this.#table.nextDeadlineMs() ?? Infinity);
    this.#timers.clearTimeout(this.#timer);
    this.#timer = this.#timers.setTimeout(() => this.#run(), Math.max(0, Math.ceil(wakeMs - now)));
  }

  // Each ping has the window as its deadline, so at most window / interval + 1 are in flight per link.
  #probe(id: string, w: Watched): void {
    const abort = new AbortController();
    const deadline = this.#timers.setTimeout(() => abort.abort(new LinkSilentError(`no ping reply within ${this.#o.windowMs} ms`)), this.#o.windowMs);
    const sentAtMs = this.#timers.nowMs();
    w.channel.rttMs(abort.signal).then(
      () => {
        this.#counters.proofs += 1;
        if (this.#watched.get(id) === w) this.#table.proven(id, this.#timers.nowMs(), sentAtMs);
      },
      (err: unknown) => {
        this.#counters.probeFailures += 1;
        this.#log.debug({ peer: w.conn.remotePeer.toString(), err: String(err) }, 'link ping failed');
      },
    ).finally(() => {
      this.#timers.clearTimeout(deadline);
    });
  }

  #closeDead(d: DeadLink): void {
    const w = this.#watched.get(d.link);
    if (w === undefined) return;
    const peer = w.conn.remotePeer;
    this.#counters.linksClosed += 1;
    this.#log.warn({ peer: d.peer, silentMs: Math.round(d.silentMs), windowMs: this.#o.windowMs, answeredBefore: d.answered },
      'controller link silent for the contact window; closing it and redialing');
    const err = new LinkSilentError(`no ping answered for ${Math.round(d.silentMs)} ms (contact window ${this.#o.windowMs} ms)`);
    this.#forget(d.link);
    this.#closeAndRedial(peer, d.answered ? this.#host.getConnections(peer) : [w.conn], err);
  }

  // Closes `conns` (connections to `peer`) with `err` and hands the peer to onDead to redial.
  #closeAndRedial(peer: PeerId, conns: readonly Connection[], err: Error): void {
    for (const c of conns) {
      this.#forget(c.id);
      c.abort(err);
    }
    try {
      this.#o.onDead?.(peer);
    } catch (e) {
      this.#log.error({ err: e }, 'link liveness onDead threw');
    }
  }

  // Peers whose link answers while their heartbeats stopped (membership/gossip-silence.ts): close their
  // connections and redial, so that gossip peers again over the new one.
  #repairSilentGossip(now: number, heardAtMs: (peerId: PeerId) => number | undefined): void {
    const newest = new Map<string, Watched>();
    for (const w of this.#watched.values()) {
      const peer = w.conn.remotePeer.toString();
      const seen = newest.get(peer);
      if (seen === undefined || w.sinceMs > seen.sinceMs) newest.set(peer, w);
    }
    // A repair older than the backoff no longer matters: forget it (bounded by the peers watched since).
    for (const [peer, at] of this.#repairedAtMs) if (now - at >= GOSSIP_REPAIR_BACKOFF_WINDOWS * this.#o.windowMs) this.#repairedAtMs.delete(peer);
    for (const [peer, w] of newest) {
      const remote = w.conn.remotePeer;
      const input = {
        nowMs: now, windowMs: this.#o.windowMs, provenAtMs: this.#table.provenAtMs(peer), heardAtMs: heardAtMs(remote),
        newestConnectionMs: w.sinceMs, lastRepairMs: this.#repairedAtMs.get(peer),
      };
      if (!gossipSilent(input)) continue;
      this.#repairedAtMs.set(peer, now);
      this.#counters.gossipRepairs += 1;
      const silentMs = input.heardAtMs === undefined ? undefined : Math.round(now - input.heardAtMs);
      this.#log.warn({ peer, silentMs }, 'controller link answers but its heartbeats stopped (gossip lost with another connection); re-making the link');
      const err = new GossipSilentError(`no heartbeat from ${peer} for ${silentMs ?? 'ever'} ms over a live link`);
      this.#closeAndRedial(remote, this.#host.getConnections(remote), err);
    }
  }

  #forget(id: string): void {
    const w = this.#watched.get(id);
    this.#watched.delete(id);
    this.#table.closed(id);
    w?.channel.close();
  }

  readonly #onClose = (evt: CustomEvent<Connection>): void => {
    this.#forget(evt.detail.id);
  };
}
