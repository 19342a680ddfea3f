// Certificate fixtures: a federation with separate controller and agent CAs, and members with
// real Ed25519 identities and certificates issued by them.

import type { Ed25519PrivateKey, PeerId } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { caFromKey, type FederationCa } from '../../node/identity/ca.ts';
import { issueCertificate, type MemberCertificate } from '../../node/identity/certificate.ts';
import { generateEd25519Key } from '../../node/identity/keys.ts';
import { TrustStore, type TrustLists } from '../../node/identity/trust-store.ts';
import type { MemberRole } from '../../membership/member-name.ts';
import type { CertificateRole, ClientRole } from '../../node/identity/roles.ts';

/** One hour, milliseconds. */
export const HOUR_MS = 3_600_000;

/** A test federation. */
export interface TestFederation {
  /** Federation ID. */
  id: string;
  /** CA for controller certificates. */
  controllerCa: FederationCa;
  /** CA for agent certificates. */
  agentCa: FederationCa;
  /** Trust lists: controllerCa for controllers, agentCa for agents. */
  trust: TrustLists;
  /** A trust store over `trust`. */
  store: TrustStore;
}

/** A member's identity and certificate. */
export interface TestMember {
  /** Member name. */
  name: string;
  /** Role. */
  role: MemberRole;
  /** Identity key. */
  privateKey: Ed25519PrivateKey;
  /** Its peer ID. */
  peerId: PeerId;
  /** Its certificate. */
  certificate: MemberCertificate;
}

/** A fresh CA with a random key. */
export async function makeCa(name: string): Promise<FederationCa> {
  return caFromKey(await generateEd25519Key(), name);
}

/** A fresh federation with two CAs. */
export async function makeFederation(id = 'test-fed'): Promise<TestFederation> {
  const controllerCa = await makeCa('controllers-ca');
  const agentCa = await makeCa('agents-ca');
  const trust: TrustLists = { controller: [controllerCa.public], agent: [agentCa.public] };
  return { id, controllerCa, agentCa, trust, store: new TrustStore(trust) };
}

/** How to bend a member's certificate (for negative tests). */
export interface MemberOptions {
  /** Issue with this CA instead of the federation's CA for the role. */
  ca?: FederationCa;
  /** Certificate for this federation ID instead. */
  federationId?: string;
  /** Certificate bound to this peer ID instead of the member's own. */
  peerId?: string;
  /** Validity window relative to now, milliseconds (default -1 h .. +1 h). */
  fromMs?: number;
  /** End of validity relative to now, milliseconds. */
  untilMs?: number;
  /** Use this identity key instead of a fresh one (e.g. to restart a member). */
  privateKey?: Ed25519PrivateKey;
}

/** A member with a fresh identity and a certificate from the federation's CA for its role. */
export async function makeMember(fed: TestFederation, name: string, role: MemberRole, o: MemberOptions = {}): Promise<TestMember> {
  return { ...(await issued(fed, name, role, o)), role };
}

/** A remote client (operator, viewer) with a fresh identity; its certificate from the controller CA by default. */
export async function makeClient(fed: TestFederation, name: string, role: ClientRole, o: MemberOptions = {}): Promise<Omit<TestMember, 'role'> & { role: ClientRole }> {
  return { ...(await issued(fed, name, role, o)), role };
}

async function issued(fed: TestFederation, name: string, role: CertificateRole, o: MemberOptions): Promise<Omit<TestMember, 'role'>> {
  const privateKey = o.privateKey ?? (await generateEd25519Key());
  const peerId = peerIdFromPrivateKey(privateKey);
  const now = Date.now();
  const ca = o.ca ?? (role === 'agent' ? fed.agentCa : fed.controllerCa);
  const certificate = await issueCertificate(ca, {
    federationId: o.federationId ?? fed.id,
    member: name,
    role,
    peerId: o.peerId ?? peerId.toString(),
    notBeforeMs: now + (o.fromMs ?? -HOUR_MS),
    notAfterMs: now + (o.untilMs ?? HOUR_MS),
  });
  return { name, privateKey, peerId, certificate };
}
