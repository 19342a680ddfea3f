// Noise crypto for libp2p-noise: the package's default crypto, except that ChaCha20-Poly1305 on
// Node keys its ciphers with a cached KeyObject per session key (and so takes over from WebAssembly
// at a smaller size). The package's Node path passes the raw key to createCipheriv, so Node builds a
// fresh secret KeyObject for every message; profiles of a replicating controller showed that as
// about a third of all Noise CPU (on Node 24, createCipheriv takes ~40 us with a raw key, ~4 us with
// a KeyObject).
//
// Why a WeakMap keyed by the key array is sound: libp2p-noise (16.x) keeps each session key in a
// CipherState (`k`, set once in the constructor, never reassigned nor rekeyed) and passes that same
// Uint8Array instance for every message, so the entry lives exactly as long as the session. The
// cached entry also keeps a copy of the key bytes and is rebuilt if they differ, so a future version
// that rewrote a key in place would get a slower cipher, never a wrong one.

import { createCipheriv, createDecipheriv, createSecretKey, type KeyObject } from 'node:crypto';
import type { ICryptoInterface } from '@chainsafe/libp2p-noise';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';

/** A message body as libp2p-noise hands it over: one array, or a list of chunks. */
type NoiseBytes = Parameters<ICryptoInterface['chaCha20Poly1305Encrypt']>[0];

const CHACHA20_POLY1305 = 'chacha20-poly1305';
const TAG_BYTES = 16;

// Below this size the package's WebAssembly ChaCha20-Poly1305 (what its default uses below 1200
// bytes) is faster, because setting up a Node cipher costs a few microseconds even with a cached key.
// The package's 1200 was measured against the raw-key Node path; with a cached key Node wins from
// about 512 bytes on (Node 24, x64: both about 68,000 encrypt+decrypt per CPU-second at 512 B; at
// 1 KiB Node 55,000 vs WebAssembly 40,000).
const NODE_CIPHER_MIN_BYTES = 512;

interface CachedKey {
  /** Copy of the key bytes the KeyObject was built from. */
  bytes: Buffer;
  key: KeyObject;
}

const keyObjects = new WeakMap<Uint8Array, CachedKey>();

// The secret KeyObject of a session key, built on its first message.
function keyObjectOf(k: Uint8Array): KeyObject {
  const cached = keyObjects.get(k);
  if (cached !== undefined && cached.bytes.equals(k)) return cached.key;
  const bytes = Buffer.from(k);
  const key = createSecretKey(bytes);
  keyObjects.set(k, { bytes, key });
  return key;
}

/** ChaCha20-Poly1305 seal with Node's cipher and a cached key: ciphertext || 16-byte tag. */
export function nodeEncrypt(plaintext: NoiseBytes, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array): Buffer {
  const cipher = createCipheriv(CHACHA20_POLY1305, keyObjectOf(k), nonce, { authTagLength: TAG_BYTES });
  cipher.setAAD(ad, { plaintextLength: plaintext.byteLength });
  const parts: Buffer[] = [];
  if (plaintext instanceof Uint8Array) parts.push(cipher.update(plaintext));
  else for (const chunk of plaintext) parts.push(cipher.update(chunk));
  parts.push(cipher.final(), cipher.getAuthTag());
  return Buffer.concat(parts, plaintext.byteLength + TAG_BYTES);
}

/** ChaCha20-Poly1305 open with Node's cipher and a cached key; throws if authentication fails. */
export function nodeDecrypt(ciphertext: NoiseBytes, nonce: Uint8Array, ad: Uint8Array, k: Uint8Array): Buffer {
  const textBytes = ciphertext.byteLength - TAG_BYTES;
  if (textBytes < 0) throw new Error('chacha20-poly1305 ciphertext shorter than its tag');
  const decipher = createDecipheriv(CHACHA20_POLY1305, keyObjectOf(k), nonce, { authTagLength: TAG_BYTES });
  decipher.setAAD(ad, { plaintextLength: textBytes });
  decipher.setAuthTag(ciphertext.subarray(textBytes));
  const parts: Buffer[] = [];
  if (ciphertext instanceof Uint8Array) parts.push(decipher.update(ciphertext.subarray(0, textBytes)));
  else for (const chunk of ciphertext.sublist(0, textBytes)) parts.push(decipher.update(chunk));
  // final() verifies the tag; nothing is returned before it has passed.
  parts.push(decipher.final());
  return parts.length === 2 && parts[1]!.byteLength === 0 ? parts[0]! : Buffer.concat(parts, textBytes);
}

/**
 * libp2p-noise's default crypto with cached-key Node ChaCha20-Poly1305 from 512 bytes up. Pass it
 * as `noise({ crypto: cachedKeyNoiseCrypto })`; the wire format is unchanged.
 */
export const cachedKeyNoiseCrypto: ICryptoInterface = {
  ...defaultCrypto,
  chaCha20Poly1305Encrypt(plaintext, nonce, ad, k) {
    if (plaintext.byteLength < NODE_CIPHER_MIN_BYTES) return defaultCrypto.chaCha20Poly1305Encrypt(plaintext, nonce, ad, k);
    return nodeEncrypt(plaintext, nonce, ad, k);
  },
  chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst) {
    if (ciphertext.byteLength < NODE_CIPHER_MIN_BYTES) return defaultCrypto.chaCha20Poly1305Decrypt(ciphertext, nonce, ad, k, dst);
    return nodeDecrypt(ciphertext, nonce, ad, k);
  },
};
