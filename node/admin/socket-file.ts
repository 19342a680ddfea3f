// The admin socket file: the path bound (Unix sockets allow about 107 bytes), a stale file left by a
// crashed node replaced, a live server never displaced, and removal on close only of our own file.
import { connect } from 'node:net';
import { lstat, mkdir, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CodedError } from '../errors.ts';
import type { TimerComponents } from '../host/timer-components.ts';

/** Longest Unix socket path, bytes (sun_path is 108 bytes with the terminating NUL on Linux). */
export const SOCKET_PATH_BYTES_MAX = 107;

/** Stable codes of socket-file problems. */
export type AdminSocketCode =
  /** Another server answers at the path. */
  | 'ADMIN_SOCKET_IN_USE'
  /** The path is too long, is not a socket, or cannot be created or removed. */
  | 'ADMIN_SOCKET_UNUSABLE';

/** The admin socket cannot be set up at the path. */
export class AdminSocketError extends CodedError<AdminSocketCode> {}

function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

/** Whether a server accepts connections at `path` (a timeout counts as alive: something holds it). */
export function socketIsLive(path: string, timers: TimerComponents, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    const done = (live: boolean): void => {
      timers.clearTimeout(timer);
      s.destroy();
      resolve(live);
    };
    const timer = timers.setTimeout(() => done(true), timeoutMs);
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** Make `path` ready to listen on: check its length, create its directory (0700), remove a stale socket (probed on `timers`). */
export async function prepareSocketPath(path: string, timers: TimerComponents): Promise<void> {
  if (Buffer.byteLength(path) > SOCKET_PATH_BYTES_MAX) {
    throw new AdminSocketError('ADMIN_SOCKET_UNUSABLE', `admin socket path is ${Buffer.byteLength(path)} bytes, more than ${SOCKET_PATH_BYTES_MAX}: ${path}`);
  }
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  let st;
  try {
    st = await lstat(path);
  } catch (e) {
    if (errno(e) === 'ENOENT') return;
    throw new AdminSocketError('ADMIN_SOCKET_UNUSABLE', `${path}: cannot be inspected (${errno(e) ?? String(e)})`, { cause: e });
  }
  if (!st.isSocket()) throw new AdminSocketError('ADMIN_SOCKET_UNUSABLE', `${path} exists and is not a socket; refusing to replace it`);
  if (await socketIsLive(path, timers)) {
    throw new AdminSocketError('ADMIN_SOCKET_IN_USE', `another server is listening at ${path} (is a node already running?)`);
  }
  try {
    await unlink(path);
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw new AdminSocketError('ADMIN_SOCKET_UNUSABLE', `${path}: stale socket cannot be removed (${errno(e) ?? String(e)})`, { cause: e });
  }
}

/** Identity of a file, to remove on close only the socket this server created. */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** Remove the socket at `path` if it is still the file `id`. */
export async function removeSocketFile(path: string, id: FileIdentity | undefined): Promise<void> {
  try {
    const st = await lstat(path);
    if (id !== undefined && (st.dev !== id.dev || st.ino !== id.ino)) return; // replaced by someone else
    await unlink(path);
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw e;
  }
}
