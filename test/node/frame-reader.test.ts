import t from 'tap';
import * as lp from 'it-length-prefixed';
import { pushable } from 'it-pushable';
import { Uint8ArrayList } from 'uint8arraylist';
import { FrameReader, lengthPrefixed, varintBytes } from '../../node/wire/frame-reader.ts';
import { mulberry32, randomBytesFrom, testSeed } from '../helpers/seeded-random.ts';

const bytes = (...xs: number[]): Uint8Array => Uint8Array.from(xs);

t.test('lengthPrefixed writes the same bytes as it-length-prefixed', async (t) => {
  for (const n of [0, 1, 127, 128, 300, 16_383, 16_384, 70_000]) {
    const payload = new Uint8Array(n).fill(7);
    t.same(Buffer.from(lengthPrefixed(payload)), Buffer.from(lp.encode.single(payload).subarray()), `${n} bytes`);
    t.equal(varintBytes(n), lp.encode.single(payload).byteLength - n, `prefix of ${n}`);
  }
});

t.test('any split of a sequence of frames reads back the same frames', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (replay with SEED=${seed})`);
  const rand = mulberry32(seed);
  for (let round = 0; round < 200; round++) {
    const frames = Array.from({ length: 1 + Math.floor(rand() * 6) }, () => randomBytesFrom(rand, Math.floor(rand() * (rand() < 0.2 ? 40_000 : 300))));
    const wire = Buffer.concat(frames.map((f) => lengthPrefixed(f)));
    // Cut the wire at random points; some chunks come as Uint8ArrayLists, as libp2p streams yield them.
    const chunks: Array<Uint8Array | Uint8ArrayList> = [];
    for (let at = 0; at < wire.length;) {
      const n = 1 + Math.floor(rand() * (rand() < 0.5 ? 4 : 2_000));
      const part = wire.subarray(at, at + n);
      chunks.push(rand() < 0.3 ? new Uint8ArrayList(part.subarray(0, 1), part.subarray(1)) : part);
      at += n;
    }
    const reader = new FrameReader(chunks, 1 << 20);
    for (const [i, f] of frames.entries()) {
      const got = await reader.read();
      if (!Buffer.from(got).equals(Buffer.from(f))) {
        t.fail(`round ${round}, frame ${i}: ${got.length} bytes read, ${f.length} written (seed ${seed})`);
        return;
      }
    }
    await t.rejects(reader.read(), { code: 'FRAME_TRUNCATED', message: 'stream ended' }, `round ${round}: the end is reported`);
  }
});

t.test('bad input', async (t) => {
  // A limit of 200 allows two prefix bytes; 0x81 0x02 says 257.
  await t.rejects(new FrameReader([bytes(0x81, 0x02)], 200).read(), { code: 'FRAME_TOO_LARGE' }, 'a length over the limit, before any body arrives');
  // frameBytesMax 100 needs one prefix byte: a second continuation byte is malformed.
  await t.rejects(new FrameReader([bytes(0x80, 0x80, 0x01)], 100).read(), { code: 'FRAME_MALFORMED' }, 'a prefix longer than the limit needs');
  await t.rejects(new FrameReader([bytes(0xff, 0xff, 0xff, 0xff, 0x7f)], 1 << 20).read(), { code: 'FRAME_MALFORMED' }, 'a huge varint');
  await t.rejects(new FrameReader([bytes(5, 1, 2)], 100).read(), { code: 'FRAME_TRUNCATED', message: 'stream ended inside a frame' }, 'ends inside a body');
  await t.rejects(new FrameReader([bytes(0x81)], 1_000).read(), { code: 'FRAME_TRUNCATED' }, 'ends inside a prefix');
  await t.rejects(new FrameReader([], 100).read(), { code: 'FRAME_TRUNCATED', message: 'stream ended' }, 'empty stream');
  const failing = (async function* () {
    yield bytes(3, 1);
    throw new Error('connection reset');
  })();
  await t.rejects(new FrameReader(failing, 100).read(), { code: 'FRAME_TRUNCATED', message: /connection reset/ }, 'source failure');
  t.same(await new FrameReader([bytes(0)], 100).read(), new Uint8Array(0), 'an empty frame is a frame (the codec refuses it)');
});

t.test('a read that gives up loses no bytes: the next read gets them', async (t) => {
  const source = pushable<Uint8Array>();
  const reader = new FrameReader(source, 100);
  const ac = new AbortController();
  const first = reader.read(ac.signal);
  ac.abort(new Error('deadline'));
  await t.rejects(first, { message: 'deadline' }, 'the aborted read rejects with the reason');
  source.push(bytes(2, 9));
  source.push(bytes(8, 1, 7));
  t.same(await reader.read(), bytes(9, 8), 'the chunk asked for by the aborted read is not lost');
  t.same(await reader.read(), bytes(7), 'the next frame follows');
  await t.rejects(reader.read(AbortSignal.abort(new Error('already'))), { message: 'already' }, 'an aborted signal rejects at once');
  source.end();
  await t.rejects(reader.read(), { code: 'FRAME_TRUNCATED' });
});

t.test('frames already buffered are read without waiting for the source', async (t) => {
  const source = pushable<Uint8Array>();
  const reader = new FrameReader(source, 100);
  source.push(Buffer.concat([lengthPrefixed(bytes(1)), lengthPrefixed(bytes(2)), lengthPrefixed(bytes(3))]));
  t.same(await reader.read(), bytes(1));
  // The source has nothing more: these reads can only finish from the buffer.
  t.same(await reader.read(), bytes(2));
  t.same(await reader.read(), bytes(3));
  source.end();
});
