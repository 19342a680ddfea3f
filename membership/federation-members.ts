// The federation's controllers as replicated state (live membership): one record per configuration
// epoch, the value each epoch's slot decides (quorum/voter-slot.ts). A record names every controller
// (its peer ID, endpoints, region), which of them vote and which are learners (they replicate and
// serve reads, but neither vote nor count), and the identities refused federation-wide (a removed
// member's, an operator's whose certificate was withdrawn), so a removed member cannot come back with
// the same key.
//
// The changes, each one epoch on and each a single-voter change (isSingleVoterChange):
//   add      a new controller enters as a learner (autoPromote: promoted once caught up);
//   promote  a learner becomes a voter;
//   remove   a voter or learner leaves, and its peer ID is denied from then on;
//   deny     an identity that is not a member (an operator, a viewer, an agent) is refused from then on;
//   finish   nothing but dropping `priorVoters` (below).
// A record made by a voter change (promote, or remove of a voter) keeps the voters before it as
// `priorVoters`, until the next change: AgentAssisted counts by both sets meanwhile (joint accounting,
// quorum/agent-epochs.ts), and its controllers propose `finish` once the change has spread.
// `isValidSuccessor` is what a controller checks before accepting a proposed record (it comes over
// the network): exactly one epoch on, reachable by one change, nothing denied forgotten. Every list is
// bounded; `membersProblem` checks a decoded record whatever its origin.

import { MAX_CONTROLLERS } from '../quorum/limits.ts';
import { isSingleVoterChange } from '../quorum/voter-slot.ts';
import type { VoterConfig } from '../quorum/voter-config.ts';
import { isPeerIdText } from './heartbeat.ts';
import { isLocationLabel, isMemberName } from './member-name.ts';

/** Identities the deny list holds at most: removals and withdrawn certificates over the federation's life. */
export const DENIED_MAX = 1_024;

/** Endpoints (multiaddrs) one controller may list. */
export const ENDPOINTS_MAX = 8;

/** Longest endpoint text, characters. */
export const ENDPOINT_CHARS_MAX = 256;

/** One controller of the federation. */
export interface ControllerEntry {
  readonly name: string;
  /** libp2p peer ID (base58btc) its certificate must carry. */
  readonly peerId: string;
  /**
   * Multiaddrs it listens on (where the others dial it). Empty for the controllers of the first
   * record (initialMembers): each controller's configuration says where its peers are, and the first
   * record must be the same on every controller. A controller added later brings at least one.
   */
  readonly endpoints: readonly string[];
  /** Region label; '' when not set. */
  readonly region: string;
  /** A learner is promoted to voter once caught up (false: only by `promote`). */
  readonly autoPromote: boolean;
}

/** Who a denied identity was. */
export type DeniedRole = 'controller' | 'agent' | 'operator' | 'viewer';

/** An identity refused federation-wide. */
export interface DeniedIdentity {
  readonly peerId: string;
  readonly name: string;
  readonly role: DeniedRole;
  /** The epoch whose record first denied it. */
  readonly sinceEpoch: number;
}

/** The federation's membership at one epoch. Lists are sorted (controllers by name, denied by peer ID). */
export interface FederationMembers {
  readonly epoch: number;
  readonly voters: readonly string[];
  readonly learners: readonly string[];
  readonly controllers: readonly ControllerEntry[];
  readonly denied: readonly DeniedIdentity[];
  /** After a voter change: the voters of the record before it (names; a removed one included). */
  readonly priorVoters?: readonly string[];
}

/** One change of the membership. */
export type MemberChange =
  | { op: 'add'; controller: ControllerEntry }
  | { op: 'promote'; name: string }
  | { op: 'remove'; name: string }
  | { op: 'deny'; peerId: string; name: string; role: Exclude<DeniedRole, 'controller'> }
  | { op: 'finish' };

/** Why a change was refused (stable codes). */
export type MemberChangeCode =
  | 'INVALID' | 'ALREADY_MEMBER' | 'PEER_ID_IN_USE' | 'DENIED' | 'NOT_A_LEARNER' | 'NOT_A_MEMBER' | 'LAST_VOTER'
  | 'TOO_MANY_MEMBERS' | 'DENY_LIST_FULL' | 'ALREADY_DENIED' | 'NOTHING_TO_FINISH';

/** A change that cannot be applied to this membership. */
export class MemberChangeError extends Error {
  override readonly name = 'MemberChangeError';
  readonly code: MemberChangeCode;
  constructor(code: MemberChangeCode, message: string) {
    super(message);
    this.code = code;
  }
}

const DENIED_ROLES: readonly DeniedRole[] = ['controller', 'agent', 'operator', 'viewer'];
const byName = (a: { name: string }, b: { name: string }): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const byPeerId = (a: { peerId: string }, b: { peerId: string }): number => (a.peerId < b.peerId ? -1 : a.peerId > b.peerId ? 1 : 0);
const sorted = (xs: Iterable<string>): string[] => [...new Set(xs)].sort();

/** What is wrong with `c` as a controller entry, or undefined. */
export function controllerEntryProblem(c: unknown): string | undefined {
  if (typeof c !== 'object' || c === null || Array.isArray(c)) return 'a controller is not an object';
  const e = c as Record<string, unknown>;
  const extra = Object.keys(e).find((k) => !['name', 'peerId', 'endpoints', 'region', 'autoPromote'].includes(k));
  if (extra !== undefined) return `a controller has an unknown field ${extra.slice(0, 40)}`;
  if (!isMemberName(e.name)) return 'a controller name is not a member name';
  if (!isPeerIdText(e.peerId)) return `controller ${e.name}: peerId is not a base58btc peer ID`;
  if (!Array.isArray(e.endpoints) || e.endpoints.length > ENDPOINTS_MAX) return `controller ${e.name}: endpoints is not a list of at most ${ENDPOINTS_MAX}`;
  for (const a of e.endpoints) {
    if (typeof a !== 'string' || a.length === 0 || a.length > ENDPOINT_CHARS_MAX || !a.startsWith('/')) return `controller ${e.name}: an endpoint is not a multiaddr of at most ${ENDPOINT_CHARS_MAX} characters`;
  }
  if (!isLocationLabel(e.region)) return `controller ${e.name}: region is not a region label`;
  if (typeof e.autoPromote !== 'boolean') return `controller ${e.name}: autoPromote is not a boolean`;
  return undefined;
}

/**
 * What is wrong with `value` as a membership record, or undefined when nothing is: the shape, the
 * bounds, sorted lists without duplicates, voters and learners disjoint and each a listed controller,
 * every controller a voter or a learner, at least one voter, no controller denied, peer IDs unique.
 */
export function membersProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'the membership is not an object';
  const m = value as Record<string, unknown>;
  const extra = Object.keys(m).find((k) => !['epoch', 'voters', 'learners', 'controllers', 'denied', 'priorVoters'].includes(k));
  if (extra !== undefined) return `the membership has an unknown field ${extra.slice(0, 40)}`;
  if (!Number.isSafeInteger(m.epoch) || (m.epoch as number) < 1) return 'epoch is not a positive integer';
  if (!Array.isArray(m.controllers) || m.controllers.length > MAX_CONTROLLERS) return `controllers is not a list of at most ${MAX_CONTROLLERS}`;
  for (const c of m.controllers) {
    const p = controllerEntryProblem(c);
    if (p !== undefined) return p;
  }
  const controllers = m.controllers as ControllerEntry[];
  const names = controllers.map((c) => c.name);
  if (names.some((n, i) => i > 0 && names[i - 1]! >= n)) return 'controllers are not sorted by name without duplicates';
  if (new Set(controllers.map((c) => c.peerId)).size !== controllers.length) return 'two controllers have one peer ID';
  const nameList = (v: unknown, what: string): string | undefined => {
    if (!Array.isArray(v) || v.length > MAX_CONTROLLERS || !v.every((x) => isMemberName(x))) return `${what} is not a list of member names`;
    if (v.some((n, i) => i > 0 && (v[i - 1] as string) >= (n as string))) return `${what} is not sorted without duplicates`;
    if (v.some((n) => !names.includes(n as string))) return `${what} names a controller the membership does not list`;
    return undefined;
  };
  const problem = nameList(m.voters, 'voters') ?? nameList(m.learners, 'learners');
  if (problem !== undefined) return problem;
  const voters = m.voters as string[];
  const learners = m.learners as string[];
  if (voters.length === 0) return 'no voter';
  if (learners.some((l) => voters.includes(l))) return 'a controller is both voter and learner';
  if (voters.length + learners.length !== names.length) return 'a controller is neither voter nor learner';
  if (!Array.isArray(m.denied) || m.denied.length > DENIED_MAX) return `denied is not a list of at most ${DENIED_MAX}`;
  for (const d of m.denied as unknown[]) {
    if (typeof d !== 'object' || d === null || Array.isArray(d)) return 'a denied identity is not an object';
    const x = d as Record<string, unknown>;
    if (Object.keys(x).some((k) => !['peerId', 'name', 'role', 'sinceEpoch'].includes(k))) return 'a denied identity has an unknown field';
    if (!isPeerIdText(x.peerId) || !isMemberName(x.name) || !DENIED_ROLES.includes(x.role as DeniedRole)) return 'a denied identity is not a peer ID, name and role';
    if (!Number.isSafeInteger(x.sinceEpoch) || (x.sinceEpoch as number) < 1 || (x.sinceEpoch as number) > (m.epoch as number)) return 'a denied identity has no epoch up to the record\'s';
  }
  const denied = m.denied as DeniedIdentity[];
  if (denied.some((d, i) => i > 0 && denied[i - 1]!.peerId >= d.peerId)) return 'denied is not sorted by peer ID without duplicates';
  if (controllers.some((c) => denied.some((d) => d.peerId === c.peerId))) return 'a controller is denied';
  if (m.priorVoters !== undefined) {
    const p = m.priorVoters;
    if (!Array.isArray(p) || p.length === 0 || p.length > MAX_CONTROLLERS || !p.every((x) => isMemberName(x))) return 'priorVoters is not a list of member names';
    if (p.some((x, i) => i > 0 && (p[i - 1] as string) >= (x as string))) return 'priorVoters is not sorted without duplicates';
    if (p.join(',') === voters.join(',')) return 'priorVoters is the same as voters';
  }
  return undefined;
}

/** A canonical text of the whole record: equal exactly when the records are (whatever their key order). */
export function membersId(m: FederationMembers): string {
  return JSON.stringify([
    m.epoch, m.voters, m.learners,
    m.controllers.map((c) => [c.name, c.peerId, c.endpoints, c.region, c.autoPromote]),
    m.denied.map((d) => [d.peerId, d.name, d.role, d.sinceEpoch]),
    ...(m.priorVoters === undefined ? [] : [m.priorVoters]),
  ]);
}

/** The voter configuration of `m`, as the voter-change rules see it. */
export function voterConfigOf(m: FederationMembers): VoterConfig {
  return { epoch: m.epoch, voters: m.voters, learners: m.learners };
}

/** The first membership of a federation: the controllers its YAML lists, every one a voter, epoch 1. */
export function initialMembers(controllers: readonly ControllerEntry[]): FederationMembers {
  const list = [...controllers].sort(byName);
  const m: FederationMembers = { epoch: 1, voters: sorted(list.map((c) => c.name)), learners: [], controllers: list, denied: [] };
  const problem = membersProblem(m);
  if (problem !== undefined) throw new MemberChangeError('INVALID', problem);
  return m;
}

/** The controller entry named `name`, if a member. */
export function controllerNamed(m: FederationMembers, name: string): ControllerEntry | undefined {
  return m.controllers.find((c) => c.name === name);
}

/** True when `peerId` is refused federation-wide under `m`. */
export function isDenied(m: FederationMembers, peerId: string): boolean {
  return m.denied.some((d) => d.peerId === peerId);
}

function denyAlso(m: FederationMembers, d: DeniedIdentity): DeniedIdentity[] {
  if (isDenied(m, d.peerId)) return [...m.denied];
  if (m.denied.length >= DENIED_MAX) throw new MemberChangeError('DENY_LIST_FULL', `the deny list holds ${DENIED_MAX} identities already`);
  return [...m.denied, d].sort(byPeerId);
}

/**
 * `m` with `change` applied, one epoch on. Throws MemberChangeError when the change does not apply.
 * (Whether the proposer holds quorum, and the decision of the epoch's slot, are the caller's.)
 */
export function applyMemberChange(m: FederationMembers, change: MemberChange): FederationMembers {
  const epoch = m.epoch + 1;
  const { priorVoters: prior, ...current } = m;
  const changed = ((): FederationMembers => {
    const m = current;
    switch (change.op) {
      case 'add': {
        const c = change.controller;
        const problem = controllerEntryProblem(c);
        if (problem !== undefined) throw new MemberChangeError('INVALID', problem);
        if (c.endpoints.length === 0) throw new MemberChangeError('INVALID', `controller ${c.name}: an added controller needs an endpoint where the others dial it`);
        if (controllerNamed(m, c.name) !== undefined) throw new MemberChangeError('ALREADY_MEMBER', `${c.name} is already a member`);
        if (isDenied(m, c.peerId)) throw new MemberChangeError('DENIED', `peer ID ${c.peerId} was removed from the federation; a member needs a new identity to come back`);
        const other = m.controllers.find((x) => x.peerId === c.peerId);
        if (other !== undefined) throw new MemberChangeError('PEER_ID_IN_USE', `${other.name} has peer ID ${c.peerId}`);
        if (m.controllers.length >= MAX_CONTROLLERS) throw new MemberChangeError('TOO_MANY_MEMBERS', `at most ${MAX_CONTROLLERS} controllers`);
        const entry: ControllerEntry = { name: c.name, peerId: c.peerId, endpoints: [...c.endpoints], region: c.region, autoPromote: c.autoPromote };
        return { epoch, voters: m.voters, learners: sorted([...m.learners, c.name]), controllers: [...m.controllers, entry].sort(byName), denied: m.denied };
      }
      case 'promote':
        if (!m.learners.includes(change.name)) throw new MemberChangeError('NOT_A_LEARNER', `${change.name} is not a learner`);
        return { epoch, voters: sorted([...m.voters, change.name]), learners: m.learners.filter((l) => l !== change.name), controllers: m.controllers, denied: m.denied };
      case 'remove': {
        const c = controllerNamed(m, change.name);
        if (c === undefined) throw new MemberChangeError('NOT_A_MEMBER', `${change.name} is not a member`);
        if (m.voters.length === 1 && m.voters[0] === c.name) throw new MemberChangeError('LAST_VOTER', `${c.name} is the last voter`);
        return {
          epoch, voters: m.voters.filter((v) => v !== c.name), learners: m.learners.filter((l) => l !== c.name),
          controllers: m.controllers.filter((x) => x.name !== c.name), denied: denyAlso(m, { peerId: c.peerId, name: c.name, role: 'controller', sinceEpoch: epoch }),
        };
      }
      case 'deny': {
        if (!isPeerIdText(change.peerId) || !isMemberName(change.name) || !DENIED_ROLES.includes(change.role)) throw new MemberChangeError('INVALID', 'deny needs a peer ID, a name and a role');
        const member = m.controllers.find((x) => x.peerId === change.peerId);
        if (member !== undefined) throw new MemberChangeError('ALREADY_MEMBER', `${change.peerId} is controller ${member.name}'s: remove it instead`);
        if (isDenied(m, change.peerId)) throw new MemberChangeError('ALREADY_DENIED', `${change.peerId} is denied already`);
        return { ...m, epoch, denied: denyAlso(m, { peerId: change.peerId, name: change.name, role: change.role, sinceEpoch: epoch }) };
      }
      case 'finish':
        if (prior === undefined) throw new MemberChangeError('NOTHING_TO_FINISH', `epoch ${m.epoch} follows no voter change`);
        return { ...m, epoch };
    }
  })();
  const next = changed.voters.join(',') === m.voters.join(',') ? changed : { ...changed, priorVoters: m.voters };
  const problem = membersProblem(next);
  if (problem !== undefined) throw new MemberChangeError('INVALID', problem);
  return next;
}

/**
 * Whether `next` may be accepted as the successor of `current` (a proposal that came over the
 * network): a valid record exactly one epoch on that `current` reaches by exactly one change (one
 * learner added, one learner promoted, one controller removed and denied, or one other identity
 * denied), everything `current` denied still denied, and each controller that stayed unchanged but
 * for its promotion.
 */
export function isValidSuccessor(current: FederationMembers, next: FederationMembers): boolean {
  if (next.epoch !== current.epoch + 1 || membersProblem(next) !== undefined) return false;
  if (!isSingleVoterChange(voterConfigOf(current), voterConfigOf(next))) return false;
  const votersChanged = current.voters.join(',') !== next.voters.join(',');
  if ((next.priorVoters?.join(',') ?? '') !== (votersChanged ? current.voters.join(',') : '')) return false;
  const same = (a: DeniedIdentity, b: DeniedIdentity): boolean => a.peerId === b.peerId && a.sinceEpoch === b.sinceEpoch && a.role === b.role && a.name === b.name;
  if (!current.denied.every((d) => next.denied.some((x) => same(x, d)))) return false;
  const newlyDenied = next.denied.filter((d) => !isDenied(current, d.peerId));
  if (newlyDenied.some((d) => d.sinceEpoch !== next.epoch)) return false;
  let removed = 0;
  let promoted = 0;
  for (const c of current.controllers) {
    const after = controllerNamed(next, c.name);
    if (after === undefined) {
      // Removed: its own identity is the one newly denied, as a controller.
      if (!newlyDenied.some((d) => d.peerId === c.peerId && d.name === c.name && d.role === 'controller')) return false;
      removed++;
      continue;
    }
    if (after.peerId !== c.peerId || after.region !== c.region || after.autoPromote !== c.autoPromote || after.endpoints.join(' ') !== c.endpoints.join(' ')) return false;
    if (current.voters.includes(c.name) && !next.voters.includes(c.name)) return false; // no demotion
    if (current.learners.includes(c.name) && next.voters.includes(c.name)) promoted++;
  }
  const added = next.controllers.filter((c) => controllerNamed(current, c.name) === undefined);
  if (added.some((c) => !next.learners.includes(c.name) || c.endpoints.length === 0)) return false;
  const otherDenied = newlyDenied.length - removed;
  if (otherDenied < 0 || newlyDenied.slice(0).some((d) => d.role === 'controller' && !current.controllers.some((c) => c.peerId === d.peerId))) return false;
  const changes = added.length + promoted + removed + otherDenied;
  // finish: nothing else changed, and the joint accounting ends.
  return changes === 1 || (changes === 0 && current.priorVoters !== undefined && next.learners.join(',') === current.learners.join(','));
}
