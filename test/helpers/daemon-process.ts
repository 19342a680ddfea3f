// Running `novaedge` (cmd/novaedge.ts) as a child process in tests: its JSON log lines collected as
// they arrive, waiting for a log message with a deadline, stopping with a signal. A child still
// running when the test ends is killed.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { waitFor } from './wait-for.ts';
import type { Teardownable } from './temp-dir.ts';

/** The repository root (where cmd/ is). */
export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** How a child process ended. */
export interface Exit {
  /** Exit code, or null when ended by a signal. */
  code: number | null;
  /** Signal that ended it, or null. */
  signal: NodeJS.Signals | null;
}

/** A running daemon. */
export interface DaemonProcess {
  /** The child process. */
  readonly child: ChildProcess;
  /** Log records (parsed JSON lines of stdout) so far. */
  readonly logs: Array<Record<string, unknown>>;
  /** stdout lines that were not JSON. */
  readonly otherOutput: string[];
  /** stderr so far. */
  stderr(): string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<Exit>;
  /** The first log record with this message (waits up to timeoutMs). */
  waitForLog(msg: string, timeoutMs: number): Promise<Record<string, unknown>>;
  /** Send a signal and wait for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

/** Start `node cmd/novaedge.ts ...args`, in network namespace `netns` when given (`ip netns exec` execs, same PID). */
export function spawnDaemon(t: Teardownable, args: string[], opts: { netns?: string } = {}): DaemonProcess {
  // The test runner's loader hooks are not the daemon's business.
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const argv = [process.execPath, 'cmd/novaedge.ts', ...args];
  const [cmd, ...rest] = opts.netns === undefined ? argv : ['ip', 'netns', 'exec', opts.netns, ...argv];
  const child = spawn(cmd!, rest, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  const otherOutput: string[] = [];
  let stderr = '';
  let partial = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    for (const line of lines) {
      if (line === '') continue;
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        otherOutput.push(line);
      }
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk; });
  const exited = new Promise<Exit>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  let done = false;
  void exited.then(() => { done = true; });
  t.teardown(async () => {
    if (done) return;
    child.kill('SIGKILL');
    await exited;
  });
  return {
    child, logs, otherOutput, exited,
    stderr: () => stderr,
    waitForLog: (msg, timeoutMs) => waitFor(`log "${msg}"`, () => logs.find((l) => l.msg === msg) ?? (done ? Promise.reject(new Error(`daemon exited before "${msg}"; stderr: ${stderr}`)) : undefined),
      { timeoutMs, intervalMs: 20 }, () => ({ last: logs.slice(-3), stderr })),
    stop: async (signal = 'SIGTERM') => {
      if (!done) child.kill(signal);
      return exited;
    },
  };
}
