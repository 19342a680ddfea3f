// Issue 17 item 5: 32 idle admin connections made every new client BUSY until the idle limit (then
// 120 s). With the default bounds, a client that opens every connection and sends nothing (or drips
// a request a byte at a time) cannot lock an operator out: the new client gets a real answer at
// once, and the longest-idle connections are the ones closed for it.
import t from 'tap';
import { join } from 'node:path';
import { ADMIN_CONNECTIONS_MAX, startAdminServer } from '../../node/admin/admin-server.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { callAdmin } from '../../node/admin/admin-client.ts';
import { defineMethod } from '../../node/admin/method-table.ts';
import { rawAdmin, type RawAdminConnection } from '../helpers/admin-wire.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

const WAIT = { timeoutMs: 10_000 };

t.test(`${ADMIN_CONNECTIONS_MAX} idle and slow-loris connections do not lock a new client out`, async (t) => {
  const dir = await tempDir(t, 'nvconn-');
  const path = join(dir, 'admin.sock');
  const server = await startAdminServer({ timers: REAL_TIMERS, socketPath: path, methods: { ping: defineMethod({ params: () => ({}), handler: async () => 'pong' }) } });
  t.teardown(() => server.close());

  // Half the slots held by connections that send nothing, half by ones dripping a request that never ends.
  const hogs: RawAdminConnection[] = [];
  t.teardown(() => { for (const h of hogs) h.socket.destroy(); });
  for (let i = 0; i < ADMIN_CONNECTIONS_MAX; i++) {
    const c = await rawAdmin(path);
    if (i % 2 === 1) c.send('{"jsonrpc":"2.0","id":1,"met');
    hogs.push(c);
  }
  await waitFor('every slot taken', () => server.counters().connections === ADMIN_CONNECTIONS_MAX, WAIT, () => server.counters());
  for (const h of hogs.filter((_, i) => i % 2 === 1)) h.send('h'); // still dripping

  // A new client gets its answer (callAdmin rejects with the code on BUSY), well within its deadline.
  for (let round = 0; round < 3; round++) {
    t.equal(await callAdmin(path, 'ping', undefined, { timeoutMs: 5_000 }), 'pong', `new client ${round + 1} answered, not BUSY`);
  }
  const k = server.counters();
  t.equal(k.errors.BUSY ?? 0, 0, 'nobody was told BUSY');
  t.equal(k.connectionsRefused, 0);
  t.ok(k.connectionsEvicted >= 1, `idle connections closed to make way (${k.connectionsEvicted})`);
  t.ok(k.connections <= ADMIN_CONNECTIONS_MAX, 'the bound holds');
  // The ones closed are the oldest idle ones.
  await hogs[0]!.closed;
  t.equal(hogs[0]!.lines.length, 0, 'an evicted connection is closed without a line');
  t.equal(hogs[ADMIN_CONNECTIONS_MAX - 1]!.socket.destroyed, false, 'the newest hog is still open');
});
