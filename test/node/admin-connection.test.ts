// Issue 20: the admin client pipelines. One AdminConnection carries many calls at once, matched to
// their answers by id whatever the order; each call keeps its own deadline; losing the connection
// fails every call still waiting with CONNECTION_CLOSED, and not reaching the node fails them with
// NO_SERVER, like callAdmin.
import t from 'tap';
import { join } from 'node:path';
import { AdminCallError, AdminConnection } from '../../node/admin/admin-client.ts';
import { startAdminServer, type AdminServer, type AdminServerOptions } from '../../node/admin/admin-server.ts';
import { defineMethod, type MethodTable } from '../../node/admin/method-table.ts';
import { paramsObject, str } from '../../node/admin/params.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { tempDir, type Teardownable } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

const WAIT = { timeoutMs: 10_000 };

function methods(held: Map<string, (v: unknown) => void>): MethodTable {
  return {
    echo: defineMethod({
      params: (raw) => ({ text: str(paramsObject(raw, ['text']), 'text', 1024) }),
      handler: async ({ text }) => ({ text }),
    }),
    slow: defineMethod({
      params: (raw) => ({ tag: str(paramsObject(raw, ['tag']), 'tag', 64) }),
      handler: ({ tag }) => new Promise((resolve) => { held.set(tag, resolve); }),
    }),
  };
}

async function serve(t: Teardownable, over: Partial<AdminServerOptions> = {}): Promise<{ server: AdminServer; path: string; held: Map<string, (v: unknown) => void> }> {
  const dir = await tempDir(t, 'nvconn-');
  const held = new Map<string, (v: unknown) => void>();
  const path = join(dir, 'admin.sock');
  const server = await startAdminServer({ timers: REAL_TIMERS, socketPath: path, methods: methods(held), ...over });
  t.teardown(() => { for (const r of held.values()) r('released'); return server.close(); });
  return { server, path, held };
}

const failure = (p: Promise<unknown>): Promise<AdminCallError> => p.then(() => { throw new Error('resolved'); }, (e: unknown) => e as AdminCallError);

t.test('many calls in flight on one connection, each matched to its answer by id', async (t) => {
  const { server, path, held } = await serve(t);
  const conn = new AdminConnection(path);
  t.teardown(() => conn.close());
  const slow = conn.call('slow', { tag: 'a' });
  const fast = Array.from({ length: 200 }, (_, i) => conn.call('echo', { text: `m${i}` }));
  t.same(await Promise.all(fast), Array.from({ length: 200 }, (_, i) => ({ text: `m${i}` })), 'each call got its own result');
  t.equal(conn.pending, 1, 'the slow call still waits, answered later than calls made after it');
  await waitFor('slow call held', () => held.has('a'), WAIT);
  const failed = failure(conn.call('echo', { text: 'x'.repeat(2000) }));
  t.equal((await failed).code, 'INVALID_ARGUMENT', 'an error answer fails its call only');
  held.get('a')!('late');
  t.equal(await slow, 'late');
  t.equal(server.counters().connectionsTotal, 1, 'all on one connection');
  t.equal(conn.pending, 0);
});

t.test('each call has its own deadline; a late answer is dropped and the connection goes on', async (t) => {
  const { path, held } = await serve(t);
  const conn = new AdminConnection(path);
  t.teardown(() => conn.close());
  const late = failure(conn.call('slow', { tag: 't' }, { timeoutMs: 100 }));
  const other = conn.call('slow', { tag: 'u' });
  const e = await late;
  t.equal(e.code, 'TIMEOUT');
  t.match(e.message, /slow: no answer from .* within 100 ms/);
  await waitFor('both held', () => held.has('t') && held.has('u'), WAIT);
  held.get('t')!('too late');
  held.get('u')!('in time');
  t.equal(await other, 'in time', 'the other call is answered');
  t.same(await conn.call('echo', { text: 'after' }), { text: 'after' }, 'the connection still works');
});

t.test('losing the connection fails every call still waiting with CONNECTION_CLOSED', async (t) => {
  const { server, path, held } = await serve(t);
  let closedWith: AdminCallError | undefined | 'open' = 'open';
  const conn = new AdminConnection(path, { onClose: (f) => { closedWith = f; } });
  const calls = ['a', 'b', 'c', 'd', 'e'].map((tag) => failure(conn.call('slow', { tag })));
  await waitFor('five held', () => held.size === 5, WAIT);
  await server.close();
  const errors = await Promise.all(calls);
  t.same(errors.map((e) => e.code), Array(5).fill('CONNECTION_CLOSED'), 'every pending call failed');
  t.ok(errors.every((e) => e instanceof AdminCallError && /slow: the node at .* closed the connection without answering/.test(e.message)), 'with the existing message');
  t.equal(closedWith, undefined, 'onClose: the node closed it');
  t.equal((await failure(conn.call('echo', { text: 'x' }))).code, 'CONNECTION_CLOSED', 'a call on a closed connection fails at once');
  t.equal(conn.pending, 0);
});

t.test('close() fails the calls still waiting; no node fails them with NO_SERVER', async (t) => {
  const { path } = await serve(t);
  const conn = new AdminConnection(path);
  const pending = failure(conn.call('slow', { tag: 'z' }));
  conn.close();
  t.equal((await pending).code, 'CONNECTION_CLOSED');
  const nowhere = new AdminConnection(join(path, '..', 'nobody.sock'));
  const errors = await Promise.all([1, 2, 3].map((i) => failure(nowhere.call('echo', { text: `${i}` }))));
  t.same(errors.map((e) => e.code), ['NO_SERVER', 'NO_SERVER', 'NO_SERVER']);
  t.match(errors[0]!.message, /no node listening at .*nobody\.sock/);
});

t.test('an error the node sends for no call (BUSY) fails every call waiting', async (t) => {
  const { path, held } = await serve(t, { connectionsMax: 1 });
  const first = new AdminConnection(path);
  t.teardown(() => first.close());
  const holding = first.call('slow', { tag: 'hold' });
  await waitFor('the only slot working', () => held.has('hold'), WAIT);
  const second = new AdminConnection(path);
  const errors = await Promise.all([failure(second.call('echo', { text: '1' })), failure(second.call('echo', { text: '2' }))]);
  t.same(errors.map((e) => e.code), ['BUSY', 'BUSY']);
  held.get('hold')!('done');
  t.equal(await holding, 'done');
});
