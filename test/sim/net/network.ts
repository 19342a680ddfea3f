// The simulated network: every node's host, the sockets between them, latency, and faults, all
// driven by the scheduler (virtual time) and one seeded random stream. The ideas are TigerBeetle's
// packet simulator (src/testing/packet_simulator.zig: per-path delay as a minimum plus an exponential,
// loss, replay, partitions of any subset, symmetric or not), applied to TCP-like connections:
//
// - A dial is a SYN (resent after 1 s, 2 s, 4 s... as TCP does, until the dial's deadline), a SYN-ACK,
//   then a Noise-like handshake on the new socket (hello, accept with the listener's peer ID, finish
//   with the dialer's). The dialer's connection opens on `accept`, the listener's on `finish`; the
//   connection gater (HostOptions.isDenied) is asked on both sides, as libp2p does after Noise. A
//   listener that is not there answers RST (refused at once) if its machine is up, nothing if it is
//   down (the dial waits for its deadline).
// - A socket is two pipes. A pipe delivers frames in order after each frame's latency (like TCP, a
//   late frame holds back the ones after it), except gossip datagrams, which the link profile may
//   drop, duplicate or delay past others (reorder).
// - A cut (one way, or any partition of node sets) stops delivery in its direction: a SYN across it
//   is lost (mode 'silent': the dial waits for its deadline) or refused at once (mode 'refuse'); bytes
//   of existing connections are held, in order, without any close, and delivered once the cut heals,
//   as TCP retransmission would deliver them.
// - resetConnections(a, b): both ends fail at once (RST). halfOpen(open, closed): `closed` believes
//   the connection is gone, `open` keeps it, and whatever it sends is lost without a reset (a
//   stateful middlebox that forgot the connection).
// - crash(name): the node's process dies: its timers never fire, its listener is gone, its
//   connections vanish without a close; peers see silence ('silence', the machine is down: their
//   bytes go nowhere until it reboots, then they are answered with RST) or a reset ('reset', kill -9
//   on a live machine: the kernel resets every connection).
// - pause(name)/resume(name): SIGSTOP/SIGCONT (scheduler.pause): deliveries to it queue up.

import { TimeoutError, UnexpectedPeerError, type PeerId } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import type { HostOptions } from '../../../node/host/create-host.ts';
import type { TimerHandle } from '../../../node/components.ts';
import type { Scheduler } from '../scheduler.ts';
import type { SimRandom } from '../random.ts';
import { ConnectionResetError, SimConnection } from './connection.ts';
import { describeFrame, type Frame } from './frames.ts';
import { DialDeniedError, SimHost, type DialOptions, type HostNetwork } from './host.ts';

/** Delay and datagram faults of one direction between two nodes. */
export interface LinkProfile {
  /** Least one-way delay, ms. */
  latencyMinMs: number;
  /** Mean of the exponentially distributed delay added to the minimum (jitter), ms. */
  jitterMeanMs: number;
  /** When set: delays are uniform in [latencyMinMs, latencyMaxMs] instead (jitterMeanMs unused). */
  latencyMaxMs?: number | undefined;
  /** Probability that a gossip datagram (a message RPC) is lost. */
  gossipDropRate: number;
  /** Probability that a gossip datagram is delivered twice. */
  gossipDupRate: number;
  /** Probability that a gossip datagram is delayed by an extra exponential delay (so reordered). */
  gossipReorderRate: number;
  /** Mean of that extra delay, ms. */
  gossipReorderMeanMs: number;
}

/** A LAN: about half a millisecond one way, no datagram faults. */
export const LINK_PROFILE_DEFAULT: Readonly<LinkProfile> = Object.freeze({
  latencyMinMs: 0.2, jitterMeanMs: 0.3, gossipDropRate: 0, gossipDupRate: 0, gossipReorderRate: 0, gossipReorderMeanMs: 20,
});

/** How a cut treats new connections: SYNs lost ('silent') or refused at once ('refuse'). */
export type CutMode = 'silent' | 'refuse';
/** One node name or several. */
export type Names = string | readonly string[];

/** TCP's first SYN retransmission timeout, ms (doubling after each). */
export const SYN_RTO_INITIAL_MS = 1_000;
/** SYN retransmissions before connect gives up (Linux tcp_syn_retries). */
export const SYN_RETRIES_MAX = 6;

/** Options of a network. */
export interface SimNetworkOptions {
  /** Link profile of every pair not set otherwise (default LINK_PROFILE_DEFAULT). */
  link?: Partial<LinkProfile>;
}

/** Counters of a network. */
export interface SimNetworkStats {
  dialsStarted: number;
  dialsSucceeded: number;
  dialsFailed: number;
  synsSent: number;
  /** SYNs (and SYN-ACKs) lost in a cut or to a machine that is down. */
  packetsLost: number;
  framesSent: number;
  framesDelivered: number;
  /** Frames held by a cut (delivered after it heals, if their connection still exists). */
  framesHeld: number;
  /** Frames that reached an end that no longer exists. */
  framesToDeadEnds: number;
  /** Frames lost on silenced connections. */
  framesSilenced: number;
  gossipDropped: number;
  gossipDuplicated: number;
  gossipReordered: number;
  /** Connections refused by a gater (inbound or outbound). */
  gaterRefusals: number;
}

type SideState = 'handshake' | 'open' | 'closed' | 'gone';

interface Side {
  readonly name: string;
  readonly host: SimHost;
  readonly socket: Socket;
  conn: SimConnection | undefined;
  state: SideState;
  /** When gone: whether the machine answers bytes for it with RST (when up). */
  rstOnData: boolean;
  out: Pipe;
}

interface HeldFrame {
  frame: Frame;
  /** Position in the pipe's byte stream; undefined for gossip datagrams. */
  seq: number | undefined;
}

interface Pipe {
  readonly from: Side;
  readonly to: Side;
  /** Arrival time of the last ordered frame scheduled (a later frame never arrives before it). */
  lastAt: number;
  nextSeq: number;
  expected: number;
  /** Frames that arrived ahead of an earlier one still travelling. */
  early: Map<number, Frame>;
  held: HeldFrame[];
}

interface Socket {
  readonly id: number;
  readonly dialer: Side;
  readonly listener: Side;
  readonly attempt: Attempt;
  /** Everything it carries is lost from now on, without a word to either end. */
  silenced?: boolean;
}

interface Attempt {
  readonly id: number;
  readonly host: SimHost;
  readonly target: string;
  readonly expect: string | undefined;
  readonly onProgress: DialOptions['onProgress'];
  done: boolean;
  established: boolean;
  socket: Socket | undefined;
  tries: number;
  rtoMs: number;
  synTimer: TimerHandle | undefined;
  settle(conn: SimConnection | undefined, err?: Error): void;
}

/** A connect refused (RST to a SYN, or a cut in 'refuse' mode); code ECONNREFUSED. */
export class ConnectionRefusedError extends Error {
  readonly code = 'ECONNREFUSED';
  override readonly name = 'ConnectionRefusedError';
}

const key = (from: string, to: string): string => `${from}\u0000${to}`;
const list = (n: Names): readonly string[] => (typeof n === 'string' ? [n] : n);

/** The simulated network. */
export class SimNetwork implements HostNetwork {
  readonly scheduler: Scheduler;
  readonly #rand: SimRandom;
  #defaultLink: LinkProfile;
  // Per pair, only the fields set for it: the rest follow the default as it changes (a pair slowed
  // while the default was lossy must not keep that loss once the default is clean again).
  readonly #links = new Map<string, Partial<LinkProfile>>();
  readonly #cuts = new Map<string, CutMode>();
  readonly #hosts = new Map<string, SimHost>();
  readonly #listeners = new Map<string, SimHost>();
  readonly #machineDown = new Set<string>();
  readonly #sockets = new Set<Socket>();
  readonly #attempts = new Set<Attempt>();
  readonly #heldPipes = new Set<Pipe>();
  readonly #sideOf = new WeakMap<SimConnection, Side>();
  readonly #pendingDials = new Map<string, Promise<SimConnection>>();
  #nextSocketId = 1;
  #nextAttemptId = 1;
  readonly #stats: SimNetworkStats = {
    dialsStarted: 0, dialsSucceeded: 0, dialsFailed: 0, synsSent: 0, packetsLost: 0, framesSent: 0, framesDelivered: 0,
    framesHeld: 0, framesToDeadEnds: 0, framesSilenced: 0, gossipDropped: 0, gossipDuplicated: 0, gossipReordered: 0, gaterRefusals: 0,
  };

  constructor(scheduler: Scheduler, options: SimNetworkOptions = {}) {
    this.scheduler = scheduler;
    this.#rand = scheduler.random.fork('net');
    this.#defaultLink = { ...LINK_PROFILE_DEFAULT, ...options.link };
  }

  // ---- hosts ------------------------------------------------------------------------------------

  /** A new host for node `name` (its previous host, if any, must be stopped or crashed). */
  createHost(name: string, options: HostOptions): SimHost {
    const old = this.#hosts.get(name);
    if (old !== undefined && old.status === 'started') throw new Error(`node ${name} still has a running host: stop or crash it first`);
    const host = new SimHost(this, name, options);
    this.#hosts.set(name, host);
    this.#machineDown.delete(name);
    return host;
  }

  /** The current host of `name`. */
  host(name: string): SimHost | undefined {
    return this.#hosts.get(name);
  }

  /** Names of every node that ever had a host, in creation order. */
  names(): string[] {
    return [...this.#hosts.keys()];
  }

  /** Open connections between `a` and `b`, as [a's end, b's end] (an end is undefined when missing). */
  connectionsBetween(a: string, b: string): Array<[SimConnection | undefined, SimConnection | undefined]> {
    const out: Array<[SimConnection | undefined, SimConnection | undefined]> = [];
    for (const s of this.#sockets) {
      const [x, y] = s.dialer.name === a && s.listener.name === b ? [s.dialer, s.listener]
        : s.dialer.name === b && s.listener.name === a ? [s.listener, s.dialer] : [undefined, undefined];
      if (x === undefined || y === undefined) continue;
      const xa = x.state === 'open' ? x.conn : undefined;
      const yb = y.state === 'open' ? y.conn : undefined;
      if (xa !== undefined || yb !== undefined) out.push([xa, yb]);
    }
    return out;
  }

  stats(): SimNetworkStats {
    return { ...this.#stats };
  }

  listen(host: SimHost): void {
    this.#listeners.set(host.name, host);
  }

  unlisten(host: SimHost): void {
    if (this.#listeners.get(host.name) === host) this.#listeners.delete(host.name);
  }

  wallMsOf(name: string): number {
    return this.scheduler.wallMsOf(name);
  }

  isUp(name: string): boolean {
    return this.scheduler.isUp(name);
  }

  connectionClosed(_host: SimHost, conn: SimConnection): void {
    const side = this.#sideOf.get(conn);
    if (side === undefined) return;
    if (side.state === 'open' || side.state === 'handshake') side.state = 'closed';
    this.#retire(side.socket);
  }

  #retire(s: Socket): void {
    const live = (x: Side): boolean => x.state === 'open' || x.state === 'handshake';
    if (!live(s.dialer) && !live(s.listener)) this.#sockets.delete(s);
  }

  // ---- links and cuts ---------------------------------------------------------------------------

  /** The profile of every pair without its own. */
  setDefaultLink(p: Partial<LinkProfile>): void {
    this.#defaultLink = { ...this.#defaultLink, ...p };
    this.scheduler.note(`link * ${JSON.stringify(p)}`);
  }

  /** The profile from each of `from` to each of `to` (one way). */
  setLink(from: Names, to: Names, p: Partial<LinkProfile>): void {
    for (const f of list(from)) for (const t of list(to)) if (f !== t) this.#links.set(key(f, t), { ...this.#links.get(key(f, t)), ...p });
    this.scheduler.note(`link ${list(from).join(',')}>${list(to).join(',')} ${JSON.stringify(p)}`);
  }

  /** The profile in force from `from` to `to`: the default, with what was set for that pair over it. */
  linkProfile(from: string, to: string): LinkProfile {
    return this.#link(from, to);
  }

  #link(from: string, to: string): LinkProfile {
    const own = this.#links.get(key(from, to));
    return own === undefined ? this.#defaultLink : { ...this.#defaultLink, ...own };
  }

  /** Cut delivery from each of `from` to each of `to` (one way). */
  cut(from: Names, to: Names, options: { mode?: CutMode } = {}): void {
    const mode = options.mode ?? 'silent';
    for (const f of list(from)) for (const t of list(to)) if (f !== t) this.#cuts.set(key(f, t), mode);
    this.scheduler.note(`cut ${list(from).join(',')}>${list(to).join(',')} ${mode}`);
  }

  /** Cut every pair of nodes in different groups, both ways. */
  partition(groups: readonly Names[], options: { mode?: CutMode } = {}): void {
    for (let i = 0; i < groups.length; i++) {
      for (let j = 0; j < groups.length; j++) if (i !== j) this.cut(groups[i]!, groups[j]!, options);
    }
  }

  /** Cut `name` from every other node (known now) both ways. */
  isolate(name: string, options: { mode?: CutMode } = {}): void {
    this.partition([[name], this.names().filter((n) => n !== name)], options);
  }

  /** Heal cuts from `from` to `to` (one way; default every cut), and deliver what they held. */
  heal(from?: Names, to?: Names): void {
    if (from === undefined && to === undefined) {
      this.#cuts.clear();
      this.scheduler.note('heal all');
    } else {
      const fs = from === undefined ? undefined : new Set(list(from));
      const ts = to === undefined ? undefined : new Set(list(to));
      for (const k of [...this.#cuts.keys()]) {
        const [f, t] = k.split('\u0000') as [string, string];
        if ((fs === undefined || fs.has(f)) && (ts === undefined || ts.has(t))) this.#cuts.delete(k);
      }
      this.scheduler.note(`heal ${from === undefined ? '*' : list(from).join(',')}>${to === undefined ? '*' : list(to).join(',')}`);
    }
    this.#flushHeld();
  }

  /** Heal both ways between `a` and `b` (node sets). */
  healBetween(a: Names, b: Names): void {
    this.heal(a, b);
    this.heal(b, a);
  }

  /** Whether delivery from `from` to `to` is cut now. */
  isCut(from: string, to: string): boolean {
    return this.#cuts.has(key(from, to));
  }

  /** Every cut now, as `from>to` strings. */
  cuts(): string[] {
    return [...this.#cuts.keys()].map((k) => k.replace('\u0000', '>'));
  }

  #flushHeld(): void {
    for (const pipe of [...this.#heldPipes]) {
      if (this.isCut(pipe.from.name, pipe.to.name)) continue;
      this.#heldPipes.delete(pipe);
      const held = pipe.held.splice(0);
      for (const h of held) this.#scheduleOrdered(pipe, h.frame, h.seq);
    }
  }

  // ---- faults on connections and nodes ----------------------------------------------------------

  /** Reset every connection between `a` and `b` now: both ends fail with ECONNRESET. */
  resetConnections(a: string, b: string): void {
    this.scheduler.note(`reset ${a}<>${b}`);
    for (const s of [...this.#sockets]) {
      if (!((s.dialer.name === a && s.listener.name === b) || (s.dialer.name === b && s.listener.name === a))) continue;
      for (const side of [s.dialer, s.listener]) {
        if (side.state === 'open') side.conn?.remoteReset(new ConnectionResetError('connection reset (fault)'));
        else if (side.state === 'handshake') side.state = 'closed';
      }
      if (!s.attempt.done) this.#fail(s.attempt, new ConnectionResetError('connection reset during handshake (fault)'));
      this.#retire(s);
    }
  }

  /**
   * Silence every connection between `a` and `b` now: whatever they carry, either way, is lost from
   * now on and neither end is told (a firewall that drops established flows). Both ends stay open
   * until their own timeouts close them; new connections work.
   */
  silence(a: string, b: string): void {
    this.scheduler.note(`silence ${a}<>${b}`);
    for (const s of this.#sockets) {
      if ((s.dialer.name === a && s.listener.name === b) || (s.dialer.name === b && s.listener.name === a)) s.silenced = true;
    }
  }

  /**
   * Leave every connection between `openEnd` and `closedEnd` half-open: `closedEnd` sees it close
   * (connection:close), `openEnd` sees nothing, and what `openEnd` sends is lost without a reset.
   */
  halfOpen(openEnd: string, closedEnd: string): void {
    this.scheduler.note(`half-open ${openEnd} (open) ${closedEnd} (closed)`);
    for (const s of [...this.#sockets]) {
      const side = s.dialer.name === closedEnd && s.listener.name === openEnd ? s.dialer
        : s.listener.name === closedEnd && s.dialer.name === openEnd ? s.listener : undefined;
      if (side === undefined || side.state !== 'open') continue;
      const conn = side.conn;
      side.state = 'gone';
      side.rstOnData = false;
      conn?.forget(new ConnectionResetError('connection closed (half-open fault)'));
    }
  }

  /**
   * Crash `name`'s process now. Peers see 'silence' (default: the machine is down until the node's
   * next host is created; bytes to it are lost, then answered with RST) or a 'reset' of every
   * connection (the machine stays up; its kernel resets them and refuses new ones).
   */
  crash(name: string, options: { peersSee?: 'silence' | 'reset' } = {}): void {
    const mode = options.peersSee ?? 'silence';
    this.scheduler.note(`crash ${name} peers see ${mode}`);
    this.scheduler.crash(name);
    if (mode === 'silence') this.#machineDown.add(name);
    const host = this.#hosts.get(name);
    if (host !== undefined) {
      this.unlisten(host);
      host.die();
    }
    for (const a of this.#attempts) {
      if (a.host.name === name) {
        a.done = true;
        this.#attempts.delete(a);
      }
    }
    // Its dials in flight die with it (they never settle): the next incarnation's dials must not join them.
    for (const k of [...this.#pendingDials.keys()]) if (k.startsWith(`${name}>`)) this.#pendingDials.delete(k);
    for (const s of [...this.#sockets]) {
      for (const side of [s.dialer, s.listener]) {
        if (side.name !== name || side.state === 'closed' || side.state === 'gone') continue;
        const wasOpen = side.state === 'open' || side.state === 'handshake';
        side.state = 'gone';
        side.rstOnData = true;
        if (mode === 'reset' && wasOpen) this.#transmit(side.out, { k: 'rst' });
      }
    }
  }

  /** SIGSTOP `name` (its deliveries and timers wait). */
  pause(name: string): void {
    this.scheduler.pause(name);
  }

  /** SIGCONT `name`. */
  resume(name: string): void {
    this.scheduler.resume(name);
  }

  // ---- frames -----------------------------------------------------------------------------------

  #latency(p: LinkProfile): number {
    if (p.latencyMaxMs !== undefined) return this.#rand.between(p.latencyMinMs, Math.max(p.latencyMinMs, p.latencyMaxMs));
    return p.latencyMinMs + this.#rand.exponential(p.jitterMeanMs);
  }

  #transmit(pipe: Pipe, frame: Frame, datagram = false): void {
    this.#stats.framesSent += 1;
    if (!datagram) {
      const seq = pipe.nextSeq;
      pipe.nextSeq += 1;
      this.#scheduleOrdered(pipe, frame, seq);
      return;
    }
    const p = this.#link(pipe.from.name, pipe.to.name);
    if (this.#rand.chance(p.gossipDropRate)) {
      this.#stats.gossipDropped += 1;
      this.scheduler.note(`lost ${pipe.from.name}>${pipe.to.name} ${describeFrame(frame)}`);
      return;
    }
    const copies = this.#rand.chance(p.gossipDupRate) ? 2 : 1;
    if (copies === 2) this.#stats.gossipDuplicated += 1;
    for (let i = 0; i < copies; i++) {
      let d = this.#latency(p);
      if (this.#rand.chance(p.gossipReorderRate)) {
        d += this.#rand.exponential(p.gossipReorderMeanMs);
        this.#stats.gossipReordered += 1;
      }
      this.#scheduleArrival(pipe, frame, undefined, this.scheduler.nowMs() + d);
    }
  }

  #scheduleOrdered(pipe: Pipe, frame: Frame, seq: number | undefined): void {
    const at = Math.max(this.scheduler.nowMs() + this.#latency(this.#link(pipe.from.name, pipe.to.name)), pipe.lastAt);
    pipe.lastAt = at;
    this.#scheduleArrival(pipe, frame, seq, at);
  }

  #scheduleArrival(pipe: Pipe, frame: Frame, seq: number | undefined, at: number): void {
    const s = pipe.from.socket;
    this.scheduler.at(at, `net ${pipe.from.name}>${pipe.to.name} k${s.id} ${describeFrame(frame)}`, () => this.#arrive(pipe, frame, seq), { node: pipe.to.name });
  }

  #arrive(pipe: Pipe, frame: Frame, seq: number | undefined): void {
    if (pipe.from.socket.silenced === true) {
      this.#stats.framesSilenced += 1;
      return;
    }
    if (pipe.held.length > 0 || this.isCut(pipe.from.name, pipe.to.name)) {
      pipe.held.push({ frame, seq });
      this.#heldPipes.add(pipe);
      this.#stats.framesHeld += 1;
      return;
    }
    if (seq === undefined) {
      this.#deliver(pipe.to, frame);
      return;
    }
    if (seq !== pipe.expected) {
      pipe.early.set(seq, frame); // an earlier frame is still on its way (re-sent after a cut)
      return;
    }
    pipe.expected += 1;
    this.#deliver(pipe.to, frame);
    for (let f = pipe.early.get(pipe.expected); f !== undefined; f = pipe.early.get(pipe.expected)) {
      pipe.early.delete(pipe.expected);
      pipe.expected += 1;
      this.#deliver(pipe.to, f);
    }
  }

  #deliver(side: Side, frame: Frame): void {
    switch (side.state) {
      case 'gone':
        this.#stats.framesToDeadEnds += 1;
        if (frame.k !== 'rst' && side.rstOnData && !this.#machineDown.has(side.name)) this.#transmit(side.out, { k: 'rst' });
        return;
      case 'closed':
        this.#stats.framesToDeadEnds += 1;
        return;
      case 'handshake':
        this.#stats.framesDelivered += 1;
        this.#handshake(side, frame);
        return;
      case 'open':
        this.#stats.framesDelivered += 1;
        side.conn!.receive(frame);
        return;
    }
  }

  // ---- dialing ----------------------------------------------------------------------------------

  dial(host: SimHost, name: string, expect: string | undefined, options: DialOptions): Promise<SimConnection> {
    const k = `${host.name}>${name}`;
    const pending = this.#pendingDials.get(k);
    if (pending !== undefined) return abortable(pending, options.signal);
    const p = this.#startDial(host, name, expect, options).finally(() => {
      if (this.#pendingDials.get(k) === p) this.#pendingDials.delete(k);
    });
    this.#pendingDials.set(k, p);
    return p;
  }

  #startDial(host: SimHost, target: string, expect: string | undefined, options: DialOptions): Promise<SimConnection> {
    this.#stats.dialsStarted += 1;
    return new Promise<SimConnection>((resolve, reject) => {
      const timers = host.timers;
      const deadline = timers.setTimeout(() => this.#fail(a, new TimeoutError(`dial to ${target} timed out after ${host.options.dialTimeoutMs} ms`)), host.options.dialTimeoutMs);
      const onAbort = (): void => this.#fail(a, options.signal?.reason instanceof Error ? options.signal.reason : new TimeoutError('dial aborted'));
      const a: Attempt = {
        id: this.#nextAttemptId++, host, target, expect, onProgress: options.onProgress, done: false, established: false,
        socket: undefined, tries: 0, rtoMs: SYN_RTO_INITIAL_MS, synTimer: undefined,
        settle: (conn, err) => {
          timers.clearTimeout(deadline);
          timers.clearTimeout(a.synTimer);
          options.signal?.removeEventListener('abort', onAbort);
          this.#attempts.delete(a);
          if (conn !== undefined) {
            this.#stats.dialsSucceeded += 1;
            resolve(conn);
          } else {
            this.#stats.dialsFailed += 1;
            reject(err ?? new Error('dial failed'));
          }
        },
      };
      this.#attempts.add(a);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.#sendSyn(a);
    });
  }

  #fail(a: Attempt, err: Error): void {
    if (a.done) return;
    a.done = true;
    const s = a.socket;
    if (s !== undefined && s.dialer.state === 'handshake') {
      s.dialer.state = 'closed';
      // Established: the listener learns by RST. Not yet: it never will (its SYN-ACK goes nowhere).
      if (a.established) this.#transmit(s.dialer.out, { k: 'rst' });
      else if (s.listener.state === 'handshake') s.listener.state = 'closed';
      this.#retire(s);
    }
    a.settle(undefined, err);
  }

  #sendSyn(a: Attempt): void {
    if (a.done || a.established) return;
    a.tries += 1;
    this.#stats.synsSent += 1;
    this.#packet(a.host.name, a.target, `syn d${a.id}`, undefined, () => this.#onSyn(a), () => this.#fail(a, new ConnectionRefusedError(`connect ECONNREFUSED ${a.target} (cut)`)));
    if (a.tries <= SYN_RETRIES_MAX) {
      a.synTimer = a.host.timers.setTimeout(() => this.#sendSyn(a), a.rtoMs);
      a.rtoMs *= 2;
    } else {
      a.synTimer = a.host.timers.setTimeout(() => this.#fail(a, new TimeoutError(`connect ETIMEDOUT ${a.target}`)), a.rtoMs);
    }
  }

  // A packet outside any socket (SYN, SYN-ACK, RST to a SYN): lost in a silent cut; in a refusing
  // cut, the refusal comes back at once (the firewall answers, whatever the way back).
  #packet(from: string, to: string, label: string, tag: string | undefined, arrive: () => void, refused: () => void): void {
    const d = this.#latency(this.#link(from, to));
    this.scheduler.schedule(d, `net ${from}>${to} ${label}`, () => {
      const mode = this.#cuts.get(key(from, to));
      if (mode === undefined) {
        arrive();
        return;
      }
      if (mode === 'silent') {
        this.#stats.packetsLost += 1;
        return;
      }
      this.scheduler.schedule(this.#latency(this.#link(to, from)), `net ${to}>${from} refused`, refused, { node: from });
    }, tag === undefined ? undefined : { node: tag });
  }

  #onSyn(a: Attempt): void {
    if (a.done) return;
    const to = a.target;
    if (!this.#hosts.has(to) || this.#machineDown.has(to)) {
      this.#stats.packetsLost += 1;
      return; // no machine answers
    }
    const listener = this.#listeners.get(to);
    if (listener === undefined) {
      this.#packet(to, a.host.name, `rst d${a.id}`, a.host.name, () => this.#fail(a, new ConnectionRefusedError(`connect ECONNREFUSED ${to}`)), () => undefined);
      return;
    }
    if (a.socket === undefined) a.socket = this.#newSocket(a, listener);
    this.#packet(to, a.host.name, `synack d${a.id}`, a.host.name, () => this.#onSynAck(a), () => undefined);
  }

  #newSocket(a: Attempt, listener: SimHost): Socket {
    const socket = { id: this.#nextSocketId++, attempt: a } as { id: number; attempt: Attempt; dialer: Side; listener: Side };
    const mk = (host: SimHost): Side => ({ name: host.name, host, socket, conn: undefined, state: 'handshake', rstOnData: true, out: undefined as unknown as Pipe });
    socket.dialer = mk(a.host);
    socket.listener = mk(listener);
    const pipe = (from: Side, to: Side): Pipe => ({ from, to, lastAt: 0, nextSeq: 0, expected: 0, early: new Map(), held: [] });
    socket.dialer.out = pipe(socket.dialer, socket.listener);
    socket.listener.out = pipe(socket.listener, socket.dialer);
    this.#sockets.add(socket);
    return socket;
  }

  #onSynAck(a: Attempt): void {
    if (a.done || a.established || a.socket === undefined) return;
    a.established = true;
    a.host.timers.clearTimeout(a.synTimer);
    try {
      a.onProgress?.({ type: 'upgrader:encrypt-outbound-connection' });
    } catch {
      // a progress listener's problem
    }
    this.#transmit(a.socket.dialer.out, { k: 'hello' });
  }

  #handshake(side: Side, frame: Frame): void {
    const s = side.socket;
    if (frame.k === 'rst') {
      side.state = 'closed';
      if (side === s.dialer) this.#fail(s.attempt, new ConnectionResetError('connection reset during the handshake'));
      this.#retire(s);
      return;
    }
    if (side === s.listener) {
      const host = side.host;
      if (this.#listeners.get(side.name) !== host) {
        side.state = 'closed';
        this.#transmit(side.out, { k: 'rst' });
        this.#retire(s);
        return;
      }
      if (frame.k === 'hello') {
        this.#transmit(side.out, { k: 'accept', peer: host.peerId.toString() });
      } else if (frame.k === 'finish') {
        const remote = peerIdFromString(frame.peer);
        if (host.options.isDenied(remote, 'inbound')) {
          this.#stats.gaterRefusals += 1;
          side.state = 'closed';
          this.#transmit(side.out, { k: 'rst' });
          this.#retire(s);
          return;
        }
        const conn = this.#open(side, remote, 'inbound', s.dialer.host);
        host.addConnection(conn, undefined);
      }
      return;
    }
    if (frame.k !== 'accept') return;
    const a = s.attempt;
    const refuse = (err: Error): void => {
      side.state = 'closed';
      this.#transmit(side.out, { k: 'rst' });
      this.#retire(s);
      if (!a.done) {
        a.done = true;
        a.settle(undefined, err);
      }
    };
    if (a.done) {
      refuse(new Error('dial abandoned'));
      return;
    }
    if (a.expect !== undefined && a.expect !== frame.peer) {
      refuse(new UnexpectedPeerError(`dialed ${a.expect} at ${a.target} but ${frame.peer} answered`));
      return;
    }
    const remote = peerIdFromString(frame.peer);
    if (a.host.options.isDenied(remote, 'outbound')) {
      this.#stats.gaterRefusals += 1;
      refuse(new DialDeniedError('The dial request is blocked by the gater'));
      return;
    }
    const conn = this.#open(side, remote, 'outbound', s.listener.host);
    // The finish goes first: whatever the dialer's code sends on connection:open follows it.
    this.#transmit(side.out, { k: 'finish', peer: a.host.peerId.toString() });
    a.done = true;
    a.host.addConnection(conn, a.target);
    a.settle(conn);
  }

  #open(side: Side, remotePeer: PeerId, direction: 'inbound' | 'outbound', remote: SimHost): SimConnection {
    const conn = new SimConnection({
      id: `k${side.socket.id}${direction === 'outbound' ? 'o' : 'i'}`,
      direction,
      remotePeer,
      remoteAddr: remote.multiaddr,
      owner: side.host,
      wire: {
        send: (f) => this.#transmit(side.out, f),
        // Subscriptions and hellos ride the stream; message RPCs are the datagrams faults act on.
        gossip: (rpc) => this.#transmit(side.out, { k: 'gossip', rpc }, rpc.messages !== undefined),
      },
    });
    side.conn = conn;
    side.state = 'open';
    this.#sideOf.set(conn, side);
    return conn;
  }
}

function abortable<T>(p: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return p;
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener('abort', onAbort, { once: true });
    p.then((v) => { signal.removeEventListener('abort', onAbort); resolve(v); },
      (e: unknown) => { signal.removeEventListener('abort', onAbort); reject(e as Error); });
  });
}
