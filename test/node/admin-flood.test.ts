// Issue 17 item 5: floods of empty and short lines on one admin connection while a call is in
// flight. Every queued line costs the server a Buffer and a queue slot (~250 B) whatever its length,
// so a bound that counts only line bytes let 4 MiB of "\n" queue 4 M lines (638 MiB). The queue is
// bounded by a per-line cost now and blank lines are never queued: RSS stays bounded, and the
// server answers a real request on the same connection and on a new one afterwards.
//
// Its own file (its own process), so the RSS figures are not those of other tests.
import t from 'tap';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { startAdminServer, type AdminServer } from '../../node/admin/admin-server.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { callAdmin } from '../../node/admin/admin-client.ts';
import { defineMethod, type MethodTable } from '../../node/admin/method-table.ts';
import { paramsObject, str } from '../../node/admin/params.ts';
import { rpcLine } from '../helpers/admin-wire.ts';
import { mulberry32, testSeed } from '../helpers/seeded-random.ts';
import { tempDir, type Teardownable } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

const MiB = 1024 * 1024;
/** RSS growth allowed while a flood sits queued behind a call in flight. */
const RSS_GROWTH_MAX_BYTES = 48 * MiB;
const WAIT = { timeoutMs: 30_000 };

interface Gate { calls: number; release: () => void }

function methods(gate: Gate): MethodTable {
  return {
    echo: defineMethod({
      params: (raw) => ({ text: str(paramsObject(raw, ['text']), 'text', 1024) }),
      handler: async ({ text }) => ({ text }),
    }),
    held: defineMethod({
      params: () => ({}),
      handler: () => new Promise((resolve) => { gate.calls++; gate.release = () => resolve('released'); }),
    }),
  };
}

async function serve(t: Teardownable): Promise<{ server: AdminServer; path: string; gate: Gate }> {
  const dir = await tempDir(t, 'nvflood-');
  const gate: Gate = { calls: 0, release: () => undefined };
  const path = join(dir, 'admin.sock');
  const server = await startAdminServer({ timers: REAL_TIMERS, socketPath: path, methods: methods(gate) });
  t.teardown(() => server.close());
  return { server, path, gate };
}

// A client that counts response lines without keeping them (a flood of errors can be large) and
// keeps only the answers whose ids are "held" and "last" (answered in any order: the connection pipelines).
interface CountingClient {
  socket: Socket;
  answered(): number;
  held(): unknown;
  last(): unknown;
}

async function countingClient(path: string): Promise<CountingClient> {
  const socket = connect(path);
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject); });
  socket.on('error', () => undefined);
  let answered = 0;
  let last: unknown;
  let held: unknown;
  let partial = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    answered += lines.length;
    for (const line of lines) {
      if (line.includes('"id":"last"')) last = JSON.parse(line);
      if (line.includes('"id":"held"')) held = JSON.parse(line);
    }
  });
  return { socket, answered: () => answered, held: () => held, last: () => last };
}

const rss = (): number => process.memoryUsage().rss;

// Send `flood` behind a call held in flight, wait until the server has read it all or stopped
// reading, and assert the RSS growth then; release the call, then a real request must be answered.
async function floodBehindHeldCall(t: Teardownable & { comment(...a: unknown[]): void; ok(v: unknown, m: string): void }, flood: Buffer, what: string): Promise<{ server: AdminServer; client: CountingClient; path: string }> {
  const { server, path, gate } = await serve(t);
  const client = await countingClient(path);
  client.socket.write(rpcLine('held', undefined, 'held'));
  await waitFor('the held call in flight', () => gate.calls === 1, WAIT);
  const before = rss();
  client.socket.write(flood);
  client.socket.write(rpcLine('echo', { text: 'after the flood' }, 'last'));
  // Either the server read everything (the client's buffer is empty: the kernel took it all and the
  // server reads the kernel's buffer as it fills), or it stopped reading at its queue bound.
  await waitFor(`${what}: read or throttled`, () => client.socket.writableLength === 0 || (server.counters() as { readsPaused?: number }).readsPaused! > 0, WAIT,
    () => ({ unsent: client.socket.writableLength, counters: server.counters() }));
  const growth = rss() - before;
  t.comment(`${what}: RSS growth with the flood queued behind a call: ${(growth / MiB).toFixed(1)} MiB`);
  t.ok(growth <= RSS_GROWTH_MAX_BYTES, `${what}: RSS grew ${(growth / MiB).toFixed(1)} MiB (at most ${RSS_GROWTH_MAX_BYTES / MiB})`);
  gate.release();
  await waitFor(`${what}: the request after the flood and the held call answered`, () => client.last() !== undefined && client.held() !== undefined, WAIT,
    () => ({ answered: client.answered(), counters: server.counters() }));
  return { server, client, path };
}

t.test('4 MiB of newlines behind a call in flight: bounded memory, then a real answer', async (t) => {
  const flood = Buffer.alloc(4 * MiB, 0x0a);
  const { client, path } = await floodBehindHeldCall(t, flood, '4 MiB of "\\n"');
  t.same(client.last(), { jsonrpc: '2.0', id: 'last', result: { text: 'after the flood' } }, 'same connection still served');
  t.equal(client.answered(), 2, 'blank lines get no answer: the held call and the last request only');
  t.same(await callAdmin(path, 'echo', { text: 'new connection' }, { timeoutMs: 10_000 }), { text: 'new connection' });
  client.socket.destroy();
});

t.test('4 MiB of whitespace-only short lines: bounded memory', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (replay with SEED=${seed})`);
  const rand = mulberry32(seed);
  const blanks = [' \n', '\t\n', '\r\n', '  \n', ' \t \r\n', '\n'];
  const parts: string[] = [];
  let bytes = 0;
  while (bytes < 4 * MiB) {
    const p = blanks[Math.floor(rand() * blanks.length)]!;
    parts.push(p);
    bytes += p.length;
  }
  const flood = Buffer.from(parts.join(''));
  parts.length = 0;
  const { client, path } = await floodBehindHeldCall(t, flood, '4 MiB of whitespace lines');
  t.same(client.last(), { jsonrpc: '2.0', id: 'last', result: { text: 'after the flood' } });
  t.equal(client.answered(), 2, 'whitespace lines get no answer');
  t.same(await callAdmin(path, 'echo', { text: 'new connection' }, { timeoutMs: 10_000 }), { text: 'new connection' });
  client.socket.destroy();
});

t.test('1 MiB of one-byte requests ("1\\n") behind a call in flight: the queue stops at its cost bound', async (t) => {
  const flood = Buffer.from('1\n'.repeat(MiB / 2));
  const { server, client, path } = await floodBehindHeldCall(t, flood, '1 MiB of "1\\n"');
  t.ok((server.counters() as { readsPaused?: number }).readsPaused! > 0, 'reading was paused at the queue bound');
  t.same(client.last(), { jsonrpc: '2.0', id: 'last', result: { text: 'after the flood' } });
  t.equal(client.answered(), MiB / 2 + 2, 'every short line answered (an invalid request), the held call and the last');
  t.same(await callAdmin(path, 'echo', { text: 'new connection' }, { timeoutMs: 10_000 }), { text: 'new connection' });
  client.socket.destroy();
});
