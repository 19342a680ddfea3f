// Raw access to an admin socket for tests: send arbitrary bytes, collect response lines.
import { connect, type Socket } from 'node:net';

/** A raw connection to an admin socket. */
export interface RawAdminConnection {
  socket: Socket;
  /** Response lines received so far, parsed as JSON. */
  lines: unknown[];
  /** Resolves when the server closes (or resets) the connection. */
  closed: Promise<void>;
  /** Send bytes as they are. */
  send(data: string | Buffer): void;
  /** Wait until at least `n` lines have arrived (rejects after timeoutMs). */
  waitLines(n: number, timeoutMs?: number): Promise<unknown[]>;
}

/** Open a raw connection. */
export async function rawAdmin(path: string): Promise<RawAdminConnection> {
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const lines: unknown[] = [];
  let buf = '';
  const waiters = new Set<() => void>();
  socket.on('error', () => undefined); // EPIPE/ECONNRESET after the server closes are expected
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buf += chunk;
    let nl;
    while ((nl = buf.indexOf('\n')) !== -1) {
      lines.push(JSON.parse(buf.slice(0, nl)));
      buf = buf.slice(nl + 1);
    }
    for (const w of waiters) w();
  });
  const closed = new Promise<void>((resolve) => socket.once('close', () => {
    for (const w of waiters) w();
    resolve();
  }));
  return {
    socket, lines, closed,
    send: (data) => { socket.write(data); },
    waitLines: (n, timeoutMs = 10_000) => new Promise((resolve, reject) => {
      const check = (): void => {
        if (lines.length >= n) { done(); resolve(lines); } else if (socket.destroyed) { done(); reject(new Error(`connection closed after ${lines.length} of ${n} lines`)); }
      };
      const timer = setTimeout(() => { done(); reject(new Error(`timed out waiting for ${n} lines (got ${lines.length})`)); }, timeoutMs);
      const done = (): void => { clearTimeout(timer); waiters.delete(check); };
      waiters.add(check);
      check();
    }),
  };
}

/** One request line. */
export function rpcLine(method: string, params?: unknown, id: unknown = 1): string {
  return `${JSON.stringify({ jsonrpc: '2.0', id, method, ...(params === undefined ? {} : { params }) })}\n`;
}
