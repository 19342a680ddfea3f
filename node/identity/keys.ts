// Ed25519 key helpers with the @libp2p/interface 2.x types that libp2p 2.x expects.
//
// Why this file exists: the installed @libp2p/crypto 5.1.x declares its keys with types from a
// nested @libp2p/interface 3.x, whose Uint8ArrayList type differs from 2.x only in a generic
// parameter. The objects are the same at run time; the types do not unify. The casts live here and
// nowhere else.

import {
  generateKeyPair,
  generateKeyPairFromSeed,
  privateKeyFromProtobuf as cryptoPrivateKeyFromProtobuf,
  privateKeyToProtobuf as cryptoPrivateKeyToProtobuf,
  publicKeyFromRaw as cryptoPublicKeyFromRaw,
} from '@libp2p/crypto/keys';
import type { Ed25519PrivateKey, Ed25519PublicKey, PrivateKey, PublicKey } from '@libp2p/interface';

/** A fresh Ed25519 key pair. */
export async function generateEd25519Key(): Promise<Ed25519PrivateKey> {
  return (await generateKeyPair('Ed25519')) as unknown as Ed25519PrivateKey;
}

/** Bytes of an Ed25519 seed. */
export const ED25519_SEED_BYTES = 32;

/**
 * The Ed25519 key pair of a 32-byte seed: the same seed, the same key and peer ID (a seeded
 * simulation builds its whole federation this way). A seed is as secret as the key it makes.
 */
export async function ed25519KeyFromSeed(seed: Uint8Array): Promise<Ed25519PrivateKey> {
  if (seed.byteLength !== ED25519_SEED_BYTES) throw new RangeError(`an Ed25519 seed is ${ED25519_SEED_BYTES} bytes, not ${seed.byteLength}`);
  return (await generateKeyPairFromSeed('Ed25519', seed)) as unknown as Ed25519PrivateKey;
}

/** Decode a libp2p protobuf-encoded private key (throws on malformed input). */
export function privateKeyFromProtobuf(buf: Uint8Array): PrivateKey {
  return cryptoPrivateKeyFromProtobuf(buf) as unknown as PrivateKey;
}

/** Encode a private key as libp2p protobuf. */
export function privateKeyToProtobuf(key: PrivateKey): Uint8Array {
  return cryptoPrivateKeyToProtobuf(key as unknown as Parameters<typeof cryptoPrivateKeyToProtobuf>[0]);
}

/** Decode a raw public key (32 bytes for Ed25519; throws on malformed input). */
export function publicKeyFromRaw(buf: Uint8Array): PublicKey {
  return cryptoPublicKeyFromRaw(buf) as unknown as PublicKey;
}

/** True when `key` is an Ed25519 public key. */
export function isEd25519PublicKey(key: PublicKey): key is Ed25519PublicKey {
  return key.type === 'Ed25519';
}
