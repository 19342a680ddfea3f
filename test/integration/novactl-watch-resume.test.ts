// `novactl get KIND -w` when the node ends the watch with WATCH_OVERFLOW (the client fell behind):
// novactl resumes from the last seq it printed, so every change is printed once and none is missed,
// and says so on stderr; a node that keeps overflowing without a change printed in between ends it.
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAdminServer } from '../../node/admin/admin-server.ts';
import { controllerMethods } from '../../node/admin/controller-methods.ts';
import { defineMethod, Subscription, type MethodTable } from '../../node/admin/method-table.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { WatchOverflowError } from '../../storage/store/errors.ts';
import { runNovactl } from '../../cmd/novactl/program.ts';
import { WATCH_RESUMES_WITHOUT_PROGRESS_MAX } from '../../cmd/novactl/watch-commands.ts';
import { agentFederation, route } from '../helpers/agent-federation.ts';
import { waitFor } from '../helpers/wait-for.ts';

// The controller's methods, with resources.watch ending in WATCH_OVERFLOW after `overflowAfter(call)`
// changes sent on the call-th watch (undefined: never).
function overflowing(base: MethodTable, overflowAfter: (call: number) => number | undefined): { methods: MethodTable; calls: Array<{ fromSeq?: number }> } {
  const watch = base['resources.watch']!;
  const calls: Array<{ fromSeq?: number }> = [];
  const methods: MethodTable = {
    ...base,
    'resources.watch': defineMethod({
      stream: true,
      params: watch.params,
      handler: async (p: { fromSeq?: number }) => {
        calls.push({ ...(p.fromSeq === undefined ? {} : { fromSeq: p.fromSeq }) });
        const limit = overflowAfter(calls.length);
        const sub = await watch.handler(p) as Subscription;
        if (limit === undefined) return sub;
        return new Subscription(sub.result, async (sink) => {
          let sent = 0;
          if (limit === 0) throw new WatchOverflowError(1);
          await sub.run({
            signal: sink.signal,
            notify: (method, params) => {
              sink.notify(method, params);
              sent += 1;
              if (sent >= limit) throw new WatchOverflowError(1);
            },
          });
        });
      },
    }),
  };
  return { methods, calls };
}

function io() {
  const out = { stdout: '', stderr: '' };
  return {
    out,
    io: { stdout: (s: string) => { out.stdout += s; }, stderr: (s: string) => { out.stderr += s; }, stdin: process.stdin, nowMs: () => Date.now() },
  };
}

// One controller holding one route, served on an admin socket whose watches overflow as told.
async function overflowingController(t: import('tap').Test, overflowAfter: (call: number) => number | undefined) {
  const f = await agentFederation(t, { controllers: ['c1'], agents: [] });
  const c1 = f.controllers.get('c1')!;
  await c1.apply(route('before'));
  const dir = mkdtempSync(join(tmpdir(), 'ne-watch-resume-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { methods, calls } = overflowing(controllerMethods(c1), overflowAfter);
  const server = await startAdminServer({ timers: REAL_TIMERS, socketPath: join(dir, 'c1.sock'), methods });
  return { c1, calls, server };
}

t.test('get -w resumes after WATCH_OVERFLOW from the last seq printed: every change once', async (t) => {
  // The first watch overflows after 2 changes, the second after 1 more, the third never.
  const { c1, calls, server } = await overflowingController(t, (call) => (call === 1 ? 2 : call === 2 ? 1 : undefined));
  const { out, io: cliIo } = io();
  const run = runNovactl(['--socket', server.path, 'get', 'proxyroute', '-w', '-o', 'json'], cliIo);
  await waitFor('the watch started', () => calls.length === 1, { timeoutMs: 10_000 });
  for (const name of ['r1', 'r2', 'r3', 'r4', 'r5']) await c1.apply(route(name));
  const names = (): string[] => out.stdout.split('\n').filter((l) => l.startsWith('{"type"')).map((l) => (JSON.parse(l) as { object: { metadata: { name: string } } }).object.metadata.name);
  await waitFor('every change printed', () => names().length >= 5, { timeoutMs: 10_000 }, () => ({ out, calls }));
  await server.close(); // ends the last watch: novactl returns
  await run;
  t.same(names(), ['r1', 'r2', 'r3', 'r4', 'r5'], 'each change printed once, in order, none missed');
  t.equal(calls.length, 3, 'watched three times');
  const seqs = out.stdout.split('\n').filter((l) => l.startsWith('{"type"')).map((l) => (JSON.parse(l) as { seq: number }).seq);
  t.same(calls.slice(1).map((c) => c.fromSeq), [seqs[1], seqs[2]], 'each resumed from the last seq printed');
  t.equal((out.stderr.match(/the watch fell behind \(WATCH_OVERFLOW\); resuming from seq \d+/g) ?? []).length, 2, 'said so on stderr, each time');
});

t.test('get -w gives up when the watch overflows again and again without a change printed', async (t) => {
  const { calls, server } = await overflowingController(t, () => 0);
  t.teardown(() => server.close());
  const { out, io: cliIo } = io();
  const code = await runNovactl(['--socket', server.path, 'get', 'proxyroute', '-w'], cliIo);
  t.equal(code, 1, 'exit 1');
  t.match(out.stderr, /WATCH_OVERFLOW/);
  t.equal(calls.length, 1 + WATCH_RESUMES_WITHOUT_PROGRESS_MAX, `resumed ${WATCH_RESUMES_WITHOUT_PROGRESS_MAX} times, then gave up`);
});
