// Loading what a node proves itself with — identity key, certificate, trusted CAs — and checking
// them against the configuration before anything listens. A node whose own certificate would be
// refused by its peers (expired, another federation, another peer ID, another member name or
// role, untrusted CA) refuses to start, naming the field, instead of running isolated.

import { ConfigError, CertificateError, KeyFileError } from '../errors.ts';
import type { ResolvedMembershipConfig } from '../config/membership-config.ts';
import { readCaPublicFile, type CaPublicKey } from './ca.ts';
import { certificateFromJson, certificateToJson, readCertificateFile, type MemberCertificate } from './certificate.ts';
import { identityFromKey, loadOrCreateIdentity, type NodeIdentity } from './identity.ts';
import { TrustStore } from './trust-store.ts';
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

  const trust = new TrustStore({
    controller: await readCas('controllerCaFiles', cfg.controllerCaFiles, cfg.controllerCas),
    agent: await readCas('agentCaFiles', cfg.agentCaFiles, cfg.agentCas),
  });

  const field = cfg.certificate !== undefined ? 'certificate' : 'certificateFile';
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
