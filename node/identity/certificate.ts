// Member certificates: a federation CA vouches that a peer ID is member X with role R in
// federation F between notBefore and notAfter. R is a member role (controller, agent) or a client
// role (operator, viewer: node/identity/roles.ts); the format is the same.
//
// Format (file and wire alike), a JSON object:
//   {"kind": "novaedge/member-certificate", "version": 1, "federationId", "member", "role", "peerId",
//    "notBefore", "notAfter", "issuer", "signature"}
// Times are ISO-8601 UTC with milliseconds ("2025-01-31T12:00:00.000Z"). `issuer` is the CA keyId.
// The signature is Ed25519 over the UTF-8 JSON of a fixed-order array of every other field, prefixed
// by the kind as a domain separator. Arrays have no key-order ambiguity, so the signed bytes are
// canonical without a canonical-JSON library, and a signature for anything else can never verify.

import { readFile, writeFile } from 'node:fs/promises';
import type { PeerId } from '@libp2p/interface';
import { isMemberName } from '../../membership/member-name.ts';
import { isPeerIdText } from '../../membership/heartbeat.ts';
import { CertificateError } from '../errors.ts';
import type { FederationCa } from './ca.ts';
import { CERTIFICATE_ROLE_PROBLEM, isCertificateRole, type CertificateRole } from './roles.ts';

const KIND = 'novaedge/member-certificate';
const FIELDS = ['kind', 'version', 'federationId', 'member', 'role', 'peerId', 'notBefore', 'notAfter', 'issuer', 'signature'];

/** Largest certificate accepted (file or wire), in bytes of JSON. */
export const CERTIFICATE_BYTES_MAX = 2048;

/** A member certificate. */
export interface MemberCertificate {
  /** Format version (1). */
  version: 1;
  /** Federation the member belongs to (a DNS-1123 label). */
  federationId: string;
  /** Member name. */
  member: string;
  /** Role: a member's (controller, agent) or a client's (operator, viewer). */
  role: CertificateRole;
  /** libp2p peer ID (base58btc) the certificate is bound to. */
  peerId: string;
  /** Start of validity, ISO-8601 UTC. */
  notBefore: string;
  /** End of validity (exclusive), ISO-8601 UTC. */
  notAfter: string;
  /** keyId of the issuing CA. */
  issuer: string;
  /** Ed25519 signature by the issuer, base64. */
  signature: string;
}

/** What to certify. */
export interface IssueOptions {
  /** Federation ID. */
  federationId: string;
  /** Member name. */
  member: string;
  /** Role: a member's (controller, agent) or a client's (operator, viewer). */
  role: CertificateRole;
  /** Peer ID of the member's identity key. */
  peerId: PeerId | string;
  /** Start of validity, Unix milliseconds. */
  notBeforeMs: number;
  /** End of validity (exclusive), Unix milliseconds; must be after notBeforeMs. */
  notAfterMs: number;
}

/** The exact bytes the issuer signs. */
export function certificateSigningBytes(c: Omit<MemberCertificate, 'signature'>): Uint8Array {
  const fields = [KIND, c.version, c.federationId, c.member, c.role, c.peerId, c.notBefore, c.notAfter, c.issuer];
  return new TextEncoder().encode(JSON.stringify(fields));
}

function isoOf(ms: number, what: string): string {
  if (!Number.isSafeInteger(ms) || ms < 0) throw new CertificateError('CERT_MALFORMED', `${what} is not a Unix time in ms`);
  return new Date(ms).toISOString();
}

/** Parse a certificate time; undefined unless it is exactly the canonical ISO form. */
export function certificateTimeMs(s: unknown): number | undefined {
  if (typeof s !== 'string' || s.length !== 24) return undefined;
  const ms = Date.parse(s);
  return Number.isFinite(ms) && new Date(ms).toISOString() === s ? ms : undefined;
}

/** Issue a certificate signed by `ca`. */
export async function issueCertificate(ca: FederationCa, o: IssueOptions): Promise<MemberCertificate> {
  const peerId = typeof o.peerId === 'string' ? o.peerId : o.peerId.toString();
  if (!isMemberName(o.federationId)) throw new CertificateError('CERT_MALFORMED', 'federationId is not a DNS-1123 label');
  if (!isMemberName(o.member)) throw new CertificateError('CERT_MALFORMED', 'member is not a DNS-1123 label');
  if (!isCertificateRole(o.role)) throw new CertificateError('CERT_MALFORMED', CERTIFICATE_ROLE_PROBLEM);
  if (!isPeerIdText(peerId)) throw new CertificateError('CERT_MALFORMED', 'peerId is not a base58btc peer ID');
  if (!(o.notAfterMs > o.notBeforeMs)) throw new CertificateError('CERT_MALFORMED', 'notAfter must be after notBefore');
  const unsigned = {
    version: 1 as const,
    federationId: o.federationId,
    member: o.member,
    role: o.role,
    peerId,
    notBefore: isoOf(o.notBeforeMs, 'notBefore'),
    notAfter: isoOf(o.notAfterMs, 'notAfter'),
    issuer: ca.public.keyId,
  };
  const signature = await ca.privateKey.sign(certificateSigningBytes(unsigned));
  return { ...unsigned, signature: Buffer.from(signature).toString('base64') };
}

/** The certificate as the JSON object used in files and on the wire. */
export function certificateToJson(c: MemberCertificate): Record<string, unknown> {
  return { kind: KIND, ...c };
}

/** Encode a certificate as file text. */
export function encodeCertificate(c: MemberCertificate): string {
  return `${JSON.stringify(certificateToJson(c), null, 2)}\n`;
}

/** Check an untrusted value (parsed JSON) has the shape of a certificate; throws CERT_MALFORMED. */
export function certificateFromJson(value: unknown): MemberCertificate {
  const bad = (why: string): CertificateError => new CertificateError('CERT_MALFORMED', `certificate: ${why}`);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('not a JSON object');
  const o = value as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !FIELDS.includes(k));
  if (extra !== undefined) throw bad(`unknown field "${extra}"`);
  if (o.kind !== KIND) throw bad(`kind must be "${KIND}"`);
  if (o.version !== 1) throw bad(`unsupported version ${String(o.version)}`);
  if (!isMemberName(o.federationId)) throw bad('federationId is not a DNS-1123 label');
  if (!isMemberName(o.member)) throw bad('member is not a DNS-1123 label');
  if (!isCertificateRole(o.role)) throw bad(CERTIFICATE_ROLE_PROBLEM);
  if (!isPeerIdText(o.peerId)) throw bad('peerId is not a base58btc peer ID');
  const nb = certificateTimeMs(o.notBefore);
  const na = certificateTimeMs(o.notAfter);
  if (nb === undefined) throw bad('notBefore is not an ISO-8601 UTC time like 2025-01-31T12:00:00.000Z');
  if (na === undefined) throw bad('notAfter is not an ISO-8601 UTC time like 2025-01-31T12:00:00.000Z');
  if (!(na > nb)) throw bad('notAfter is not after notBefore');
  if (typeof o.issuer !== 'string' || !/^[0-9a-f]{32}$/.test(o.issuer)) throw bad('issuer is not a CA key id');
  // Ed25519 signatures are 64 bytes: 88 base64 characters ending in "==".
  if (typeof o.signature !== 'string' || !/^[A-Za-z0-9+/]{86}==$/.test(o.signature)) throw bad('signature is not 64 bytes of base64');
  return {
    version: 1,
    federationId: o.federationId,
    member: o.member,
    role: o.role,
    peerId: o.peerId,
    notBefore: o.notBefore as string,
    notAfter: o.notAfter as string,
    issuer: o.issuer,
    signature: o.signature,
  };
}

/** Decode certificate text (a file); throws CertificateError CERT_MALFORMED. */
export function decodeCertificate(text: string): MemberCertificate {
  if (text.length > CERTIFICATE_BYTES_MAX) throw new CertificateError('CERT_MALFORMED', `certificate: more than ${CERTIFICATE_BYTES_MAX} bytes`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new CertificateError('CERT_MALFORMED', 'certificate: not JSON', { cause: e });
  }
  return certificateFromJson(doc);
}

/** Read a certificate file. */
export async function readCertificateFile(path: string): Promise<MemberCertificate> {
  const buf = await readFile(path);
  if (buf.length > CERTIFICATE_BYTES_MAX) throw new CertificateError('CERT_MALFORMED', `${path}: more than ${CERTIFICATE_BYTES_MAX} bytes`);
  return decodeCertificate(buf.toString('utf8'));
}

/** Write a certificate file (it holds no secret: mode 0644). */
export async function writeCertificateFile(path: string, c: MemberCertificate): Promise<void> {
  await writeFile(path, encodeCertificate(c), { mode: 0o644 });
}
