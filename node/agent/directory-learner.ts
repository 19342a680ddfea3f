// What an agent learns of the controller set from the controller directory (live membership, issue
// 21; node/membership/controller-directory.ts): at each new session with a controller and every
// directoryRefreshMs, the agent (node/agent/agent-node.ts) reads the directory of the controller it
// follows, and this applies it. A controller the directory lists with endpoints and the configuration
// does not name becomes a failover candidate (admitted, dialed, probed, chosen by priority:
// controllers.learned, after the configured ones by default); one whose peer ID the directory denies
// stops being a candidate, is not probed nor dialed again, and its connection is closed (when
// followed, the agent fails over as if it had failed); a learned one the directory no longer lists is
// dropped the same way. A directory older than one applied already is ignored. What was learned is
// not kept across restarts: the first session with a configured controller teaches it again.
import type { Logger } from 'pino';
import type { TimerComponents } from '../components.ts';
import type { FollowDecision } from '../../membership/agent-follow.ts';
import { fetchControllerDirectory, type ControllerDirectory } from '../membership/controller-directory.ts';
import type { MembershipNode } from '../membership/membership-node.ts';
import { controllersProtocol } from '../protocols.ts';
import { MAX_CONTROLLERS } from '../../quorum/limits.ts';
import { learnedPriority, type ResolvedAgentConfig } from './agent-config.ts';

/** What the agent learned of the controller set from the controller directory. */
export interface AgentDirectoryStatus {
  /** Membership epoch of the last directory applied (0: none yet). */
  epoch: number;
  /** Directories read and applied (a stale one counts, and changes nothing). */
  fetched: number;
  /** Answers refused as malformed or over the size bound. */
  refused: number;
  /** Reads that failed otherwise (no answer, the controller serves no directory, the stream broke). */
  failed: number;
  /** The last refusal or failure. */
  lastError: { code: string; message: string } | undefined;
  /** Controllers learned now. */
  learned: number;
  /** Controllers not learned because MAX_CONTROLLERS were learned already (the last directory's count). */
  ignored: number;
}

/** A controller learned from the directory. */
export interface LearnedController {
  name: string;
  /** The endpoint dialed (with /p2p/<peerId>). */
  endpoint: string;
  region: string;
  priority: number;
}

// Codes of a directory answer the agent refuses (the controller's doing, not the network's).
const DIRECTORY_REFUSED_CODES = new Set(['PROTOCOL', 'FRAME_TOO_LARGE', 'FRAME_MALFORMED']);

/** What the learner acts on: the agent's parts. */
export interface DirectoryLearnerParts {
  membership: Pick<MembershipNode, 'openStream' | 'auth' | 'peerId' | 'addDialTarget' | 'config'>;
  config: Pick<ResolvedAgentConfig, 'controllers' | 'learned'>;
  /** Peer ID → member name (the agent's, shared). */
  names: Map<string, string>;
  prober: { readonly controllers: Iterable<string>; add(peerId: string): void; remove(peerId: string): void };
  follow: { readonly current: string | undefined; addCandidate(c: { id: string; priority: number }): void; removeCandidate(id: string, nowMs: number): FollowDecision };
  /** Carry out a follow decision (a switch away from a dropped controller). */
  apply(d: FollowDecision): void;
  nameOf(peerId: string): string;
  running(): boolean;
  timers: TimerComponents;
  signal: AbortSignal;
  log: Logger;
}

/** The controllers an agent learned, and the identities denied, from the controller directory. */
export class DirectoryLearner {
  readonly #o: DirectoryLearnerParts;
  readonly #learned = new Map<string, LearnedController>();
  #denied = new Set<string>();
  readonly #status: Omit<AgentDirectoryStatus, 'learned'> = { epoch: 0, fetched: 0, refused: 0, failed: 0, lastError: undefined, ignored: 0 };
  #fetching = false;
  #again: string | undefined;

  constructor(o: DirectoryLearnerParts) {
    this.#o = o;
  }

  /** Controllers learned now, by peer ID. */
  get learned(): ReadonlyMap<string, LearnedController> {
    return this.#learned;
  }

  /** Whether the directory denies `peerId`. */
  isDenied(peerId: string): boolean {
    return this.#denied.has(peerId);
  }

  status(): AgentDirectoryStatus {
    return { ...this.#status, learned: this.#learned.size };
  }

  // Read the directory from controller `peerId` and apply it. One read at a time: one asked for
  // meanwhile runs after it (from the controller followed then).
  async read(peerId: string): Promise<void> {
    if (!this.#o.running()) return;
    if (this.#fetching) {
      this.#again = peerId;
      return;
    }
    this.#fetching = true;
    const fid = this.#o.membership.config.federationId;
    try {
      const d = await fetchControllerDirectory((signal) => this.#o.membership.openStream(peerId, controllersProtocol(fid), signal), this.#o.timers, undefined, this.#o.signal);
      if (!this.#o.running()) return;
      this.#status.fetched++;
      this.#applyDirectory(d, peerId);
    } catch (err) {
      if (!this.#o.running()) return;
      const code = String((err as { code?: unknown }).code ?? 'DIRECTORY_UNAVAILABLE');
      const message = (err as Error).message;
      this.#status.lastError = { code, message };
      if (DIRECTORY_REFUSED_CODES.has(code)) {
        this.#status.refused++;
        this.#o.log.warn({ controller: this.#o.nameOf(peerId), code, err: message }, 'controller directory refused');
      } else {
        this.#status.failed++;
        this.#o.log.debug({ controller: this.#o.nameOf(peerId), code, err: message }, 'controller directory not read');
      }
    } finally {
      this.#fetching = false;
      const again = this.#again;
      this.#again = undefined;
      const current = this.#o.follow.current;
      if (again !== undefined && current !== undefined && this.#o.running()) void this.read(current);
    }
  }

  // Apply directory `d` read from controller `from` (see the file comment).
  #applyDirectory(d: ControllerDirectory, from: string): void {
    if (d.epoch < this.#status.epoch) {
      this.#o.log.debug({ controller: this.#o.nameOf(from), epoch: d.epoch, applied: this.#status.epoch }, 'older controller directory ignored');
      return;
    }
    this.#status.epoch = d.epoch;
    const denied = new Set(d.denied);
    const newlyDenied = d.denied.filter((p) => !this.#denied.has(p));
    // The deny list only grows; one kept from a newer directory stays (a record never forgets a denial).
    for (const p of this.#denied) denied.add(p);
    this.#denied = denied;
    const listed = new Map(d.controllers.map((c) => [c.peerId, c] as const));
    // Candidates that stop being ones: denied, or learned and no longer listed.
    for (const c of this.#o.prober.controllers) {
      const learned = this.#learned.get(c);
      if (!denied.has(c) && (learned === undefined || listed.has(c))) continue;
      this.#o.log.info({ controller: this.#o.nameOf(c), learned: learned !== undefined, denied: denied.has(c), epoch: d.epoch }, 'controller dropped: no longer a failover candidate');
      this.#learned.delete(c);
      this.#o.prober.remove(c);
      this.#o.apply(this.#o.follow.removeCandidate(c, this.#o.timers.nowMs()));
    }
    if (newlyDenied.length > 0) this.#o.membership.auth.dropRevoked();
    // Controllers to learn: listed with an endpoint, neither configured nor learned already.
    const configured = new Set(this.#o.config.controllers.map((c) => c.peerId));
    const self = this.#o.membership.peerId.toString();
    const fresh = d.controllers.filter((c) => c.endpoints.length > 0 && !configured.has(c.peerId) && !this.#learned.has(c.peerId) && c.peerId !== self);
    const room = Math.max(0, MAX_CONTROLLERS - this.#learned.size);
    const ignoredBefore = this.#status.ignored;
    this.#status.ignored = Math.max(0, fresh.length - room);
    if (this.#status.ignored > 0 && this.#status.ignored !== ignoredBefore) {
      this.#o.log.warn({ ignored: fresh.slice(room).map((c) => c.name), learnedMax: MAX_CONTROLLERS }, 'controllers not learned: the agent learns at most MAX_CONTROLLERS');
    }
    const learnNow = fresh.slice(0, room);
    if (learnNow.length > 0 || this.#learned.size > 0) this.#admit(d);
    for (const c of learnNow) {
      const endpoint = dialAddress(c.endpoints, c.peerId);
      const l: LearnedController = { name: c.name, endpoint, region: c.region, priority: learnedPriority(this.#o.config.learned, c.name, c.region) };
      try {
        this.#o.membership.addDialTarget(endpoint);
      } catch (err) {
        this.#o.log.warn({ controller: c.name, endpoint, err: (err as Error).message }, 'learned controller not dialable: not learned');
        continue;
      }
      this.#learned.set(c.peerId, l);
      this.#o.names.set(c.peerId, c.name);
      this.#o.follow.addCandidate({ id: c.peerId, priority: l.priority });
      this.#o.prober.add(c.peerId);
      this.#o.log.info({ controller: c.name, endpoint, region: c.region, priority: l.priority, epoch: d.epoch }, 'controller learned: a failover candidate');
    }
  }

  // Admit the directory's controllers under their names and peer IDs. The configuration pins the
  // agent's controllers by peer ID alone; once one name is admitted the pins accept named controllers
  // only (node/auth/member-pins.ts), so every listed controller is admitted, and every configured one
  // whose name is known (it authenticated once) and that the directory neither lists nor denies.
  #admit(d: ControllerDirectory): void {
    const auth = this.#o.membership.auth;
    for (const c of d.controllers) auth.admitController(c.name, c.peerId);
    const listed = new Set(d.controllers.map((c) => c.peerId));
    for (const c of this.#o.config.controllers) {
      const name = this.#o.names.get(c.peerId);
      if (name !== undefined && !listed.has(c.peerId) && !this.#denied.has(c.peerId)) auth.admitController(name, c.peerId);
    }
  }
}

// The address a learned controller is dialed at: its first TCP endpoint (else its first), with /p2p/<peerId>.
function dialAddress(endpoints: readonly string[], peerId: string): string {
  const addr = endpoints.find((a) => a.includes('/tcp/')) ?? endpoints[0]!;
  return addr.includes('/p2p/') ? addr : `${addr}/p2p/${peerId}`;
}
