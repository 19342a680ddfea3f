// The node's data directory (`dataDir`): the store's LevelDB files and the agent's file copy of its
// configuration live there, and nobody but the node's user may read them. Like key files
// (node/identity/key-file.ts), its mode is checked at start: a new directory is created with mode
// 0700; an existing one that group or others may enter, list or change is restricted to 0700 (and
// that is logged), and when that is not possible (the directory belongs to another user) the node
// refuses to start with DATA_DIR_INSECURE rather than keep the store readable. With the directory at
// 0700, what is inside (LevelDB creates its files 0644) cannot be reached by other users.
import { constants as fsc } from 'node:fs';
import { mkdir, open } from 'node:fs/promises';
import { CodedError } from '../errors.ts';
import type { Logger } from './logger.ts';

/** Mode of the data directory: owner only. */
export const DATA_DIR_MODE = 0o700;

/** Stable codes of data-directory problems. */
export type DataDirCode =
  /** Group or others may access the directory, and its mode cannot be restricted (another user owns it). */
  | 'DATA_DIR_INSECURE'
  /** The path cannot be created or opened, or is not a directory. */
  | 'DATA_DIR_UNUSABLE';

/** The data directory cannot be used safely; the message names the path and the fix. */
export class DataDirError extends CodedError<DataDirCode> {
  readonly path: string;
  constructor(code: DataDirCode, path: string, message: string, options?: ErrorOptions) {
    super(code, `data directory ${path}: ${message}`, options);
    this.path = path;
  }
}

function errno(e: unknown): string {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : String(e);
}

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');

/** Create `path` (mode 0700) or restrict an existing directory to 0700; throws DataDirError. */
export async function prepareDataDir(path: string, log: Logger): Promise<void> {
  try {
    await mkdir(path, { recursive: true, mode: DATA_DIR_MODE });
  } catch (e) {
    throw new DataDirError('DATA_DIR_UNUSABLE', path, `cannot be created (${errno(e)})`, { cause: e });
  }
  let dir;
  try {
    // On the open directory: no window between the check and the change for a swapped path.
    dir = await open(path, fsc.O_RDONLY | fsc.O_DIRECTORY);
  } catch (e) {
    throw new DataDirError('DATA_DIR_UNUSABLE', path, errno(e) === 'ENOTDIR' ? 'not a directory' : `cannot be opened (${errno(e)})`, { cause: e });
  }
  try {
    const st = await dir.stat();
    if ((st.mode & 0o077) === 0) return;
    try {
      await dir.chmod(DATA_DIR_MODE);
    } catch (e) {
      const uid = process.getuid?.();
      throw new DataDirError('DATA_DIR_INSECURE', path,
        `mode ${octal(st.mode)} lets group or others read the store, and it cannot be restricted to ${octal(DATA_DIR_MODE)} ` +
        `(${errno(e)}: owned by uid ${st.uid}${uid === undefined ? '' : `, the node runs as uid ${uid}`}); refusing to start ` +
        `(fix: chown the directory to the node's user, or chmod 700 ${path})`, { cause: e });
    }
    log.warn({ path, mode: octal(st.mode), newMode: octal(DATA_DIR_MODE) }, 'data directory was open to group or others: restricted to owner only');
  } finally {
    await dir.close();
  }
}
