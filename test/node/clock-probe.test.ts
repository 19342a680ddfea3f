// The clock probe protocol (node/membership/clock-probe.ts): many probes on one long-lived stream,
// each answered with the peer's clock and timed on ours; anything that is not a probe or an answer
// ends the stream with CLOCK_PROBE_MALFORMED (nothing buffered beyond one fixed-size frame); an idle
// stream is closed by the answering side.
import t from 'tap';
import fc from 'fast-check';
import { duplexPair } from 'it-pair/duplex';
import type { Stream } from '@libp2p/interface';
import {
  ClockChannel, CLOCK_PROBE_REQUEST, decodeClockResponse, encodeClockResponse, serveClockProbes,
} from '../../node/membership/clock-probe.ts';
import { check, runs } from '../helpers/fc-run.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';

// One end of an in-memory stream, with the close/abort a libp2p stream has.
function end(d: ReturnType<typeof duplexPair<any>>[number]): Stream & { aborted: Error | undefined; closed: boolean } {
  const s = Object.assign(d, {
    aborted: undefined as Error | undefined,
    closed: false,
    abort(err: Error) { s.aborted = err; },
    async close() { s.closed = true; },
  });
  return s as unknown as Stream & { aborted: Error | undefined; closed: boolean };
}

// A deadline on a ref'd timer (a hung probe fails the test instead of ending the process).
function deadline(t: import('tap').Test, ms = 2_000): AbortSignal {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`deadline of ${ms} ms`)), ms);
  t.teardown(() => clearTimeout(timer));
  return ac.signal;
}

t.test('many probes on one stream, each answered with the peer\'s clock and timed', async (t) => {
  let opened = 0;
  let clockMs = 1_700_000_000_000;
  let now = 0;
  const channel = new ClockChannel(async () => {
    opened++;
    const [local, remote] = duplexPair<any>();
    void serveClockProbes(end(remote), () => ({ remote: { stampMs: clockMs + 7, physicalMs: clockMs }, epoch: 3, epochValidMs: 7_000 }), 5_000, REAL_TIMERS).catch(() => undefined);
    return end(local);
  }, () => now++);
  for (let i = 0; i < 10; i++) {
    clockMs += 1_000;
    const r = await channel.probe(deadline(t));
    t.same(r.remote, { stampMs: clockMs + 7, physicalMs: clockMs });
    t.equal(r.epoch, 3, 'the membership epoch it answered with');
    t.equal(r.epochValidMs, 7_000, 'and for how long it may be relied on');
    t.ok(r.receivedAtMs > r.sentAtMs, 'sent before received');
  }
  t.equal(opened, 1, 'one stream for ten probes');
  channel.close();
});

t.test('a request that is not a probe ends the stream, malformed', async (t) => {
  const [local, remote] = duplexPair<any>();
  const served = end(remote);
  const done = serveClockProbes(served, () => ({ remote: { stampMs: 1, physicalMs: 1 }, epoch: 0, epochValidMs: 0 }), 5_000, REAL_TIMERS);
  void local.sink((async function* () { yield Uint8Array.of(0x7b); })());
  await t.rejects(done, { code: 'CLOCK_PROBE_MALFORMED' });
  t.match(served.aborted, { code: 'CLOCK_PROBE_MALFORMED' }, 'the stream is aborted');
  t.equal(CLOCK_PROBE_REQUEST, 1);
});

t.test('an answer that is not a clock fails the probe, malformed, without retrying', async (t) => {
  const both = (ms: number, epoch = 1, epochValidMs = 1_000) => encodeClockResponse({ remote: { stampMs: ms, physicalMs: ms }, epoch, epochValidMs });
  for (const bad of [new Uint8Array(32).fill(0xff), both(1_000, 1, -1), both(1_000, 1, 0.5), both(Number.NaN), both(-5), both(1.5),
    encodeClockResponse({ remote: { stampMs: 1_000, physicalMs: 1_001 }, epoch: 1, epochValidMs: 1_000 }), both(1_000, -1), both(1_000, 1.5), both(1_000, Number.NaN)]) {
    let opened = 0;
    const channel = new ClockChannel(async () => {
      opened++;
      const [local, remote] = duplexPair<any>();
      void remote.sink((async function* () {
        for await (const _ of remote.source) yield bad;
      })()).catch(() => undefined);
      return end(local);
    }, () => 0);
    await t.rejects(channel.probe(deadline(t)), { code: 'CLOCK_PROBE_MALFORMED' });
    t.equal(opened, 1);
  }
});

t.test('a silent peer fails the probe at its deadline; an idle stream is closed by the answering side', async (t) => {
  const channel = new ClockChannel(async () => end(duplexPair<any>()[0]), () => 0);
  await t.rejects(channel.probe(deadline(t, 50)), { message: /deadline/ });
  const [, remote] = duplexPair<any>();
  const served = end(remote);
  const keepAlive = setTimeout(() => undefined, 2_000); // the idle timer is unref'd, as in a node
  await serveClockProbes(served, () => ({ remote: { stampMs: 1, physicalMs: 1 }, epoch: 0, epochValidMs: 0 }), 30, REAL_TIMERS);
  clearTimeout(keepAlive);
  t.ok(served.closed, 'closed after its idle time');
});

t.test('property: a response decodes to the clocks, epoch and validity encoded; only whole non-negative numbers, physical not above the stamp height', async (t) => {
  const ms = fc.oneof(fc.double(), fc.integer({ min: 0, max: 2 ** 50 }));
  check(t, fc.property(ms, ms, ms, ms, (stampMs, physicalMs, epoch, epochValidMs) => {
    const frame = encodeClockResponse({ remote: { stampMs, physicalMs }, epoch, epochValidMs });
    let decoded: { remote: { stampMs: number; physicalMs: number }; epoch: number; epochValidMs: number } | undefined;
    try {
      decoded = decodeClockResponse(frame);
    } catch (err) {
      if ((err as { code?: string }).code !== 'CLOCK_PROBE_MALFORMED') throw err;
    }
    const whole = (x: number): boolean => Number.isSafeInteger(x) && x >= 0;
    const valid = whole(stampMs) && whole(physicalMs) && physicalMs <= stampMs && whole(epoch) && whole(epochValidMs);
    if (valid !== (decoded !== undefined) || (valid && (decoded!.remote.stampMs !== stampMs || decoded!.remote.physicalMs !== physicalMs || decoded!.epoch !== epoch || decoded!.epochValidMs !== epochValidMs))) {
      throw new Error(`${stampMs},${physicalMs},${epoch},${epochValidMs} -> ${JSON.stringify(decoded)}`);
    }
  }), runs(500));
  t.throws(() => decodeClockResponse(new Uint8Array(31)), { code: 'CLOCK_PROBE_MALFORMED' });
  t.throws(() => decodeClockResponse(new Uint8Array(16)), { code: 'CLOCK_PROBE_MALFORMED' }, 'a 2.0.0 answer');
});
