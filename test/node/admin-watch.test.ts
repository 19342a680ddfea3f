// resources.watch over the admin socket: JSON-RPC notifications in seq order, filtered by kind and
// namespace, resumable from a seq; bounded: a client that never reads is sent WATCH_OVERFLOW and
// disconnected with the server's buffer under its bound, watches beyond watchesMax get BUSY, a
// watch in a batch or as a notification is refused, a seq from the future is refused; and
// `novactl get KIND -w` prints changes as they happen.
import t from 'tap';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';
import { watchAdmin } from '../../node/admin/admin-watch.ts';
import { startAdminServer } from '../../node/admin/admin-server.ts';
import { AdminCallError } from '../../node/admin/admin-client.ts';
import type { ResourceEvent, WatchStarted } from '../../node/admin/controller-api.ts';
import { readMethods } from '../../node/admin/read-methods.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { Store } from '../../storage/index.ts';
import { rawAdmin } from '../helpers/admin-wire.ts';
import { REPO_ROOT } from '../helpers/novactl-run.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

t.setTimeout(120_000);

const dir = await tempDir(t, 'wtch-');
const store = await Store.open({ path: join(dir, 'db'), member: 'a', strategy: 'LastWriterWins' });
t.teardown(() => store.close());
const methods = readMethods({ get: (k) => store.get(k), list: (f) => store.list(f), watch: (o) => store.watch({ ...o, hideSystem: true }), store });
const BUFFER_MAX = 64 * 1024;
const WATCHES_MAX = 3;
const socket = join(dir, 'a.sock');
const admin = await startAdminServer({ timers: REAL_TIMERS, socketPath: socket, methods, watchBufferBytesMax: BUFFER_MAX, watchesMax: WATCHES_MAX });
t.teardown(() => admin.close());
const WAIT = { timeoutMs: 30_000 };
const jsonLine = (v: unknown): string => `${JSON.stringify(v)}\n`;
const res = (kind: string, name: string, spec: object = {}): unknown => ({ apiVersion: 'novaedge.io/v1alpha1', kind, metadata: { name, namespace: 'default' }, spec });

t.test('events in seq order, filtered, resumable from a seq', async (t) => {
  const stop = new AbortController();
  const events: ResourceEvent[] = [];
  let started: WatchStarted | undefined;
  const done = watchAdmin(socket, 'resources.watch', { kind: 'ProxyRoute' }, {
    signal: stop.signal, onStart: (r) => { started = r as WatchStarted; }, onNotification: (m, p) => { if (m === 'resources.event') events.push(p as ResourceEvent); },
  });
  await waitFor('watch started', () => started !== undefined && admin.counters().watches === 1, WAIT);
  t.equal(started!.seq, store.seq, 'from now by default');
  await store.apply(res('ProxyRoute', 'r1', { v: 1 }));
  await store.apply(res('ProxyVIP', 'v1'));
  await store.apply(res('ProxyRoute', 'r2'));
  await store.delete('ProxyRoute/default/r1');
  await waitFor('three route events', () => events.length >= 3, WAIT);
  t.same(events.map((e) => [e.type, e.view.key]), [['PUT', 'ProxyRoute/default/r1'], ['PUT', 'ProxyRoute/default/r2'], ['DELETE', 'ProxyRoute/default/r1']], 'only ProxyRoute');
  t.ok(events.every((e, i) => i === 0 || e.seq > events[i - 1]!.seq), 'seq order');
  stop.abort();
  await done;
  await waitFor('watch released', () => admin.counters().watches === 0, WAIT);

  // Resume after the first event: the rest again (each key's latest state once).
  const resumed: ResourceEvent[] = [];
  const stop2 = new AbortController();
  const again = watchAdmin(socket, 'resources.watch', { kind: 'ProxyRoute', fromSeq: events[0]!.seq }, {
    signal: stop2.signal, onNotification: (m, p) => { if (m === 'resources.event') resumed.push(p as ResourceEvent); },
  });
  await waitFor('caught up', () => resumed.some((e) => e.view.key === 'ProxyRoute/default/r1'), WAIT);
  t.same(resumed.map((e) => e.view.key).sort(), ['ProxyRoute/default/r1', 'ProxyRoute/default/r2'], 'changes after the seq');
  t.ok(resumed.every((e) => e.seq > events[0]!.seq));
  stop2.abort();
  await again;

  const ahead = await watchAdmin(socket, 'resources.watch', { fromSeq: store.seq + 1000 }, { onNotification: () => undefined }).then(() => undefined, (e: unknown) => e);
  t.ok(ahead instanceof AdminCallError && ahead.code === 'INVALID_ARGUMENT' && /ahead of this node's seq/.test(ahead.message), 'a seq from the future is refused');
});

t.test('a client that never reads is sent WATCH_OVERFLOW and disconnected; the buffer stays bounded', async (t) => {
  const before = admin.counters().watchesOverflowed;
  const s = connect(socket);
  await new Promise<void>((resolve) => s.once('connect', resolve));
  s.write(jsonLine({ jsonrpc: '2.0', id: 1, method: 'resources.watch', params: {} }));
  await waitFor('watching', () => admin.counters().watches === 1, WAIT);
  s.pause(); // never reads from here on
  const big = 'x'.repeat(4096);
  let writes = 0;
  await waitFor('overflowed', async () => {
    await Promise.all(Array.from({ length: 20 }, () => store.apply(res('ProxyBackend', `b${writes++}`, { big }))));
    return admin.counters().watchesOverflowed === before + 1;
  }, { timeoutMs: 60_000 });
  t.ok(writes * 4096 > BUFFER_MAX, `more written (${writes} changes of 4 KiB) than the client may leave unread`);
  await waitFor('watch released', () => admin.counters().watches === 0, WAIT);
  // Reading again: the events it had, then the reason, then the end of the connection.
  const lines: Array<{ method?: string; params?: { error?: { data: { code: string } } } }> = [];
  let buf = '';
  s.setEncoding('utf8');
  s.on('data', (c: string) => {
    buf += c;
    let nl;
    while ((nl = buf.indexOf('\n')) !== -1) { lines.push(JSON.parse(buf.slice(0, nl))); buf = buf.slice(nl + 1); }
  });
  s.resume();
  await new Promise<void>((resolve) => s.once('close', resolve));
  const received = lines.slice(1).map((l) => JSON.stringify(l).length).reduce((a, b) => a + b, 0);
  t.ok(admin.counters().watchBufferedBytesPeak <= BUFFER_MAX, `the server held at most its bound unread (${admin.counters().watchBufferedBytesPeak} bytes; ${received} were in flight with the kernel's buffer)`);
  const last = lines.at(-1)!;
  t.equal(last.method, 'watch.end');
  t.equal(last.params?.error?.data.code, 'WATCH_OVERFLOW', 'a clear error');
  t.ok(lines.length < writes, 'the slow consumer did not get everything: it resumes from its last seq');
});

t.test('bounds: watchesMax, no watch in a batch or as a notification', async (t) => {
  const stops = Array.from({ length: WATCHES_MAX }, () => new AbortController());
  const runs = stops.map((s) => watchAdmin(socket, 'resources.watch', {}, { signal: s.signal, onNotification: () => undefined }));
  await waitFor('all watching', () => admin.counters().watches === WATCHES_MAX, WAIT);
  const busy = await watchAdmin(socket, 'resources.watch', {}, { onNotification: () => undefined }).then(() => undefined, (e: unknown) => e);
  t.ok(busy instanceof AdminCallError && busy.code === 'BUSY', 'one more watch: BUSY');
  for (const s of stops) s.abort();
  await Promise.all(runs);
  await waitFor('released', () => admin.counters().watches === 0, WAIT);

  const raw = await rawAdmin(socket);
  raw.send(jsonLine([{ jsonrpc: '2.0', id: 1, method: 'resources.watch' }, { jsonrpc: '2.0', id: 2, method: 'resources.kinds' }]));
  const [batch] = await raw.waitLines(1);
  t.match(batch, [{ id: 1, error: { data: { code: 'INVALID_REQUEST' } } }, { id: 2, result: { kinds: [] } }], 'a watch in a batch is refused');
  raw.send(jsonLine({ jsonrpc: '2.0', method: 'resources.watch' }));
  raw.send(jsonLine({ jsonrpc: '2.0', id: 3, method: 'resources.kinds' }));
  const lines = await raw.waitLines(2);
  t.match(lines[1], { id: 3 }, 'a watch as a notification gets no answer and opens nothing');
  t.equal(admin.counters().watches, 0);
  raw.socket.destroy();
});

t.test('novactl get KIND -w prints changes as they happen', async (t) => {
  await store.apply(res('ProxyVIP', 'before'));
  const env: NodeJS.ProcessEnv = { ...process.env, NOVACTL_SOCKET: socket };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ['cmd/novactl.ts', 'get', 'ProxyVIP', '-w', '-o', 'json'], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
  await waitFor('the list printed and the watch open', () => out.includes('"before"') && admin.counters().watches === 1, WAIT);
  await store.apply(res('ProxyVIP', 'during', { v: 2 }));
  await store.delete('ProxyVIP/default/before');
  await waitFor('both changes printed', () => out.includes('"during"') && out.includes('"DELETED"'), WAIT);
  const events = out.slice(out.indexOf('\n}\n') + 3).trim().split('\n').map((l) => JSON.parse(l) as { type: string; seq: number });
  t.same(events.map((e) => e.type), ['MODIFIED', 'DELETED'], 'one line per change, in order');
});
