// A pre-auth flood for tests and benchmarks: many real libp2p identities holding no certificate dial a
// victim, open streams on the federation's protocols and write into them instead of authenticating,
// then reconnect whenever the victim closes the connection, until the flood's time is up.
import type { Connection, Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { REAL_RANDOM } from '../../node/components.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { createHost, type Host } from '../../node/host/create-host.ts';
import { generateEd25519Key } from '../../node/identity/keys.ts';
import { healthTopic } from '../../node/protocols.ts';

/** Options of a flood. */
export interface FloodOptions {
  /** The victim's multiaddr, with /p2p/<peerId>. */
  target: string;
  /** Federation ID (names the gossip topic the flooders know about). */
  federationId: string;
  /** Protocols to open streams on. */
  protocols: string[];
  /** Distinct identities (one connection each at a time). */
  identities: number;
  /** Streams opened per protocol on each connection. */
  streamsPerProtocol: number;
  /** Bytes written into each stream (in 16 KiB chunks; yamux lets 256 KiB go unacknowledged). */
  bytesPerStream: number;
  /** How long to keep flooding, milliseconds. */
  durationMs: number;
  /**
   * Least time between two connections of one identity, milliseconds (default 0: redial at once).
   * Accepting a connection has a cost of its own (a Noise handshake), whatever the peer does next;
   * spacing them keeps that cost small beside what the peer could make the victim buffer.
   */
  minCycleMs?: number;
}

/** What the flooders managed. */
export interface FloodReport {
  /** Connections that opened. */
  connections: number;
  /** Dials that failed. */
  dialErrors: number;
  /** Streams opened (locally: lazily negotiated, so the victim may refuse them right after). */
  streamsOpened: number;
  /** Bytes handed to the flooders' own muxers for the flood streams (not all reach the victim). */
  bytesWritten: number;
  /** How long each connection stayed open, milliseconds (until the victim closed it or the flood ended). */
  lifetimesMs: number[];
}

const CHUNK_BYTES = 16 * 1024;

// One chunk per macrotask, and none once the connection is gone: the flooders' own CPU (encrypting
// what a victim that closed the connection never reads) would otherwise starve the victim of a
// shared machine and blur its figures.
/** How long a flooder waits after a refused dial before dialing again. */
const REFUSED_DIAL_BACKOFF_MS = 100;

async function* chunks(total: number, counted: (n: number) => void, open: () => boolean): AsyncGenerator<Uint8Array> {
  for (let sent = 0; sent < total && open(); sent += CHUNK_BYTES) {
    const n = Math.min(CHUNK_BYTES, total - sent);
    yield new Uint8Array(n).fill(0x41);
    counted(n);
    await new Promise((r) => setTimeout(r, 1));
  }
}

async function floodOnce(host: Host, o: FloodOptions, report: FloodReport, signal: AbortSignal): Promise<void> {
  let conn: Connection;
  try {
    conn = await host.libp2p.dial(multiaddr(o.target), { signal });
  } catch {
    report.dialErrors += 1;
    // Refused (rate limit, busy): back off a little before the next try (the attacker's pacing, not a wait for a condition).
    await new Promise((r) => setTimeout(r, REFUSED_DIAL_BACKOFF_MS));
    return;
  }
  report.connections += 1;
  const openedAt = performance.now();
  const streams: Stream[] = [];
  for (const protocol of o.protocols) {
    for (let i = 0; i < o.streamsPerProtocol; i++) {
      try {
        // Lazy negotiation: the protocol name rides with the first bytes, no round trip first.
        const s = await conn.newStream(protocol, { negotiateFully: false, signal, runOnLimitedConnection: true });
        report.streamsOpened += 1;
        streams.push(s);
        void s.sink(chunks(o.bytesPerStream, (n) => { report.bytesWritten += n; }, () => conn.status === 'open')).catch(() => undefined);
      } catch {
        // The muxer refused (closed connection, stream limit): nothing more to open here.
      }
    }
  }
  // Hold the connection until the victim closes it (or the flood ends).
  while (conn.status === 'open' && !signal.aborted) await new Promise((r) => setTimeout(r, 20));
  report.lifetimesMs.push(performance.now() - openedAt);
  for (const s of streams) s.abort(new Error('flood over'));
  if (conn.status === 'open') await conn.close().catch(() => conn.abort(new Error('flood over')));
}

/** Run a flood for `o.durationMs`; resolves to what the flooders managed. */
export async function preAuthFlood(o: FloodOptions): Promise<FloodReport> {
  const report: FloodReport = { connections: 0, dialErrors: 0, streamsOpened: 0, bytesWritten: 0, lifetimesMs: [] };
  const hosts = await Promise.all(Array.from({ length: o.identities }, async () => createHost({
    privateKey: await generateEd25519Key(),
    listen: [],
    bootstrap: [],
    reconnect: { initialDelayMs: 50, maxDelayMs: 1000, factor: 2 },
    connectionsMax: 8,
    inboundConnectionsPerHostPerSecondMax: 100,
    dialTimeoutMs: 5_000,
    gossip: { heartbeatMs: 1_000, allowedTopics: [healthTopic(o.federationId)], rpcBytesMax: 1 << 20, isAuthenticated: () => true },
    isDenied: () => false,
    timers: REAL_TIMERS,
    random: REAL_RANDOM,
  })));
  await Promise.all(hosts.map((h) => h.start()));
  const signal = AbortSignal.timeout(o.durationMs);
  try {
    await Promise.all(hosts.map(async (h) => {
      while (!signal.aborted) {
        const next = performance.now() + (o.minCycleMs ?? 0);
        await floodOnce(h, o, report, signal);
        const wait = next - performance.now();
        if (wait > 0 && !signal.aborted) await new Promise((r) => setTimeout(r, Math.min(wait, o.durationMs)));
      }
    }));
  } finally {
    await Promise.all(hosts.map((h) => h.stop().catch(() => undefined)));
  }
  return report;
}
