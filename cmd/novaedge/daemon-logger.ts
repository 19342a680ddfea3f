// The daemon's logger: pino JSON lines on stdout (for log collectors), or readable lines with
// `--log-format pretty` / `node.log.format: pretty`. Writes are synchronous so nothing logged just
// before exit is lost.
import { pino, type Logger } from 'pino';
import type { LogFormat, LogLevel } from '../../node/config/node-settings.ts';
import { prettyDestination } from './pretty-log.ts';

/** Build the daemon logger. */
export function daemonLogger(level: LogLevel, format: LogFormat): Logger {
  const options = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (format === 'pretty') {
    const fd1 = pino.destination({ dest: 1, sync: true });
    return pino(options, prettyDestination(fd1));
  }
  return pino(options, pino.destination({ dest: 1, sync: true }));
}
