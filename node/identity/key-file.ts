// Ed25519 private keys on disk: the node identity key and the federation CA key.
//
// Format: one small JSON document, `{"kind", "version": 1, "keyType": "Ed25519", "privateKey"}`,
// where privateKey is base64 of the libp2p protobuf encoding (so other libp2p tools can use it) and
// `kind` tells an identity key from a CA key, so one is never used as the other by mistake.
//
// Rules: a key file must be a regular file that neither group nor others can read or write (mode
// 0600 or stricter); otherwise the node refuses it with KEY_FILE_INSECURE rather than run with a key
// that may have leaked. New files are created exclusively (never overwriting), mode 0600 regardless
// of the umask, and fsynced together with their directory.

import { constants as fsc } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Ed25519PrivateKey } from '@libp2p/interface';
import { KeyFileError } from '../errors.ts';
import { generateEd25519Key, privateKeyFromProtobuf, privateKeyToProtobuf } from './keys.ts';

/** What a key file holds. */
export type KeyKind = 'novaedge/identity-key' | 'novaedge/ca-key';

/** Largest key file accepted, in bytes (an Ed25519 key file is about 160). */
export const KEY_FILE_BYTES_MAX = 4096;

const FIELDS = ['kind', 'version', 'keyType', 'privateKey'];
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** Encode a key as key-file text. */
export function encodeKeyFile(kind: KeyKind, key: Ed25519PrivateKey): string {
  const privateKey = Buffer.from(privateKeyToProtobuf(key)).toString('base64');
  return `${JSON.stringify({ kind, version: 1, keyType: 'Ed25519', privateKey }, null, 2)}\n`;
}

/** Decode key-file text; `path` is only used in error messages. */
export function decodeKeyFile(text: string, kind: KeyKind, path: string): Ed25519PrivateKey {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new KeyFileError('KEY_FILE_MALFORMED', path, 'not a JSON key file', { cause: e });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new KeyFileError('KEY_FILE_MALFORMED', path, 'not a JSON object');
  }
  const o = doc as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !FIELDS.includes(k));
  if (extra !== undefined) throw new KeyFileError('KEY_FILE_MALFORMED', path, `unknown field "${extra}"`);
  if (o.kind !== kind) {
    const what = typeof o.kind === 'string' ? `a "${o.kind}"` : 'no kind';
    throw new KeyFileError('KEY_FILE_WRONG_KIND', path, `holds ${what}, expected "${kind}"`);
  }
  if (o.version !== 1) throw new KeyFileError('KEY_FILE_MALFORMED', path, `unsupported version ${String(o.version)}`);
  if (o.keyType !== 'Ed25519') throw new KeyFileError('KEY_FILE_MALFORMED', path, 'keyType must be "Ed25519"');
  if (typeof o.privateKey !== 'string' || !BASE64.test(o.privateKey)) {
    throw new KeyFileError('KEY_FILE_MALFORMED', path, 'privateKey is not base64');
  }
  let key;
  try {
    key = privateKeyFromProtobuf(Buffer.from(o.privateKey, 'base64'));
  } catch (e) {
    throw new KeyFileError('KEY_FILE_MALFORMED', path, 'privateKey does not decode', { cause: e });
  }
  if (key.type !== 'Ed25519') throw new KeyFileError('KEY_FILE_MALFORMED', path, `holds a ${key.type} key, expected Ed25519`);
  return key;
}

/** Read a key file, enforcing its mode and size; throws KeyFileError (ENOENT errors pass through). */
export async function readKeyFile(path: string, kind: KeyKind): Promise<Ed25519PrivateKey> {
  // O_NONBLOCK: opening a FIFO planted at the path must not hang start-up; fstat then refuses it.
  const fh = await open(path, fsc.O_RDONLY | fsc.O_NONBLOCK);
  try {
    const st = await fh.stat(); // on the open descriptor: no window between check and read
    if (!st.isFile()) throw new KeyFileError('KEY_FILE_UNUSABLE', path, 'not a regular file');
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new KeyFileError('KEY_FILE_INSECURE', path,
        `mode ${mode} lets group or others access the key; refusing to use it (fix: chmod 600 ${path})`);
    }
    if (st.size > KEY_FILE_BYTES_MAX) {
      throw new KeyFileError('KEY_FILE_MALFORMED', path, `${st.size} bytes, more than ${KEY_FILE_BYTES_MAX}`);
    }
    const buf = Buffer.alloc(KEY_FILE_BYTES_MAX + 1);
    const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
    if (bytesRead > KEY_FILE_BYTES_MAX) throw new KeyFileError('KEY_FILE_MALFORMED', path, `more than ${KEY_FILE_BYTES_MAX} bytes`);
    return decodeKeyFile(buf.subarray(0, bytesRead).toString('utf8'), kind, path);
  } finally {
    await fh.close();
  }
}

/** Create a key file that must not exist yet (mode 0600, fsynced); throws KeyFileError. */
export async function writeNewKeyFile(path: string, kind: KeyKind, key: Ed25519PrivateKey): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let fh;
  try {
    fh = await open(path, 'wx', 0o600);
  } catch (e) {
    const what = errno(e) === 'EEXIST' ? 'already exists; refusing to overwrite a key' : `cannot be created (${errno(e) ?? String(e)})`;
    throw new KeyFileError('KEY_FILE_UNUSABLE', path, what, { cause: e });
  }
  try {
    await fh.chmod(0o600); // the umask may have removed bits we need; it can never have added any
    await fh.writeFile(encodeKeyFile(kind, key), 'utf8');
    await fh.sync();
  } finally {
    await fh.close();
  }
  // Make the new directory entry durable too, so a crash cannot leave a node without its identity.
  const dh = await open(dir, 'r');
  try {
    await dh.sync();
  } finally {
    await dh.close();
  }
}

/** Read a key file, or create it with a fresh Ed25519 key when it does not exist. */
export async function loadOrCreateKeyFile(path: string, kind: KeyKind): Promise<{ key: Ed25519PrivateKey; created: boolean }> {
  try {
    return { key: await readKeyFile(path, kind), created: false };
  } catch (e) {
    if (errno(e) !== 'ENOENT') {
      if (e instanceof KeyFileError) throw e;
      throw new KeyFileError('KEY_FILE_UNUSABLE', path, `cannot be read (${errno(e) ?? String(e)})`, { cause: e });
    }
  }
  const key = await generateEd25519Key();
  try {
    await writeNewKeyFile(path, kind, key);
  } catch (e) {
    // Another process created it between our read and our exclusive create: use theirs.
    if (e instanceof KeyFileError && errno(e.cause) === 'EEXIST') return { key: await readKeyFile(path, kind), created: false };
    throw e;
  }
  return { key, created: true };
}
