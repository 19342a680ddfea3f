// What stopped a node from starting, read from the error a start threw, when it is something the
// operator can act on: an address another process holds, an address no interface of this host has, a
// port it may not bind, or a data directory another process has open. libp2p, LevelDB and node:net
// each wrap the system error differently (libp2p in a message listing every failed address, LevelDB
// as the `cause` of "Database failed to open"), so the whole chain of causes is read. The callers
// (the daemon, `npm start`) turn the finding into one line naming their own field and fix.

/** What was wrong. */
export type StartProblem =
  /** Another process listens on the address (EADDRINUSE). */
  | 'ADDRESS_IN_USE'
  /** No interface of this host has the address (EADDRNOTAVAIL). */
  | 'ADDRESS_UNAVAILABLE'
  /** Binding the port needs a privilege this process lacks (EACCES: ports below 1024). */
  | 'ADDRESS_DENIED'
  /** The LevelDB store is locked: another process has the data directory open. */
  | 'DATA_DIR_LOCKED';

/** A start failure the operator can act on. */
export interface StartFinding {
  problem: StartProblem;
  /** The address it concerns, as the error names it (`/ip4/127.0.0.1/tcp/7101` or `127.0.0.1:9101`), when it does. */
  address: string | undefined;
  /** Its TCP port, when known. */
  port: number | undefined;
}

const SYSTEM_CODES: ReadonlyArray<[string, StartProblem]> = [
  ['EADDRINUSE', 'ADDRESS_IN_USE'], ['EADDRNOTAVAIL', 'ADDRESS_UNAVAILABLE'], ['EACCES', 'ADDRESS_DENIED'],
];
/** Errors followed down `cause` and `errors` (AggregateError) at most this deep. */
const CAUSE_DEPTH_MAX = 8;

// Every error in the chain, outermost first.
function chain(err: unknown, depth = 0): Array<{ code?: unknown; syscall?: unknown; message?: unknown; port?: unknown; address?: unknown }> {
  if (typeof err !== 'object' || err === null || depth > CAUSE_DEPTH_MAX) return [];
  const e = err as { cause?: unknown; errors?: unknown };
  const nested = Array.isArray(e.errors) ? e.errors.flatMap((x) => chain(x, depth + 1)) : [];
  return [err as object, ...chain(e.cause, depth + 1), ...nested];
}

/** The actionable problem behind a start failure, or undefined when it is none of these. */
export function findStartProblem(err: unknown): StartFinding | undefined {
  const errors = chain(err);
  if (errors.some((e) => e.code === 'LEVEL_LOCKED')) return { problem: 'DATA_DIR_LOCKED', address: undefined, port: undefined };
  for (const e of errors) {
    const message = typeof e.message === 'string' ? e.message : '';
    for (const [code, problem] of SYSTEM_CODES) {
      // Only a failed listen: EACCES on a file is not this.
      if (!(e.code === code && e.syscall === 'listen') && !message.includes(`listen ${code}`)) continue;
      // node:net's error carries the address; libp2p's names the multiaddr, then node's text `host:port`.
      if (typeof e.port === 'number') {
        return { problem, address: typeof e.address === 'string' ? hostPort(e.address, e.port) : undefined, port: e.port };
      }
      const ma = /(\/ip[46]\/[^/\s:]+(?::[^/\s]*)*\/tcp\/(\d+))/.exec(message);
      if (ma !== null) return { problem, address: ma[1], port: Number(ma[2]) };
      const hp = new RegExp(`${code}[^\\n]*? ((?:\\[[^\\]]+\\]|[^\\s:]+(?::[^\\s:]+)*?)):(\\d+)`).exec(message);
      if (hp !== null) return { problem, address: `${hp[1]}:${hp[2]}`, port: Number(hp[2]) };
      return { problem, address: undefined, port: undefined };
    }
  }
  return undefined;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
