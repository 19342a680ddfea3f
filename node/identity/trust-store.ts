// Which CAs this node trusts, per role. Controller and agent certificates may come from different
// CAs (an operator can hand the agent CA to a less trusted team); a CA trusted only for agents can
// never make a controller.

import type { MemberRole } from '../../membership/member-name.ts';
import type { CaPublicKey } from './ca.ts';

/** Most CAs trusted per role (a key rollover needs two; more is a misconfiguration). */
export const TRUSTED_CAS_PER_ROLE_MAX = 16;

/** CAs trusted per role. */
export interface TrustLists {
  /** CAs whose controller certificates are accepted. */
  controller: readonly CaPublicKey[];
  /** CAs whose agent certificates are accepted. */
  agent: readonly CaPublicKey[];
}

/** Lookup of trusted issuers by key id and role. */
export class TrustStore {
  readonly #byRole: Record<MemberRole, Map<string, CaPublicKey>>;

  constructor(lists: TrustLists) {
    this.#byRole = { controller: new Map(), agent: new Map() };
    for (const role of ['controller', 'agent'] as const) {
      const cas = lists[role];
      if (cas.length > TRUSTED_CAS_PER_ROLE_MAX) throw new Error(`TrustStore: more than ${TRUSTED_CAS_PER_ROLE_MAX} ${role} CAs`);
      for (const ca of cas) this.#byRole[role].set(ca.keyId, ca);
    }
  }

  /** The CA with `keyId` if it is trusted to issue `role` certificates. */
  issuerFor(keyId: string, role: MemberRole): CaPublicKey | undefined {
    return this.#byRole[role].get(keyId);
  }

  /** Whether `keyId` is trusted for any role (to tell "unknown CA" from "CA not trusted for this role"). */
  knows(keyId: string): boolean {
    return this.#byRole.controller.has(keyId) || this.#byRole.agent.has(keyId);
  }

  /** Number of distinct CAs trusted per role. */
  sizes(): Record<MemberRole, number> {
    return { controller: this.#byRole.controller.size, agent: this.#byRole.agent.size };
  }
}
