// Logging: pino. An embedding program passes its own logger; without one the node is silent, so a
// library never writes to the host program's stdout uninvited.

import { pino, type Logger } from 'pino';

export type { Logger };

/** The logger to use: the given one, or a silent one (which never reads the clock for timestamps). */
export function loggerOrSilent(logger: Logger | undefined): Logger {
  return logger ?? pino({ level: 'silent', timestamp: false });
}
