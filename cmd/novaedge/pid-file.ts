// `novaedge --pid-file FILE`: the daemon's process ID in a file, so a script can stop it
// (`kill $(cat FILE)`) and `novactl wait --pid-file FILE` can tell a daemon that is still starting
// from one that died. Written when the daemon starts (before the node), removed when it stops
// cleanly; a daemon whose start fails leaves it behind, naming a process that is gone. A file naming a
// live process is another daemon's: refused.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';

/** Longest pid file read, bytes (a pid and a newline). */
const PID_FILE_BYTES_MAX = 32;

/** The pid a pid file names, undefined when the file is missing; throws on a malformed file. */
export function readPidFile(path: string): number | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const pid = Number(text.slice(0, PID_FILE_BYTES_MAX).trim());
  if (!Number.isSafeInteger(pid) || pid <= 0) throw new Error(`${path}: not a pid file (expected a process ID)`);
  return pid;
}

/** True while a process with this ID exists. */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Write this process's ID; returns the pid of a live process the file already names (nothing written then). */
export function writePidFile(path: string): number | undefined {
  let held: number | undefined;
  try {
    held = readPidFile(path);
  } catch {
    held = undefined; // a malformed file is replaced
  }
  if (held !== undefined && held !== process.pid && processAlive(held)) return held;
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, `${process.pid}\n`, { mode: 0o644 });
  renameSync(tmp, path);
  return undefined;
}

/** Remove the pid file if it still names this process. */
export function removePidFile(path: string): void {
  try {
    if (readPidFile(path) === process.pid) unlinkSync(path);
  } catch {
    // gone or replaced: nothing to remove
  }
}
