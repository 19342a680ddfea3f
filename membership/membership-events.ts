// Events the peer table returns. Times are in the caller's clock (the `nowMs` it passed in).

import type { MemberRole } from './member-name.ts';
import type { MemberState } from './member-state.ts';

/** A member was heard of for the first time. */
export interface JoinedEvent {
  type: 'joined';
  /** Member name. */
  member: string;
  /** Its peer ID. */
  peerId: string;
  /** Its role. */
  role: MemberRole;
  /** Its state right after the first heartbeat. */
  state: MemberState;
  /** When, caller's clock, milliseconds. */
  atMs: number;
}

/** A member changed state. */
export interface StateChangedEvent {
  type: 'state-changed';
  /** Member name. */
  member: string;
  /** State before. */
  from: MemberState;
  /** State after. */
  to: MemberState;
  /** Consecutive failed checks at the change. */
  failures: number;
  /** Consecutive passed checks at the change. */
  successes: number;
  /** Detector time since its last heartbeat at the change (0 when a heartbeat caused it), ms. */
  silentMs: number;
  /** When, caller's clock, milliseconds. */
  atMs: number;
}

/** A member is now announced by another peer ID (its key was replaced while it was down). */
export interface IdentityChangedEvent {
  type: 'identity-changed';
  /** Member name. */
  member: string;
  /** Previous peer ID. */
  fromPeerId: string;
  /** New peer ID. */
  toPeerId: string;
  /** When, caller's clock, milliseconds. */
  atMs: number;
}

/** A member reported a different Merkle root (its store changed): a cue for anti-entropy. */
export interface MerkleRootChangedEvent {
  type: 'merkle-root-changed';
  /** Member name. */
  member: string;
  /** Previous root. */
  from: string;
  /** New root. */
  to: string;
  /** When, caller's clock, milliseconds. */
  atMs: number;
}

/** A member that had left was dropped from the table to make room for a new one. */
export interface RemovedEvent {
  type: 'removed';
  /** Member name. */
  member: string;
  /** When, caller's clock, milliseconds. */
  atMs: number;
}

/** Anything the peer table reports. */
export type MembershipEvent =
  | JoinedEvent
  | StateChangedEvent
  | IdentityChangedEvent
  | MerkleRootChangedEvent
  | RemovedEvent;

/** The `type` of every membership event. */
export type MembershipEventType = MembershipEvent['type'];
