// Yamux WindowUpdate frames: one per chunk read in the library as shipped; once wrapped, none for
// small messages until WINDOW_UPDATE_BYTES_MIN have arrived, and a transfer far larger than the
// window still flows (credit returns in time).
import t from 'tap';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Stream, StreamMuxer } from '@libp2p/interface';
import { defaultLogger } from '@libp2p/logger';
import type { Uint8ArrayList } from 'uint8arraylist';
import { batchWindowUpdates, WINDOW_UPDATE_BYTES_MIN } from '../../node/host/yamux-window-updates.ts';

const HEADER_BYTES = 12;
const TYPE_DATA = 0;
const TYPE_WINDOW_UPDATE = 1;

// Counts the frame types in one direction of a muxer pair, whatever the chunking.
function frameCounter() {
  const counts = { windowUpdates: 0 };
  let buf = new Uint8Array(0);
  let skip = 0;
  const take = (bytes: Uint8Array): void => {
    const joined = new Uint8Array(buf.length + bytes.length);
    joined.set(buf);
    joined.set(bytes, buf.length);
    buf = joined;
    for (;;) {
      if (skip > 0) {
        const n = Math.min(skip, buf.length);
        buf = buf.subarray(n);
        skip -= n;
        if (skip > 0) return;
      }
      if (buf.length < HEADER_BYTES) return;
      const view = new DataView(buf.buffer, buf.byteOffset, HEADER_BYTES);
      const type = view.getUint8(1);
      if (type === TYPE_WINDOW_UPDATE) counts.windowUpdates++;
      if (type === TYPE_DATA) skip = view.getUint32(8);
      buf = buf.subarray(HEADER_BYTES);
    }
  };
  const through = (source: AsyncIterable<Uint8Array | Uint8ArrayList>) => (async function* () {
    for await (const chunk of source) {
      take(chunk instanceof Uint8Array ? chunk : chunk.subarray());
      yield chunk;
    }
  })();
  return { counts, through };
}

// A client and a server muxer joined in memory; counts frames the server sends back.
function muxerPair() {
  const factory = yamux()({ logger: defaultLogger() });
  const incoming: Stream[] = [];
  const client: StreamMuxer = factory.createStreamMuxer({ direction: 'outbound' });
  const server: StreamMuxer = factory.createStreamMuxer({ direction: 'inbound', onIncomingStream: (s) => incoming.push(s) });
  const back = frameCounter();
  // The muxers' sinks end on close; what the pipes resolve to does not matter.
  Promise.resolve(server.sink(client.source)).catch(() => undefined);
  Promise.resolve(client.sink(back.through(server.source))).catch(() => undefined);
  return { client, server, incoming, back: back.counts };
}

async function deadline<T>(what: string, p: Promise<T>, ms = 10_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: not done within ${ms} ms`)), ms); });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

// Sends `messages` chunks of `bytes` each on a new stream; resolves with the bytes the server read.
// Paced: each message waits until the reader has the one before (deltas spread out in time, as
// on a config stream); otherwise the sender goes as fast as the window lets it.
async function transfer(messages: number, bytes: number, paced: boolean) {
  const pair = muxerPair();
  const stream = await pair.client.newStream();
  let total = 0;
  const sent = (async () => {
    await stream.sink((async function* () {
      for (let i = 0; i < messages; i++) {
        while (paced && total < i * bytes) await turn();
        yield new Uint8Array(bytes).fill(i & 0xff);
      }
    })());
  })();
  const read = (async () => {
    while (pair.incoming.length === 0) await turn();
    let chunks = 0;
    for await (const chunk of pair.incoming[0]!.source) {
      total += chunk.byteLength;
      // A reader that lets the event loop turn now and then, so data queues up meanwhile.
      if (++chunks % 16 === 0) await turn();
    }
    return total;
  })();
  await deadline('send', sent);
  const received = await deadline('read', read);
  await pair.client.close();
  await pair.server.close();
  return { total: received, back: pair.back };
}

t.test('as shipped, yamux credits back every chunk read (one window update per message)', async (t) => {
  const { total, back } = await transfer(200, 100, true);
  t.equal(total, 200 * 100);
  // If this fails, the library no longer does it: batchWindowUpdates can go.
  t.ok(back.windowUpdates >= 190, `${back.windowUpdates} window updates for 200 small messages`);
});

t.test('wrapped, small messages bring one window update per WINDOW_UPDATE_BYTES_MIN', async (t) => {
  t.equal(batchWindowUpdates(), true, 'the library has the expected shape');
  t.equal(batchWindowUpdates(), true, 'idempotent');
  const { total, back } = await transfer(1_000, 200, true);
  t.equal(total, 1_000 * 200);
  // 200,000 bytes: 6 credits of 32 KiB, plus the opening ACK and the closing FIN.
  const expected = Math.floor(total / WINDOW_UPDATE_BYTES_MIN) + 2;
  t.ok(back.windowUpdates <= expected, `${back.windowUpdates} window updates for 1,000 small messages (at most ${expected})`);
});

t.test('wrapped, a transfer 16x the window flows without stalling', async (t) => {
  batchWindowUpdates();
  const { total, back } = await transfer(256, 16 * 1024, false);
  t.equal(total, 256 * 16 * 1024, 'every byte arrived');
  t.ok(back.windowUpdates >= 2 && back.windowUpdates <= 256 + 2, `${back.windowUpdates} window updates for 4 MiB in 256 messages`);
});

t.test('wrapped, each large chunk is still credited at once (the window grows as before)', async (t) => {
  batchWindowUpdates();
  const { total, back } = await transfer(20, 2 * WINDOW_UPDATE_BYTES_MIN, true);
  t.equal(total, 20 * 2 * WINDOW_UPDATE_BYTES_MIN);
  t.ok(back.windowUpdates >= 20, `${back.windowUpdates} window updates for 20 chunks of 64 KiB read one by one`);
});
