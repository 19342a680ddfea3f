// The shape of an admin API: named methods, each a params validator and an async handler. The
// server is generic over it, so controllers and agents expose different tables through one server.

/** One admin method. */
export interface AdminMethod<P> {
  /** Validates the raw `params` member (undefined when absent); throws InvalidParamsError naming the field. */
  params(raw: unknown): P;
  /**
   * Serves the call; the result must be JSON-serialisable (undefined is sent as null). A streaming
   * method (`stream: true`) resolves to a Subscription instead.
   */
  handler(params: P): Promise<unknown>;
  /** The method opens a stream of notifications (a watch): it must be called alone, with an id. */
  stream?: boolean;
  /**
   * 'write' when the method changes the federation (a write, a resolve, a sync): remote viewers may not
   * call it, and each remote call is audited (admin-dispatcher.ts). Default 'read'.
   */
  access?: 'read' | 'write';
}

/** Where a subscription sends its notifications, and how it learns that the connection is gone. */
export interface NotificationSink {
  /** Send one JSON-RPC notification `{method, params}`; dropped once `signal` has aborted. */
  notify(method: string, params: unknown): void;
  /** Aborts when the client goes away or falls too far behind: stop then. */
  readonly signal: AbortSignal;
}

/**
 * The answer of a streaming method: `result` is sent as the response, then `run` sends
 * notifications until it returns (the stream ended) or throws (the stream failed: the client is
 * told why). The connection then closes.
 */
export class Subscription {
  readonly result: unknown;
  readonly run: (sink: NotificationSink) => Promise<void>;
  constructor(result: unknown, run: (sink: NotificationSink) => Promise<void>) {
    this.result = result;
    this.run = run;
  }
}

/** Methods by name, e.g. `federation.status`. */
export type MethodTable = Record<string, AdminMethod<any>>;

/** Declares a method with its params type inferred from the validator. */
export function defineMethod<P>(m: AdminMethod<P>): AdminMethod<P> {
  return m;
}
