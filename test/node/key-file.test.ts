// Identity and CA key files: creation with mode 0600, reuse, and refusal of insecure or malformed files.

import t from 'tap';
import { chmod, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { generateKeyPair, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import { KeyFileError } from '../../node/errors.ts';
import { loadOrCreateIdentity } from '../../node/identity/identity.ts';
import { KEY_FILE_BYTES_MAX, encodeKeyFile, readKeyFile, writeNewKeyFile } from '../../node/identity/key-file.ts';
import { createCa, loadCa } from '../../node/identity/ca.ts';
import { tempDir } from '../helpers/temp-dir.ts';

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    if (e instanceof KeyFileError) return e.code;
    throw e;
  }
  return 'no error';
}

t.test('a missing identity key file is created with mode 0600, even under a permissive umask', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'sub', 'dir', 'identity.key');
  const old = process.umask(0o000);
  let first;
  try {
    first = await loadOrCreateIdentity(path);
  } finally {
    process.umask(old);
  }
  t.equal(first.created, true);
  t.equal((await stat(path)).mode & 0o777, 0o600, 'file mode 0600');
  t.equal((await stat(join(dir, 'sub', 'dir'))).mode & 0o777, 0o700, 'created parent directory mode 0700');
  const again = await loadOrCreateIdentity(path);
  t.equal(again.created, false, 'reused on the next start');
  t.equal(again.peerId.toString(), first.peerId.toString(), 'same peer ID');
  t.match(again.peerId.toString(), /^12D3KooW/, 'an Ed25519 peer ID');
});

t.test('a key file with a restrictive umask is still usable (mode exactly 0600)', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'identity.key');
  const old = process.umask(0o277);
  try {
    await loadOrCreateIdentity(path);
  } finally {
    process.umask(old);
  }
  t.equal((await stat(path)).mode & 0o777, 0o600);
});

t.test('concurrent starts on one path agree on one key', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'identity.key');
  const ids = await Promise.all(Array.from({ length: 6 }, () => loadOrCreateIdentity(path)));
  t.equal(new Set(ids.map((i) => i.peerId.toString())).size, 1);
  t.equal(ids.filter((i) => i.created).length, 1, 'exactly one of them created it');
});

t.test('a key file accessible by group or others stops start-up with a clear error', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'identity.key');
  await loadOrCreateIdentity(path);
  for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602, 0o660, 0o666, 0o610, 0o601]) {
    await chmod(path, mode);
    const err = await loadOrCreateIdentity(path).then(() => undefined, (e: unknown) => e);
    if (!(err instanceof KeyFileError)) {
      t.fail(`mode ${mode.toString(8)}: expected KeyFileError, got ${String(err)}`);
      continue;
    }
    t.equal(err.code, 'KEY_FILE_INSECURE', `mode ${mode.toString(8)} refused`);
    t.match(err.message, /chmod 600/, 'the message says how to fix it');
    t.match(err.message, path, 'and names the file');
  }
  await chmod(path, 0o400);
  t.ok((await loadOrCreateIdentity(path)).peerId, 'read-only for the owner is fine');
  await chmod(path, 0o600);
  await chmod(path, 0o700);
  t.ok((await loadOrCreateIdentity(path)).peerId, 'owner execute bit is harmless');
});

t.test('malformed key files are refused, never replaced', async (t) => {
  const dir = await tempDir(t);
  const rsa = await generateKeyPair('secp256k1');
  const ed = await generateKeyPair('Ed25519');
  const good = JSON.parse(encodeKeyFile('novaedge/identity-key', ed as never)) as Record<string, unknown>;
  const cases: Array<[string, string, string]> = [
    ['empty', '', 'KEY_FILE_MALFORMED'],
    ['random text', 'hello world', 'KEY_FILE_MALFORMED'],
    ['binary junk', '\u0000\u0001\u0002\u00ff', 'KEY_FILE_MALFORMED'],
    ['a JSON list', '[]', 'KEY_FILE_MALFORMED'],
    ['a CA key', JSON.stringify({ ...good, kind: 'novaedge/ca-key' }), 'KEY_FILE_WRONG_KIND'],
    ['no kind', JSON.stringify({ ...good, kind: undefined }), 'KEY_FILE_WRONG_KIND'],
    ['version 2', JSON.stringify({ ...good, version: 2 }), 'KEY_FILE_MALFORMED'],
    ['an RSA key type', JSON.stringify({ ...good, keyType: 'RSA' }), 'KEY_FILE_MALFORMED'],
    ['an extra field', JSON.stringify({ ...good, comment: 'x' }), 'KEY_FILE_MALFORMED'],
    ['bad base64', JSON.stringify({ ...good, privateKey: '!!!' }), 'KEY_FILE_MALFORMED'],
    ['truncated key', JSON.stringify({ ...good, privateKey: (good.privateKey as string).slice(0, 20) }), 'KEY_FILE_MALFORMED'],
    ['a secp256k1 key', JSON.stringify({ ...good, privateKey: Buffer.from(privateKeyToProtobuf(rsa)).toString('base64') }), 'KEY_FILE_MALFORMED'],
    ['an oversized file', ' '.repeat(KEY_FILE_BYTES_MAX + 1), 'KEY_FILE_MALFORMED'],
  ];
  for (const [what, text, code] of cases) {
    const path = join(dir, `${what.replace(/\W/g, '-')}.key`);
    await writeFile(path, text, { mode: 0o600 });
    t.equal(await codeOf(loadOrCreateIdentity(path)), code, what);
    t.equal(await readFile(path, 'utf8'), text, `${what}: file left untouched`);
  }
});

t.test('a directory where the key file should be is refused', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'identity.key');
  await mkdir(path, { mode: 0o700 });
  t.equal(await codeOf(loadOrCreateIdentity(path)), 'KEY_FILE_UNUSABLE');
});

t.test('writeNewKeyFile never overwrites', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'identity.key');
  const { privateKey } = await loadOrCreateIdentity(path);
  const before = await readFile(path, 'utf8');
  t.equal(await codeOf(writeNewKeyFile(path, 'novaedge/identity-key', privateKey)), 'KEY_FILE_UNUSABLE');
  t.equal(await readFile(path, 'utf8'), before);
});

t.test('CA keys: created 0600, reloaded to the same key id, not usable as identities', async (t) => {
  const dir = await tempDir(t);
  const path = join(dir, 'ca.key');
  const ca = await createCa(path, 'controllers-ca');
  t.equal((await stat(path)).mode & 0o777, 0o600);
  t.equal((await loadCa(path, 'controllers-ca')).public.keyId, ca.public.keyId);
  t.equal(await codeOf(readKeyFile(path, 'novaedge/identity-key')), 'KEY_FILE_WRONG_KIND');
  t.equal(await codeOf(createCa(path, 'controllers-ca')), 'KEY_FILE_UNUSABLE', 'an existing CA key is never overwritten');
  await chmod(path, 0o644);
  t.equal(await codeOf(loadCa(path, 'controllers-ca')), 'KEY_FILE_INSECURE');
});
