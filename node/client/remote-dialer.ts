// A remote client's side of the admin protocol (node/admin/remote-admin.ts): one libp2p node with no
// listener (TCP, Noise, Yamux and the auth protocol, nothing else), which dials a controller's
// endpoint, proves itself with its client certificate, checks the controller's certificate (a
// controller of the certificate's federation, issued by a trusted CA, for the peer ID Noise proved),
// and opens admin streams that carry the socket's JSON-RPC (AdminConnection).
//
// Failures get client-side codes: NO_SERVER (nothing answers at the endpoint), AUTH_REFUSED (either
// side refused the other's certificate; the reason the controller gave is in the message),
// NOT_SERVED (the controller does not serve the admin protocol), TIMEOUT.

import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Connection, Libp2p } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { AdminCallError, AdminConnection, type ConnectionOptions } from '../admin/admin-client.ts';
import { duplexFromStream } from '../admin/stream-duplex.ts';
import { AuthService } from '../auth/auth-service.ts';
import { timeoutSignal, type TimerComponents, type WallClock } from '../components.ts';
import { splitHostPort } from '../config/endpoint.ts';
import { cachedKeyNoiseCrypto } from '../host/noise-crypto.ts';
import { REAL_TIMERS } from '../host/timer-components.ts';
import { adminProtocol } from '../protocols.ts';
import { systemWallClock } from '../util/clock.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import type { ClientCredentials } from './client-credentials.ts';

/** Default deadline of a dial with its authentication, ms. */
export const REMOTE_DIAL_TIMEOUT_MS = 5_000;
/** Largest auth frame (a certificate and framing). */
const AUTH_FRAME_BYTES_MAX = 8_192;

/** Options of a dialer. */
export interface RemoteDialerOptions {
  /** Deadline of one dial with its authentication and the admin stream's opening, ms (default 5000). */
  dialTimeoutMs?: number;
  /** Timers (default the real ones). */
  timers?: TimerComponents;
  /** Wall clock for certificate validity (default the system's). */
  wallClock?: WallClock;
  /** Logger (default silent). */
  logger?: Logger;
}

/** The multiaddr to dial for an endpoint: a TCP multiaddr (with or without /p2p/) or host:port. */
export function endpointMultiaddr(endpoint: string): Multiaddr {
  if (endpoint.startsWith('/')) {
    let ma: Multiaddr;
    try {
      ma = multiaddr(endpoint);
    } catch (e) {
      throw new AdminCallError('BAD_ENDPOINT', `${endpoint} is not a multiaddr (${(e as Error).message})`);
    }
    if (!ma.protoNames().includes('tcp')) throw new AdminCallError('BAD_ENDPOINT', `${endpoint}: a controller endpoint is a TCP multiaddr (/ip4|ip6|dns/<host>/tcp/<port>[/p2p/<peerId>])`);
    return ma;
  }
  const hp = splitHostPort(endpoint);
  if (hp === undefined) throw new AdminCallError('BAD_ENDPOINT', `${JSON.stringify(endpoint.slice(0, 80))} is neither a multiaddr nor host:port`);
  const proto = /^\d+\.\d+\.\d+\.\d+$/.test(hp.host) ? 'ip4' : hp.host.includes(':') ? 'ip6' : 'dns';
  return multiaddr(`/${proto}/${hp.host}/tcp/${hp.port}`);
}

/** A remote client's libp2p node, from which admin connections to controllers are opened. */
export class RemoteDialer {
  readonly credentials: ClientCredentials;
  readonly #libp2p: Libp2p;
  readonly #auth: AuthService;
  readonly #timers: TimerComponents;
  readonly #dialTimeoutMs: number;
  readonly #protocol: string;

  private constructor(credentials: ClientCredentials, libp2p: Libp2p, auth: AuthService, o: RemoteDialerOptions) {
    this.credentials = credentials;
    this.#libp2p = libp2p;
    this.#auth = auth;
    this.#timers = o.timers ?? REAL_TIMERS;
    this.#dialTimeoutMs = o.dialTimeoutMs ?? REMOTE_DIAL_TIMEOUT_MS;
    this.#protocol = adminProtocol(credentials.federationId);
  }

  /** Start a dialer with `credentials` (loadClientCredentials). */
  static async start(credentials: ClientCredentials, o: RemoteDialerOptions = {}): Promise<RemoteDialer> {
    const timers = o.timers ?? REAL_TIMERS;
    const dialTimeoutMs = o.dialTimeoutMs ?? REMOTE_DIAL_TIMEOUT_MS;
    const libp2p = await createLibp2p({
      start: false,
      privateKey: credentials.privateKey,
      addresses: { listen: [] },
      transports: [tcp()],
      connectionEncrypters: [noise({ crypto: cachedKeyNoiseCrypto })],
      streamMuxers: [yamux()],
      connectionMonitor: { enabled: false },
      connectionManager: { dialTimeout: dialTimeoutMs, reconnectRetries: 0 },
    });
    const auth = new AuthService({
      federationId: credentials.federationId,
      certificate: credentials.certificate,
      trust: credentials.trust,
      authTimeoutMs: dialTimeoutMs,
      authDenyMs: 0, // a client retries as its user asks; nothing dials it
      frameBytesMax: AUTH_FRAME_BYTES_MAX,
      certificateClockSkewMs: 60_000,
      wallClock: o.wallClock ?? systemWallClock,
      timers,
      ...(o.logger === undefined ? {} : { logger: loggerOrSilent(o.logger) }),
    });
    await auth.start(libp2p);
    await libp2p.start();
    return new RemoteDialer(credentials, libp2p, auth, o);
  }

  /**
   * An admin connection to the controller at `endpoint` (a new libp2p connection, or the one open to
   * it already, with a new admin stream). Throws AdminCallError (NO_SERVER, AUTH_REFUSED, NOT_SERVED,
   * TIMEOUT, BAD_ENDPOINT).
   */
  async connect(endpoint: string, opts: ConnectionOptions = {}): Promise<AdminConnection> {
    const ma = endpointMultiaddr(endpoint);
    const signal = timeoutSignal(this.#timers, this.#dialTimeoutMs);
    let conn: Connection;
    try {
      conn = await this.#libp2p.dial(ma, { signal });
    } catch (e) {
      if (signal.aborted) throw new AdminCallError('TIMEOUT', `no connection to ${endpoint} within ${this.#dialTimeoutMs} ms`, undefined, undefined, { cause: e });
      throw new AdminCallError('NO_SERVER', `cannot reach a controller at ${endpoint}: ${(e as Error).message}`, undefined, undefined, { cause: e });
    }
    let refusal: string | undefined;
    const off = this.#auth.on('refused', (r) => {
      if (r.peerId === conn.remotePeer.toString()) refusal = `${r.code}: ${r.message}`;
    });
    try {
      const peer = await this.#auth.whenAuthenticated(conn, signal);
      if (peer.role !== 'controller') throw new AdminCallError('AUTH_REFUSED', `${endpoint} is ${peer.role} ${peer.member}, not a controller`);
    } catch (e) {
      if (e instanceof AdminCallError) throw e;
      if (signal.aborted && refusal === undefined) throw new AdminCallError('TIMEOUT', `${endpoint} did not authenticate within ${this.#dialTimeoutMs} ms`, undefined, undefined, { cause: e });
      throw new AdminCallError('AUTH_REFUSED', `${endpoint}: ${refusal ?? (e as Error).message}`, undefined, undefined, { cause: e });
    } finally {
      off();
    }
    let stream;
    try {
      stream = await conn.newStream(this.#protocol, { signal });
    } catch (e) {
      throw new AdminCallError('NOT_SERVED', `${endpoint} does not serve the remote admin protocol (${this.#protocol}) to this certificate: ${(e as Error).message}`,
        undefined, undefined, { cause: e });
    }
    return new AdminConnection({ duplex: duplexFromStream(stream), endpoint }, { timers: this.#timers, ...opts });
  }

  /** Close every connection and stop. */
  async stop(): Promise<void> {
    await this.#auth.stop();
    await this.#libp2p.stop();
  }
}
