// The federation CA: an Ed25519 key held by the operator, and its public half that nodes trust.
//
// The private key lives in a key file (mode 0600, see key-file.ts). The public half is a small JSON
// file, `{"kind": "novaedge/ca", "version": 1, "name", "keyId", "publicKey"}`, that is safe to
// distribute. `keyId` (the first 128 bits of SHA-256 over the raw public key, hex) names the issuer
// in every certificate; decoding recomputes it, so a CA file cannot claim another key's id.

import { createHash } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import type { Ed25519PrivateKey, Ed25519PublicKey } from '@libp2p/interface';
import { isMemberName } from '../../membership/member-name.ts';
import { CertificateError } from '../errors.ts';
import { readKeyFile, writeNewKeyFile } from './key-file.ts';
import { generateEd25519Key, isEd25519PublicKey, publicKeyFromRaw } from './keys.ts';

/** Largest CA public file accepted, in bytes. */
export const CA_FILE_BYTES_MAX = 4096;

/** The public half of a CA: what a trust list holds. */
export interface CaPublicKey {
  /** Operator-chosen label, e.g. "controllers-ca" (a DNS-1123 label). */
  name: string;
  /** Issuer id written into certificates: hex of the first 16 bytes of SHA-256(raw public key). */
  keyId: string;
  /** The Ed25519 public key. */
  publicKey: Ed25519PublicKey;
}

/** A CA that can issue certificates. */
export interface FederationCa {
  /** The CA private key. */
  privateKey: Ed25519PrivateKey;
  /** Its public half. */
  public: CaPublicKey;
}

/** Issuer id of a CA public key. */
export function caKeyId(publicKey: Ed25519PublicKey): string {
  return createHash('sha256').update(publicKey.raw).digest('hex').slice(0, 32);
}

/** A CA from an in-memory private key. */
export function caFromKey(privateKey: Ed25519PrivateKey, name: string): FederationCa {
  if (!isMemberName(name)) throw new CertificateError('CERT_MALFORMED', `CA name "${name}" is not a DNS-1123 label`);
  return { privateKey, public: { name, keyId: caKeyId(privateKey.publicKey), publicKey: privateKey.publicKey } };
}

/** Create a new CA key file at `keyPath` (refuses to overwrite one); returns the CA. */
export async function createCa(keyPath: string, name: string): Promise<FederationCa> {
  const key = await generateEd25519Key();
  const ca = caFromKey(key, name); // validates the name before anything is written
  await writeNewKeyFile(keyPath, 'novaedge/ca-key', key);
  return ca;
}

/** Load a CA from its key file (mode and format enforced as for identity keys). */
export async function loadCa(keyPath: string, name: string): Promise<FederationCa> {
  return caFromKey(await readKeyFile(keyPath, 'novaedge/ca-key'), name);
}

/** Encode a CA public key as CA-file text. */
export function encodeCaPublic(ca: CaPublicKey): string {
  const doc = { kind: 'novaedge/ca', version: 1, name: ca.name, keyId: ca.keyId, publicKey: Buffer.from(ca.publicKey.raw).toString('base64') };
  return `${JSON.stringify(doc, null, 2)}\n`;
}

/** Decode CA-file text; throws CertificateError CERT_MALFORMED. */
export function decodeCaPublic(text: string): CaPublicKey {
  const bad = (why: string, cause?: unknown): CertificateError =>
    new CertificateError('CERT_MALFORMED', `CA file: ${why}`, cause === undefined ? undefined : { cause });
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw bad('not JSON', e);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw bad('not a JSON object');
  const o = doc as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !['kind', 'version', 'name', 'keyId', 'publicKey'].includes(k));
  if (extra !== undefined) throw bad(`unknown field "${extra}"`);
  if (o.kind !== 'novaedge/ca') throw bad('kind must be "novaedge/ca"');
  if (o.version !== 1) throw bad(`unsupported version ${String(o.version)}`);
  if (!isMemberName(o.name)) throw bad('name is not a DNS-1123 label');
  if (typeof o.publicKey !== 'string' || !/^[A-Za-z0-9+/]{43}=$/.test(o.publicKey)) throw bad('publicKey is not 32 bytes of base64');
  let publicKey;
  try {
    publicKey = publicKeyFromRaw(Buffer.from(o.publicKey, 'base64'));
  } catch (e) {
    throw bad('publicKey does not decode', e);
  }
  if (!isEd25519PublicKey(publicKey)) throw bad('publicKey is not Ed25519');
  const keyId = caKeyId(publicKey);
  if (o.keyId !== keyId) throw bad(`keyId does not match the public key (expected ${keyId})`);
  return { name: o.name, keyId, publicKey };
}

/** Read a CA public file. */
export async function readCaPublicFile(path: string): Promise<CaPublicKey> {
  const buf = await readFile(path);
  if (buf.length > CA_FILE_BYTES_MAX) throw new CertificateError('CERT_MALFORMED', `CA file ${path}: more than ${CA_FILE_BYTES_MAX} bytes`);
  return decodeCaPublic(buf.toString('utf8'));
}

/** Write a CA public file (it holds no secret: mode 0644). */
export async function writeCaPublicFile(path: string, ca: CaPublicKey): Promise<void> {
  await writeFile(path, encodeCaPublic(ca), { mode: 0o644 });
}
