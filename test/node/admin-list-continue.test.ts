// resources.list pages with continue tokens (kubectl's --chunk-size / continue): a list longer than
// any one page is read whole, in key order, each key once; writes between pages keep the stated
// guarantee (keys present throughout come exactly once); forged, foreign and oversized tokens and
// out-of-range limits are refused naming params.continue / params.limit; `novactl get` pages
// through everything.
import t from 'tap';
import { join } from 'node:path';
import { startAdminServer } from '../../node/admin/admin-server.ts';
import { callAdmin, AdminCallError } from '../../node/admin/admin-client.ts';
import type { ListResult } from '../../node/admin/controller-api.ts';
import { encodeContinue, LIST_CONTINUE_CHARS_MAX } from '../../node/admin/list-continue.ts';
import { LIST_LIMIT_MAX, readMethods } from '../../node/admin/read-methods.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { Store } from '../../storage/index.ts';
import { novactl } from '../helpers/novactl-run.ts';
import { tempDir } from '../helpers/temp-dir.ts';

t.setTimeout(180_000);

const KINDS = ['ProxyBackend', 'ProxyRoute', 'ProxyVIP'];
const NAMESPACES = ['default', 'prod'];
const PER = 400; // per kind and namespace: 2,400 resources in all

const dir = await tempDir(t, 'lstc-');
// listMax below the admin's LIST_LIMIT_MAX: a page the store cuts short must still continue.
const store = await Store.open({ path: join(dir, 'db'), member: 'a', strategy: 'LastWriterWins', listMax: 300 });
t.teardown(() => store.close());
const resource = (kind: string, ns: string, i: number): unknown => ({
  apiVersion: 'novaedge.io/v1alpha1', kind, metadata: { name: `r${String(i).padStart(5, '0')}`, namespace: ns }, spec: { i },
});
await Promise.all(KINDS.flatMap((k) => NAMESPACES.flatMap((ns) => Array.from({ length: PER }, (_, i) => store.apply(resource(k, ns, i))))));
const allKeys = KINDS.flatMap((k) => NAMESPACES.flatMap((ns) => Array.from({ length: PER }, (_, i) => `${k}/${ns}/r${String(i).padStart(5, '0')}`))).sort();

const methods = readMethods({ get: (k) => store.get(k), list: (f) => store.list(f), watch: (o) => store.watch({ ...o, hideSystem: true }), store });
const list = async (params: Record<string, unknown>): Promise<ListResult> =>
  await methods['resources.list']!.handler(methods['resources.list']!.params(params)) as ListResult;

async function pageAll(scope: Record<string, unknown>, limit: number, between?: (page: number) => Promise<void>): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let token: string | undefined;
  let pages = 0;
  do {
    const r = await list({ ...scope, limit, ...(token === undefined ? {} : { continue: token }) });
    keys.push(...r.items.map((v) => v.key));
    if (r.truncated !== (r.continue !== undefined)) t.fail('truncated exactly when a continue token is given');
    token = r.continue;
    pages++;
    if (pages > 10_000) throw new Error('paging does not end');
    await between?.(pages);
  } while (token !== undefined);
  return { keys, pages };
}

t.test('a list longer than a page is read whole, in key order, each key once', async (t) => {
  const every = await pageAll({}, 1000);
  t.same(every.keys, allKeys, 'every resource of every kind and namespace, in key order');
  t.ok(every.pages >= Math.ceil(allKeys.length / 300), `store listMax 300 cut pages short and the list continued (${every.pages} pages)`);
  const routes = await pageAll({ kind: 'ProxyRoute' }, 7);
  t.same(routes.keys, allKeys.filter((k) => k.startsWith('ProxyRoute/')));
  const prod = await pageAll({ namespace: 'prod' }, 250);
  t.same(prod.keys, allKeys.filter((k) => k.split('/')[1] === 'prod'), 'a namespace across kinds');
  const one = await pageAll({ kind: 'ProxyVIP', namespace: 'default' }, LIST_LIMIT_MAX);
  t.same(one.keys, allKeys.filter((k) => k.startsWith('ProxyVIP/default/')));
  t.equal(one.pages, 2, 'the largest limit: the store\'s listMax cuts the page, the token continues it');
  const first = await list({ kind: 'ProxyRoute', limit: 1 });
  t.equal(first.seq, store.seq, 'a page reports the store seq it was read at');
});

t.test('writes between pages: keys present throughout come exactly once, in order', async (t) => {
  const ns = 'default';
  const kind = 'ProxyBackend';
  const before = allKeys.filter((k) => k.startsWith(`${kind}/${ns}/`));
  const r = await pageAll({ kind, namespace: ns }, 50, async (page) => {
    if (page !== 2) return;
    // After the second page: change an item already listed and one ahead, delete one ahead,
    // create one behind (before the cursor) and one ahead.
    await store.apply(resource(kind, ns, 10)); // unchanged value: no-op
    await store.apply({ ...(resource(kind, ns, 300) as object), spec: { i: -1 } });
    await store.delete(`${kind}/${ns}/r00350`);
    await store.apply(resource(kind, ns, 99_990)); // sorts after every other name: ahead
    await store.apply({ ...(resource(kind, ns, 5) as object), metadata: { name: 'a-behind', namespace: ns } });
  });
  const present = before.filter((k) => k !== `${kind}/${ns}/r00350`);
  t.same([...r.keys].sort(), r.keys, 'key order');
  t.equal(new Set(r.keys).size, r.keys.length, 'no key twice');
  t.ok(present.every((k) => r.keys.includes(k)), 'every key present from the first page to the last is listed');
  t.notOk(r.keys.includes(`${kind}/${ns}/r00350`), 'a key deleted ahead of the cursor is not listed');
  t.ok(r.keys.includes(`${kind}/${ns}/r99990`), 'a key created ahead of the cursor is listed');
  t.notOk(r.keys.includes(`${kind}/${ns}/a-behind`), 'a key created behind the cursor is not (it would need a new list)');
  await store.delete(`${kind}/${ns}/r99990`);
  await store.delete(`${kind}/${ns}/a-behind`);
  await store.apply(resource(kind, ns, 350));
  await store.apply(resource(kind, ns, 300));
});

t.test('forged, foreign and oversized tokens, and out-of-range limits, are refused', async (t) => {
  const page = await list({ kind: 'ProxyRoute', limit: 10 });
  const good = page.continue!;
  const b64 = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['garbage', { kind: 'ProxyRoute', continue: 'not a token!' }, /malformed/],
    ['base64 of nonsense', { kind: 'ProxyRoute', continue: Buffer.from('{{{').toString('base64url') }, /malformed/],
    ['a JSON array', { kind: 'ProxyRoute', continue: b64([1, 2]) }, /malformed/],
    ['an extra field', { kind: 'ProxyRoute', continue: b64({ v: 1, k: 'ProxyRoute', n: null, a: 'ProxyRoute/default/r1', x: 1 }) }, /malformed/],
    ['another version', { kind: 'ProxyRoute', continue: b64({ v: 2, k: 'ProxyRoute', n: null, a: 'ProxyRoute/default/r1' }) }, /unknown version/],
    ['another kind\'s token', { kind: 'ProxyVIP', continue: good }, /another kind or namespace/],
    ['another namespace', { kind: 'ProxyRoute', namespace: 'prod', continue: good }, /another kind or namespace/],
    ['a key outside the list', { kind: 'ProxyRoute', continue: encodeContinue({ kind: 'ProxyRoute', namespace: undefined }, 'ProxyVIP/default/x') }, /outside the list/],
    ['not a key', { kind: 'ProxyRoute', continue: encodeContinue({ kind: 'ProxyRoute', namespace: undefined }, '../../etc') }, /no valid key/],
    ['a token longer than the bound', { kind: 'ProxyRoute', continue: 'A'.repeat(LIST_CONTINUE_CHARS_MAX + 1) }, /longer than/],
    ['a limit above the largest', { limit: LIST_LIMIT_MAX + 1 }, /params\.limit: must be an integer from 1 to 10000/],
    ['a huge limit', { limit: 1e300 }, /params\.limit/],
    ['a zero limit', { limit: 0 }, /params\.limit/],
  ];
  for (const [what, params, message] of bad) {
    try {
      methods['resources.list']!.params(params);
      t.fail(`${what}: accepted`);
    } catch (err) {
      t.match(err, { code: 'INVALID_ARGUMENT', message }, what);
    }
  }
  const next = await list({ kind: 'ProxyRoute', limit: 10, continue: good });
  t.equal(next.items[0]!.key, allKeys.filter((k) => k.startsWith('ProxyRoute/'))[10], 'the genuine token continues after the last key');
});

t.test('over the socket and through novactl: get pages through everything', async (t) => {
  const socket = join(dir, 'a.sock');
  const admin = await startAdminServer({ timers: REAL_TIMERS, socketPath: socket, methods });
  t.teardown(() => admin.close());
  const err = await callAdmin(socket, 'resources.list', { continue: 'zz!' }).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof AdminCallError, 'refused over the socket');
  t.match(err, { code: 'INVALID_ARGUMENT', data: { field: 'params.continue' } });

  const all = await novactl(['get', '-A', '--chunk-size', '700', '-o', 'json'], { socket });
  t.equal(all.code, 0, all.stderr);
  t.equal((JSON.parse(all.stdout) as { items: unknown[] }).items.length, allKeys.length, 'get -A: every resource of every kind');

  const routes = await novactl(['get', 'proxyroute', '-A', '--chunk-size', '90'], { socket });
  t.equal(routes.code, 0, routes.stderr);
  t.equal(routes.stdout.trim().split('\n').length - 1, 2 * PER, 'get KIND -A: every row, in pages of 90');

  const capped = await novactl(['get', 'ProxyRoute', '--limit', '250', '--chunk-size', '100', '-o', 'json'], { socket });
  t.equal(capped.code, 0, capped.stderr);
  t.equal((JSON.parse(capped.stdout) as { items: unknown[] }).items.length, 250, '--limit caps the total');
  t.match(capped.stderr, /more resources match; showing the first 250/);

  const tooBig = await novactl(['get', 'ProxyRoute', '--chunk-size', String(LIST_LIMIT_MAX + 1)], { socket });
  t.equal(tooBig.code, 2, 'a chunk size above the largest page is a usage error');
});
