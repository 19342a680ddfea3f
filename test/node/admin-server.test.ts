// The admin JSON-RPC server: every class of bad input gets its JSON-RPC error (and is counted), the
// server keeps answering afterwards, the socket is owner-only, closed cleanly, and a stale socket is
// replaced while a live one is never displaced.
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startAdminServer, type AdminServer, type AdminServerOptions } from '../../node/admin/admin-server.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { callAdmin, AdminCallError } from '../../node/admin/admin-client.ts';
import { AdminError, InvalidParamsError } from '../../node/admin/admin-errors.ts';
import { defineMethod, type MethodTable } from '../../node/admin/method-table.ts';
import { paramsObject, str } from '../../node/admin/params.ts';
import { AdminSocketError } from '../../node/admin/socket-file.ts';
import { FencedError } from '../../node/controller/write-fence.ts';
import { NodeStateError } from '../../node/errors.ts';
import { NotFoundError } from '../../storage/index.ts';
import { rawAdmin, rpcLine } from '../helpers/admin-wire.ts';
import { tempDir, type Teardownable } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

// A small method table covering results, params errors and every kind of thrown error.
function methods(gate: { release?: () => void; calls: number }): MethodTable {
  return {
    echo: defineMethod({
      params: (raw) => ({ text: str(paramsObject(raw, ['text']), 'text', 1 << 24) }),
      handler: async ({ text }) => ({ text }),
    }),
    nothing: defineMethod({ params: (raw) => paramsObject(raw, []), handler: async () => undefined }),
    fenced: defineMethod({ params: () => ({}), handler: async () => { throw new FencedError('no quorum: 1 of 3 votes, 2 needed'); } }),
    missing: defineMethod({ params: () => ({}), handler: async () => { throw new NotFoundError('ProxyRoute/default/x'); } }),
    stopped: defineMethod({ params: () => ({}), handler: async () => { throw new NodeStateError('node is stopped'); } }),
    coded: defineMethod({ params: () => ({}), handler: async () => { throw new AdminError('CONFLICT', 'held', { key: 'K/default/n' }); } }),
    boom: defineMethod({ params: () => ({}), handler: async () => { throw new TypeError('something odd'); } }),
    bigint: defineMethod({ params: () => ({}), handler: async () => ({ n: 1n }) }),
    badParams: defineMethod({ params: () => { throw new InvalidParamsError('params.resources[2].metadata', 'is required'); }, handler: async () => 1 }),
    slow: defineMethod({
      params: () => ({}),
      // release() answers every call held so far.
      handler: () => new Promise((resolve) => {
        gate.calls++;
        const earlier = gate.release;
        gate.release = () => { earlier?.(); resolve('late'); };
      }),
    }),
  };
}

async function serve(t: Teardownable, over: Partial<AdminServerOptions> = {}): Promise<{ server: AdminServer; path: string; gate: { release?: () => void; calls: number } }> {
  const dir = await tempDir(t, 'nvadm-');
  const gate: { release?: () => void; calls: number } = { calls: 0 };
  const path = join(dir, 'admin.sock');
  const server = await startAdminServer({ timers: REAL_TIMERS, socketPath: path, methods: methods(gate), ...over });
  t.teardown(() => server.close());
  return { server, path, gate };
}

const errOf = (line: unknown) => (line as { error: { code: number; message: string; data: { code: string; field?: string } } }).error;

t.test('socket is owner-only, calls answer, close removes the file', async (t) => {
  const { server, path } = await serve(t);
  t.equal(statSync(path).mode & 0o777, 0o600, 'mode 0600');
  t.ok(statSync(path).isSocket());
  t.same(await callAdmin(path, 'echo', { text: 'hi' }), { text: 'hi' });
  t.equal(await callAdmin(path, 'nothing'), null, 'undefined result is null');
  await server.close();
  t.notOk(existsSync(path), 'socket file removed');
  await server.close(); // idempotent
  const err = await callAdmin(path, 'echo', { text: 'x' }).catch((e: unknown) => e) as AdminCallError;
  t.equal(err.code, 'NO_SERVER');
  t.match(err.message, `no node listening at ${path}; is novaedge running?`);
});

t.test('protocol errors: parse, invalid request, unknown method, bad params', async (t) => {
  const { server, path } = await serve(t);
  const c = await rawAdmin(path);
  const cases: Array<[string, string | Buffer, number, RegExp]> = [
    ['garbage', 'garbage{{\n', -32700, /parse error/],
    ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x7b, 0x0a]), -32700, /not valid UTF-8/],
    ['binary with NULs', Buffer.from([0, 1, 2, 3, 0x0a]), -32700, /parse error/],
    ['a string', '"hello"\n', -32600, /not a JSON object/],
    ['no jsonrpc', '{"id":1,"method":"echo"}\n', -32600, /jsonrpc must be "2.0"/],
    ['no method', '{"jsonrpc":"2.0","id":1}\n', -32600, /method must be/],
    ['bad id', '{"jsonrpc":"2.0","id":{},"method":"echo"}\n', -32600, /id must be/],
    ['params not structured', '{"jsonrpc":"2.0","id":1,"method":"echo","params":3}\n', -32600, /params must be/],
    ['extra member', '{"jsonrpc":"2.0","id":1,"method":"echo","x":1}\n', -32600, /unknown member "x"/],
    ['empty batch', '[]\n', -32600, /empty batch/],
    ['batch too long', `${JSON.stringify(Array.from({ length: 65 }, (_, i) => ({ jsonrpc: '2.0', id: i, method: 'nothing' })))}\n`, -32600, /more than 64/],
    ['unknown method', rpcLine('nope'), -32601, /unknown method "nope"/],
    ['prototype name', rpcLine('constructor'), -32601, /unknown method/],
    ['missing param', rpcLine('echo', {}), -32602, /params\.text: is required/],
    ['wrong type', rpcLine('echo', { text: 5 }), -32602, /params\.text: must be a non-empty string/],
    ['unknown field', rpcLine('echo', { text: 'a', more: 1 }), -32602, /params\.more: unknown field/],
    ['positional params', rpcLine('echo', ['a']), -32602, /params: must be an object/],
    ['params error from a validator', rpcLine('badParams'), -32602, /params\.resources\[2\]\.metadata: is required/],
    ['deep nesting', `${'['.repeat(100_000)}${']'.repeat(100_000)}\n`, -32600, /not a JSON object/],
  ];
  for (const [name, bytes, code, message] of cases) {
    const before = c.lines.length;
    c.send(bytes);
    const lines = await c.waitLines(before + 1);
    const line = lines[before] as { id: unknown; error?: unknown };
    const e = errOf(Array.isArray(line) ? line[0] : line);
    t.equal(e.code, code, `${name}: code ${code}`);
    t.match(e.message, message, `${name}: message`);
    t.type(e.data.code, 'string', `${name}: stable code`);
  }
  t.equal(errOf(c.lines[cases.findIndex((k) => k[0] === 'missing param')]).data.field, 'params.text', 'field in data');
  // Still answering on the same connection, and on a new one.
  c.send(rpcLine('echo', { text: 'still here' }, 'abc'));
  t.same((await c.waitLines(cases.length + 1))[cases.length], { jsonrpc: '2.0', id: 'abc', result: { text: 'still here' } });
  t.same(await callAdmin(path, 'echo', { text: 'ok' }), { text: 'ok' });
  const k = server.counters();
  t.equal(k.malformed, 11, 'malformed lines counted');
  t.equal(k.oversized, 1, 'batch too long counted as oversized');
  t.equal(k.errors.METHOD_NOT_FOUND, 2);
  t.equal(k.errors.PARSE_ERROR, 3);
  c.socket.destroy();
});

t.test('application errors carry stable codes in the server range', async (t) => {
  const { path } = await serve(t);
  const expect: Array<[string, number, string, RegExp]> = [
    ['fenced', -32001, 'FENCED', /no quorum/],
    ['missing', -32002, 'NOT_FOUND', /ProxyRoute\/default\/x not found/],
    ['coded', -32003, 'CONFLICT', /held/],
    ['stopped', -32006, 'NODE_STOPPED', /stopped/],
    ['boom', -32603, 'INTERNAL', /something odd/],
    ['bigint', -32603, 'INTERNAL', /cannot be encoded/],
  ];
  for (const [method, rpcCode, code, message] of expect) {
    const err = await callAdmin(path, method).then(() => undefined, (e: unknown) => e) as AdminCallError;
    t.ok(err instanceof AdminCallError, `${method} fails`);
    t.equal(err.rpcCode, rpcCode, `${method}: ${rpcCode}`);
    t.equal(err.code, code, `${method}: ${code}`);
    t.match(err.message, message);
  }
  const conflict = await callAdmin(path, 'coded').catch((e: unknown) => e) as AdminCallError;
  t.equal(conflict.data?.key, 'K/default/n', 'extra data kept');
});

t.test('batches and notifications', async (t) => {
  const { server, path } = await serve(t);
  const c = await rawAdmin(path);
  // A notification gets no answer: the first line back is the request after it.
  c.send(`${JSON.stringify({ jsonrpc: '2.0', method: 'echo', params: { text: 'n' } })}\n`);
  c.send(`${JSON.stringify({ jsonrpc: '2.0', method: 'boom' })}\n`); // failing notification: still silent
  c.send(rpcLine('echo', { text: 'after' }, 7));
  t.same((await c.waitLines(1))[0], { jsonrpc: '2.0', id: 7, result: { text: 'after' } });
  c.send(`${JSON.stringify([
    { jsonrpc: '2.0', id: 1, method: 'echo', params: { text: 'a' } },
    { jsonrpc: '2.0', method: 'echo', params: { text: 'quiet' } },
    { jsonrpc: '2.0', id: 2, method: 'fenced' },
    5,
  ])}\n`);
  const batch = (await c.waitLines(2))[1] as Array<{ id: unknown; result?: unknown; error?: { data: { code: string } } }>;
  t.equal(batch.length, 3, 'one response per non-notification');
  t.same(batch[0], { jsonrpc: '2.0', id: 1, result: { text: 'a' } });
  t.equal(batch[1]!.error!.data.code, 'FENCED');
  t.equal(batch[2]!.error!.data.code, 'INVALID_REQUEST');
  c.send(`${JSON.stringify([{ jsonrpc: '2.0', method: 'nothing' }])}\n`); // all notifications: no line
  c.send(rpcLine('echo', { text: 'z' }, 8));
  t.same((await c.waitLines(3))[2], { jsonrpc: '2.0', id: 8, result: { text: 'z' } });
  c.send('\n   \n'); // blank lines are ignored
  c.send('{"jsonrpc":"2.0","id":9,"method":"nothing"}'); // last line without newline, then half-close
  c.socket.end();
  await c.closed;
  t.same(c.lines[3], { jsonrpc: '2.0', id: 9, result: null }, 'unterminated last line answered at end of stream');
  t.equal(server.counters().requests, 9);
});

t.test('an oversized line gets an error and its connection is closed; others go on', async (t) => {
  const { server, path } = await serve(t, { requestBytesMax: 4096 });
  const c = await rawAdmin(path);
  c.send(rpcLine('echo', { text: 'first' }));
  c.send(`{"jsonrpc":"2.0","id":2,"method":"echo","params":{"text":"${'x'.repeat(5000)}`); // no newline yet
  await c.closed;
  t.same(c.lines[0], { jsonrpc: '2.0', id: 1, result: { text: 'first' } });
  const e = errOf(c.lines[1]);
  t.equal(e.code, -32600);
  t.match(e.message, /request larger than 4096 bytes/);
  t.equal(server.counters().oversized, 1);
  // A huge line sent in one write, with a newline, on another connection.
  const d = await rawAdmin(path);
  d.send(`${'y'.repeat(1024 * 1024)}\n`);
  await d.closed;
  t.match(errOf(d.lines[0]).message, /larger than 4096/);
  // Just under the bound works.
  const text = 'z'.repeat(4096 - rpcLine('echo', { text: '' }).length);
  t.same(await callAdmin(path, 'echo', { text }), { text });
  t.equal(server.counters().oversized, 2);
});

t.test('clients that vanish mid-line or mid-request do not disturb the server', async (t) => {
  const { server, path, gate } = await serve(t);
  const half = await rawAdmin(path);
  half.send('{"jsonrpc":"2.0","id":1,"meth');
  half.socket.destroy();
  const slow = await rawAdmin(path);
  slow.send(rpcLine('slow'));
  await waitFor('slow call running', () => gate.calls === 1, { timeoutMs: 10_000 });
  slow.socket.destroy();
  gate.release!(); // the answer has nowhere to go
  await waitFor('connections gone', () => server.counters().connections === 0, { timeoutMs: 10_000 });
  t.same(await callAdmin(path, 'echo', { text: 'fine' }), { text: 'fine' });
  // A client that times out before the answer.
  const err = await callAdmin(path, 'slow', undefined, { timeoutMs: 100 }).catch((e: unknown) => e) as AdminCallError;
  t.equal(err.code, 'TIMEOUT');
  gate.release!();
  t.same(await callAdmin(path, 'echo', { text: 'again' }), { text: 'again' });
});

t.test('connections are bounded: the longest-idle one makes way; BUSY only when every one is serving', async (t) => {
  const { server, path, gate } = await serve(t, { connectionsMax: 2 });
  const a = await rawAdmin(path);
  const b = await rawAdmin(path);
  await waitFor('two connections', () => server.counters().connections === 2, { timeoutMs: 10_000 });
  // Both idle: a new client is served, and a (idle the longest) is closed for it.
  t.same(await callAdmin(path, 'echo', { text: 'admitted' }), { text: 'admitted' });
  await a.closed;
  t.equal(server.counters().connectionsEvicted, 1);
  t.equal(b.socket.destroyed, false, 'the newer idle connection kept');
  // b serving a call and c idle: a new client evicts c, never b.
  b.send(rpcLine('slow', undefined, 'b'));
  await waitFor('b serving', () => gate.calls === 1, { timeoutMs: 10_000 });
  const c = await rawAdmin(path);
  const d = await rawAdmin(path);
  await c.closed;
  t.equal(c.lines.length, 0, 'the evicted idle connection gets no line');
  t.equal(server.counters().connectionsEvicted, 2);
  // b and d serving: a further client is refused with BUSY.
  d.send(rpcLine('slow', undefined, 'd'));
  await waitFor('d serving', () => gate.calls === 2, { timeoutMs: 10_000 });
  const e = await rawAdmin(path);
  await e.closed;
  t.equal(errOf(e.lines[0]).data.code, 'BUSY');
  t.match(errOf(e.lines[0]).message, /every one serving a request/);
  t.equal(server.counters().connectionsRefused, 1);
  t.equal(b.socket.destroyed, false, 'a connection serving a call is never evicted');
  gate.release!();
  t.same((await b.waitLines(1))[0], { jsonrpc: '2.0', id: 'b', result: 'late' });
  t.same((await d.waitLines(1))[0], { jsonrpc: '2.0', id: 'd', result: 'late' });
  b.socket.destroy();
  d.socket.destroy();
  await waitFor('slots free', () => server.counters().connections === 0, { timeoutMs: 10_000 }, () => server.counters());
  t.same(await callAdmin(path, 'echo', { text: 'ok' }), { text: 'ok' });
});

t.test('idle connections are closed', async (t) => {
  const { path } = await serve(t, { idleTimeoutMs: 100 });
  const c = await rawAdmin(path);
  await c.closed;
  t.pass('closed by the server');
});

t.test('a stale socket is replaced; a live server, a regular file and a long path are refused', async (t) => {
  const dir = await tempDir(t, 'nvadm-');
  const path = join(dir, 'admin.sock');
  // A process that dies while listening leaves its socket file behind.
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
  await new Promise((r) => child.once('exit', r));
  t.ok(existsSync(path), 'stale socket file left behind');
  const gate = { calls: 0 };
  const a = await startAdminServer({ timers: REAL_TIMERS, socketPath: path, methods: methods(gate) });
  t.teardown(() => a.close());
  t.same(await callAdmin(path, 'echo', { text: 'new' }), { text: 'new' });
  await t.rejects(startAdminServer({ timers: REAL_TIMERS, socketPath: path, methods: methods(gate) }), { code: 'ADMIN_SOCKET_IN_USE' });
  t.same(await callAdmin(path, 'echo', { text: 'still' }), { text: 'still' }, 'the live server keeps its socket');
  const file = join(dir, 'not-a-socket');
  writeFileSync(file, 'data');
  await t.rejects(startAdminServer({ timers: REAL_TIMERS, socketPath: file, methods: methods(gate) }), { code: 'ADMIN_SOCKET_UNUSABLE', message: /not a socket/ });
  const long = join(dir, 'x'.repeat(120), 'admin.sock');
  const err = await startAdminServer({ timers: REAL_TIMERS, socketPath: long, methods: methods(gate) }).catch((e: unknown) => e);
  t.ok(err instanceof AdminSocketError && /more than 107/.test(err.message), 'long path refused');
  await a.close();
  t.notOk(existsSync(path));
});
