// The agent's long-lived ping channel: one stream serves many checks; a stream the other side ended
// is replaced within the same check; a silent or wrong peer fails the check.
import t from 'tap';
import { duplexPair } from 'it-pair/duplex';
import { Uint8ArrayList } from 'uint8arraylist';
import type { Stream } from '@libp2p/interface';
import { PingChannel } from '../../node/agent/ping-channel.ts';
import { REAL_RANDOM } from '../../node/components.ts';
import { TEST_TIMERS } from '../helpers/test-timers.ts';

const PARTS = { timers: TEST_TIMERS, random: REAL_RANDOM };

type Peer = 'echo' | 'silent' | 'garble';

// A fake controller end: answers like libp2p's ping handler (echo), or never, or wrongly; `pings`
// caps how many it answers before ending the stream (a handler that timed out, a dropped connection).
function fakeStreams(behaviour: Peer, pings = Infinity): { open: (signal: AbortSignal) => Promise<Stream>; opened: () => number } {
  let opened = 0;
  return {
    opened: () => opened,
    open: async () => {
      opened++;
      const [local, remote] = duplexPair<any>();
      // The controller's end: reads 32-byte pings, answers `pings` of them, then ends its side.
      void remote.sink((async function* () {
        const buf = new Uint8ArrayList();
        let answered = 0;
        for await (const chunk of remote.source) {
          buf.append(chunk);
          while (buf.length >= 32) {
            if (answered++ >= pings) return;
            const reply = Uint8Array.from(buf.subarray(0, 32)); // a copy, as a network would deliver
            buf.consume(32);
            if (behaviour === 'silent') continue;
            if (behaviour === 'garble') reply[0] = reply[0]! ^ 0xff;
            yield reply;
          }
        }
      })()).catch(() => undefined);
      let aborted = false;
      return Object.assign(local, { abort: () => { aborted = true; }, get aborted() { return aborted; } }) as unknown as Stream;
    },
  };
}

// A deadline on a ref'd timer (AbortSignal.timeout's is unref'd: a hung check would end the process
// instead of failing the test).
function deadline(t: import('tap').Test, ms = 2_000): AbortSignal {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`deadline of ${ms} ms`)), ms);
  t.teardown(() => clearTimeout(timer));
  return ac.signal;
}

t.test('many checks on one stream', async (t) => {
  const peer = fakeStreams('echo');
  const c = new PingChannel(peer.open, PARTS);
  for (let i = 0; i < 20; i++) t.ok((await c.rttMs(deadline(t))) >= 0);
  t.equal(peer.opened(), 1, 'one stream for twenty checks');
  c.close();
  await c.rttMs(deadline(t));
  t.equal(peer.opened(), 2, 'a closed channel opens a new stream');
});

t.test('a stream the controller ended is replaced within the same check', async (t) => {
  const peer = fakeStreams('echo', 1);
  const c = new PingChannel(peer.open, PARTS);
  await c.rttMs(deadline(t));
  t.ok((await c.rttMs(deadline(t))) >= 0, 'the second check succeeds on a new stream');
  t.equal(peer.opened(), 2);
});

t.test('a silent controller fails the check at its deadline; a garbled echo fails it at once', async (t) => {
  const silent = new PingChannel(fakeStreams('silent').open, PARTS);
  await t.rejects(silent.rttMs(deadline(t, 100)), 'no answer before the deadline');
  const garble = fakeStreams('garble');
  const g = new PingChannel(garble.open, PARTS);
  await t.rejects(g.rttMs(deadline(t)), { code: 'PING_ECHO_MISMATCH' });
});

t.test('a controller that cannot be reached fails the check', async (t) => {
  let tries = 0;
  const c = new PingChannel(async () => { tries++; throw new Error('no connection'); }, PARTS);
  await t.rejects(c.rttMs(deadline(t)), /no connection/);
  t.equal(tries, 1, 'a fresh channel is not retried: the failure is the controller\'s');
});

// Over a link whose round trip is longer than the ping period, pings overlap: each must still get its
// own echo, in order, on the one stream (simulation: a majority flickering in and out of quorum over
// a slow link while one ping at a time was in flight).
t.test('pings are pipelined: several in flight on one stream, each answered with its own echo', async (t) => {
  const streams = fakeStreams('echo');
  const c = new PingChannel(streams.open, PARTS);
  const rtts = await Promise.all(Array.from({ length: 10 }, () => c.rttMs(deadline(t))));
  t.equal(rtts.length, 10);
  t.ok(rtts.every((ms) => ms >= 0), 'every ping answered');
  t.equal(streams.opened(), 1, 'one stream for all of them');
});

t.test('a ping whose caller gave up still has its echo read: the next ones stay matched', async (t) => {
  // A controller that answers each ping only when the next one arrives (a slow path), then normally.
  let opened = 0;
  let held: Uint8Array | undefined;
  const ac = new AbortController();
  const open = async (): Promise<Stream> => {
    opened++;
    const [local, remote] = duplexPair<any>();
    void remote.sink((async function* () {
      const buf = new Uint8ArrayList();
      for await (const chunk of remote.source) {
        buf.append(chunk);
        while (buf.length >= 32) {
          const ping = Uint8Array.from(buf.subarray(0, 32));
          buf.consume(32);
          if (held === undefined && opened === 1 && !ac.signal.aborted) {
            held = ping;
            ac.abort(new Error('deadline')); // the first caller gives up while its ping is in flight
            continue;
          }
          if (held !== undefined) {
            yield held;
            held = undefined;
          }
          yield ping;
        }
      }
    })()).catch(() => undefined);
    return Object.assign(local, { abort: () => undefined }) as unknown as Stream;
  };
  const c = new PingChannel(open, PARTS);
  const first = c.rttMs(ac.signal);
  await t.rejects(first, /deadline/, 'the first caller gave up');
  const second = await c.rttMs(deadline(t));
  t.ok(second >= 0, 'the next ping gets its own echo (the late one was read and dropped)');
  t.equal(opened, 1, 'on the same stream');
});
