// A libp2p stream as a Node Duplex of bytes, so that the admin API's engine (admin-service.ts) and
// its client (admin-client.ts) run on a remote admin stream exactly as on the Unix socket.
//
// Reading: the stream's chunks are pushed as they come; when the Duplex's buffer is full, the next
// chunk waits until the consumer reads (so a client that floods is held by the muxer's window, not
// buffered here). Writing: each write (or corked group of writes, as one chunk) is handed to the
// stream's sink, and its callback runs once the muxer has taken it, so `writableLength` is what the
// remote has not taken yet (the engine bounds it). end() closes the writing side; destroy() aborts
// the stream unless both sides had already ended.

import { Duplex } from 'node:stream';
import type { Stream } from '@libp2p/interface';

/** `stream` as a Node Duplex of Buffers (half-open allowed: each side ends on its own). */
export function duplexFromStream(stream: Stream): Duplex {
  const queue: Array<{ chunk: Uint8Array; done: (err?: Error | null) => void }> = [];
  let writingEnded = false;
  let wakeWriter: (() => void) | undefined;
  let wakeReader: (() => void) | undefined;

  async function* outgoing(): AsyncGenerator<Uint8Array> {
    for (;;) {
      const item = queue.shift();
      if (item === undefined) {
        if (writingEnded) return;
        await new Promise<void>((resolve) => { wakeWriter = resolve; });
        wakeWriter = undefined;
        continue;
      }
      yield item.chunk;
      item.done(); // the sink asked for the next chunk: this one is the muxer's now
    }
  }

  const duplex = new Duplex({
    allowHalfOpen: true,
    read() {
      const wake = wakeReader;
      wakeReader = undefined;
      wake?.();
    },
    write(chunk: Buffer, _encoding, callback) {
      queue.push({ chunk, done: callback });
      wakeWriter?.();
    },
    writev(chunks, callback) {
      queue.push({ chunk: Buffer.concat(chunks.map((c) => c.chunk as Buffer)), done: callback });
      wakeWriter?.();
    },
    final(callback) {
      writingEnded = true;
      wakeWriter?.();
      sinkDone.then(() => callback(), (err: unknown) => callback(err as Error));
    },
    destroy(err, callback) {
      for (const item of queue.splice(0)) item.done(err ?? new Error('connection closed'));
      writingEnded = true;
      wakeWriter?.();
      wakeReader?.();
      if (stream.status === 'open' || stream.status === 'closing') stream.abort(err ?? new Error('admin connection closed'));
      callback(err);
    },
  });

  const sinkDone = stream.sink(outgoing());
  sinkDone.catch((err: unknown) => duplex.destroy(err as Error));

  void (async () => {
    try {
      for await (const list of stream.source) {
        for (const bytes of list) {
          if (duplex.destroyed) return;
          if (!duplex.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) {
            await new Promise<void>((resolve) => { wakeReader = resolve; });
          }
        }
      }
      if (!duplex.destroyed) duplex.push(null);
    } catch (err) {
      duplex.destroy(err as Error);
    }
  })();
  return duplex;
}
