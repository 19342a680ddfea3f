// JSON-RPC 2.0 messages of the admin API: request validation and response shapes.
// https://www.jsonrpc.org/specification — ids are strings, numbers or null; a request without an
// `id` member is a notification and gets no response.
import { rpcError, type RpcError } from './admin-errors.ts';

/** Longest method name accepted. */
export const METHOD_NAME_LENGTH_MAX = 128;
/** Longest string id accepted. */
export const ID_LENGTH_MAX = 256;

/** A request id. */
export type RpcId = string | number | null;

/** A valid request. `id` is undefined for notifications. */
export interface RpcRequest {
  id: RpcId | undefined;
  method: string;
  params: unknown;
}

/** A response line's object. */
export type RpcResponse =
  | { jsonrpc: '2.0'; id: RpcId; result: unknown }
  | { jsonrpc: '2.0'; id: RpcId; error: RpcError };

/** One entry of a request line: a valid request, or the error to answer it with. */
export type ParsedRequest = { ok: true; request: RpcRequest } | { ok: false; id: RpcId; error: RpcError };

const MEMBERS = ['jsonrpc', 'id', 'method', 'params'];

function validId(v: unknown): v is RpcId {
  return v === null || (typeof v === 'string' && v.length <= ID_LENGTH_MAX) || (typeof v === 'number' && Number.isFinite(v));
}

/** Validate one decoded request object. */
export function parseRequest(v: unknown): ParsedRequest {
  const invalid = (id: RpcId, why: string): ParsedRequest => ({ ok: false, id, error: rpcError('INVALID_REQUEST', `invalid request: ${why}`) });
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return invalid(null, 'not a JSON object');
  const o = v as Record<string, unknown>;
  const hasId = Object.hasOwn(o, 'id');
  if (hasId && !validId(o.id)) return invalid(null, `id must be a string of at most ${ID_LENGTH_MAX} characters, a number or null`);
  const id = hasId ? (o.id as RpcId) : null;
  if (o.jsonrpc !== '2.0') return invalid(id, 'jsonrpc must be "2.0"');
  const extra = Object.keys(o).find((k) => !MEMBERS.includes(k));
  if (extra !== undefined) return invalid(id, `unknown member "${extra.slice(0, 64)}"`);
  if (typeof o.method !== 'string' || o.method.length === 0 || o.method.length > METHOD_NAME_LENGTH_MAX) {
    return invalid(id, `method must be a non-empty string of at most ${METHOD_NAME_LENGTH_MAX} characters`);
  }
  if (o.params !== undefined && (typeof o.params !== 'object' || o.params === null)) {
    return invalid(id, 'params must be an object or an array');
  }
  return { ok: true, request: { id: hasId ? (o.id as RpcId) : undefined, method: o.method, params: o.params } };
}

/** A success response. */
export function resultResponse(id: RpcId, result: unknown): RpcResponse {
  return { jsonrpc: '2.0', id, result: result === undefined ? null : result };
}

/** An error response. */
export function errorResponse(id: RpcId, error: RpcError): RpcResponse {
  return { jsonrpc: '2.0', id, error };
}
