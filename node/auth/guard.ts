// The guard in front of every NovaEdge protocol other than auth: a stream is served only when its
// peer is authenticated (waiting, within the auth deadline, for an exchange still in flight), and
// optionally only for some roles — controller-only protocols pass `roles: ['controller']`.
// The wait is for connections this node dialed, whose listener may open streams as soon as it has
// accepted us: an inbound connection's streams never get here before its remote authenticated (the
// connection refuses them itself: node/host/pre-auth-limits.ts).

import type { IncomingStreamData, StreamHandler } from '@libp2p/interface';
import type { MemberRole } from '../../membership/member-name.ts';
import { timeoutSignal, type TimerComponents } from '../components.ts';
import { AuthError } from '../errors.ts';
import type { AuthenticatedPeer, AuthService } from './auth-service.ts';

/** A handler that receives the authenticated peer with the stream. */
export type GuardedHandler = (data: IncomingStreamData, peer: AuthenticatedPeer) => void | Promise<void>;

/** Options of a guard. */
export interface GuardOptions {
  /** Roles allowed to open the protocol (default: every role). */
  roles?: readonly MemberRole[];
  /** Longest wait for an in-flight authentication, milliseconds. */
  waitMs: number;
  /** Timers the wait runs on. */
  timers: TimerComponents;
}

/** Wrap `handler` so that unauthenticated (or wrongly-roled) peers get their stream aborted. */
export function guardHandler(auth: AuthService, handler: GuardedHandler, options: GuardOptions): StreamHandler {
  return (data: IncomingStreamData): void => {
    const { stream, connection } = data;
    auth.whenAuthenticated(connection, timeoutSignal(options.timers, options.waitMs)).then(
      async (peer) => {
        if (options.roles !== undefined && !options.roles.includes(peer.role)) {
          auth.countGuardRefusal();
          stream.abort(new AuthError('AUTH_REQUIRED', `protocol not open to ${peer.role}s`));
          return;
        }
        await handler(data, peer);
      },
      (err: unknown) => {
        auth.countGuardRefusal();
        stream.abort(err instanceof Error ? err : new AuthError('AUTH_REQUIRED', String(err)));
      },
    ).catch((err: unknown) => {
      // A handler that throws must not take the node down; its stream is reset.
      stream.abort(err instanceof Error ? err : new Error(String(err)));
    });
  };
}
