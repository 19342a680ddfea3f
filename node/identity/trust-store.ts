// Which CAs this node trusts, per role. Controller and agent certificates may come from different
// CAs (an operator can hand the agent CA to a less trusted team); a CA trusted only for agents can
// never make a controller. Client certificates (operator, viewer) are trusted only from the CAs
// listed for clients, which are none unless the node serves remote clients (remoteAdmin): a node
// that does not serve them refuses every client certificate as from an untrusted issuer.

import type { CaPublicKey } from './ca.ts';
import { isClientRole, type CertificateRole } from './roles.ts';

/** Most CAs trusted per role (a key rollover needs two; more is a misconfiguration). */
export const TRUSTED_CAS_PER_ROLE_MAX = 16;

/** CAs trusted per role. */
export interface TrustLists {
  /** CAs whose controller certificates are accepted. */
  controller: readonly CaPublicKey[];
  /** CAs whose agent certificates are accepted. */
  agent: readonly CaPublicKey[];
  /** CAs whose client certificates (operator, viewer) are accepted (default none). */
  client?: readonly CaPublicKey[];
}

type TrustClass = 'controller' | 'agent' | 'client';
const CLASSES: readonly TrustClass[] = ['controller', 'agent', 'client'];
const classOf = (role: CertificateRole): TrustClass => (isClientRole(role) ? 'client' : role);

/** Lookup of trusted issuers by key id and role. */
export class TrustStore {
  readonly #byClass: Record<TrustClass, Map<string, CaPublicKey>>;

  constructor(lists: TrustLists) {
    this.#byClass = { controller: new Map(), agent: new Map(), client: new Map() };
    for (const c of CLASSES) {
      const cas = lists[c] ?? [];
      if (cas.length > TRUSTED_CAS_PER_ROLE_MAX) throw new Error(`TrustStore: more than ${TRUSTED_CAS_PER_ROLE_MAX} ${c} CAs`);
      for (const ca of cas) this.#byClass[c].set(ca.keyId, ca);
    }
  }

  /** The CA with `keyId` if it is trusted to issue `role` certificates. */
  issuerFor(keyId: string, role: CertificateRole): CaPublicKey | undefined {
    return this.#byClass[classOf(role)].get(keyId);
  }

  /** Whether `keyId` is trusted for any role (to tell "unknown CA" from "CA not trusted for this role"). */
  knows(keyId: string): boolean {
    return CLASSES.some((c) => this.#byClass[c].has(keyId));
  }

  /** Number of distinct CAs trusted per role class. */
  sizes(): Record<TrustClass, number> {
    return { controller: this.#byClass.controller.size, agent: this.#byClass.agent.size, client: this.#byClass.client.size };
  }

  /** This store with `client` as the CAs trusted for client certificates. */
  withClientCas(client: readonly CaPublicKey[]): TrustStore {
    return new TrustStore({ controller: [...this.#byClass.controller.values()], agent: [...this.#byClass.agent.values()], client });
  }
}
