// Identities pinned by configuration: which certificates may stand for which members.
//
// A certificate proves that a trusted CA gave a member name and role to a peer ID; the configuration
// says which peer ID each configured member has (a controller's spec.members, an agent's
// spec.agent.controllers). Both must agree, in both directions, inbound and outbound:
//   - a certificate naming a configured member must be issued for that member's peer ID, and a
//     configured peer ID must present its configured name (when the configuration gives one);
//   - a configured controller's name is not available to an agent certificate, and no one may
//     present this node's own name;
//   - when the list is given it is closed: a controller certificate is accepted only for a listed
//     name (if any entry has a name) from a listed peer ID (if any entry has a peer ID); an empty
//     list accepts no other controller.
// Without a list (membership-only embedders and tests) any controller a trusted CA certified passes.
// Pure: no clock, no I/O.

import { multiaddr } from '@multiformats/multiaddr';
import { isMemberName } from '../../membership/member-name.ts';
import type { CertificateRole } from '../identity/roles.ts';
import { checkPeerId } from '../config/endpoint.ts';

/** One configured controller: its name, the peer ID that pins its identity, or both. */
export interface MemberPin {
  /** Member name. */
  name?: string;
  /** Peer ID (12D3KooW…). */
  peerId?: string;
}

/** Most entries in a pin list (as many as bootstrap addresses). */
export const MEMBER_PINS_MAX = 1_024;

/** Why a certificate is refused by the pins. */
export interface PinRefusal {
  code: 'AUTH_MEMBER_PINNED' | 'AUTH_MEMBER_UNKNOWN';
  message: string;
}

/** What a verified certificate claims. */
export interface PinnedClaim {
  member: string;
  role: CertificateRole;
  peerId: string;
}

/** The pins of one node. */
export class MemberPins {
  readonly #self: string | undefined;
  readonly #closed: boolean;
  readonly #byName = new Map<string, string | undefined>();
  readonly #byPeer = new Map<string, string | undefined>();

  /** `self`: this node's member name (undefined: none); `controllers`: the configured ones, or undefined (open). */
  constructor(self: string | undefined, controllers: readonly MemberPin[] | undefined) {
    this.#self = self;
    this.#closed = controllers !== undefined;
    for (const p of controllers ?? []) {
      if (p.name !== undefined) this.#byName.set(p.name, p.peerId ?? this.#byName.get(p.name));
      if (p.peerId !== undefined) this.#byPeer.set(p.peerId, p.name ?? this.#byPeer.get(p.peerId));
    }
  }

  /**
   * Pin `name` to `peerId` as a controller from now on (live membership: the committed membership
   * record lists it, and the record wins over the configuration). Not this node's own name.
   */
  admit(name: string, peerId: string): void {
    if (name === this.#self) return;
    const before = this.#byName.get(name);
    if (before !== undefined && before !== peerId) this.#byPeer.delete(before);
    this.#byName.set(name, peerId);
    this.#byPeer.set(peerId, name);
  }

  /** Undefined when `c` may be accepted, else why not. */
  check(c: PinnedClaim): PinRefusal | undefined {
    const pinned = (message: string): PinRefusal => ({ code: 'AUTH_MEMBER_PINNED', message });
    if (c.member === this.#self) return pinned(`certificate names this node (${c.member})`);
    if (this.#byName.has(c.member)) {
      const peer = this.#byName.get(c.member);
      if (peer !== undefined && peer !== c.peerId) return pinned(`${c.member} is configured with peer ID ${peer}, not ${c.peerId}`);
      if (c.role !== 'controller') return pinned(`${c.member} is a configured controller; ${/^[aeiou]/.test(c.role) ? 'an' : 'a'} ${c.role} certificate may not use its name`);
    }
    const name = this.#byPeer.get(c.peerId);
    if (name !== undefined && name !== c.member) return pinned(`peer ${c.peerId} is configured as ${name}, not ${c.member}`);
    if (!this.#closed || c.role !== 'controller') return undefined;
    const unknown: PinRefusal = { code: 'AUTH_MEMBER_UNKNOWN', message: `controller ${c.member} (${c.peerId}) is not in this node's configuration` };
    if (this.#byName.size === 0 && this.#byPeer.size === 0) return unknown;
    if (this.#byName.size > 0 && !this.#byName.has(c.member)) return unknown;
    if (this.#byPeer.size > 0 && !this.#byPeer.has(c.peerId)) {
      // A configured name from a key the configuration does not know.
      return this.#byName.has(c.member) ? pinned(`${c.member} is configured, but not with peer ID ${c.peerId}`) : unknown;
    }
    return undefined;
  }
}

/** Problems of a pin list, each as [index-relative field, problem] (empty when valid). */
export function pinProblems(list: unknown): Array<{ field: string; problem: string }> {
  if (list === undefined) return [];
  if (!Array.isArray(list)) return [{ field: '', problem: 'must be a list of { name?, peerId? }' }];
  const out: Array<{ field: string; problem: string }> = [];
  if (list.length > MEMBER_PINS_MAX) out.push({ field: '', problem: `at most ${MEMBER_PINS_MAX} entries` });
  const seen = new Set<unknown>();
  const once = (at: string, key: string, v: unknown): void => {
    if (seen.has(`${key}=${String(v)}`)) out.push({ field: `${at}.${key}`, problem: `${String(v)} is listed twice` });
    seen.add(`${key}=${String(v)}`);
  };
  list.forEach((p: unknown, i) => {
    const at = `[${i}]`;
    if (typeof p !== 'object' || p === null || Array.isArray(p)) return void out.push({ field: at, problem: 'must be { name?, peerId? }' });
    const o = p as Record<string, unknown>;
    const extra = Object.keys(o).find((k) => k !== 'name' && k !== 'peerId');
    if (extra !== undefined) out.push({ field: `${at}.${extra}`, problem: 'unknown field' });
    if (o.name === undefined && o.peerId === undefined) out.push({ field: at, problem: 'needs a name, a peerId or both' });
    if (o.name !== undefined) once(at, 'name', o.name);
    if (o.peerId !== undefined) once(at, 'peerId', o.peerId);
    if (o.name !== undefined && !isMemberName(o.name)) out.push({ field: `${at}.name`, problem: 'must be a DNS-1123 label (a-z, 0-9, -; 1..63 chars)' });
    if (o.peerId !== undefined) {
      const bad = typeof o.peerId === 'string' ? checkPeerId(o.peerId) : 'must be a string';
      if (bad !== undefined) out.push({ field: `${at}.peerId`, problem: bad });
    }
  });
  return out;
}

/** The pin of a configured member from its name and dialable address (with /p2p/<peerId>). */
export function pinOf(name: string, address: string): MemberPin {
  const peerId = multiaddr(address).getPeerId();
  return peerId === null ? { name } : { name, peerId };
}

/**
 * A controller's pins when its configuration lists none: every configured controller by name
 * (`controllers`, this node excluded), and the peer IDs of `bootstrap` (the other controllers'
 * addresses) when every address carries one — a list with a hole would refuse a configured member.
 */
export function controllerPinsFrom(self: string, controllers: readonly string[], bootstrap: readonly string[]): MemberPin[] {
  const names: MemberPin[] = controllers.filter((n) => n !== self).map((name) => ({ name }));
  const peerIds = bootstrap.map((a) => multiaddr(a).getPeerId());
  if (peerIds.length === 0 || peerIds.some((p) => p === null)) return names;
  return [...names, ...(peerIds as string[]).map((peerId) => ({ peerId }))];
}
