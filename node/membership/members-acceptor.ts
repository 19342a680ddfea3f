// A controller's side of the membership protocol (members-messages.ts): the membership record it has
// committed, and its acceptor state for the next epoch's slot (quorum/voter-slot.ts), both durable.
// It answers prepare and accept by the Paxos acceptor rules, refusing a proposed record that is not a
// valid successor of its own (membership/federation-members.ts isValidSuccessor); it serves its
// committed record to a controller that fetches it; and it adopts a newer committed record (one told
// by the controller that learnt it was chosen, or fetched after a heartbeat showed a newer epoch).
//
// Settling: a voter accepts a record that changes the voter set only once it has held its committed
// epoch for `settleMs` (from its commit, or from open after a restart). Other controllers count it by
// the epoch it answered their latest clock probe with, an answer at most one probe cycle old
// (node/controller/write-fence.ts); settleMs longer than that cycle means that by the time it helps
// choose a voter set two changes away from an epoch e, nobody still counts it as being on e. That is
// what the count rule's argument needs (quorum/voter-slot.ts: no controller two voter changes behind
// counts a voter that chose the second). Records that keep the voters (a learner added, an identity
// denied) are one voter apart from e at most and need no wait. Refused meanwhile with SETTLING: the
// proposer asks again once it has passed.
//
// Every change is saved (SlotStorage.save, durable when it resolves) BEFORE the answer that reveals
// it: a promise or an acceptance forgotten in a crash would let two values be chosen. Requests are
// handled one at a time, in arrival order, so what is saved is always the latest state.

import { freshAcceptor, onAccept, onPrepare, type Ballot, type SlotAcceptor } from '../../quorum/voter-slot.ts';
import { isValidSuccessor, membersProblem, type FederationMembers } from '../../membership/federation-members.ts';
import type { MembersReply, MembersRequest } from './members-messages.ts';

/** Where the acceptor keeps its state: one text, replaced whole. `save` resolves once it is durable. */
export interface SlotStorage {
  load(): Promise<string | undefined>;
  save(text: string): Promise<void>;
}

/** The durable state, as saved. */
export interface AcceptorState {
  committed: FederationMembers;
  acceptor: SlotAcceptor<FederationMembers>;
}

/** Saved state that does not decode; stable code MEMBERS_STATE_INVALID. */
export class MembersStateError extends Error {
  override readonly name = 'MembersStateError';
  readonly code = 'MEMBERS_STATE_INVALID';
}

/** Encode the state to save. */
export function encodeAcceptorState(s: AcceptorState): string {
  return JSON.stringify({ v: 1, committed: s.committed, acceptor: s.acceptor });
}

function ballotProblem(b: unknown): string | undefined {
  if (typeof b !== 'object' || b === null) return 'a ballot is not an object';
  const x = b as Record<string, unknown>;
  return Number.isSafeInteger(x.round) && (x.round as number) >= 1 && typeof x.proposer === 'string' ? undefined : 'a ballot is not a round and a proposer';
}

/** Decode saved state; MembersStateError when it is not what encodeAcceptorState writes. */
export function decodeAcceptorState(text: string): AcceptorState {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new MembersStateError('membership state: not JSON');
  }
  const o = v as Record<string, unknown> | null;
  if (typeof o !== 'object' || o === null || o.v !== 1) throw new MembersStateError('membership state: not version 1');
  const problem = membersProblem(o.committed);
  if (problem !== undefined) throw new MembersStateError(`membership state: committed: ${problem}`);
  const committed = o.committed as FederationMembers;
  const a = o.acceptor as Record<string, unknown> | null;
  if (typeof a !== 'object' || a === null || a.epoch !== committed.epoch) throw new MembersStateError('membership state: acceptor is not for the committed epoch');
  if (a.promised !== undefined && ballotProblem(a.promised) !== undefined) throw new MembersStateError('membership state: promised is not a ballot');
  if (a.accepted !== undefined) {
    const acc = a.accepted as Record<string, unknown> | null;
    if (typeof acc !== 'object' || acc === null || ballotProblem(acc.ballot) !== undefined || membersProblem(acc.config) !== undefined) {
      throw new MembersStateError('membership state: accepted is not a ballot and a record');
    }
  }
  return { committed, acceptor: a as unknown as SlotAcceptor<FederationMembers> };
}

/** Whether `next` has other voters than `current`. */
export function changesVoters(current: FederationMembers, next: FederationMembers): boolean {
  return current.voters.join() !== next.voters.join();
}

/** Options of an acceptor. */
export interface MembersAcceptorOptions {
  /** This controller. */
  self: string;
  /** The membership to start from when nothing is saved yet: the YAML's (initialMembers). */
  initial: FederationMembers;
  storage: SlotStorage;
  /** Monotonic clock, ms (for settling). */
  nowMs: () => number;
  /** How long after committing an epoch this voter waits before it accepts a voter change, ms. */
  settleMs: number;
  /**
   * Called with each newer record the moment it is committed here (saved), before anything else
   * runs: what the record decides (the fence's voters) changes with the commit, not a turn later.
   */
  onCommitted?: (record: FederationMembers) => void;
  /**
   * AgentAssisted: the agent registry version this controller counts by. It accepts a value only
   * from a proposer counting by the same version (REGISTRY otherwise; quorum/agent-epochs.ts).
   */
  registryVersion?: () => number;
}

/** The membership record a controller has committed, and its part in deciding the next one. */
export class MembersAcceptor {
  readonly self: string;
  readonly #storage: SlotStorage;
  #state: AcceptorState;
  #queue: Promise<unknown> = Promise.resolve();
  #opened = false;
  readonly #nowMs: () => number;
  readonly #settleMs: number;
  readonly #onCommitted: ((record: FederationMembers) => void) | undefined;
  readonly #registryVersion: (() => number) | undefined;
  // When this controller committed its epoch (or opened), monotonic ms.
  #committedAtMs: number;

  constructor(o: MembersAcceptorOptions) {
    this.self = o.self;
    this.#storage = o.storage;
    this.#nowMs = o.nowMs;
    this.#settleMs = o.settleMs;
    this.#onCommitted = o.onCommitted;
    this.#registryVersion = o.registryVersion;
    this.#committedAtMs = o.nowMs();
    this.#state = { committed: o.initial, acceptor: freshAcceptor(o.initial.epoch) };
  }

  /** Load the saved state (keeping the initial membership when none is saved, and saving it). */
  async open(): Promise<void> {
    const text = await this.#storage.load();
    if (text === undefined) await this.#storage.save(encodeAcceptorState(this.#state));
    else this.#state = decodeAcceptorState(text);
    this.#committedAtMs = this.#nowMs();
    this.#opened = true;
  }

  /** The membership record committed here. */
  get committed(): FederationMembers {
    return this.#state.committed;
  }

  /**
   * True when this controller has accepted, for the slot after its epoch, a record that does not list
   * it: its removal may have been chosen, and it does not know yet.
   */
  get acceptedOwnRemoval(): boolean {
    const acc = this.#state.acceptor.accepted;
    return acc !== undefined && acc.config.epoch === this.#state.committed.epoch + 1 && !acc.config.controllers.some((c) => c.name === this.self);
  }

  /** The acceptor state for the next slot (for status and tests). */
  get acceptor(): SlotAcceptor<FederationMembers> {
    return this.#state.acceptor;
  }

  /** Answer a request of another controller (or of this one's proposer). */
  answer(req: MembersRequest): Promise<MembersReply> {
    return this.#serial(() => this.#answer(req));
  }

  /**
   * Adopt `record` if it is newer than the committed one (a chosen record told, or fetched): it is
   * saved, and the acceptor starts afresh for the slot after it. Returns whether it was adopted.
   */
  adopt(record: FederationMembers): Promise<boolean> {
    return this.#serial(async () => {
      if (record.epoch <= this.#state.committed.epoch || membersProblem(record) !== undefined) return false;
      await this.#save({ committed: record, acceptor: freshAcceptor(record.epoch) });
      return true;
    });
  }

  async #answer(req: MembersRequest): Promise<MembersReply> {
    if (!this.#opened) throw new Error('assertion: MembersAcceptor used before open()');
    const { committed, acceptor } = this.#state;
    const refused = (why: Extract<MembersReply, { t: 'refused' }>['why'], message: string, promised?: Ballot): MembersReply =>
      ({ t: 'refused', why, epoch: committed.epoch, ...(promised === undefined ? {} : { promised }), message });
    switch (req.t) {
      case 'fetch':
        return committed.epoch >= req.epoch ? { t: 'record', value: committed } : refused('NOT_FOUND', `epoch ${req.epoch} is not committed here`);
      case 'commit':
        await this.#adoptNow(req.value);
        return { t: 'accepted', epoch: this.#state.committed.epoch };
      case 'prepare': {
        if (req.epoch !== committed.epoch) return refused('OTHER_EPOCH', `this controller has committed epoch ${committed.epoch}`);
        if (!committed.voters.includes(this.self)) return refused('NOT_A_VOTER', `${this.self} is not a voter of epoch ${committed.epoch}`);
        const r = onPrepare(acceptor, req.epoch, req.ballot);
        if (!r.answer.ok) return refused('LOWER_BALLOT', `promised a higher ballot`, r.answer.why === 'LOWER_BALLOT' ? r.answer.promised : undefined);
        await this.#save({ committed, acceptor: r.acceptor });
        const acc = r.answer.accepted;
        return { t: 'promise', epoch: committed.epoch, ...(acc === undefined ? {} : { accepted: { ballot: acc.ballot, value: acc.config } }) };
      }
      case 'accept': {
        if (req.epoch !== committed.epoch) return refused('OTHER_EPOCH', `this controller has committed epoch ${committed.epoch}`);
        // The voters of the epoch accept, and a voter the record adds (it committed the epoch as a learner).
        if (!committed.voters.includes(this.self) && !req.value.voters.includes(this.self)) return refused('NOT_A_VOTER', `${this.self} votes neither in epoch ${committed.epoch} nor in the record proposed`);
        if (!isValidSuccessor(committed, req.value)) return refused('INVALID_SUCCESSOR', `the record proposed is not one change from epoch ${committed.epoch}`);
        if (changesVoters(committed, req.value) && this.settlingMs() > 0) {
          return refused('SETTLING', `epoch ${committed.epoch} was committed here ${Math.round(this.#nowMs() - this.#committedAtMs)} ms ago; a voter change is accepted ${this.#settleMs} ms after it`);
        }
        const registry = this.#registryVersion?.();
        if (registry !== undefined && req.registry !== registry) {
          return refused('REGISTRY', `this controller counts by agent registry version ${registry}, the proposer by ${req.registry ?? 'none'}`);
        }
        const r = onAccept(acceptor, req.epoch, req.ballot, req.value);
        if (!r.answer.ok) return refused('LOWER_BALLOT', 'promised a higher ballot', r.answer.why === 'LOWER_BALLOT' ? r.answer.promised : undefined);
        await this.#save({ committed, acceptor: r.acceptor });
        return { t: 'accepted', epoch: committed.epoch };
      }
    }
  }

  /** How long this voter still waits before it accepts a voter change, ms (0: it does). */
  settlingMs(): number {
    return Math.max(0, this.#committedAtMs + this.#settleMs - this.#nowMs());
  }

  async #adoptNow(record: FederationMembers): Promise<void> {
    if (record.epoch > this.#state.committed.epoch) await this.#save({ committed: record, acceptor: freshAcceptor(record.epoch) });
  }

  async #save(next: AcceptorState): Promise<void> {
    await this.#storage.save(encodeAcceptorState(next));
    const committed = next.committed.epoch !== this.#state.committed.epoch;
    if (committed) this.#committedAtMs = this.#nowMs();
    this.#state = next;
    if (committed && this.#opened) this.#onCommitted?.(next.committed);
  }

  #serial<T>(f: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(f, f);
    this.#queue = run.catch(() => undefined);
    return run;
  }
}
