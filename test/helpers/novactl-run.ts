// Running the real novactl CLI as a child process, the way an operator does.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The repository root (novactl is run from there). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** What one run printed and how it exited. */
export interface NovactlRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Options of one run. */
export interface NovactlRunOptions {
  /** Admin socket, passed as NOVACTL_SOCKET (omit to inherit nothing). */
  socket?: string;
  /** Written to stdin, then closed. */
  input?: string;
  /** Kill the child after this long, ms (default 30 000). */
  timeoutMs?: number;
}

/** Run `node cmd/novactl.ts ...args`. */
export function novactl(args: readonly string[], o: NovactlRunOptions = {}): Promise<NovactlRun> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_OPTIONS; // the test runner's loaders are not for the CLI
  delete env.NOVACTL_SOCKET;
  if (o.socket !== undefined) env.NOVACTL_SOCKET = o.socket;
  const child = spawn(process.execPath, ['cmd/novactl.ts', ...args], { cwd: REPO_ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  child.stdin.on('error', () => undefined);
  child.stdin.end(o.input ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
