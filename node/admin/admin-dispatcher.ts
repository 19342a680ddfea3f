// Turns admin request lines into response lines: decoding, validation, the caller's access,
// dispatch, serialisation, counting. A method marked `access: 'write'` changes the federation: a
// remote viewer gets FORBIDDEN for it, and every remote call of one is logged (who, what, outcome).
import type { Logger } from '../util/logger.ts';
import { rpcError, toRpcError, type AdminErrorCode, type RpcError } from './admin-errors.ts';
import type { AdminCaller, AdminServerCounters, Decoded, Limits } from './admin-service.ts';
import { Subscription, type AdminMethod, type MethodTable } from './method-table.ts';
import { errorResponse, parseRequest, resultResponse, type RpcId, type RpcRequest, type RpcResponse } from './rpc-messages.ts';

/** Whether `caller` may call `m`: a method that changes the federation needs the local socket or an operator. */
export function mayCall(caller: AdminCaller, m: AdminMethod<any>): boolean {
  return m.access !== 'write' || caller.kind === 'local' || caller.role === 'operator';
}

// Turns request lines into response lines: decoding, validation, dispatch, serialisation, counting.
export class Dispatcher {
  readonly #methods: MethodTable;
  readonly #limits: Limits;
  readonly #counters: AdminServerCounters;
  readonly #log: Logger;
  readonly #utf8 = new TextDecoder('utf-8', { fatal: true });

  constructor(methods: MethodTable, limits: Limits, counters: AdminServerCounters, log: Logger) {
    this.#methods = methods;
    this.#limits = limits;
    this.#counters = counters;
    this.#log = log;
  }

  count(code: AdminErrorCode): void {
    this.#counters.errors[code] = (this.#counters.errors[code] ?? 0) + 1;
  }

  oversizedLine(): string {
    this.#counters.oversized++;
    return this.#errorLine(null, rpcError('INVALID_REQUEST',
      `request larger than ${this.#limits.requestBytesMax} bytes (requestBytesMax); closing the connection`));
  }

  /** A watch ended: its place is free. */
  release(): void {
    this.#counters.watches--;
  }

  /**
   * A request line decoded (synchronously): answered already (an error, or nothing due), or a request
   * or batch to serve; `stream` marks a streaming method called alone (a watch).
   */
  decode(buf: Buffer): Decoded {
    let text: string;
    try {
      text = this.#utf8.decode(buf);
    } catch {
      this.#counters.malformed++;
      return { kind: 'answered', line: this.#errorLine(null, rpcError('PARSE_ERROR', 'parse error: request is not valid UTF-8')) };
    }
    if (text.trim() === '') return { kind: 'answered', line: undefined };
    let msg: unknown;
    try {
      msg = JSON.parse(text);
    } catch (err) {
      this.#counters.malformed++;
      return { kind: 'answered', line: this.#errorLine(null, rpcError('PARSE_ERROR', `parse error: ${String((err as Error).message).slice(0, 200)}`)) };
    }
    if (!Array.isArray(msg)) {
      const p = this.#parse(msg);
      if (!('method' in p)) return { kind: 'answered', line: this.#serialize(p) };
      const m = Object.hasOwn(this.#methods, p.method) ? this.#methods[p.method] : undefined;
      return { kind: 'request', request: p, stream: m?.stream === true };
    }
    if (msg.length === 0) {
      this.#counters.malformed++;
      return { kind: 'answered', line: this.#errorLine(null, rpcError('INVALID_REQUEST', 'invalid request: empty batch')) };
    }
    if (msg.length > this.#limits.batchLengthMax) {
      this.#counters.oversized++;
      return { kind: 'answered', line: this.#errorLine(null, rpcError('INVALID_REQUEST', `invalid request: batch of ${msg.length} requests, more than ${this.#limits.batchLengthMax}`)) };
    }
    return { kind: 'batch', entries: msg };
  }

  /**
   * The response line for a decoded request or batch, or undefined when none is due (notifications);
   * for a watch, the response line and the subscription to serve after it. Never rejects.
   */
  async serve(d: Decoded, caller: AdminCaller): Promise<string | undefined | { line: string; subscription: Subscription }> {
    try {
      if (d.kind === 'answered') return d.line;
      if (d.kind === 'request') {
        const r = await this.#call(d.request, true, caller);
        if (r instanceof Subscription) return { line: this.#serialize(resultResponse(d.request.id!, r.result)), subscription: r };
        return r === undefined ? undefined : this.#serialize(r);
      }
      const parts: string[] = [];
      for (const entry of d.entries) {
        const p = this.#parse(entry);
        const r = 'method' in p ? await this.#call(p, false, caller) as RpcResponse | undefined : p; // never a subscription in a batch
        if (r !== undefined) parts.push(this.#serialize(r));
      }
      return parts.length === 0 ? undefined : `[${parts.join(',')}]`;
    } catch (err) { // cannot happen: methods' errors are answered; kept so a bug never leaves a request unanswered
      this.#log.error({ err }, 'admin request failed');
      return this.#errorLine(null, rpcError('INTERNAL', `the request failed: ${(err as Error).message}`));
    }
  }

  // A valid request, or the response to an invalid one (counted).
  #parse(entry: unknown): RpcRequest | RpcResponse {
    const p = parseRequest(entry);
    if (p.ok) return p.request;
    this.#counters.malformed++;
    this.count(p.error.data.code);
    return errorResponse(p.id, p.error);
  }

  // One request: its response, or undefined for a notification; a streaming method called `alone`
  // (not in a batch) with an id gives its subscription, counted in `watches` until released.
  async #call(request: RpcRequest, alone: boolean, caller: AdminCaller): Promise<RpcResponse | Subscription | undefined> {
    const { id, method, params } = request;
    this.#counters.requests++;
    const m = Object.hasOwn(this.#methods, method) ? this.#methods[method]! : undefined;
    if (caller.kind === 'remote') {
      const key = `${caller.role} ${m === undefined ? '?' : method}`;
      this.#counters.remoteCalls[key] = (this.#counters.remoteCalls[key] ?? 0) + 1;
    }
    let response: RpcResponse;
    if (m === undefined) {
      response = errorResponse(id ?? null, rpcError('METHOD_NOT_FOUND', `unknown method "${method}"`));
    } else if (!mayCall(caller, m)) {
      response = errorResponse(id ?? null, rpcError('FORBIDDEN', `${method} changes the federation: a viewer certificate may only read (writes need an operator certificate)`));
    } else {
      try {
        if (m.stream === true) return await this.#subscribe(m, id, params, alone);
        response = resultResponse(id ?? null, await m.handler(m.params(params)));
      } catch (err) {
        const e = toRpcError(err);
        if (e.data.code === 'INTERNAL') this.#log.error({ err, method }, 'admin method failed');
        response = errorResponse(id ?? null, e);
      }
    }
    if ('error' in response) this.count(response.error.data.code);
    // Audit: every remote call of a method that changes the federation: who, what, and how it ended.
    if (caller.kind === 'remote' && m?.access === 'write') {
      const outcome = 'error' in response ? response.error.data.code : 'ok';
      this.#log.info({ client: caller.name, peer: caller.peerId, role: caller.role, method, outcome }, 'remote admin write');
    }
    return id === undefined ? undefined : response;
  }

  async #subscribe(m: MethodTable[string], id: RpcId | undefined, params: unknown, alone: boolean): Promise<RpcResponse | Subscription | undefined> {
    const refuse = (code: AdminErrorCode, message: string): RpcResponse | undefined => {
      this.count(code);
      return id === undefined ? undefined : errorResponse(id, rpcError(code, message));
    };
    if (!alone || id === undefined) return refuse('INVALID_REQUEST', 'invalid request: a watch must be a request of its own, with an id (not in a batch, not a notification)');
    if (this.#counters.watches >= this.#limits.watchesMax) return refuse('BUSY', `too many watches open (${this.#limits.watchesMax}, watchesMax); try again later`);
    this.#counters.watches++;
    try {
      const sub = await m.handler(m.params(params));
      if (!(sub instanceof Subscription)) throw new TypeError('a streaming method must resolve to a Subscription');
      return sub;
    } catch (err) {
      this.#counters.watches--;
      const e = toRpcError(err);
      if (e.data.code === 'INTERNAL') this.#log.error({ err }, 'admin watch failed to start');
      this.count(e.data.code);
      return errorResponse(id, e);
    }
  }

  #serialize(r: RpcResponse): string {
    let text: string;
    try {
      text = JSON.stringify(r);
    } catch (err) {
      this.#log.error({ err }, 'admin result is not serialisable');
      return this.#errorLine(r.id, rpcError('INTERNAL', `result cannot be encoded: ${(err as Error).message}`));
    }
    if (text.length > this.#limits.responseBytesMax / 3 && Buffer.byteLength(text) > this.#limits.responseBytesMax) {
      this.#counters.oversized++;
      return this.#errorLine(r.id, rpcError('INVALID_ARGUMENT',
        `result of ${Buffer.byteLength(text)} bytes is larger than ${this.#limits.responseBytesMax} (responseBytesMax); ask for less (e.g. a limit)`));
    }
    return text;
  }

  #errorLine(id: RpcId, error: RpcError): string {
    this.count(error.data.code);
    return JSON.stringify(errorResponse(id, error));
  }
}
