// The shape of an admin API: named methods, each a params validator and an async handler. The
// server is generic over it, so controllers and agents expose different tables through one server.

/** One admin method. */
export interface AdminMethod<P> {
  /** Validates the raw `params` member (undefined when absent); throws InvalidParamsError naming the field. */
  params(raw: unknown): P;
  /** Serves the call; the result must be JSON-serialisable (undefined is sent as null). */
  handler(params: P): Promise<unknown>;
}

/** Methods by name, e.g. `federation.status`. */
export type MethodTable = Record<string, AdminMethod<any>>;

/** Declares a method with its params type inferred from the validator. */
export function defineMethod<P>(m: AdminMethod<P>): AdminMethod<P> {
  return m;
}
