// The admin server: the admin API (admin-service.ts) on a Unix socket of mode 0600. Whoever may open
// the socket file is the local caller and may call every method.
import { chmod, lstat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { loggerOrSilent } from '../util/logger.ts';
import { AdminService, LOCAL_CALLER, type AdminServerCounters, type AdminServiceOptions } from './admin-service.ts';
import { AdminSocketError, prepareSocketPath, removeSocketFile, type FileIdentity } from './socket-file.ts';

export {
  ADMIN_BATCH_LENGTH_MAX, ADMIN_CONNECTIONS_MAX, ADMIN_IDLE_TIMEOUT_MS, ADMIN_IN_FLIGHT_PER_CONNECTION_MAX, ADMIN_REQUEST_BYTES_MAX,
  ADMIN_RESPONSE_BYTES_MAX, ADMIN_UNREAD_RESPONSE_BYTES_MAX, ADMIN_WATCH_BUFFER_BYTES_MAX, ADMIN_WATCHES_MAX, type AdminServerCounters,
} from './admin-service.ts';

/** Options of the admin socket server. */
export interface AdminServerOptions extends AdminServiceOptions {
  /** Unix socket path (at most 107 bytes); created with mode 0600, removed on close. */
  socketPath: string;
}

/** A running admin server. */
export interface AdminServer {
  /** The socket path. */
  readonly path: string;
  /** A snapshot of the counters. */
  counters(): AdminServerCounters;
  /** Stop listening, close every connection, remove the socket file. Idempotent. */
  close(): Promise<void>;
}

/** Start an admin server on `socketPath`; refuses when another server answers there. */
export async function startAdminServer(opts: AdminServerOptions): Promise<AdminServer> {
  const log = loggerOrSilent(opts.logger).child({ component: 'admin' });
  const service = new AdminService(opts);
  await prepareSocketPath(opts.socketPath, opts.timers);
  const server = createServer({ allowHalfOpen: true });
  server.on('connection', (socket) => service.accept(socket, LOCAL_CALLER));
  server.on('error', (err) => log.error({ err }, 'admin server error'));
  await listen(server, opts.socketPath);
  let id: FileIdentity | undefined;
  try {
    await chmod(opts.socketPath, 0o600);
    const st = await lstat(opts.socketPath);
    id = { dev: st.dev, ino: st.ino };
  } catch (err) {
    server.close();
    throw err;
  }
  log.info({ path: opts.socketPath }, 'admin socket listening');

  let closing: Promise<void> | undefined;
  return {
    path: opts.socketPath,
    counters: () => service.counters(),
    close() {
      closing ??= (async () => {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        service.closeAll();
        await closed;
        await removeSocketFile(opts.socketPath, id);
      })();
      return closing;
    },
  };
}

// Listen with a umask that leaves the socket owner-only from the moment it exists (the chmod that
// follows is for platforms where the umask does not apply to sockets).
async function listen(server: Server, path: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(err.code === 'EADDRINUSE'
        ? new AdminSocketError('ADMIN_SOCKET_IN_USE', `another server is listening at ${path}`, { cause: err })
        : new AdminSocketError('ADMIN_SOCKET_UNUSABLE', `cannot listen at ${path} (${err.code ?? err.message})`, { cause: err }));
    };
    server.once('error', onError);
    let old: number | undefined;
    try {
      old = process.umask(0o177);
    } catch {
      old = undefined; // worker threads cannot change the umask; the chmod below still applies
    }
    try {
      server.listen(path, () => {
        server.off('error', onError);
        resolve();
      });
    } finally {
      if (old !== undefined) process.umask(old);
    }
  });
}
