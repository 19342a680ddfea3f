// Verifying a member certificate for a given peer, federation and time.
//
// Order of checks: shape (done by decoding), issuer trusted for the claimed role, signature, then
// the signed claims — federation, peer ID, validity window. Claims are only reported (as
// CERT_WRONG_FEDERATION and the like) once the signature proves a trusted CA made them, so an
// error code never repeats what an attacker wrote as if it were a fact.

import { CertificateError } from '../errors.ts';
import type { CertificateRole } from './roles.ts';
import { certificateSigningBytes, certificateTimeMs, type MemberCertificate } from './certificate.ts';
import type { TrustStore } from './trust-store.ts';

/** Default tolerance for clock differences at the edges of the validity window (1 minute). */
export const CERT_CLOCK_SKEW_MS_DEFAULT = 60_000;

/** Where and when a certificate is checked. */
export interface VerifyContext {
  /** Trusted CAs. */
  trust: TrustStore;
  /** The federation this node belongs to. */
  federationId: string;
  /** Peer ID the certificate must be bound to (the Noise-authenticated remote, or a message author). */
  peerId: string;
  /** Current time, Unix milliseconds. */
  nowMs: number;
  /** Tolerance at both edges of the validity window, milliseconds (default 60 000). */
  clockSkewMs?: number;
}

/** What a valid certificate proves. */
export interface VerifiedMember {
  /** Member name. */
  member: string;
  /** Role: a member's, or a client's (the caller decides what each may do). */
  role: CertificateRole;
  /** Peer ID. */
  peerId: string;
  /** End of validity, Unix milliseconds. */
  notAfterMs: number;
  /** keyId of the CA that issued it. */
  issuer: string;
}

/** Verify `cert`; resolves to what it proves, or rejects with a CertificateError. */
export async function verifyCertificate(cert: MemberCertificate, ctx: VerifyContext): Promise<VerifiedMember> {
  const ca = ctx.trust.issuerFor(cert.issuer, cert.role);
  if (ca === undefined) {
    const why = ctx.trust.knows(cert.issuer) ? `is not trusted for ${cert.role} certificates` : 'is not a trusted CA';
    throw new CertificateError('CERT_UNTRUSTED_ISSUER', `issuer ${cert.issuer} ${why}`);
  }
  const { signature, ...unsigned } = cert;
  const ok = await ca.publicKey.verify(certificateSigningBytes(unsigned), Buffer.from(signature, 'base64'));
  if (!ok) throw new CertificateError('CERT_BAD_SIGNATURE', `signature does not verify with CA ${ca.name} (${ca.keyId})`);
  if (cert.federationId !== ctx.federationId) {
    throw new CertificateError('CERT_WRONG_FEDERATION', `issued for federation "${cert.federationId}", this is "${ctx.federationId}"`);
  }
  if (cert.peerId !== ctx.peerId) {
    throw new CertificateError('CERT_WRONG_PEER', `issued for peer ${cert.peerId}, presented by ${ctx.peerId}`);
  }
  const skewMs = ctx.clockSkewMs ?? CERT_CLOCK_SKEW_MS_DEFAULT;
  const notBeforeMs = certificateTimeMs(cert.notBefore);
  const notAfterMs = certificateTimeMs(cert.notAfter);
  if (notBeforeMs === undefined || notAfterMs === undefined) throw new CertificateError('CERT_MALFORMED', 'validity times do not parse');
  if (ctx.nowMs + skewMs < notBeforeMs) throw new CertificateError('CERT_NOT_YET_VALID', `not valid before ${cert.notBefore}`);
  if (ctx.nowMs - skewMs >= notAfterMs) throw new CertificateError('CERT_EXPIRED', `expired at ${cert.notAfter}`);
  return { member: cert.member, role: cert.role, peerId: cert.peerId, notAfterMs, issuer: cert.issuer };
}
