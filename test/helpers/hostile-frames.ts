// Hostile frames for attack tests and bench/hostile-input.ts: decompression bombs in the message
// codec's format (0x01 + raw deflate), and sending frames on a fresh protocol stream until the other
// side ends it.
import { createDeflateRaw } from 'node:zlib';
import type { PeerId } from '@libp2p/interface';
import type { HostLibp2p } from '../../node/host/create-host.ts';
import { lengthPrefixed } from '../../node/wire/frame-reader.ts';

const DEFLATE = 1;
const CHUNK_BYTES = 1024 * 1024;

/**
 * A codec frame of a message of type `type` whose JSON, `{"t":"<type>","pad":"aaa…"}`, inflates to
 * about `inflatedBytes` bytes: deflated at level 9 it is about a thousandth of that (the 61 KiB
 * frame held 62 MiB). Built chunk by chunk, so the JSON is never held whole here.
 */
export async function deflateBomb(type: string, inflatedBytes: number): Promise<Uint8Array> {
  const z = createDeflateRaw({ level: 9 });
  const out: Buffer[] = [Buffer.of(DEFLATE)];
  z.on('data', (b: Buffer) => out.push(b));
  const ended = new Promise<void>((resolve, reject) => { z.on('end', resolve); z.on('error', reject); });
  const pad = Buffer.alloc(CHUNK_BYTES, 'a');
  z.write(`{"t":"${type}","pad":"`);
  for (let left = inflatedBytes; left > 0; left -= CHUNK_BYTES) {
    if (!z.write(left >= CHUNK_BYTES ? pad : pad.subarray(0, left))) await new Promise((r) => z.once('drain', r));
  }
  z.end('"}');
  await ended;
  return Buffer.concat(out);
}

/** How a stream of sendFrames ended: the other side closed or reset it, or it was still open at the deadline. */
export type StreamEnd = 'ended' | 'timeout';

/**
 * Open `protocol` to `peer`, write `frames` (length-prefixed) and keep the writing side open, then
 * wait until the other side ends the stream or `timeoutMs` passes (the stream is aborted then).
 */
export async function sendFrames(libp2p: HostLibp2p, peer: PeerId, protocol: string, frames: Uint8Array[], timeoutMs: number): Promise<StreamEnd> {
  const stream = await libp2p.dialProtocol(peer, protocol);
  const done = new AbortController();
  const held = new Promise<void>((resolve) => done.signal.addEventListener('abort', () => resolve(), { once: true }));
  void stream.sink((async function* () {
    for (const f of frames) yield lengthPrefixed(f);
    await held;
  })()).catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<StreamEnd>((resolve) => { timer = setTimeout(() => resolve('timeout'), timeoutMs); });
  const ended = (async (): Promise<StreamEnd> => {
    try {
      for await (const chunk of stream.source) void chunk; // replies, if any, are not looked at
    } catch {
      // reset by the other side
    }
    return 'ended';
  })();
  const how = await Promise.race([ended, deadline]);
  clearTimeout(timer);
  done.abort();
  if (how === 'timeout') stream.abort(new Error('sendFrames: deadline passed'));
  return how;
}
