// openStream's close: graceful, but bounded. A peer that never closes its end must not hold the
// caller (the vote collector counts an exchange in flight until its stream is closed).
import t from 'tap';
import { openStream, STREAM_CLOSE_TIMEOUT_MS } from '../../node/host/open-stream.ts';
import type { HostNet } from '../../node/host/host-net.ts';
import { TEST_TIMERS } from '../helpers/test-timers.ts';

// A stream whose graceful close completes only when the remote closes its end, which this one never
// does; like libp2p's, the close gives up when its signal aborts.
function stuckStream() {
  const s = {
    aborted: undefined as Error | undefined,
    close: (opts: { signal?: AbortSignal } = {}) => new Promise<void>((_, reject) => {
      opts.signal?.addEventListener('abort', () => reject(opts.signal!.reason), { once: true });
    }),
    abort: (err: Error) => { s.aborted = err; },
  };
  return s;
}

t.test('a close the peer never completes is aborted after STREAM_CLOSE_TIMEOUT_MS', async (t) => {
  const stream = stuckStream();
  const libp2p = { dialProtocol: async () => stream } as unknown as HostNet;
  const peer = '12D3KooWGRYZDHBembyGJQqQ6WgLqJWkmzRcf7Fmxzq2cVK9KdQC';
  const s = await openStream(libp2p, peer, '/test/1.0.0', AbortSignal.timeout(1_000), TEST_TIMERS);
  const t0 = performance.now();
  await s.close();
  const ms = performance.now() - t0;
  t.ok(stream.aborted instanceof Error, 'the stream was aborted');
  t.ok(ms >= STREAM_CLOSE_TIMEOUT_MS - 50, `not before the timeout (${ms.toFixed(0)} ms)`);
});
