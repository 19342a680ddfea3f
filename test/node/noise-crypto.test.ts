// The cached-key Noise crypto against libp2p-noise's pure-JS reference: same ciphertexts both ways,
// at sizes on both sides of the WebAssembly/Node switch, as single arrays and as chunk lists, and
// every forgery or wrong key refused.

import t from 'tap';
import { randomBytes } from 'node:crypto';
import { pureJsCrypto } from '@chainsafe/libp2p-noise';
import { defaultCrypto } from '@chainsafe/libp2p-noise/crypto';
import { Uint8ArrayList } from 'uint8arraylist';
import { cachedKeyNoiseCrypto as cached, nodeDecrypt } from '../../node/host/noise-crypto.ts';

// 0 and 511 take the WebAssembly path, 512 and up the cached-key Node path; 65519 is Noise's largest.
const SIZES_BYTES = [0, 1, 511, 512, 1024, 1200, 16_384, 65_519];

function nonceOf(n: number): Uint8Array {
  const nonce = new Uint8Array(12);
  new DataView(nonce.buffer).setUint32(4, n, true);
  return nonce;
}

function bytes(u: Uint8Array | Uint8ArrayList): Buffer {
  return Buffer.from(u.subarray());
}

// Split into uneven chunks, as yamux frames and length-prefixed reads arrive.
function chunked(u: Uint8Array): Uint8ArrayList {
  const list = new Uint8ArrayList();
  for (let i = 0, step = 1; i < u.byteLength; i += step, step = step * 3 + 1) list.append(u.subarray(i, i + step));
  return list;
}

t.test('interoperates with pure JS both ways, arrays and chunk lists', async (t) => {
  const k = new Uint8Array(randomBytes(32));
  const ad = new Uint8Array(randomBytes(32));
  for (const [i, size] of SIZES_BYTES.entries()) {
    const plain = randomBytes(size);
    const nonce = nonceOf(i);
    const reference = bytes(pureJsCrypto.chaCha20Poly1305Encrypt(plain, nonce, ad, k));
    t.same(bytes(cached.chaCha20Poly1305Encrypt(plain, nonce, ad, k)), reference, `${size} B: same ciphertext as pure JS`);
    t.same(bytes(cached.chaCha20Poly1305Encrypt(chunked(plain), nonce, ad, k)), reference, `${size} B: same from a chunk list`);
    t.same(bytes(cached.chaCha20Poly1305Decrypt(reference, nonce, ad, k)), plain, `${size} B: opens pure JS`);
    t.same(bytes(cached.chaCha20Poly1305Decrypt(chunked(reference), nonce, ad, k)), plain, `${size} B: opens a chunk list`);
    const ours = cached.chaCha20Poly1305Encrypt(plain, nonce, ad, k);
    t.same(bytes(pureJsCrypto.chaCha20Poly1305Decrypt(ours.subarray(), nonce, ad, k)), plain, `${size} B: pure JS opens ours`);
  }
});

t.test('a session: one key instance, many nonces, in both directions', async (t) => {
  const k = new Uint8Array(randomBytes(32));
  const ad = new Uint8Array(0);
  let ok = 0;
  for (let n = 0; n < 200; n++) {
    const plain = randomBytes(n % 2 === 0 ? 1024 : 4096);
    const sealed = cached.chaCha20Poly1305Encrypt(plain, nonceOf(n), ad, k);
    const opened = pureJsCrypto.chaCha20Poly1305Decrypt(sealed.subarray(), nonceOf(n), ad, k);
    const back = cached.chaCha20Poly1305Decrypt(pureJsCrypto.chaCha20Poly1305Encrypt(plain, nonceOf(n), ad, k), nonceOf(n), ad, k);
    if (bytes(opened).equals(plain) && bytes(back).equals(plain)) ok++;
  }
  t.equal(ok, 200);
});

t.test('refuses wrong keys, forged ciphertexts, tags, data and nonces', async (t) => {
  for (const size of [100, 1024, 16_384]) {
    const k = new Uint8Array(randomBytes(32));
    const other = new Uint8Array(randomBytes(32));
    const ad = new Uint8Array(randomBytes(32));
    const plain = randomBytes(size);
    const ours = bytes(cached.chaCha20Poly1305Encrypt(plain, nonceOf(7), ad, k));
    const theirs = bytes(pureJsCrypto.chaCha20Poly1305Encrypt(plain, nonceOf(7), ad, k));
    // Cache the right key first, so a wrong key cannot pass by reusing it.
    cached.chaCha20Poly1305Decrypt(theirs, nonceOf(7), ad, k);
    t.throws(() => cached.chaCha20Poly1305Decrypt(theirs, nonceOf(7), ad, other), `${size} B: wrong key refused`);
    t.throws(() => pureJsCrypto.chaCha20Poly1305Decrypt(ours, nonceOf(7), ad, other), `${size} B: pure JS refuses ours under a wrong key`);
    t.throws(() => cached.chaCha20Poly1305Decrypt(theirs, nonceOf(8), ad, k), `${size} B: wrong nonce refused`);
    t.throws(() => cached.chaCha20Poly1305Decrypt(theirs, nonceOf(7), new Uint8Array(32), k), `${size} B: wrong associated data refused`);
    for (const at of [0, size >> 1, size - 1, size, size + 15]) {
      const forged = Buffer.from(theirs);
      forged[at]! ^= 0x01;
      t.throws(() => cached.chaCha20Poly1305Decrypt(forged, nonceOf(7), ad, k), `${size} B: flipped bit at ${at} refused`);
      t.throws(() => cached.chaCha20Poly1305Decrypt(chunked(forged), nonceOf(7), ad, k), `${size} B: flipped bit at ${at} refused from a list`);
    }
    t.throws(() => cached.chaCha20Poly1305Decrypt(theirs.subarray(0, theirs.byteLength - 1), nonceOf(7), ad, k), `${size} B: truncated refused`);
  }
  t.throws(() => nodeDecrypt(new Uint8Array(15), nonceOf(0), new Uint8Array(0), new Uint8Array(32)), /shorter than its tag/, 'shorter than a tag refused');
});

t.test('a key rewritten in place is not served from the cache', async (t) => {
  const k = new Uint8Array(randomBytes(32));
  const ad = new Uint8Array(0);
  const plain = randomBytes(2048);
  cached.chaCha20Poly1305Encrypt(plain, nonceOf(0), ad, k);
  k.set(randomBytes(32));
  const sealed = cached.chaCha20Poly1305Encrypt(plain, nonceOf(1), ad, k);
  t.same(bytes(sealed), bytes(pureJsCrypto.chaCha20Poly1305Encrypt(plain, nonceOf(1), ad, k)), 'sealed with the new bytes');
});

t.test('everything but ChaCha20-Poly1305 is the package default', async (t) => {
  for (const name of ['hashSHA256', 'getHKDF', 'generateX25519KeyPair', 'generateX25519KeyPairFromSeed', 'generateX25519SharedKey'] as const) {
    t.equal(cached[name], defaultCrypto[name], name);
  }
});
