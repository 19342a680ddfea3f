// Free TCP ports on 127.0.0.1, reserved by binding all of them at once and released together, so
// one call never returns the same port twice. Taken below the kernel's ephemeral range when it is
// known (Linux: /proc/sys/net/ipv4/ip_local_port_range): a port from that range, released, is soon
// reused as the source port of some other test's outbound connection, and the test that wanted it
// then fails to listen (CI: `npm start` found NOVAEDGE_PORTS' first port taken). Another process
// could still take one before the test binds it; that is rare below the range, and the failure loud.

import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';

/** Lowest port handed out below the ephemeral range. */
const LOW_PORT = 10_000;

/** Attempts at a port below the range before falling back to one the kernel picks. */
const ATTEMPTS_MAX = 64;

// The first port of the kernel's ephemeral range, if this system says.
function ephemeralLow(): number | undefined {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > LOW_PORT + 1_000 ? low : undefined;
  } catch {
    return undefined;
  }
}

function listen(s: Server, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => resolve(true));
  });
}

/** `n` distinct free ports on 127.0.0.1. */
export async function freePorts(n: number): Promise<number[]> {
  const servers: Server[] = [];
  const high = ephemeralLow();
  try {
    const ports: number[] = [];
    for (let i = 0; i < n; i++) {
      let port: number | undefined;
      for (let attempt = 0; high !== undefined && port === undefined && attempt < ATTEMPTS_MAX; attempt++) {
        const candidate = LOW_PORT + Math.floor(Math.random() * (high - LOW_PORT));
        if (ports.includes(candidate)) continue;
        const s = createServer();
        if (await listen(s, candidate)) {
          servers.push(s);
          port = candidate;
        }
      }
      if (port === undefined) {
        const s = createServer();
        servers.push(s);
        if (!(await listen(s, 0))) throw new Error('no free port on 127.0.0.1');
        const addr = s.address();
        if (addr === null || typeof addr === 'string') throw new Error('no TCP address');
        port = addr.port;
      }
      ports.push(port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  }
}
