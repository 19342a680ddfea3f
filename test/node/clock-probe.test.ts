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
    void serveClockProbes(end(remote), () => clockMs, 5_000, REAL_TIMERS).catch(() => undefined);
    return end(local);
  }, () => now++);
  for (let i = 0; i < 10; i++) {
    clockMs += 1_000;
    const r = await channel.probe(deadline(t));
    t.equal(r.remoteMs, clockMs);
    t.ok(r.receivedAtMs > r.sentAtMs, 'sent before received');
  }
  t.equal(opened, 1, 'one stream for ten probes');
  channel.close();
});

t.test('a request that is not a probe ends the stream, malformed', async (t) => {
  const [local, remote] = duplexPair<any>();
  const served = end(remote);
  const done = serveClockProbes(served, () => 1, 5_000, REAL_TIMERS);
  void local.sink((async function* () { yield Uint8Array.of(0x7b); })());
  await t.rejects(done, { code: 'CLOCK_PROBE_MALFORMED' });
  t.match(served.aborted, { code: 'CLOCK_PROBE_MALFORMED' }, 'the stream is aborted');
  t.equal(CLOCK_PROBE_REQUEST, 1);
});

t.test('an answer that is not a clock fails the probe, malformed, without retrying', async (t) => {
  for (const bad of [Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), encodeClockResponse(Number.NaN), encodeClockResponse(-5), encodeClockResponse(1.5)]) {
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
  await serveClockProbes(served, () => 1, 30, REAL_TIMERS);
  clearTimeout(keepAlive);
  t.ok(served.closed, 'closed after its idle time');
});

t.test('property: a response decodes to the clock encoded, and only whole non-negative ms decode', async (t) => {
  check(t, fc.property(fc.double(), (ms) => {
    const frame = encodeClockResponse(ms);
    let decoded: number | undefined;
    try {
      decoded = decodeClockResponse(frame);
    } catch (err) {
      if ((err as { code?: string }).code !== 'CLOCK_PROBE_MALFORMED') throw err;
    }
    const valid = Number.isSafeInteger(ms) && ms >= 0;
    if (valid !== (decoded !== undefined) || (valid && decoded !== ms)) throw new Error(`${ms} -> ${decoded}`);
  }), runs(500));
  t.throws(() => decodeClockResponse(new Uint8Array(7)), { code: 'CLOCK_PROBE_MALFORMED' });
});
