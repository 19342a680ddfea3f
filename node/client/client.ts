// The client library: a program (or novactl --endpoint) drives a federation remotely, as an operator
// or a viewer, through any of several controllers.
//
//   const client = await createClient({ endpoints, identityKeyFile, certificateFile, caFiles });
//   await client.apply([{ apiVersion, kind: 'ProxyRoute', metadata: { name, namespace }, spec }], { durability: 'quorum' });
//   const { items, continue: next } = await client.list({ kind: 'ProxyRoute', limit: 100 });
//   await client.close();
//
// Calls go to one controller at a time over one pipelined admin stream (many calls in flight). When
// it cannot be reached, a read is retried on the next endpoint; a write is retried elsewhere only when
// the controller said that nothing was stored (FENCED: it is on the minority side; BUSY), never after
// a timeout, a lost connection or QUORUM_UNAVAILABLE, after which it may be stored.
// The endpoint that answered last is tried first next time. Errors are AdminCallError with the admin
// API's stable codes (FENCED, NOT_FOUND, FORBIDDEN…) or the client's (NO_SERVER, AUTH_REFUSED…).

import type { Resource } from '../../storage/logic/resource.ts';
import { ADMIN_CALL_TIMEOUT_MS, AdminCallError, AdminConnection, type ConnectionOptions } from '../admin/admin-client.ts';
import type {
  ApplyResult, ConflictsResult, GetResult, ListResult, ResourceEvent, StatusResult, WatchStarted, WriteDurability, WriteOutcome,
} from '../admin/controller-api.ts';
import { watchAdmin } from '../admin/admin-watch.ts';
import { isWriteMethod } from '../admin/write-methods.ts';
import { systemWallClock } from '../util/clock.ts';
import { loadClientCredentials, type ClientCredentialFiles } from './client-credentials.ts';
import { RemoteDialer, type RemoteDialerOptions } from './remote-dialer.ts';

/** Options of createClient. */
export interface ClientOptions extends ClientCredentialFiles {
  /** Controllers to use, in order of preference: TCP multiaddrs (/ip4/…/tcp/…[/p2p/…]) or host:port. */
  endpoints: readonly string[];
  /** Deadline of one call, ms (default 30 000). */
  timeoutMs?: number;
  /** Deadline of one dial with its authentication, ms (default 5000). */
  dialTimeoutMs?: number;
  /** Logger and clocks of the dialer. */
  dialer?: Omit<RemoteDialerOptions, 'dialTimeoutMs'>;
}

/** Most endpoints a client takes. */
export const CLIENT_ENDPOINTS_MAX = 16;

// Failures after which a read goes elsewhere.
const READ_ELSEWHERE = new Set(['CONNECTION_CLOSED', 'TIMEOUT', 'BAD_RESPONSE', 'UNAVAILABLE', 'NODE_STOPPED', 'BUSY']);
// Failures by which a controller says that it stored nothing of a write: it may go elsewhere.
const WRITE_NOT_STORED = new Set(['FENCED', 'BUSY']);

/** A remote client of a federation. */
export class NovaEdgeClient {
  readonly endpoints: readonly string[];
  readonly #dialer: RemoteDialer;
  readonly #timeoutMs: number;
  readonly #conns = new Map<string, Promise<AdminConnection>>();
  #preferred = 0;
  #closed = false;

  constructor(dialer: RemoteDialer, endpoints: readonly string[], timeoutMs: number) {
    this.#dialer = dialer;
    this.endpoints = endpoints;
    this.#timeoutMs = timeoutMs;
  }

  /** The name and role of this client's certificate. */
  get identity(): { name: string; role: string; federationId: string } {
    const c = this.#dialer.credentials;
    return { name: c.name, role: c.role, federationId: c.federationId };
  }

  /**
   * Call an admin method by name, with failover (see the header). Resolves to the result; rejects with
   * the last answer a controller gave (or, none having answered, the last failure to reach one), its
   * message listing what each endpoint tried said.
   */
  async call<T = unknown>(method: string, params?: unknown, opts: { timeoutMs?: number } = {}): Promise<T> {
    if (this.#closed) throw new AdminCallError('CONNECTION_CLOSED', `${method}: the client is closed`);
    const write = isWriteMethod(method);
    const tried: string[] = [];
    let last: AdminCallError | undefined;
    let answered: AdminCallError | undefined; // the last failure a controller answered with (FENCED…)
    for (let i = 0; i < this.endpoints.length; i++) {
      const index = (this.#preferred + i) % this.endpoints.length;
      const endpoint = this.endpoints[index]!;
      let conn: AdminConnection;
      try {
        conn = await this.#connection(endpoint);
      } catch (e) {
        last = asCallError(e);
        tried.push(`${endpoint}: ${last.code}`);
        continue; // nothing was sent
      }
      try {
        const result = await conn.call<T>(method, params, { timeoutMs: opts.timeoutMs ?? this.#timeoutMs });
        this.#preferred = index;
        return result;
      } catch (e) {
        last = asCallError(e);
        tried.push(`${endpoint}: ${last.code}`);
        if (last.rpcCode !== undefined) answered = last;
        if (['CONNECTION_CLOSED', 'TIMEOUT', 'BAD_RESPONSE'].includes(last.code)) this.#drop(endpoint);
        const elsewhere = write ? WRITE_NOT_STORED.has(last.code) && !storedSome(last) : READ_ELSEWHERE.has(last.code) || last.code === 'FENCED';
        if (!elsewhere) throw last;
      }
    }
    // What a controller said (FENCED: every one reached is on a minority side) tells more than that another could not be reached.
    const e = answered ?? last ?? new AdminCallError('NO_SERVER', 'no endpoint given');
    throw new AdminCallError(e.code, `${method}: no controller could serve it (${tried.join('; ')}); last: ${e.message}`, e.rpcCode, e.data, { cause: e });
  }

  /** Create or update resources (kubectl apply); `durability: 'quorum'` waits for a majority. */
  apply(resources: readonly Resource[] | readonly unknown[], opts: { durability?: WriteDurability } = {}): Promise<ApplyResult> {
    return this.call('resources.apply', { resources, ...opts });
  }

  /** One resource by key (`Kind/namespace/name`); NOT_FOUND when absent. */
  get(key: string): Promise<GetResult> {
    return this.call('resources.get', { key });
  }

  /** A page of resources, by key order; pass the result's `continue` for the next page. */
  list(o: { kind?: string; namespace?: string; limit?: number; continue?: string } = {}): Promise<ListResult> {
    return this.call('resources.list', o);
  }

  /** Delete a resource (a tombstone replicates). */
  delete(key: string, opts: { durability?: WriteDurability } = {}): Promise<WriteOutcome> {
    return this.call('resources.delete', { key, ...opts });
  }

  /** The controller's view of the federation (`novactl federation status`). */
  status(): Promise<StatusResult> {
    return this.call('federation.status');
  }

  /** Unresolved Manual conflicts. */
  conflicts(): Promise<ConflictsResult> {
    return this.call('federation.conflicts');
  }

  /**
   * Watch changes from `fromSeq` (a list's `seq`, or the last event's) until `signal` aborts or the
   * controller ends the watch. Seqs are per controller: resume on the endpoint that gave them
   * (`onStart` tells which), or list again elsewhere. Rejects with WATCH_OVERFLOW / WATCH_COMPACTED
   * as the socket's watch does.
   */
  async watch(o: { kind?: string; namespace?: string; fromSeq?: number }, onEvent: (e: ResourceEvent) => void,
    opts: { signal?: AbortSignal; onStart?: (started: WatchStarted & { endpoint: string }) => void } = {}): Promise<void> {
    const endpoint = await this.#firstReachable();
    await watchAdmin((c: ConnectionOptions) => this.#dialer.connect(endpoint, c), 'resources.watch', o, {
      timeoutMs: this.#timeoutMs,
      onNotification: (_m, p) => onEvent(p as ResourceEvent),
      ...(opts.onStart === undefined ? {} : { onStart: (r: unknown) => opts.onStart!({ ...(r as WatchStarted), endpoint }) }),
      ...(opts.signal === undefined ? {} : { signal: opts.signal }),
    });
  }

  /** An admin connection of its own to the first endpoint that answers (for a watch). */
  async connectFirst(opts: ConnectionOptions = {}): Promise<AdminConnection> {
    const endpoint = await this.#firstReachable();
    return this.#dialer.connect(endpoint, opts);
  }

  /** Close every connection. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#conns.values()) void p.then((c) => c.close(), () => undefined);
    this.#conns.clear();
    await this.#dialer.stop();
  }

  async #firstReachable(): Promise<string> {
    const tried: string[] = [];
    for (let i = 0; i < this.endpoints.length; i++) {
      const index = (this.#preferred + i) % this.endpoints.length;
      const endpoint = this.endpoints[index]!;
      try {
        await this.#connection(endpoint);
        this.#preferred = index;
        return endpoint;
      } catch (e) {
        tried.push(`${endpoint}: ${asCallError(e).code}`);
      }
    }
    throw new AdminCallError('NO_SERVER', `no controller reachable (${tried.join('; ')})`);
  }

  #connection(endpoint: string): Promise<AdminConnection> {
    let p = this.#conns.get(endpoint);
    if (p === undefined) {
      p = this.#dialer.connect(endpoint, { onClose: () => this.#drop(endpoint) });
      this.#conns.set(endpoint, p);
      p.catch(() => this.#drop(endpoint));
    }
    return p;
  }

  #drop(endpoint: string): void {
    const p = this.#conns.get(endpoint);
    if (p === undefined) return;
    this.#conns.delete(endpoint);
    void p.then((c) => c.close(), () => undefined);
  }
}

/** Load the credentials, start a dialer, and return a client (nothing is dialed until the first call). */
export async function createClient(o: ClientOptions): Promise<NovaEdgeClient> {
  if (o.endpoints.length === 0) throw new AdminCallError('BAD_ENDPOINT', 'give at least one controller endpoint');
  if (o.endpoints.length > CLIENT_ENDPOINTS_MAX) throw new AdminCallError('BAD_ENDPOINT', `at most ${CLIENT_ENDPOINTS_MAX} endpoints`);
  const creds = await loadClientCredentials(o, (o.dialer?.wallClock ?? systemWallClock)());
  const dialer = await RemoteDialer.start(creds, { ...o.dialer, ...(o.dialTimeoutMs === undefined ? {} : { dialTimeoutMs: o.dialTimeoutMs }) });
  return new NovaEdgeClient(dialer, [...o.endpoints], o.timeoutMs ?? ADMIN_CALL_TIMEOUT_MS);
}

function asCallError(e: unknown): AdminCallError {
  return e instanceof AdminCallError ? e : new AdminCallError('CONNECTION_CLOSED', e instanceof Error ? e.message : String(e), undefined, undefined, { cause: e });
}

// A multi-resource apply that failed part-way reports what it stored (`data.results`): not retried.
function storedSome(e: AdminCallError): boolean {
  const results = e.data?.results;
  return Array.isArray(results) && results.length > 0;
}
