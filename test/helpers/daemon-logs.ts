// What daemons started by a test said last, printed when the test fails: the end of each one's log
// (spawnDaemon's parsed JSON lines and any other output) and of its stderr, so a timeout names the
// daemon that was stuck and why.
import type { DaemonProcess } from './daemon-process.ts';

// pino's numeric levels.
const LEVELS: Record<number, string> = { 10: 'trace', 20: 'debug', 30: 'info', 40: 'warn', 50: 'error', 60: 'fatal' };

/** The last `lines` log records of `d` (one compact line each), then the end of its stderr. */
export function logTail(d: DaemonProcess, lines = 20): string {
  const records = d.logs.slice(-lines).map((r) => {
    const { level, time, msg, pid: _pid, ...rest } = r;
    const ms = typeof time === 'string' || typeof time === 'number' ? new Date(time).getTime() : NaN;
    const at = Number.isFinite(ms) ? new Date(ms).toISOString().slice(11, 23) : String(time);
    const extra = Object.keys(rest).length === 0 ? '' : ` ${JSON.stringify(rest)}`;
    return `${at} ${LEVELS[level as number] ?? String(level)} ${String(msg)}${extra}`;
  });
  const other = d.otherOutput.slice(-lines); // --log-format pretty, or lines that are not JSON
  const stderr = d.stderr().trimEnd().split('\n').slice(-10).join('\n');
  return [...records, ...other, ...(stderr === '' ? [] : ['stderr:', stderr])].join('\n');
}

/** The part of a tap test this needs. */
export interface FailureReporter {
  teardown(fn: () => unknown): void;
  passing(): boolean;
  comment(...args: unknown[]): void;
}

/**
 * When the test ends failed, print the log tail of every daemon in `daemons` (read at that moment:
 * daemons added later are included).
 */
export function printLogTailsOnFailure(t: FailureReporter, daemons: ReadonlyMap<string, DaemonProcess>, lines = 20): void {
  t.teardown(() => {
    if (t.passing()) return;
    for (const [name, d] of daemons) t.comment(`--- ${name}: last ${lines} log lines ---\n${logTail(d, lines)}`);
  });
}
