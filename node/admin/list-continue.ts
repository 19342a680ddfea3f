// The continue token of `resources.list` (kubectl's `--chunk-size` / `continue`). A token says where
// the next page starts: after the last key returned, within the same list (kind and namespace). It is
// opaque to clients (base64url of a small JSON object) and checked on the way back in: bounded in
// length, decoded strictly, and refused unless it belongs to the list it is sent with and names a
// valid key inside that list's range. A forged token can only start a list at some key the caller
// could have listed anyway (the admin socket is owner-only), so it is not signed.
//
// What a continued list guarantees (docs/cli.md): pages are read one at a time, each from the store
// as it is then (there is no snapshot held between calls, so a token never expires). Keys come in
// key order, each at most once; a key that exists from the first page to the last is returned
// exactly once; a key created or deleted meanwhile may or may not be; a value is the one current
// when its page was read. Each page reports the store seq it was read at: a watch from the first
// page's seq sees every change made while paging.
import { parseKey } from '../../storage/index.ts';
import { InvalidParamsError } from './admin-errors.ts';

/** Longest continue token accepted, characters (a key is at most about 600). */
export const LIST_CONTINUE_CHARS_MAX = 2048;

const VERSION = 1;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/** Which list a token belongs to. */
export interface ListScope {
  kind: string | undefined;
  namespace: string | undefined;
}

interface TokenBody {
  v: number;
  k: string | null;
  n: string | null;
  a: string;
}

/** The token for the page after `lastKey` of the list `scope`. */
export function encodeContinue(scope: ListScope, lastKey: string): string {
  const body: TokenBody = { v: VERSION, k: scope.kind ?? null, n: scope.namespace ?? null, a: lastKey };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

/** The key a token continues after; throws InvalidParamsError (params.continue) for any other token. */
export function decodeContinue(token: string, scope: ListScope): string {
  const bad = (why: string): never => {
    throw new InvalidParamsError('params.continue', `not a continue token of this list (${why}); start the list again without one`);
  };
  if (token.length > LIST_CONTINUE_CHARS_MAX) bad(`longer than ${LIST_CONTINUE_CHARS_MAX} characters`);
  if (!BASE64URL.test(token)) bad('malformed');
  let body: unknown;
  try {
    body = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    bad('malformed');
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return bad('malformed');
  const b = body as Partial<TokenBody>;
  if (Object.keys(b).sort().join() !== 'a,k,n,v') bad('malformed');
  if (b.v !== VERSION) bad('unknown version');
  if ((b.k ?? undefined) !== scope.kind || (b.n ?? undefined) !== scope.namespace) bad('it was issued for another kind or namespace');
  if (typeof b.a !== 'string') return bad('malformed');
  let key: { kind: string; namespace: string };
  try {
    key = parseKey(b.a);
  } catch {
    return bad('no valid key in it');
  }
  if ((scope.kind !== undefined && key.kind !== scope.kind) || (scope.namespace !== undefined && key.namespace !== scope.namespace)) {
    bad('its key is outside the list');
  }
  return b.a;
}
