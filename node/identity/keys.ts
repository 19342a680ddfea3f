// Ed25519 key helpers with the @libp2p/interface 2.x types that libp2p 2.x expects.
//
// Why this file exists: the installed @libp2p/crypto 5.1.x declares its keys with types from a
// nested @libp2p/interface 3.x, whose Uint8ArrayList type differs from 2.x only in a generic
// parameter. The objects are the same at run time; the types do not unify. The casts live here and
// nowhere else.

import {
  generateKeyPair,
  privateKeyFromProtobuf as cryptoPrivateKeyFromProtobuf,
  privateKeyToProtobuf as cryptoPrivateKeyToProtobuf,
  publicKeyFromRaw as cryptoPublicKeyFromRaw,
} from '@libp2p/crypto/keys';
import type { Ed25519PrivateKey, Ed25519PublicKey, PrivateKey, PublicKey } from '@libp2p/interface';

/** A fresh Ed25519 key pair. */
export async function generateEd25519Key(): Promise<Ed25519PrivateKey> {
  return (await generateKeyPair('Ed25519')) as unknown as Ed25519PrivateKey;
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
