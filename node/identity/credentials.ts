// Loading what a node proves itself with — identity key, certificate, trusted CAs — and checking
// them against the configuration before anything listens. A node whose own certificate would be
// refused by its peers (expired, another federation, another peer ID, another member name or
// role, untrusted CA) refuses to start, naming the field, instead of running isolated.

import type { Ed25519PrivateKey } from '@libp2p/interface';
import { ConfigError, CertificateError, KeyFileError } from '../errors.ts';
import type { ResolvedMembershipConfig } from '../config/membership-config.ts';
import { readCaPublicFile, type CaPublicKey } from './ca.ts';
import { certificateFromJson, certificateToJson, readCertificateFile, type MemberCertificate } from './certificate.ts';
import { identityFromKey, loadOrCreateIdentity, type NodeIdentity } from './identity.ts';
import { TrustStore, type TrustLists } from './trust-store.ts';
import { verifyCertificate, type VerifiedMember } from './verify-certificate.ts';

/** Everything a node authenticates with. */
export interface Credentials {
  /** Identity key and peer ID. */
  identity: NodeIdentity;
  /** This node's certificate. */
  certificate: MemberCertificate;
  /** Trusted CAs. */
  trust: TrustStore;
  /** What this node's own certificate proves. */
  self: VerifiedMember;
}

function why(e: unknown): string {
  if (e instanceof CertificateError || e instanceof KeyFileError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}

async function readCas(field: string, files: string[], objects: CaPublicKey[]): Promise<CaPublicKey[]> {
  const out = [...objects];
  for (const [i, f] of files.entries()) {
    try {
      out.push(await readCaPublicFile(f));
    } catch (e) {
      throw new ConfigError([{ field: `${field}[${i}]`, problem: `cannot use ${f}: ${why(e)}` }]);
    }
  }
  return out;
}

/** Load and cross-check credentials at time `nowMs`; throws ConfigError or KeyFileError. */
export async function loadCredentials(cfg: ResolvedMembershipConfig, nowMs: number): Promise<Credentials> {
  let identity: NodeIdentity;
  if (cfg.privateKey !== undefined) {
    identity = identityFromKey(cfg.privateKey);
  } else if (cfg.keyFile !== undefined) {
    identity = await loadOrCreateIdentity(cfg.keyFile); // KeyFileError carries its own clear message
  } else {
    throw new ConfigError([{ field: 'keyFile|privateKey', problem: 'set exactly one of keyFile and privateKey' }]);
  }

  let certificate: MemberCertificate;
  try {
    if (cfg.certificate !== undefined) certificate = certificateFromJson(certificateToJson(cfg.certificate));
    else if (cfg.certificateFile !== undefined) certificate = await readCertificateFile(cfg.certificateFile);
    else throw new Error('set exactly one of certificateFile and certificate');
  } catch (e) {
    throw new ConfigError([{ field: cfg.certificate !== undefined ? 'certificate' : 'certificateFile', problem: why(e) }]);
  }

  const controller = await readCas('controllerCaFiles', cfg.controllerCaFiles, cfg.controllerCas);
  const rc = cfg.remoteClients;
  // Client certificates are trusted only where remote clients are served: from their own CAs, or
  // (none listed) from the controller CAs.
  const client = rc === undefined ? [] : rc.caFiles.length + rc.cas.length === 0 ? controller : await readCas('remoteClients.caFiles', rc.caFiles, rc.cas);
  const trust = new TrustStore({ controller, agent: await readCas('agentCaFiles', cfg.agentCaFiles, cfg.agentCas), client });

  return checkCredentials(cfg, { identity, certificate, trust }, nowMs, cfg.certificate !== undefined ? 'certificate' : 'certificateFile');
}

/**
 * Cross-check credentials already built (credentialsFromParts) against the configuration at time
 * `nowMs`, as loadCredentials does for what it loads: the certificate verifies for this key, this
 * federation and now, and names the configured member and role. Throws ConfigError.
 */
export async function checkCredentials(
  cfg: ResolvedMembershipConfig, c: Omit<Credentials, 'self'>, nowMs: number, field = 'certificate',
): Promise<Credentials> {
  const { identity, certificate, trust } = c;
  if (cfg.privateKey !== undefined && !identityFromKey(cfg.privateKey).peerId.equals(identity.peerId)) {
    throw new ConfigError([{ field: 'privateKey', problem: 'is not the key of the credentials given' }]);
  }
  let self: VerifiedMember;
  try {
    self = await verifyCertificate(certificate, {
      trust, federationId: cfg.federationId, peerId: identity.peerId.toString(), nowMs, clockSkewMs: cfg.certificateClockSkewMs,
    });
  } catch (e) {
    throw new ConfigError([{ field, problem: `this node's own certificate would be refused by its peers: ${why(e)}` }]);
  }
  if (self.member !== cfg.memberName) {
    throw new ConfigError([{ field: 'memberName', problem: `is "${cfg.memberName}" but the certificate is for "${self.member}"` }]);
  }
  if (self.role !== cfg.role) {
    throw new ConfigError([{ field: 'role', problem: `is "${cfg.role}" but the certificate is for a ${self.role}` }]);
  }
  return { identity, certificate, trust, self };
}

/** The parts of credentials built in memory (a simulation, an embedding program). */
export interface CredentialParts {
  /** Identity key (e.g. ed25519KeyFromSeed, keys.ts). */
  privateKey: Ed25519PrivateKey;
  /** This node's certificate (issueCertificate, certificate.ts). */
  certificate: MemberCertificate;
  /** Trusted CAs per role. */
  trust: TrustLists | TrustStore;
  /** The federation the certificate must be for. */
  federationId: string;
  /** The time the certificate must be valid at, Unix ms (the node's wall clock). */
  nowMs: number;
  /** Tolerance at the edges of validity (default CERT_CLOCK_SKEW_MS_DEFAULT). */
  clockSkewMs?: number;
}

/**
 * Credentials from in-memory parts, without reading a file: the certificate is verified for the
 * key's peer ID, the federation and `nowMs`. Throws CertificateError.
 */
export async function credentialsFromParts(p: CredentialParts): Promise<Credentials> {
  const identity = identityFromKey(p.privateKey);
  const trust = p.trust instanceof TrustStore ? p.trust : new TrustStore(p.trust);
  const self = await verifyCertificate(p.certificate, {
    trust, federationId: p.federationId, peerId: identity.peerId.toString(), nowMs: p.nowMs,
    ...(p.clockSkewMs === undefined ? {} : { clockSkewMs: p.clockSkewMs }),
  });
  return { identity, certificate: p.certificate, trust, self };
}
