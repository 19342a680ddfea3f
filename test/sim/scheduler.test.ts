// The simulation's virtual time: same seed, same trace (hash); timers per node with Node's delay
// rules; pause holds a node's events and resume runs them in order; crash ends an incarnation's
// timers for good; wall clocks skew, jump and drift per node while monotonic clocks do not; every
// promise continuation, nextTick and setImmediate an event causes is done before the next event.
import t from 'tap';
import { readFile } from 'node:fs/promises';
import { SimRandom } from './random.ts';
import { Scheduler, SETTLE_SPINS_MAX, SimDeadlineError, SimEventError, type NodeRuntime } from './scheduler.ts';

// A little world of "node code": each node ticks with jittered timers, awaits promise chains,
// yields with setImmediate and nextTick in between, and logs what it sees.
async function world(seed: number): Promise<{ hash: string; log: string[] }> {
  const s = new Scheduler({ seed });
  const log: string[] = [];
  const run = (rt: NodeRuntime): void => {
    let n = 0;
    const tick = (): void => {
      n += 1;
      const k = n;
      void (async () => {
        await Promise.resolve();
        await new Promise<void>((r) => process.nextTick(r));
        await new Promise<void>((r) => setImmediate(r));
        log.push(`${rt.name} ${k} ${rt.timers.nowMs().toFixed(3)} ${rt.random.float().toFixed(6)}`);
      })();
      if (n < 20) rt.timers.setTimeout(tick, 50 + Math.floor(rt.random.float() * 100));
    };
    rt.timers.setTimeout(tick, 0);
  };
  for (const name of ['a', 'b', 'c']) run(s.boot(name));
  await s.runFor(5_000);
  return { hash: s.traceHash(), log };
}

t.test('same seed, same trace hash and same observations; another seed differs', async (t) => {
  const x = await world(7);
  const y = await world(7);
  const z = await world(8);
  t.equal(x.hash, y.hash, 'same seed, same trace hash');
  t.same(x.log, y.log, 'same seed, same observations in the same order');
  t.equal(x.log.length, 60);
  t.not(x.hash, z.hash, 'another seed, another trace');
});

t.test('random streams: forks are independent of draws and stable by label', async (t) => {
  const a = new SimRandom(42);
  const f1 = a.fork('x').float();
  a.float();
  a.float();
  t.equal(a.fork('x').float(), f1, 'a fork depends on its label, not on the parent\'s draws');
  t.not(a.fork('y').float(), f1);
  t.not(new SimRandom(43).fork('x').float(), f1);
  const r = new SimRandom(1);
  for (let i = 0; i < 1000; i++) {
    const v = r.float();
    if (!(v >= 0 && v < 1)) t.fail(`float out of range: ${v}`);
  }
  t.equal(r.bytes(7).length, 7);
  t.ok(Buffer.isBuffer(r.source().bytes(4)), 'a RandomSource gives Buffers, as node:crypto does');
});

t.test('timers: order by time then by setting order, cancel, and Node\'s 1 ms minimum', async (t) => {
  const s = new Scheduler({ seed: 1 });
  const rt = s.boot('n');
  const seen: string[] = [];
  rt.timers.setTimeout(() => seen.push('b@10'), 10);
  rt.timers.setTimeout(() => seen.push('c@10'), 10);
  rt.timers.setTimeout(() => seen.push('a@5'), 5);
  const gone = rt.timers.setTimeout(() => seen.push('cancelled'), 7);
  rt.timers.clearTimeout(gone);
  rt.timers.clearTimeout(undefined);
  const t0 = rt.timers.nowMs();
  let zeroAt = -1;
  rt.timers.setTimeout(() => { zeroAt = rt.timers.nowMs() - t0; }, 0);
  await s.runFor(20);
  t.same(seen, ['a@5', 'b@10', 'c@10']);
  t.equal(zeroAt, 1, 'a 0 ms timer fires after 1 ms, as in Node');
  t.equal(s.stats().timersCancelled, 1);
  t.equal(s.nowMs(), 20);
});

t.test('pause holds a node\'s timers and runs them in order at resume; clocks keep going', async (t) => {
  const s = new Scheduler({ seed: 2 });
  const a = s.boot('a');
  const b = s.boot('b');
  const seen: string[] = [];
  a.timers.setTimeout(() => seen.push(`a1@${s.nowMs()}`), 100);
  a.timers.setTimeout(() => seen.push(`a2@${s.nowMs()}`), 200);
  b.timers.setTimeout(() => seen.push(`b@${s.nowMs()}`), 150);
  const mono0 = a.timers.nowMs();
  await s.runFor(50);
  s.pause('a');
  await s.runFor(450);
  t.same(seen, ['b@150'], 'a paused: its timers wait; b runs');
  t.equal(a.timers.nowMs() - mono0, 500, 'a\'s monotonic clock ran during the pause');
  s.resume('a');
  await s.runFor(1);
  t.same(seen, ['b@150', 'a1@500', 'a2@500'], 'held timers run at resume, in order');
  t.equal(s.stats().eventsDeferred, 2);
  // A held timer keeps its handle: cleared after the resume, it does not run.
  const h = a.timers.setTimeout(() => seen.push('cleared timer ran'), 100);
  s.pause('a');
  await s.runFor(200);
  s.resume('a');
  a.timers.clearTimeout(h);
  await s.runFor(10);
  t.notOk(seen.includes('cleared timer ran'), 'clearTimeout still cancels a held timer');
});

t.test('crash ends an incarnation: its timers never fire, its old components stay inert; boot gives new ones', async (t) => {
  const s = new Scheduler({ seed: 3 });
  const first = s.boot('n');
  let fired = 0;
  first.timers.setTimeout(() => { fired += 1; }, 100);
  s.crash('n');
  t.notOk(first.alive());
  first.timers.setTimeout(() => { fired += 1; }, 10);
  await s.runFor(1_000);
  t.equal(fired, 0, 'no timer of the crashed incarnation fired');
  const second = s.boot('n');
  t.equal(second.incarnation, 2);
  second.timers.setTimeout(() => { fired += 10; }, 10);
  first.timers.setTimeout(() => { fired += 1; }, 10);
  await s.runFor(100);
  t.equal(fired, 10, 'only the new incarnation\'s timer fired');
  t.not(second.random.float(), first.random.float(), 'a new incarnation has its own random stream');
});

t.test('wall clocks: skew set, jumped and drifting per node; monotonic clocks untouched', async (t) => {
  const s = new Scheduler({ seed: 4, epochMs: 1_000_000 });
  const a = s.boot('a');
  const b = s.boot('b');
  t.equal(a.wallClock(), 1_000_000);
  s.setSkew('a', 5_000);
  t.equal(a.wallClock(), 1_005_000);
  t.equal(b.wallClock(), 1_000_000);
  const mono = a.timers.nowMs();
  s.jumpClock('a', -60_000);
  t.equal(a.wallClock(), 945_000, 'a jump steps the wall clock back');
  t.equal(a.timers.nowMs(), mono, 'the monotonic clock does not step');
  s.setDrift('b', 1_000); // 1 ms per second fast
  await s.runFor(10_000);
  t.equal(b.wallClock(), 1_010_010);
  t.equal(s.skewOf('b'), 10);
  t.equal(a.wallClock(), 955_000);
  s.crash('a');
  const a2 = s.boot('a');
  t.equal(a2.wallClock(), 955_000, 'the skew belongs to the machine: it survives a restart');
  s.schedule(0.75, 'fraction', () => undefined);
  await s.runFor(0.75);
  t.equal(a2.wallClock(), 955_000, 'whole milliseconds, as Date.now(), at a fractional virtual time');
  t.equal(a2.timers.nowMs() % 1, 0.75, 'the monotonic clock keeps the fraction, as performance.now()');
});

t.test('settle: every continuation an event caused is done before the next event', async (t) => {
  const s = new Scheduler({ seed: 5 });
  const rt = s.boot('n');
  const seen: string[] = [];
  rt.timers.setTimeout(() => {
    void (async () => {
      for (let i = 0; i < 50; i++) await Promise.resolve();
      await new Promise<void>((r) => setImmediate(r));
      await new Promise<void>((r) => process.nextTick(r));
      // a chain of immediates, as a hasher yielding to the event loop
      for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
      queueMicrotask(() => seen.push('work done'));
    })();
  }, 10);
  rt.timers.setTimeout(() => seen.push('next event'), 10);
  await s.runFor(20);
  t.same(seen, ['work done', 'next event']);
});

t.test('runUntilTrue: stops when the condition holds; throws SIM_DEADLINE when it does not', async (t) => {
  const s = new Scheduler({ seed: 6 });
  const rt = s.boot('n');
  let n = 0;
  const tick = (): void => { n += 1; rt.timers.setTimeout(tick, 100); };
  rt.timers.setTimeout(tick, 100);
  const took = await s.runUntilTrue('three ticks', () => n >= 3, 10_000);
  t.equal(took, 300);
  t.equal(s.nowMs(), 300);
  await t.rejects(s.runUntilTrue('never', () => false, 1_000), { code: 'SIM_DEADLINE', name: SimDeadlineError.name });
  t.equal(s.nowMs(), 1_300);
});

t.test('an event that throws fails the run with SIM_EVENT_FAILED (or is counted with onEventError: record)', async (t) => {
  const s = new Scheduler({ seed: 7 });
  s.boot('n').timers.setTimeout(() => { throw new Error('boom'); }, 5);
  await t.rejects(s.runFor(10), { code: 'SIM_EVENT_FAILED', name: SimEventError.name });
  const r = new Scheduler({ seed: 7, onEventError: 'record' });
  r.boot('n').timers.setTimeout(() => { throw new Error('boom'); }, 5);
  await r.runFor(10);
  t.equal(r.stats().eventErrors, 1);
});

t.test('code that yields forever fails the run instead of hanging it', async (t) => {
  const s = new Scheduler({ seed: 8 });
  let spins = 0;
  const spin = (): void => {
    spins += 1;
    if (spins < SETTLE_SPINS_MAX + 10) setImmediate(spin);
  };
  s.boot('n').timers.setTimeout(spin, 1);
  await t.rejects(s.runFor(5), { code: 'SIM_EVENT_FAILED', message: /yields forever/ });
});

t.test('settle waits for I/O an event started, and counts it by kind', async (t) => {
  const s = new Scheduler({ seed: 9 });
  const rt = s.boot('n');
  const seen: string[] = [];
  rt.timers.setTimeout(() => {
    void readFile(new URL(import.meta.url)).then(() => seen.push('read done'));
  }, 1);
  rt.timers.setTimeout(() => seen.push('next event'), 1);
  await s.runFor(2);
  t.same(seen, ['read done', 'next event']);
  t.ok((s.stats().ioWaitsByType.FSReqPromise ?? 0) >= 1, 'the wait is reported: node code doing real I/O is a determinism risk');
});
