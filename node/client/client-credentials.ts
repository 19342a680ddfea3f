// What a remote client (an operator's novactl, a CI job, a program using createClient) proves itself
// with: its identity key, its client certificate (role operator or viewer) and the CAs it trusts for
// controllers. Loaded and checked before anything is dialed, so a wrong file is named at once rather
// than found as a refusal from the far side.

import type { Ed25519PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { CertificateError, CodedError, KeyFileError } from '../errors.ts';
import { readCaPublicFile, type CaPublicKey } from '../identity/ca.ts';
import { readCertificateFile, type MemberCertificate } from '../identity/certificate.ts';
import { readKeyFile } from '../identity/key-file.ts';
import { isClientRole, type ClientRole } from '../identity/roles.ts';
import { TrustStore, TRUSTED_CAS_PER_ROLE_MAX } from '../identity/trust-store.ts';
import { verifyCertificate } from '../identity/verify-certificate.ts';

/** Where a client's credentials are. */
export interface ClientCredentialFiles {
  /** The client's Ed25519 identity key file (`novactl keygen`). */
  identityKeyFile: string;
  /** Its certificate (`novactl ca issue --role operator|viewer`). */
  certificateFile: string;
  /** CA public key files trusted for the controllers' certificates (the federation CA). */
  caFiles: readonly string[];
}

/** A client's credentials, checked. */
export interface ClientCredentials {
  privateKey: Ed25519PrivateKey;
  certificate: MemberCertificate;
  /** Trusts the CAs for controller certificates (and for this client's own, to check it). */
  trust: TrustStore;
  /** The federation the certificate is for: it names the protocols. */
  federationId: string;
  /** The name and role the certificate gives. */
  name: string;
  role: ClientRole;
}

/** Stable codes of a client's credential problems. */
export type ClientCredentialCode = 'CLIENT_CREDENTIALS';

/** A client credential file that cannot be used (the message names it and why). */
export class ClientCredentialError extends CodedError<ClientCredentialCode> {}

const why = (e: unknown): string => (e instanceof CertificateError || e instanceof KeyFileError ? `${e.code}: ${e.message}` : (e as Error).message ?? String(e));

/** Load the files and check the certificate against the key, the CAs and `nowMs`; throws ClientCredentialError. */
export async function loadClientCredentials(files: ClientCredentialFiles, nowMs: number): Promise<ClientCredentials> {
  const fail = (what: string, e: unknown): never => { throw new ClientCredentialError('CLIENT_CREDENTIALS', `${what}: ${why(e)}`, { cause: e }); };
  if (files.caFiles.length === 0) fail('caFiles', new Error('name at least one CA public key file (the federation CA)'));
  if (files.caFiles.length > TRUSTED_CAS_PER_ROLE_MAX) fail('caFiles', new Error(`at most ${TRUSTED_CAS_PER_ROLE_MAX} CA files`));
  const privateKey = await readKeyFile(files.identityKeyFile, 'novaedge/identity-key').catch((e: unknown) => fail(`identity key ${files.identityKeyFile}`, e));
  const certificate = await readCertificateFile(files.certificateFile).catch((e: unknown) => fail(`certificate ${files.certificateFile}`, e));
  const cas: CaPublicKey[] = [];
  for (const f of files.caFiles) cas.push(await readCaPublicFile(f).catch((e: unknown) => fail(`CA file ${f}`, e)));
  const trust = new TrustStore({ controller: cas, agent: [], client: cas });
  if (!isClientRole(certificate.role)) {
    fail(`certificate ${files.certificateFile}`, new Error(`is a ${certificate.role} certificate; a remote client needs an operator or viewer certificate (novactl ca issue --role operator|viewer)`));
  }
  const v = await verifyCertificate(certificate, {
    trust, federationId: certificate.federationId, peerId: peerIdFromPrivateKey(privateKey).toString(), nowMs,
  }).catch((e: unknown) => fail(`certificate ${files.certificateFile} (with ${files.identityKeyFile} and the CA files)`, e));
  return { privateKey, certificate, trust, federationId: certificate.federationId, name: v.member, role: certificate.role as ClientRole };
}
