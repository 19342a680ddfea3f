// The auth protocol: every new connection, in both directions, must prove within authTimeoutMs
// that the remote peer holds a valid certificate for this federation, or it is closed.
//
// Flow (one stream, one frame each way, opened by the side that dialed the connection):
//   dialer  -> listener: its certificate
//   listener: verifies it for connection.remotePeer (Noise already proved that peer ID, so a
//             certificate copied from someone else is useless), marks the remote authenticated,
//             answers with its own certificate — or with a refusal code, then closes.
//   dialer:   verifies the listener's certificate the same way, marks it authenticated, or closes.
// Each side arms a timer when the connection opens; if the remote is not authenticated when it
// fires (no stream, a stalled stream, a dialer that never speaks), the connection is closed.
// Refused peers go on a deny list for authDenyMs. Until a peer is authenticated, other protocol
// handlers refuse it (see guard.ts) and gossip ignores it (see node/host/gossip-options.ts).
// Certificates expiring while connected are caught by a periodic sweep.
//
// Identity: a valid certificate must also agree with the configured members (member-pins.ts: a
// configured name only from its peer ID, no controller outside the configuration), and a member
// name is held by one peer ID at a time (a second one is refused with AUTH_MEMBER_IN_USE), so the
// `authenticated` / `deauthenticated` events, which others key by member name, are driven by that
// one peer alone.
//
// Clients: a certificate with a client role (operator, viewer: node/identity/roles.ts) is accepted
// only by a node that serves remote clients (`clients` set), only on an inbound connection, and never
// makes its holder a member: clients are kept in a table of their own (clientOf), no `authenticated`
// event is emitted for them, whenAuthenticated refuses them, so every member protocol's guard refuses
// their streams; only the remote admin protocol looks them up. At most clients.connectionsMax client
// connections at once (AUTH_BUSY beyond).
//
// Before auth: an inbound connection is limited to the auth protocol, one small stream, until its
// remote authenticated (node/host/pre-auth-limits.ts), and at most unauthenticatedInboundMax of them
// wait at once; beyond that a new one is closed at once (AUTH_BUSY).

import type { Connection, IncomingStreamData, PeerId, Stream } from '@libp2p/interface';
import type { MemberRole } from '../../membership/member-name.ts';
import { AuthError, CERTIFICATE_CODES, CertificateError, FrameError, type CertificateCode } from '../errors.ts';
import type { MemberCertificate } from '../identity/certificate.ts';
import { isClientRole, type ClientRole } from '../identity/roles.ts';
import type { TrustStore } from '../identity/trust-store.ts';
import { verifyCertificate, type VerifiedMember } from '../identity/verify-certificate.ts';
import { every, timeoutSignal, type TimerComponents, type TimerHandle, type WallClock } from '../components.ts';
import type { HostNet } from '../host/host-net.ts';
import { limitUntilAuthenticated, liftPreAuthLimits } from '../host/pre-auth-limits.ts';
import { authProtocol } from '../protocols.ts';
import { Emitter } from '../util/emitter.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';
import { readFrame, writeFrame } from '../wire/frames.ts';
import { decodeAuthRequest, decodeAuthResponse, encodeAuthRequest, encodeAuthResponse, type AuthRefusalCode } from './auth-messages.ts';
import { DenyList } from './deny-list.ts';
import { MemberPins, type MemberPin } from './member-pins.ts';

/** Grace for a refusal frame to reach the remote before the connection is closed. */
const REFUSAL_WRITE_MS = 500;
/** Grace for a graceful connection close before it is aborted. */
const CLOSE_GRACE_MS = 500;
/** Period of the sweep for expired certificates and deny-list entries. */
const SWEEP_INTERVAL_MS = 1_000;
/** At most this many auth streams per connection in each direction (one is used). */
const AUTH_STREAMS_MAX = 2;
/** Default bound on inbound connections waiting to authenticate at once. */
export const UNAUTHENTICATED_INBOUND_MAX_DEFAULT = 64;

/** Remote clients a node serves (the remote admin protocol). */
export interface ClientAuthOptions {
  /** Most client connections authenticated at once; one more is refused with AUTH_BUSY. */
  connectionsMax: number;
}

/** Options of the auth service. */
export interface AuthServiceOptions {
  /** Federation ID: names the protocol and is required in certificates. */
  federationId: string;
  /** This node's certificate (undefined only for tests of what peers do with a node that has none). */
  certificate: MemberCertificate | undefined;
  /** Trusted CAs. */
  trust: TrustStore;
  /** Deadline for a new connection to authenticate. */
  authTimeoutMs: number;
  /** How long a refused peer is denied reconnection (0: never). */
  authDenyMs: number;
  /** Largest auth frame. */
  frameBytesMax: number;
  /** Tolerance at the edges of certificate validity. */
  certificateClockSkewMs: number;
  /** The configured controllers (member-pins.ts); undefined: any controller the trusted CAs certify. */
  controllers?: readonly MemberPin[] | undefined;
  /**
   * Identities refused federation-wide (the membership record's deny list: removed members,
   * withdrawn operator certificates): refused at authentication with AUTH_REVOKED, whatever their
   * certificate, and then denied reconnection for authDenyMs like any refused peer. Default: none.
   */
  revoked?: (peerId: string) => boolean;
  /** Most inbound connections waiting to authenticate at once (default UNAUTHENTICATED_INBOUND_MAX_DEFAULT). */
  unauthenticatedInboundMax?: number;
  /** Accept client certificates (operator, viewer) on inbound connections; undefined: refuse them (AUTH_CLIENT_REFUSED). */
  clients?: ClientAuthOptions | undefined;
  /** Wall clock, Unix ms: certificate validity, the deny list, authenticatedAtMs. */
  wallClock: WallClock;
  /** Timers: auth deadlines, close graces, the expiry sweep. */
  timers: TimerComponents;
  /** Called for every connection whose remote authenticated (the host identifies it then). */
  onConnectionAuthenticated?: (connection: Connection) => void;
  /** Logger (default silent). */
  logger?: Logger;
}

/** An authenticated remote peer. */
export interface AuthenticatedPeer {
  /** Peer ID. */
  peerId: string;
  /** Member name from its certificate. */
  member: string;
  /** Role from its certificate. */
  role: MemberRole;
  /** End of validity of its certificate, Unix ms. */
  notAfterMs: number;
  /** CA key id that issued its certificate. */
  issuer: string;
  /** When it authenticated, Unix ms. */
  authenticatedAtMs: number;
}

/** An authenticated remote client: served the remote admin protocol, nothing else. */
export interface AuthenticatedClient {
  /** Peer ID. */
  peerId: string;
  /** The name its certificate gives (an operator's or a program's). */
  name: string;
  /** Role from its certificate. */
  role: ClientRole;
  /** End of validity of its certificate, Unix ms. */
  notAfterMs: number;
  /** CA key id that issued its certificate. */
  issuer: string;
  /** When it authenticated, Unix ms. */
  authenticatedAtMs: number;
}

/** Why a connection was closed by this node during authentication. */
export type AuthRefusal =
  | CertificateCode | 'AUTH_PROTOCOL' | 'AUTH_TIMEOUT' | 'AUTH_REFUSED_BY_PEER'
  | 'AUTH_MEMBER_PINNED' | 'AUTH_MEMBER_UNKNOWN' | 'AUTH_MEMBER_IN_USE' | 'AUTH_BUSY' | 'AUTH_CLIENT_REFUSED' | 'AUTH_REVOKED';

/** Every refusal reason. */
export const AUTH_REFUSALS: readonly AuthRefusal[] = [
  ...CERTIFICATE_CODES, 'AUTH_PROTOCOL', 'AUTH_TIMEOUT', 'AUTH_REFUSED_BY_PEER',
  'AUTH_MEMBER_PINNED', 'AUTH_MEMBER_UNKNOWN', 'AUTH_MEMBER_IN_USE', 'AUTH_BUSY', 'AUTH_CLIENT_REFUSED', 'AUTH_REVOKED',
];

// Refusals decided after the certificate verified, carried as AuthError codes.
const IDENTITY_REFUSALS: ReadonlySet<string> = new Set([
  'AUTH_MEMBER_PINNED', 'AUTH_MEMBER_UNKNOWN', 'AUTH_MEMBER_IN_USE', 'AUTH_BUSY', 'AUTH_CLIENT_REFUSED', 'AUTH_REVOKED',
]);

/** Counters of the auth service. */
export interface AuthCounters {
  /** Connections authenticated. */
  authenticated: number;
  /** Connections closed during authentication, per reason. */
  refused: Record<AuthRefusal, number>;
  /** Authenticated connections closed because the certificate expired. */
  expired: number;
  /** Streams of other protocols refused because the peer was not authenticated (or had the wrong role). */
  guardRefused: number;
  /** Connections or dials refused because the peer was on the deny list. */
  denied: number;
  /** Inbound connections waiting to authenticate now. */
  unauthenticatedInbound: number;
  /** Client connections authenticated (operators and viewers), since start. */
  clientsAuthenticated: number;
  /** Client connections authenticated now. */
  clients: number;
}

/** Events of the auth service. */
export interface AuthEvents {
  /** A peer has its first authenticated connection. */
  authenticated: (peer: AuthenticatedPeer) => void;
  /** A peer lost its last authenticated connection. */
  deauthenticated: (peer: AuthenticatedPeer) => void;
  /** A connection was closed during authentication. */
  /** `peerCode`: with AUTH_REFUSED_BY_PEER, the code the peer gave (e.g. AUTH_REVOKED: it denies this node). */
  refused: (info: { peerId: string; code: AuthRefusal; message: string; direction: 'inbound' | 'outbound'; peerCode?: string }) => void;
}

interface Pending {
  connection: Connection;
  timer: TimerHandle;
  waiters: Array<{ resolve: (p: AuthenticatedPeer) => void; reject: (e: Error) => void }>;
}

/** What the auth service uses of a libp2p node (a member's host, or a remote client's: node/client/). */
export type AuthHost = Pick<HostNet, 'handle' | 'unhandle' | 'addEventListener' | 'removeEventListener' | 'getConnections'>;

/** Authenticates every connection of a libp2p node; the guard for everything else. */
export class AuthService {
  readonly protocol: string;
  readonly #o: AuthServiceOptions;
  readonly #log: Logger;
  readonly #events: Emitter<AuthEvents>;
  readonly #deny = new DenyList();
  readonly #pending = new Map<string, Pending>();
  readonly #authed = new Map<string, { connection: Connection; peer: AuthenticatedPeer }>();
  // Connection id → the client authenticated on it (never in #authed: clients are not members).
  readonly #clients = new Map<string, { connection: Connection; client: AuthenticatedClient }>();
  readonly #peerConns = new Map<string, Set<string>>();
  readonly #requestSeen = new Set<string>();
  // Member name → the peer ID authenticated under it now (one at a time).
  readonly #memberPeer = new Map<string, string>();
  readonly #pins: MemberPins;
  readonly #unauthenticatedInboundMax: number;
  #busyUnlogged = 0;
  readonly #counters: Omit<AuthCounters, 'unauthenticatedInbound' | 'clients'>;
  #libp2p: AuthHost | undefined;
  #stopSweep: (() => void) | undefined;
  #running = false;

  constructor(options: AuthServiceOptions) {
    this.#o = { ...options };
    this.protocol = authProtocol(options.federationId);
    this.#log = loggerOrSilent(options.logger).child({ component: 'auth' });
    this.#events = new Emitter((err, event) => this.#log.error({ err, event }, 'auth event listener threw'));
    const refused = {} as Record<AuthRefusal, number>;
    for (const r of AUTH_REFUSALS) refused[r] = 0;
    this.#counters = { authenticated: 0, refused, expired: 0, guardRefused: 0, denied: 0, clientsAuthenticated: 0 };
    this.#pins = new MemberPins(options.certificate?.member, options.controllers);
    this.#unauthenticatedInboundMax = options.unauthenticatedInboundMax ?? UNAUTHENTICATED_INBOUND_MAX_DEFAULT;
  }

  /** Accept `name` as a controller with `peerId` from now on (a controller the membership record lists; MemberPins.admit). */
  admitController(name: string, peerId: string): void {
    this.#pins.admit(name, peerId);
    // Refused a moment ago as unknown (it dialed before the record listed it): it may come in now.
    this.#deny.lift(peerId);
  }

  /** Register the protocol and connection listeners; call before libp2p starts listening. */
  async start(libp2p: AuthHost): Promise<void> {
    if (this.#running) return;
    this.#libp2p = libp2p;
    // The one protocol a connection may use before it is authenticated (node/host/pre-auth-limits.ts).
    await libp2p.handle(this.protocol, this.#onStream, {
      maxInboundStreams: AUTH_STREAMS_MAX, maxOutboundStreams: AUTH_STREAMS_MAX, runOnLimitedConnection: true,
    });
    libp2p.addEventListener('connection:open', this.#onOpen);
    libp2p.addEventListener('connection:close', this.#onClose);
    this.#stopSweep = every(this.#o.timers, SWEEP_INTERVAL_MS, () => this.#sweepNow());
    this.#running = true;
    // Connections opened before start (none in normal use) get the same treatment.
    for (const c of libp2p.getConnections()) this.#onOpen(new CustomEvent('connection:open', { detail: c }));
  }

  /** Stop authenticating; pending waiters are rejected. */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#stopSweep?.();
    this.#stopSweep = undefined;
    const libp2p = this.#libp2p;
    if (libp2p !== undefined) {
      libp2p.removeEventListener('connection:open', this.#onOpen);
      libp2p.removeEventListener('connection:close', this.#onClose);
      await libp2p.unhandle(this.protocol).catch(() => undefined);
    }
    for (const [id, p] of this.#pending) {
      this.#o.timers.clearTimeout(p.timer);
      for (const w of p.waiters) w.reject(new AuthError('AUTH_REQUIRED', 'auth service stopped'));
      this.#pending.delete(id);
    }
    // Without the close listener these would go stale: a stopped service vouches for no one.
    this.#authed.clear();
    this.#clients.clear();
    this.#peerConns.clear();
    this.#memberPeer.clear();
    this.#requestSeen.clear();
    this.#events.clear();
  }

  /** Subscribe to an event; returns the unsubscribe function. */
  on<K extends keyof AuthEvents>(event: K, listener: AuthEvents[K]): () => void {
    return this.#events.on(event, listener);
  }

  /** Whether `peerId` has an authenticated connection with a certificate still valid. */
  isAuthenticated(peerId: PeerId | string): boolean {
    return this.peerInfo(peerId) !== undefined;
  }

  /** Member name and role of an authenticated peer, or undefined. */
  peerInfo(peerId: PeerId | string): AuthenticatedPeer | undefined {
    const ids = this.#peerConns.get(peerId.toString());
    if (ids === undefined) return undefined;
    const now = this.#o.wallClock();
    let best: AuthenticatedPeer | undefined;
    for (const id of ids) {
      const a = this.#authed.get(id);
      if (a === undefined || now - this.#o.certificateClockSkewMs >= a.peer.notAfterMs) continue;
      if (best === undefined || a.peer.notAfterMs > best.notAfterMs) best = a.peer;
    }
    return best;
  }

  /** The client authenticated on `connection` with a certificate still valid, or undefined (members too). */
  clientOf(connection: Connection): AuthenticatedClient | undefined {
    const c = this.#clients.get(connection.id);
    if (c === undefined || this.#o.wallClock() - this.#o.certificateClockSkewMs >= c.client.notAfterMs) return undefined;
    return c.client;
  }

  /** Every authenticated peer (one entry per peer). */
  authenticatedPeers(): AuthenticatedPeer[] {
    const out: AuthenticatedPeer[] = [];
    for (const peerId of this.#peerConns.keys()) {
      const p = this.peerInfo(peerId);
      if (p !== undefined) out.push(p);
    }
    return out;
  }

  /**
   * Resolve once the remote of `connection` is authenticated: at once if it is, when its pending
   * authentication succeeds, or reject with AuthError AUTH_REQUIRED when it fails, the connection
   * closes, or `signal` fires. For guards of other protocols: a stream may race the auth exchange.
   */
  whenAuthenticated(connection: Connection, signal?: AbortSignal): Promise<AuthenticatedPeer> {
    const now = this.peerInfo(connection.remotePeer);
    if (now !== undefined) return Promise.resolve(now);
    const pending = this.#pending.get(connection.id);
    if (pending === undefined) return Promise.reject(new AuthError('AUTH_REQUIRED', 'peer is not authenticated'));
    if (signal?.aborted === true) return Promise.reject(new AuthError('AUTH_REQUIRED', 'peer did not authenticate in time'));
    return new Promise((resolve, reject) => {
      const onAbort = (): void => reject(new AuthError('AUTH_REQUIRED', 'peer did not authenticate in time'));
      signal?.addEventListener('abort', onAbort, { once: true });
      pending.waiters.push({
        resolve: (p) => { signal?.removeEventListener('abort', onAbort); resolve(p); },
        reject: (e) => { signal?.removeEventListener('abort', onAbort); reject(e); },
      });
    });
  }

  /** Whether `peerId` is on the deny list now (connection gater hook; counts the refusal). */
  isDenied(peerId: PeerId | string): boolean {
    // The revoked are not refused here but at authentication, with AUTH_REVOKED: a removed controller
    // learns from the refusals of a majority that it was removed (node/membership/members-service.ts).
    // Each refusal puts the peer on this deny list for authDenyMs, so it cannot make us redo that fast.
    const denied = this.#deny.isDenied(peerId.toString(), this.#o.wallClock());
    if (denied) this.#counters.denied += 1;
    return denied;
  }

  /** Count a stream of another protocol refused by a guard. */
  countGuardRefusal(): void {
    this.#counters.guardRefused += 1;
  }

  /** Counters (a copy). */
  counters(): AuthCounters {
    return {
      ...this.#counters, refused: { ...this.#counters.refused }, unauthenticatedInbound: this.#unauthenticatedInbound(), clients: this.#clients.size,
    };
  }

  #unauthenticatedInbound(): number {
    let n = 0;
    for (const p of this.#pending.values()) if (p.connection.direction === 'inbound') n += 1;
    return n;
  }

  readonly #onOpen = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail;
    if (!this.#running || this.#pending.has(conn.id) || this.#authed.has(conn.id) || this.#clients.has(conn.id)) return;
    if (this.isDenied(conn.remotePeer)) {
      this.#close(conn, 'peer is on the deny list');
      return;
    }
    if (conn.direction === 'inbound' && this.#unauthenticatedInbound() >= this.#unauthenticatedInboundMax) {
      // Counted, and logged once per sweep with the number refused: a flood must not flood the log.
      this.#counters.refused.AUTH_BUSY += 1;
      this.#busyUnlogged += 1;
      this.#close(conn, `AUTH_BUSY: ${this.#unauthenticatedInboundMax} connections are already waiting to authenticate`);
      return;
    }
    limitUntilAuthenticated(conn, this.#o.authTimeoutMs);
    const timer = this.#o.timers.setTimeout(() => {
      if (this.#pending.has(conn.id)) this.#refuse(conn, 'AUTH_TIMEOUT', `not authenticated within ${this.#o.authTimeoutMs} ms`, false);
    }, this.#o.authTimeoutMs);
    this.#pending.set(conn.id, { connection: conn, timer, waiters: [] });
    if (conn.direction === 'outbound') void this.#initiate(conn);
  };

  readonly #onClose = (evt: CustomEvent<Connection>): void => {
    const conn = evt.detail;
    const p = this.#pending.get(conn.id);
    if (p !== undefined) {
      this.#o.timers.clearTimeout(p.timer);
      for (const w of p.waiters) w.reject(new AuthError('AUTH_REQUIRED', 'connection closed before authentication'));
      this.#pending.delete(conn.id);
    }
    this.#requestSeen.delete(conn.id);
    this.#clients.delete(conn.id);
    this.#forget(conn.id);
  };

  // Dialer side: send our certificate, verify the answer.
  async #initiate(conn: Connection): Promise<void> {
    const signal = timeoutSignal(this.#o.timers, this.#o.authTimeoutMs);
    let stream: Stream | undefined;
    try {
      // We write first, so the protocol name can ride with our first frame: one round trip less.
      stream = await conn.newStream(this.protocol, { signal, negotiateFully: false, runOnLimitedConnection: true });
      const request = this.#o.certificate === undefined ? {} : { certificate: this.#o.certificate };
      await writeFrame(stream, encodeAuthRequest(request), signal);
      const response = decodeAuthResponse(await readFrame(stream, this.#o.frameBytesMax, signal));
      if (!response.ok) {
        this.#refuse(conn, 'AUTH_REFUSED_BY_PEER', `peer refused our certificate: ${response.code}: ${response.message}`, false, response.code);
        return;
      }
      if (response.certificate === undefined) throw new CertificateError('CERT_MISSING', 'peer presented no certificate');
      this.#accept(conn, await this.#verify(response.certificate, conn), stream);
    } catch (e) {
      if (!this.#running || !this.#pending.has(conn.id)) return; // closed or decided meanwhile
      if (conn.status !== 'open') return; // the connection went away under us: not the peer's fault
      this.#refuse(conn, refusalOf(e), messageOf(e), deservesDenial(e));
    } finally {
      if (stream !== undefined) {
        const s = stream;
        await s.close({ signal: timeoutSignal(this.#o.timers, CLOSE_GRACE_MS) }).catch(() => s.abort(new Error('auth stream close failed')));
      }
    }
  }

  // Listener side: verify the dialer's certificate, answer with ours or with a refusal.
  readonly #onStream = ({ stream, connection }: IncomingStreamData): void => {
    if (!this.#running) {
      stream.abort(new AuthError('AUTH_PROTOCOL', 'auth service stopped'));
      return;
    }
    if (connection.direction !== 'inbound' || this.#requestSeen.has(connection.id)) {
      // Only the dialer opens the auth stream, once. Anything else is a confused or hostile peer.
      stream.abort(new AuthError('AUTH_PROTOCOL', 'unexpected auth stream'));
      if (this.#pending.has(connection.id)) this.#refuse(connection, 'AUTH_PROTOCOL', 'unexpected auth stream', true);
      else this.#counters.refused.AUTH_PROTOCOL += 1; // an authenticated connection is kept; the stream is not
      return;
    }
    this.#requestSeen.add(connection.id);
    void this.#answer(stream, connection);
  };

  async #answer(stream: Stream, connection: Connection): Promise<void> {
    const signal = timeoutSignal(this.#o.timers, this.#o.authTimeoutMs);
    try {
      const request = decodeAuthRequest(await readFrame(stream, this.#o.frameBytesMax, signal));
      if (request.certificate === undefined) throw new CertificateError('CERT_MISSING', 'no certificate presented');
      const verified = await this.#verify(request.certificate, connection);
      // Authenticated before answering: the dialer may open other streams the moment it has our answer.
      if (!this.#accept(connection, verified, stream)) {
        stream.abort(new AuthError('AUTH_PROTOCOL', 'connection no longer pending'));
        return;
      }
      const answer = this.#o.certificate === undefined ? { ok: true as const } : { ok: true as const, certificate: this.#o.certificate };
      await writeFrame(stream, encodeAuthResponse(answer), signal);
      await stream.close({ signal: timeoutSignal(this.#o.timers, CLOSE_GRACE_MS) }).catch(() => stream.abort(new Error('auth stream close failed')));
    } catch (e) {
      const code = refusalOf(e);
      const message = messageOf(e);
      if (code !== 'AUTH_TIMEOUT' && code !== 'AUTH_REFUSED_BY_PEER') {
        // Best effort: tell the dialer why, so its operator sees the reason, then close.
        await writeFrame(stream, encodeAuthResponse({ ok: false, code: code as AuthRefusalCode, message }), timeoutSignal(this.#o.timers, REFUSAL_WRITE_MS)).catch(() => undefined);
      }
      stream.abort(new AuthError('AUTH_PROTOCOL', message));
      if (this.#running && this.#pending.has(connection.id) && connection.status === 'open') {
        this.#refuse(connection, code, message, deservesDenial(e));
      }
    }
  }

  // The certificate, then the configured identities (both directions: this runs for a dialer's
  // certificate and for a listener's answer alike).
  async #verify(cert: MemberCertificate, conn: Connection): Promise<VerifiedMember> {
    // A client certificate where no client is served is refused before its signature is even checked.
    if (isClientRole(cert.role) && this.#o.clients === undefined) {
      throw new AuthError('AUTH_CLIENT_REFUSED', `this node serves no remote clients (${cert.role} certificate ${cert.member} refused)`);
    }
    const v = await verifyCertificate(cert, {
      trust: this.#o.trust,
      federationId: this.#o.federationId,
      peerId: conn.remotePeer.toString(),
      nowMs: this.#o.wallClock(),
      clockSkewMs: this.#o.certificateClockSkewMs,
    });
    const refusal = this.#pins.check(v);
    if (refusal !== undefined) throw new AuthError(refusal.code, refusal.message);
    if (this.#o.revoked?.(v.peerId) === true) throw new AuthError('AUTH_REVOKED', `${v.role} ${v.member} (${v.peerId}) is on the federation's deny list`);
    if (isClientRole(v.role)) {
      if (conn.direction === 'outbound') throw new AuthError('AUTH_CLIENT_REFUSED', `the node dialed answered with ${v.role} certificate ${v.member}: clients do not serve`);
    }
    return v;
  }

  // Synchronous from the check to the tables, so two peers racing for one member name cannot both win.
  // Throws AuthError AUTH_MEMBER_IN_USE when the name (or the peer ID, under another name) is taken.
  #accept(conn: Connection, v: VerifiedMember, authStream: Stream): boolean {
    const p = this.#pending.get(conn.id);
    if (p === undefined || conn.status !== 'open') return false;
    if (isClientRole(v.role)) return this.#acceptClient(conn, { ...v, role: v.role }, authStream, p);
    if (v.role !== 'controller' && v.role !== 'agent') throw new Error(`AuthService: unhandled role ${String(v.role)}`);
    const peer: AuthenticatedPeer = {
      peerId: v.peerId, member: v.member, role: v.role, notAfterMs: v.notAfterMs, issuer: v.issuer, authenticatedAtMs: this.#o.wallClock(),
    };
    if (peer.peerId !== conn.remotePeer.toString()) throw new Error('AuthService: verified peer ID differs from the connection');
    const holder = this.#memberPeer.get(peer.member);
    if (holder !== undefined && holder !== peer.peerId) {
      throw new AuthError('AUTH_MEMBER_IN_USE', `${peer.member} is authenticated as peer ${holder} now`);
    }
    const already = this.peerInfo(peer.peerId);
    if (already !== undefined && (already.member !== peer.member || already.role !== peer.role)) {
      throw new AuthError('AUTH_MEMBER_IN_USE', `peer ${peer.peerId} is authenticated as ${already.role} ${already.member} now`);
    }
    this.#o.timers.clearTimeout(p.timer);
    this.#pending.delete(conn.id);
    liftPreAuthLimits(conn, authStream);
    this.#authed.set(conn.id, { connection: conn, peer });
    let set = this.#peerConns.get(peer.peerId);
    const first = set === undefined;
    if (set === undefined) {
      set = new Set();
      this.#peerConns.set(peer.peerId, set);
      this.#memberPeer.set(peer.member, peer.peerId);
    }
    set.add(conn.id);
    this.#counters.authenticated += 1;
    this.#log.debug({ peer: peer.peerId, member: peer.member, role: peer.role, direction: conn.direction }, 'peer authenticated');
    for (const w of p.waiters) w.resolve(peer);
    if (first) this.#events.emit('authenticated', peer);
    this.#o.onConnectionAuthenticated?.(conn);
    return true;
  }

  // A client: in its own table, waiters of member protocols refused, no event (see the header).
  #acceptClient(conn: Connection, v: VerifiedMember & { role: ClientRole }, authStream: Stream, p: Pending): boolean {
    const max = this.#o.clients?.connectionsMax ?? 0;
    if (this.#clients.size >= max) throw new AuthError('AUTH_BUSY', `${max} remote clients are connected already`);
    this.#o.timers.clearTimeout(p.timer);
    this.#pending.delete(conn.id);
    liftPreAuthLimits(conn, authStream);
    const client: AuthenticatedClient = {
      peerId: v.peerId, name: v.member, role: v.role, notAfterMs: v.notAfterMs, issuer: v.issuer, authenticatedAtMs: this.#o.wallClock(),
    };
    this.#clients.set(conn.id, { connection: conn, client });
    this.#counters.clientsAuthenticated += 1;
    this.#log.info({ peer: client.peerId, client: client.name, role: client.role }, 'remote client authenticated');
    for (const w of p.waiters) w.reject(new AuthError('AUTH_REQUIRED', `${client.role} ${client.name} is a client, not a member`));
    return true;
  }

  #refuse(conn: Connection, code: AuthRefusal, message: string, deny: boolean, peerCode?: string): void {
    const p = this.#pending.get(conn.id);
    if (p !== undefined) {
      this.#o.timers.clearTimeout(p.timer);
      for (const w of p.waiters) w.reject(new AuthError('AUTH_REQUIRED', `authentication failed: ${code}`));
      this.#pending.delete(conn.id);
    }
    this.#counters.refused[code] += 1;
    const peerId = conn.remotePeer.toString();
    if (deny && this.#o.authDenyMs > 0) this.#deny.deny(peerId, this.#o.wallClock() + this.#o.authDenyMs);
    this.#log.warn({ peer: peerId, code, direction: conn.direction, reason: message }, 'closing unauthenticated connection');
    this.#events.emit('refused', { peerId, code, message, direction: conn.direction, ...(peerCode === undefined ? {} : { peerCode }) });
    this.#close(conn, `${code}: ${message}`);
  }

  #close(conn: Connection, why: string): void {
    this.#forget(conn.id);
    conn.close({ signal: timeoutSignal(this.#o.timers, CLOSE_GRACE_MS) }).catch(() => conn.abort(new AuthError('AUTH_REQUIRED', why)));
  }

  #forget(connectionId: string): void {
    const a = this.#authed.get(connectionId);
    if (a === undefined) return;
    this.#authed.delete(connectionId);
    const set = this.#peerConns.get(a.peer.peerId);
    set?.delete(connectionId);
    if (set !== undefined && set.size === 0) {
      this.#peerConns.delete(a.peer.peerId);
      if (this.#memberPeer.get(a.peer.member) === a.peer.peerId) this.#memberPeer.delete(a.peer.member);
      if (this.#running) this.#events.emit('deauthenticated', a.peer);
    }
  }

  /**
   * Close the connections of peers and clients that are revoked now (call when the deny list grew);
   * returns how many were closed.
   */
  dropRevoked(): number {
    const revoked = this.#o.revoked;
    if (revoked === undefined) return 0;
    let n = 0;
    for (const { connection, client } of [...this.#clients.values()]) {
      if (!revoked(client.peerId)) continue;
      this.#clients.delete(connection.id);
      this.#log.warn({ peer: client.peerId, client: client.name }, 'identity revoked: closing connection');
      this.#close(connection, 'AUTH_REVOKED');
      n += 1;
    }
    for (const { connection, peer } of [...this.#authed.values()]) {
      if (!revoked(peer.peerId)) continue;
      this.#log.warn({ peer: peer.peerId, member: peer.member }, 'identity revoked: closing connection');
      this.#close(connection, 'AUTH_REVOKED');
      n += 1;
    }
    return n;
  }

  #sweepNow(): void {
    const now = this.#o.wallClock();
    this.#deny.prune(now);
    if (this.#busyUnlogged > 0) {
      this.#log.warn({ refused: this.#busyUnlogged, waitingMax: this.#unauthenticatedInboundMax },
        'closing new inbound connections: too many are waiting to authenticate (AUTH_BUSY)');
      this.#busyUnlogged = 0;
    }
    for (const { connection, client } of [...this.#clients.values()]) {
      if (now - this.#o.certificateClockSkewMs >= client.notAfterMs) {
        this.#counters.expired += 1;
        this.#clients.delete(connection.id);
        this.#log.warn({ peer: client.peerId, client: client.name }, 'client certificate expired: closing connection');
        this.#close(connection, 'certificate expired');
      }
    }
    for (const { connection, peer } of [...this.#authed.values()]) {
      if (now - this.#o.certificateClockSkewMs >= peer.notAfterMs) {
        this.#counters.expired += 1;
        this.#log.warn({ peer: peer.peerId, member: peer.member }, 'certificate expired: closing connection');
        this.#close(connection, 'certificate expired');
      }
    }
  }
}

// Deny-listing is for peers that are wrong, not for networks that are slow: certificate refusals
// and undecodable or oversized frames deny; deadlines, truncation (a reset or a closed connection)
// and failures to open the stream do not.
function deservesDenial(e: unknown): boolean {
  if (e instanceof CertificateError) return true;
  // A configured name from another key, or a controller in no configuration; a name in use may be a
  // member that restarted with a new key while its old connection lingers: it may retry at once.
  if (e instanceof AuthError) {
    return e.code === 'AUTH_PROTOCOL' || e.code === 'AUTH_MEMBER_PINNED' || e.code === 'AUTH_MEMBER_UNKNOWN' || e.code === 'AUTH_CLIENT_REFUSED' || e.code === 'AUTH_REVOKED';
  }
  if (e instanceof FrameError) return e.code === 'FRAME_TOO_LARGE' || e.code === 'FRAME_MALFORMED';
  return false;
}

function refusalOf(e: unknown): AuthRefusal {
  if (e instanceof CertificateError) return e.code;
  if (e instanceof AuthError && IDENTITY_REFUSALS.has(e.code)) return e.code as AuthRefusal;
  if (e instanceof FrameError && e.code === 'FRAME_TIMEOUT') return 'AUTH_TIMEOUT';
  return 'AUTH_PROTOCOL';
}

function messageOf(e: unknown): string {
  if (e instanceof CertificateError || e instanceof FrameError || e instanceof AuthError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
