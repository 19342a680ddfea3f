// The federation's membership record on a controller (live membership): the acceptor of the record's
// Paxos slots (members-acceptor.ts, durable in the store's database), the proposer of this
// controller's changes (members-proposer.ts), and catching up with a record committed while this
// controller was away: every `syncIntervalMs`, and when a controller connects, it asks each connected
// controller for the epoch after its own (one small exchange per peer), and adopts what it gets.
//
// What the record decides: the identities refused federation-wide (`denied`), which the auth layer
// checks on every connection (AuthService `revoked`), and who replicates and votes
// (node/controller/live-membership.ts).
import type { Logger } from 'pino';
import { every, sleep, type TimerComponents } from '../components.ts';
import { CodedError } from '../errors.ts';
import { controllerNamed, initialMembers, isDenied, type ControllerEntry, type FederationMembers, type MemberChange } from '../../membership/federation-members.ts';
import type { MemberPin } from '../auth/member-pins.ts';
import { isMajorityOf } from '../../quorum/voter-slot.ts';
import { MembersAcceptor, type SlotStorage } from './members-acceptor.ts';
import type { MembersRequest, MembersReply } from './members-messages.ts';
import { completeSlot, proposeMemberChange, type MembersTransport, type ProposeOptions, type ProposeResult } from './members-proposer.ts';

/** Why a membership request was not even proposed (stable codes). */
export type MembershipRequestCode =
  /** The configuration does not give every controller's peer ID: no live membership. */
  | 'NO_LIVE_MEMBERSHIP'
  /** A controller asked to remove itself: ask another one. */
  | 'SELF'
  /** The controller to remove is not connected, so its unreplicated writes cannot be drained first; `force` removes it anyway. */
  | 'NOT_CONNECTED';

export class MembershipRequestError extends CodedError<MembershipRequestCode> {}

/** How often a controller asks its connected peers for a newer record, ms. */
export const MEMBERS_SYNC_INTERVAL_MS = 10_000;

/** Options of the service. */
export interface MembersServiceOptions {
  self: string;
  /** The record to start from when none is saved: the configuration's controllers, all voters. */
  initial: FederationMembers;
  storage: SlotStorage;
  transport: MembersTransport;
  /** The controllers connected now (names): whom to ask for a newer record. */
  connected: () => readonly string[];
  timers: TimerComponents;
  syncIntervalMs?: number;
  /**
   * How long a voter waits after committing an epoch before it accepts a voter change, ms: longer
   * than the other controllers' clock probe cycle (rttIntervalMs + rttTimeoutMs), see members-acceptor.ts.
   */
  settleMs: number;
  /** Awaited before each proposal round with its epoch (AgentAssisted: the knowers rule, members-knowers.ts). */
  beforePropose?: (epoch: number) => Promise<void>;
  /** AgentAssisted: the agent registry version this controller counts by (accepts need the proposer's to be the same). */
  registryVersion?: () => number;
  /**
   * AgentAssisted: refuse writes while in doubt about its own removal (`leaving`). In Controllers
   * mode a removed controller loses its peers' votes anyway (they refuse it), so it keeps writing.
   */
  refuseWritesInDoubt?: boolean;
  logger?: Logger;
}

type AdoptedListener = (record: FederationMembers) => void;

/** A controller's view of, and part in, the federation's membership record. */
export class MembersService {
  readonly #o: MembersServiceOptions;
  readonly #acceptor: MembersAcceptor;
  readonly #listeners = new Set<AdoptedListener>();
  #stopTimer: (() => void) | undefined;
  #catchingUp: Promise<void> | undefined;
  #epochSeen: number;
  readonly #selfPeerId: string;
  // Voters that refused this controller with AUTH_REVOKED (their deny list holds its peer ID).
  readonly #revokedBy = new Set<string>();
  #refusedByMajority = false;
  // The controllers that answered this controller's commit of an epoch (knowers rule, members-knowers.ts).
  #committedBy: { epoch: number; names: readonly string[] } = { epoch: 0, names: [] };

  constructor(o: MembersServiceOptions) {
    this.#o = o;
    const self = controllerNamed(o.initial, o.self);
    if (self === undefined) throw new Error(`assertion: the initial membership record does not list ${o.self}`);
    this.#selfPeerId = self.peerId;
    this.#acceptor = new MembersAcceptor({
      self: o.self, initial: o.initial, storage: o.storage, nowMs: o.timers.nowMs, settleMs: o.settleMs,
      // The listeners (the fence, the replicator, the pins) move with the commit itself.
      onCommitted: () => this.#noteEpoch(),
      ...(o.registryVersion === undefined ? {} : { registryVersion: o.registryVersion }),
    });
    this.#epochSeen = o.initial.epoch;
  }

  /** Load the saved record (saving the initial one when none is), then catch up periodically. */
  async start(): Promise<void> {
    await this.#acceptor.open();
    this.#epochSeen = this.#acceptor.committed.epoch;
    this.#noteRemoved('its saved membership record does not list it');
    this.#stopTimer = every(this.#o.timers, this.#o.syncIntervalMs ?? MEMBERS_SYNC_INTERVAL_MS, () => {
      // One round at a time: a round whose peers time out may outlast the interval.
      this.#catchingUp ??= this.catchUp().finally(() => { this.#catchingUp = undefined; });
    });
  }

  stop(): void {
    this.#stopTimer?.();
    this.#stopTimer = undefined;
  }

  /** The record committed here. */
  get committed(): FederationMembers {
    return this.#acceptor.committed;
  }

  /** Whether `peerId` is refused federation-wide by the record committed here. */
  isRevoked(peerId: string): boolean {
    return isDenied(this.#acceptor.committed, peerId);
  }

  /**
   * True once the record committed here denies this controller's own peer ID: it was removed, and
   * must not take part in the federation any more (the controller then refuses every connection).
   * A controller the record does not list but does not deny (one added through the YAML after the
   * first change) is not removed: it works by its configuration.
   */
  get removed(): boolean {
    return this.#refusedByMajority || isDenied(this.#acceptor.committed, this.#selfPeerId);
  }

  /**
   * Why this controller must refuse writes whatever it counts, or undefined: it was removed, or (with
   * refuseWritesInDoubt) it accepted its own removal and does not know yet whether it was chosen (in
   * AgentAssisted mode its agents' leases could otherwise let it go on writing at its old epoch,
   * writes nobody would take).
   */
  get leaving(): string | undefined {
    const epoch = this.#acceptor.committed.epoch;
    if (this.removed) return `${this.#o.self} was removed from the federation (membership epoch ${epoch}): it refuses writes and every connection; stop it`;
    if (this.#o.refuseWritesInDoubt === true && this.#acceptor.acceptedOwnRemoval) {
      return `${this.#o.self} accepted its own removal for membership epoch ${epoch + 1} and does not know yet whether it was decided: it refuses writes until it does`;
    }
    return undefined;
  }

  /**
   * A controller refused this one at authentication, saying `peerCode`. A deny list grows only by
   * committed records, so a majority of the other voters of its record refusing it with AUTH_REVOKED means
   * it was removed, even though it cannot fetch the record that says so (they refuse it): the usual
   * case of a region removed while it was down. It then takes itself out as if it had the record.
   */
  noteRefusedBy(peerId: string, peerCode: string | undefined): void {
    if (peerCode !== 'AUTH_REVOKED' || this.removed) return;
    const record = this.#acceptor.committed;
    const voter = record.controllers.find((c) => c.peerId === peerId && record.voters.includes(c.name));
    if (voter === undefined) return;
    this.#revokedBy.add(voter.name);
    // A majority of the OTHER voters: of two, the other one (this controller never refuses itself,
    // and with AgentAssisted's agents it could go on writing on its own, a removed controller).
    const others = record.voters.filter((v) => v !== this.#o.self);
    if (others.length === 0 || !isMajorityOf(others, this.#revokedBy)) return;
    this.#refusedByMajority = true;
    this.#noteRemoved(`${[...this.#revokedBy].sort().join(', ')} refuse it as revoked, a majority of the other voters of epoch ${record.epoch}`);
    for (const l of this.#listeners) l(record);
  }

  /** Called with each newer record this controller commits (by its own proposal, a commit told, or a fetch). */
  onAdopted(listener: AdoptedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Answer another controller's request (the protocol's serving side). */
  answer(req: MembersRequest): Promise<MembersReply> {
    return this.#acceptor.answer(req);
  }

  /** The acceptor (for the wire's serving side). */
  get acceptor(): MembersAcceptor {
    return this.#acceptor;
  }

  /**
   * Commit `change` with the voters of the current epoch (MemberChangeError when it does not apply,
   * ProposeError NO_MAJORITY / SUPERSEDED when it cannot be chosen now).
   */
  async propose(change: MemberChange): Promise<ProposeResult> {
    const r = await proposeMemberChange(this.#proposeOptions(), change);
    if (r.record.epoch >= this.#committedBy.epoch) this.#committedBy = { epoch: r.record.epoch, names: r.committedBy };
    return r;
  }

  /**
   * Finish the slot after the committed epoch when a voter accepted a value for it and its proposer
   * went away (members-proposer.ts completeSlot): the record decided, or undefined when there was
   * nothing to finish.
   */
  async completeSlot(): Promise<FederationMembers | undefined> {
    return completeSlot(this.#proposeOptions());
  }

  // What a proposal from here runs with; in AgentAssisted mode the knowers rule before each round,
  // and the registry version sent with accepts.
  #proposeOptions(): ProposeOptions {
    const { timers } = this.#o;
    return {
      self: this.#o.self, acceptor: this.#acceptor, transport: this.#o.transport, nowMs: timers.nowMs, sleep: (ms) => sleep(timers, ms), settleWaitMaxMs: 4 * this.#o.settleMs,
      ...(this.#o.beforePropose === undefined ? {} : { beforeRound: this.#o.beforePropose }),
      ...(this.#o.registryVersion === undefined ? {} : { registryVersion: this.#o.registryVersion }),
    };
  }

  /** The controllers that answered this controller's own commit of `epoch` having committed it (none when another committed it). */
  committedBy(epoch: number): readonly string[] {
    return this.#committedBy.epoch === epoch ? this.#committedBy.names : [];
  }

  /** Ask the connected controllers for a newer record now (also on a timer, and when one connects). */
  async catchUp(only?: string): Promise<void> {
    const peers = only === undefined ? this.#o.connected() : [only];
    await Promise.all(peers.filter((p) => p !== this.#o.self).map(async (peer) => {
      let reply: MembersReply | undefined;
      try {
        reply = await this.#o.transport.ask(peer, { t: 'fetch', epoch: this.#acceptor.committed.epoch + 1 });
      } catch {
        return; // unreachable now: the next round asks again
      }
      if (reply?.t === 'record' && (await this.#acceptor.adopt(reply.value))) {
        this.#o.logger?.info({ epoch: reply.value.epoch, from: peer }, 'membership record adopted');
      }
    }));
  }

  // Tell the listeners once per newer committed record, whichever path committed it: every path
  // saves through the acceptor, which calls this the moment the record is saved (onCommitted).
  #noteEpoch(): void {
    const record = this.#acceptor.committed;
    if (record.epoch <= this.#epochSeen) return;
    this.#epochSeen = record.epoch;
    this.#noteRemoved(`membership epoch ${record.epoch} does not list it`);
    for (const l of this.#listeners) {
      try {
        l(record);
      } catch (err) {
        this.#o.logger?.error({ err: String(err), epoch: record.epoch }, 'membership record listener threw');
      }
    }
  }

  #noteRemoved(why: string): void {
    if (this.removed) this.#o.logger?.error({ epoch: this.committed.epoch }, `this controller was removed from the federation (${why}): it refuses every connection; stop it`);
  }
}

/**
 * The first record of a federation from a controller's configuration: every configured controller a
 * voter, with the peer ID its pin gives (no endpoints nor region: each controller's configuration says
 * where its peers are, and the first record must be the same on every controller whose configuration
 * names the same controllers and peer IDs). Undefined when a controller's peer ID is not configured:
 * there is no live membership then.
 */
export function firstMembersRecord(self: string, selfPeerId: string, controllers: readonly string[], pins: readonly MemberPin[]): FederationMembers | undefined {
  const entries: ControllerEntry[] = [];
  for (const name of new Set([self, ...controllers])) {
    const peerId = name === self ? selfPeerId : pins.find((p) => p.name === name && p.peerId !== undefined)?.peerId;
    if (peerId === undefined) return undefined;
    entries.push({ name, peerId, endpoints: [], region: '', autoPromote: false });
  }
  return initialMembers(entries);
}
