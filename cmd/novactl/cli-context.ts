// What every novactl command shares: where output goes, how the node is called (its admin socket, or
// with --endpoint a controller's remote admin protocol: node/client/), and how failures become exit
// codes.
import { callAdmin, AdminCallError, type AdminConnection, type ConnectionOptions } from '../../node/admin/admin-client.ts';
import type { WatchTarget } from '../../node/admin/admin-watch.ts';
import type { NovaEdgeClient } from '../../node/client/client.ts';

/** Exit codes of novactl. */
export const EXIT = Object.freeze({
  /** Success. */
  OK: 0,
  /** The node answered with an error (FENCED, NOT_FOUND…), or a local file or key operation failed. */
  ERROR: 1,
  /** Bad command line (unknown command or option, missing or invalid argument). */
  USAGE: 2,
  /** The node could not be reached (no socket, permission denied, no answer in time). */
  UNREACHABLE: 3,
});

/** Where output goes (the process's streams; injectable for tests). */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  stdin: NodeJS.ReadableStream;
  /** Wall clock, ms since the epoch (for "3s ago"). */
  nowMs(): number;
}

/** Where a remote novactl goes, and what it proves itself with (--endpoint, --identity, --cert, --ca-file). */
export interface RemoteOptions {
  endpoints: string[];
  identityKeyFile: string;
  certificateFile: string;
  caFiles: string[];
}

/** Options every command can read: the admin socket (or the remote endpoints) and the call deadline. */
export interface GlobalOptions {
  socket: string;
  timeoutMs: number;
  /** Set with --endpoint: calls go to these controllers instead of the socket. */
  remote?: RemoteOptions;
}

/** A failure with its stable code and exit code; printed as `error: CODE: message`. */
export class CliError extends Error {
  readonly code: string;
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode: number = EXIT.ERROR) {
    super(message);
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** The shared context handed to command builders. */
export interface CliContext {
  io: CliIo;
  /** The global options, read when a command runs. */
  globals(): GlobalOptions;
  /** The remote client of this run, made at its first use (--endpoint); closed when the run ends. */
  remote?: Promise<NovaEdgeClient>;
}

/** Codes of failures to reach a node (exit code UNREACHABLE). */
export const UNREACHABLE_CODES: ReadonlySet<string> = new Set([
  'NO_SERVER', 'PERMISSION_DENIED', 'TIMEOUT', 'CONNECTION_CLOSED', 'BAD_RESPONSE', 'AUTH_REFUSED', 'NOT_SERVED',
]);

// The remote client of this run (loaded on first use: it brings libp2p, which local calls do not need).
function remoteClient(ctx: CliContext, r: RemoteOptions, timeoutMs: number): Promise<NovaEdgeClient> {
  ctx.remote ??= import('../../node/client/client.ts').then(({ createClient }) => createClient({ ...r, timeoutMs }));
  return ctx.remote;
}

/** Close the remote client of this run, if one was made. */
export async function closeRemote(ctx: CliContext): Promise<void> {
  const r = ctx.remote;
  ctx.remote = undefined;
  if (r !== undefined) await r.then((c) => c.close(), () => undefined);
}

/** Call an admin method on the node with its own deadline; rejects with AdminCallError (or a credential error). */
export async function ask<T>(ctx: CliContext, method: string, params: Record<string, unknown> | undefined, timeoutMs: number): Promise<T> {
  const g = ctx.globals();
  if (g.remote === undefined) return callAdmin<T>(g.socket, method, params, { timeoutMs });
  return (await remoteClient(ctx, g.remote, g.timeoutMs)).call<T>(method, params, { timeoutMs });
}

/** Where a watch goes: the socket, or the first remote endpoint that answers. */
export function watchTarget(ctx: CliContext): WatchTarget {
  const g = ctx.globals();
  const r = g.remote;
  if (r === undefined) return g.socket;
  return async (o: ConnectionOptions): Promise<AdminConnection> => (await remoteClient(ctx, r, g.timeoutMs)).connectFirst(o);
}

/** A failure as the CliError novactl reports (its stable code, and the exit code for its kind). */
export function cliErrorOf(err: unknown): unknown {
  if (err instanceof AdminCallError) {
    const exit = err.code === 'BAD_ENDPOINT' ? EXIT.USAGE : UNREACHABLE_CODES.has(err.code) ? EXIT.UNREACHABLE : EXIT.ERROR;
    return Object.assign(new CliError(err.code, err.message, exit), { data: err.data });
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'CLIENT_CREDENTIALS') return new CliError(code, (err as Error).message, EXIT.USAGE);
  return err;
}

/** Call an admin method on the node; failures become CliErrors with the node's stable code. */
export async function call<T>(ctx: CliContext, method: string, params?: Record<string, unknown>): Promise<T> {
  try {
    return await ask<T>(ctx, method, params, ctx.globals().timeoutMs);
  } catch (err) {
    throw cliErrorOf(err);
  }
}

/** Print a failure to stderr and return its exit code. */
export function reportError(io: CliIo, err: unknown): number {
  if (err instanceof CliError) {
    io.stderr(`error: ${err.code}: ${err.message}\n`);
    return err.exitCode;
  }
  const code = typeof (err as { code?: unknown })?.code === 'string' ? (err as { code: string }).code : undefined;
  const message = err instanceof Error ? err.message : String(err);
  io.stderr(`error: ${code === undefined ? '' : `${code}: `}${message}\n`);
  return EXIT.ERROR;
}
