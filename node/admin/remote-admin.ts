// The remote admin protocol: the admin API (admin-service.ts) on `/novaedge/<federationId>/admin/1.0.0`,
// for clients whose certificate has a client role (operator, viewer). A stream carries the same
// newline-delimited JSON-RPC as the Unix socket: the same method table, params checks, error codes,
// bounds and pipelining. Who may call what is the caller's role (admin-dispatcher.ts: a viewer only
// reads); every remote write is audited.
//
// What reaches it was bounded before: Noise proved the peer ID, the auth protocol verified the
// client's certificate against the client CAs and this federation (node/auth/auth-service.ts), at most
// remoteClients.connectionsMax client connections exist at once, and each opens at most
// REMOTE_ADMIN_STREAMS_PER_CONNECTION_MAX admin streams at once. Members (controllers, agents) do not
// get the protocol: a stream from anyone but an authenticated client is reset (AUTH_REQUIRED).

import type { IncomingStreamData } from '@libp2p/interface';
import type { AuthService } from '../auth/auth-service.ts';
import { AuthError } from '../errors.ts';
import type { HostNet } from '../host/host-net.ts';
import { adminProtocol } from '../protocols.ts';
import { AdminService, type AdminServerCounters, type AdminServiceOptions } from './admin-service.ts';
import { duplexFromStream } from './stream-duplex.ts';

/** Most admin streams one client connection may have open at once. */
export const REMOTE_ADMIN_STREAMS_PER_CONNECTION_MAX = 8;

/** Options of the remote admin protocol. */
export interface RemoteAdminOptions extends AdminServiceOptions {
  /** The federation (names the protocol). */
  federationId: string;
  /** The node's auth service: who the client is. */
  auth: AuthService;
  /** Most client connections (bounds the admin connections: this times the streams per connection). */
  clientConnectionsMax: number;
}

/** The remote admin protocol of one controller. */
export class RemoteAdmin {
  readonly protocol: string;
  readonly #auth: AuthService;
  readonly #service: AdminService;
  #host: HostNet | undefined;

  constructor(o: RemoteAdminOptions) {
    this.protocol = adminProtocol(o.federationId);
    this.#auth = o.auth;
    this.#service = new AdminService({
      ...o, component: 'remote-admin', connectionsMax: o.connectionsMax ?? o.clientConnectionsMax * REMOTE_ADMIN_STREAMS_PER_CONNECTION_MAX,
    });
  }

  /** Serve the protocol on `host`. */
  async start(host: HostNet): Promise<void> {
    this.#host = host;
    await host.handle(this.protocol, this.#onStream, {
      maxInboundStreams: REMOTE_ADMIN_STREAMS_PER_CONNECTION_MAX, maxOutboundStreams: 1, runOnLimitedConnection: false,
    });
  }

  /** Stop serving: the protocol is unregistered and every admin stream closed. */
  async stop(): Promise<void> {
    const host = this.#host;
    this.#host = undefined;
    if (host !== undefined) await host.unhandle(this.protocol).catch(() => undefined);
    this.#service.closeAll();
  }

  /** A snapshot of the counters. */
  counters(): AdminServerCounters {
    return this.#service.counters();
  }

  readonly #onStream = ({ stream, connection }: IncomingStreamData): void => {
    const client = this.#auth.clientOf(connection);
    if (client === undefined) {
      this.#auth.countGuardRefusal();
      stream.abort(new AuthError('AUTH_REQUIRED', 'the admin protocol is served to authenticated operator and viewer certificates only'));
      return;
    }
    this.#service.accept(duplexFromStream(stream), { kind: 'remote', role: client.role, name: client.name, peerId: client.peerId });
  };
}
