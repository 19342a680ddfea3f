// The guard counts real clock, timer and randomness calls made while the simulation loop runs, by
// API and calling site, says when node code made them, can refuse them from node code, and puts
// every global back when the loop returns.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { monotonicMs, systemWallClock } from '../../node/util/clock.ts';
import { Scheduler } from './scheduler.ts';
import { SimStream } from './net/stream.ts';

const originalNow = Date.now;
const originalRandom = Math.random;
const originalSetTimeout = globalThis.setTimeout;

t.test('counts real clock, timer and randomness calls while the loop runs, with the node code among them', async (t) => {
  const s = new Scheduler({ seed: 1 });
  const rt = s.boot('n');
  rt.timers.setTimeout(() => {
    Date.now();
    Date.now();
    Math.random();
    void new Date();
    void new Date(0); // not a clock read
    clearTimeout(setTimeout(() => undefined, 1_000));
    randomBytes(4);
    systemWallClock();
    monotonicMs();
  }, 10);
  await s.runFor(20);
  const report = s.guard!.report();
  const find = (api: string, file: string): number => report.filter((u) => u.api === api && u.caller.startsWith(file)).reduce((n, u) => n + u.count, 0);
  t.equal(find('Date.now', 'test/sim/real-time-guard.test.ts'), 2);
  t.equal(find('Math.random', 'test/sim/real-time-guard.test.ts'), 1);
  t.equal(find('new Date()', 'test/sim/real-time-guard.test.ts'), 1, 'new Date() with no argument counts, new Date(0) does not');
  t.equal(find('setTimeout', 'test/sim/real-time-guard.test.ts'), 1);
  t.equal(find('crypto.randomBytes', 'test/sim/real-time-guard.test.ts'), 1, 'a named ES import of node:crypto is counted too');
  const node = s.guard!.nodeCodeUses();
  t.same(node.map((u) => `${u.api} ${u.caller.replace(/:\d+$/, '')}`).sort(), ['Date.now node/util/clock.ts', 'performance.now node/util/clock.ts']);
  t.match(s.guard!.format(), /\[node code\]/);
  t.equal(Date.now, originalNow, 'Date.now restored after the loop');
  t.equal(Math.random, originalRandom);
  t.equal(globalThis.setTimeout, originalSetTimeout);
  t.ok(new Date() instanceof Date);
});

t.test('throwInNodeCode: node code reading the real clock fails the run; other callers are only counted', async (t) => {
  const s = new Scheduler({ seed: 2, guard: { throwInNodeCode: true } });
  const rt = s.boot('n');
  rt.timers.setTimeout(() => { Date.now(); }, 5);
  await s.runFor(6);
  t.equal(s.guard!.report().length, 1, 'a call from the test itself is counted, not refused');
  rt.timers.setTimeout(() => { systemWallClock(); }, 5);
  await t.rejects(s.runFor(10), { code: 'SIM_EVENT_FAILED', cause: { code: 'SIM_REAL_TIME' } });
  t.equal(Date.now, originalNow);
});

t.test('off with guard: false', async (t) => {
  const s = new Scheduler({ seed: 3, guard: false });
  s.boot('n').timers.setTimeout(() => { Date.now(); }, 1);
  await s.runFor(2);
  t.equal(s.guard, undefined);
});

t.test('calls of the libraries only the simulator runs (libp2p\'s AbstractStream) are the simulator\'s', async (t) => {
  const s = new Scheduler({ seed: 4 });
  s.boot('n').timers.setTimeout(() => {
    const wire = { data: () => undefined, credit: () => undefined, fin: () => undefined, reset: () => undefined };
    void new SimStream({ id: '1', direction: 'outbound', wire, wallMs: () => 0, onEnd: () => undefined }).close();
  }, 1);
  await s.runFor(2);
  const uses = s.guard!.report().filter((u) => u.caller.includes('@libp2p/utils'));
  t.ok(uses.length > 0, 'AbstractStream reads the real clock');
  t.ok(uses.every((u) => u.bySimulator && !u.viaNodeCode && !u.inNodeCode), 'counted as the simulator\'s');
});
