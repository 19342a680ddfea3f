// Errors of the admin API. Every error a client sees carries a stable string code in
// `error.data.code` and a fixed numeric JSON-RPC code: the protocol codes of JSON-RPC 2.0 for
// protocol problems, and codes in the server range (-32001..-32099) for application errors. Errors
// thrown by the node are mapped by their own stable `code` (node/errors.ts, storage/store/errors.ts…);
// anything unknown becomes INTERNAL.
import { CodedError } from '../errors.ts';

/** Stable codes and their JSON-RPC numbers. Never renumber: clients and scripts match on them. */
export const ADMIN_ERROR_CODES = Object.freeze({
  /** The line is not JSON (or not UTF-8). */
  PARSE_ERROR: -32700,
  /** Not a JSON-RPC 2.0 request, an oversized request or batch, or too many connections. */
  INVALID_REQUEST: -32600,
  /** No such method. */
  METHOD_NOT_FOUND: -32601,
  /** Bad parameters, or an invalid resource, key or argument (the field is named). */
  INVALID_ARGUMENT: -32602,
  /** An unexpected failure inside the node (logged there). */
  INTERNAL: -32603,
  /** The write was refused: this controller does not hold quorum. Nothing was stored. */
  FENCED: -32001,
  /** No such resource, conflict or peer. */
  NOT_FOUND: -32002,
  /** The key holds an unresolved Manual conflict: resolve it first. */
  CONFLICT: -32003,
  /** A quorum-durable write was not acknowledged by a majority in time (it is durable locally). */
  QUORUM_TIMEOUT: -32004,
  /** A peer or the store cannot serve the call now (not connected, sync failed, store failed). */
  UNAVAILABLE: -32005,
  /** The node is stopped or stopping. */
  NODE_STOPPED: -32006,
  /** Too much work queued (writes waiting for disk); retry later. */
  BUSY: -32007,
  /** A write sent to an agent: agents are read-only, write on a controller. */
  READ_ONLY: -32008,
  /** A quorum write while the reachable controllers cannot form the durability quorum (see the message). */
  QUORUM_UNAVAILABLE: -32009,
  /** A watch fell too far behind (the client did not read fast enough) and was ended: resume from the last seq received. */
  WATCH_OVERFLOW: -32010,
  /** A watch asked to resume from before changes the node has since collected: list again, then watch from the list's seq. */
  WATCH_COMPACTED: -32011,
  /** The caller's certificate does not allow the method (a viewer calling a method that changes the federation). */
  FORBIDDEN: -32012,
});

/** A stable admin error code. */
export type AdminErrorCode = keyof typeof ADMIN_ERROR_CODES;

/** The `error` member of a JSON-RPC response. */
export interface RpcError {
  code: number;
  message: string;
  data: { code: AdminErrorCode; [field: string]: unknown };
}

/** An error raised by the admin layer itself, with optional extra data for the client. */
export class AdminError extends CodedError<AdminErrorCode> {
  readonly data: Record<string, unknown>;
  constructor(code: AdminErrorCode, message: string, data: Record<string, unknown> = {}, options?: ErrorOptions) {
    super(code, message, options);
    this.data = data;
  }
}

/** Parameters that fail validation; `field` is the path, e.g. `params.resources[2]`. */
export class InvalidParamsError extends AdminError {
  readonly field: string;
  constructor(field: string, problem: string) {
    super('INVALID_ARGUMENT', `${field}: ${problem}`, { field });
    this.field = field;
  }
}

// Node and storage codes, by the admin code they are reported as. Codes not listed here and not
// admin codes themselves are INTERNAL.
const MAPPED: Readonly<Record<string, AdminErrorCode>> = {
  INVALID_RECORD: 'INVALID_ARGUMENT',
  CLOSED: 'NODE_STOPPED',
  STORE_FAILED: 'UNAVAILABLE',
  // A user write or delete of a key the federation keeps for itself (storage/logic/system-keys.ts).
  RESERVED_KEY: 'INVALID_ARGUMENT',
  // A resource of a kind the node's registry does not hold (storage/logic/resource-kinds.ts).
  UNKNOWN_KIND: 'INVALID_ARGUMENT',
  PROTOCOL: 'UNAVAILABLE',
  CLOCK_SKEW: 'UNAVAILABLE',
  REFUSED_BY_PEERS: 'UNAVAILABLE',
  FRAME_TOO_LARGE: 'UNAVAILABLE',
  FRAME_TRUNCATED: 'UNAVAILABLE',
  FRAME_MALFORMED: 'UNAVAILABLE',
  FRAME_TIMEOUT: 'UNAVAILABLE',
  AUTH_TIMEOUT: 'UNAVAILABLE',
  AUTH_REFUSED_BY_PEER: 'UNAVAILABLE',
  AUTH_PROTOCOL: 'UNAVAILABLE',
  AUTH_REQUIRED: 'UNAVAILABLE',
  // storage/store/errors.ts WatchCompactedError.
  COMPACTED: 'WATCH_COMPACTED',
};

/** The admin code an error is reported as, and the error's own code when it differs. */
export function classifyError(err: unknown): { code: AdminErrorCode; cause?: string } {
  const own = typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code : undefined;
  if (own === undefined) return { code: 'INTERNAL' };
  if (Object.hasOwn(ADMIN_ERROR_CODES, own)) return { code: own as AdminErrorCode };
  // NodeStateError covers both "node is stopped" and "peer is not connected".
  if (own === 'NODE_STATE') return { code: /\bstopped\b/.test(String((err as Error).message)) ? 'NODE_STOPPED' : 'UNAVAILABLE', cause: own };
  const mapped = MAPPED[own];
  return mapped === undefined ? { code: 'INTERNAL', cause: own } : { code: mapped, cause: own };
}

/** The JSON-RPC error object for an error thrown while serving a call. */
export function toRpcError(err: unknown): RpcError {
  const { code, cause } = classifyError(err);
  const message = err instanceof Error ? err.message : String(err);
  const extra = err instanceof AdminError ? err.data : {};
  return {
    code: ADMIN_ERROR_CODES[code],
    message: message.length > 0 ? message : code,
    data: { ...extra, code, ...(cause === undefined ? {} : { cause }) },
  };
}

/** A protocol-level error object (parse error, invalid request, unknown method). */
export function rpcError(code: AdminErrorCode, message: string, data: Record<string, unknown> = {}): RpcError {
  return { code: ADMIN_ERROR_CODES[code], message, data: { ...data, code } };
}
