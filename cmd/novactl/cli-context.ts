// What every novactl command shares: where output goes, how the node is called, and how failures
// become exit codes.
import { callAdmin, AdminCallError } from '../../node/admin/admin-client.ts';

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

/** Options every command can read: the admin socket and the call deadline. */
export interface GlobalOptions {
  socket: string;
  timeoutMs: number;
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
}

const UNREACHABLE_CODES = new Set(['NO_SERVER', 'PERMISSION_DENIED', 'TIMEOUT', 'CONNECTION_CLOSED', 'BAD_RESPONSE']);

/** Call an admin method on the node; failures become CliErrors with the node's stable code. */
export async function call<T>(ctx: CliContext, method: string, params?: Record<string, unknown>): Promise<T> {
  const g = ctx.globals();
  try {
    return await callAdmin<T>(g.socket, method, params, { timeoutMs: g.timeoutMs });
  } catch (err) {
    if (err instanceof AdminCallError) {
      throw Object.assign(new CliError(err.code, err.message, UNREACHABLE_CODES.has(err.code) ? EXIT.UNREACHABLE : EXIT.ERROR), { data: err.data });
    }
    throw err;
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
