// Bounds of received messages (node/wire/codec.ts, message-limits.ts): a decompression bomb is
// refused before it is inflated past its bound, each message type has its own cap, nothing is parsed
// before the size check, and what legitimate senders produce (compressed record batches, requests
// and acks at their protocol limits) is accepted.
import t from 'tap';
import { deflateRawSync } from 'node:zlib';
import { duplexPair } from 'it-pair/duplex';
import { encodeRecord, makeRecord } from '../../storage/index.ts';
import { decodeMessage, encodeJsonText, encodeMessage } from '../../node/wire/codec.ts';
import { lengthPrefixed } from '../../node/wire/frame-reader.ts';
import { INFLATE_RATIO_MAX, mergeCaps, type InboundCaps } from '../../node/wire/message-limits.ts';
import { MessageStream } from '../../node/wire/message-stream.ts';
import { TEST_TIMERS } from '../helpers/test-timers.ts';
import { antiEntropyRequestCaps, antiEntropyResponseCaps, DEFAULT_ANTI_ENTROPY_LIMITS } from '../../node/replication/anti-entropy-messages.ts';
import { CONFIG_STREAM_REQUEST_CAPS } from '../../node/replication/config-stream-messages.ts';
import { pushReceiverCaps, pushSenderCaps } from '../../node/replication/push-messages.ts';

const MiB = 1024 * 1024;
const FRAME_BYTES_MAX = 8 * MiB;
const DEFLATE = 1;

/** A frame of `text` deflated whatever the ratio (as a hostile sender would). */
function deflated(text: string): Uint8Array {
  return Buffer.concat([Buffer.of(DEFLATE), deflateRawSync(Buffer.from(text), { level: 9 })]);
}

/** A message of type `t` padded to about `bytes` bytes of JSON, of one repeated character. */
function padded(t: string, bytes: number): string {
  return `{"t":"${t}","pad":"${'a'.repeat(bytes)}"}`;
}

/** Records like the benchmarks' (a padded 1 KiB resource each), encoded as stored. */
function records(n: number, from = 0): string[] {
  return Array.from({ length: n }, (_, k) => {
    const i = from + k;
    const value = {
      apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: `route-${i}`, namespace: 'default' },
      spec: { hostnames: [`h${i}.example.com`], rules: [{ path: '/', backend: `svc-${i}` }], pad: 'x'.repeat(820) },
    };
    return encodeRecord(makeRecord(`ProxyRoute/default/route-${i}`, { 'us-west': i + 1 }, [{ counter: i + 1, hlc: { wallMs: 1_700_000_000_000 + i, logical: 0, member: 'us-west' }, value }]));
  });
}

t.test('a decompression bomb is refused, not inflated', async (t) => {
  // 8 MiB of JSON in about 8 KiB: a 1000x ratio, as the 61 KiB frame that inflated to 62 MiB.
  const bomb = deflated(padded('hello', 8 * MiB));
  t.ok(bomb.length < 16 * 1024, `the bomb is ${bomb.length} bytes on the wire`);
  // Even under a cap as large as the old 64 MiB messageBytesMax, the ratio bound refuses it.
  t.throws(() => decodeMessage(bomb, 64 * MiB), { code: 'FRAME_TOO_LARGE', message: new RegExp(`more than ${INFLATE_RATIO_MAX}x`) }, 'ratio bound');
  // A record-carrying type under its own cap (a frame's worth), still far past the ratio.
  const caps = pushReceiverCaps(FRAME_BYTES_MAX);
  t.throws(() => decodeMessage(deflated(padded('batch', 4 * MiB)), caps), { code: 'FRAME_TOO_LARGE' }, 'a batch bomb under the batch cap');
  // Within the ratio but past the largest message the stream accepts: refused at that cap.
  const small: InboundCaps = { messageBytesMax: 4096 };
  const text = JSON.stringify({ t: 'hello', words: Array.from({ length: 3000 }, (_, i) => `w${(i * 7919) % 10007}`) });
  const frame = deflated(text);
  t.ok(text.length / (frame.length - 1) < INFLATE_RATIO_MAX, `ratio ${(text.length / (frame.length - 1)).toFixed(1)}x is within the bound`);
  t.throws(() => decodeMessage(frame, small), { code: 'FRAME_TOO_LARGE', message: /largest message this stream accepts/ }, 'stream cap');
});

t.test('each message type has its own cap, checked before parsing', async (t) => {
  const caps: InboundCaps = { messageBytesMax: 1000, messageBytesMaxByType: { batch: 100_000, tiny: 50 } };
  for (const compress of [false, true]) {
    const enc = (m: string): Uint8Array => encodeJsonText(m, compress);
    const how = compress ? 'compressed' : 'plain';
    t.same(decodeMessage(enc(padded('batch', 50_000)), caps), { t: 'batch', pad: 'a'.repeat(50_000) }, `${how}: a batch under its cap`);
    t.throws(() => decodeMessage(enc(padded('batch', 120_000)), caps), { code: 'FRAME_TOO_LARGE' }, `${how}: a batch over its cap`);
    t.throws(() => decodeMessage(enc(padded('hello', 5_000)), caps), { code: 'FRAME_TOO_LARGE', message: /"hello" message/ }, `${how}: a hello the size of a batch`);
    t.throws(() => decodeMessage(enc(padded('tiny', 100)), caps), { code: 'FRAME_TOO_LARGE' }, `${how}: a type capped below the default`);
    t.throws(() => decodeMessage(enc(`{"pad":"${'a'.repeat(5_000)}","t":"batch"}`), caps), { code: 'FRAME_TOO_LARGE', message: /untyped/ }, `${how}: a type not written first counts as untyped`);
    for (const sneaky of ['constructor', '__proto__', 'toString']) {
      t.throws(() => decodeMessage(enc(padded(sneaky, 5_000)), caps), { code: 'FRAME_TOO_LARGE' }, `${how}: type ${sneaky} gets the default cap`);
    }
  }
  // Not JSON is still malformed, once within its cap; over its cap it is refused before parsing.
  t.throws(() => decodeMessage(Uint8Array.of(0, 123, 34), caps), { code: 'FRAME_MALFORMED' });
  t.throws(() => decodeMessage(Buffer.concat([Buffer.of(0), Buffer.from(`{"t":"hello","x":[${'1,'.repeat(3000)}`)]), caps), { code: 'FRAME_TOO_LARGE' });
});

t.test('what legitimate senders produce is accepted', async (t) => {
  // A push batch as a pusher cuts it: records up to half a frame, 1,000 offers of long keys; compressed.
  const recs: string[] = [];
  let bytes = 0;
  for (let i = 0; bytes < FRAME_BYTES_MAX / 2 - 2000; i++) {
    const r = records(1, i)[0]!;
    recs.push(r);
    bytes += r.length;
  }
  const have = Array.from({ length: 1000 }, (_, i) => [`ProxyRoute/default/${'n'.repeat(560)}${i}`, 'f'.repeat(64)]);
  const batch = `{"t":"batch","id":7,"have":${JSON.stringify(have)},"records":[${recs.join(',')}]}`;
  const frame = encodeJsonText(batch, true);
  t.equal(frame[0], DEFLATE, `sent compressed (${(batch.length / frame.length).toFixed(1)}x)`);
  t.ok(frame.length <= FRAME_BYTES_MAX, 'within the frame limit');
  const got = decodeMessage(frame, pushReceiverCaps(FRAME_BYTES_MAX)) as { records: unknown[]; have: unknown[] };
  t.equal(got.records.length, recs.length, `a ${(batch.length / MiB).toFixed(1)} MiB batch of ${recs.length} records decodes`);
  // The same through the union of what controllers' streams receive.
  const union = mergeCaps(pushReceiverCaps(FRAME_BYTES_MAX), pushSenderCaps(1000), antiEntropyRequestCaps(DEFAULT_ANTI_ENTROPY_LIMITS, FRAME_BYTES_MAX), antiEntropyResponseCaps(DEFAULT_ANTI_ENTROPY_LIMITS, FRAME_BYTES_MAX));
  t.doesNotThrow(() => decodeMessage(frame, union), 'and under the controllers\' union of caps');

  // Requests and acks at their protocol limits: the longest keys (571 characters), the most of them.
  const L = DEFAULT_ANTI_ENTROPY_LIMITS;
  const longKey = (i: number): string => `${'K'.repeat(63)}/${'n'.repeat(253)}/${'m'.repeat(249)}${String(i).padStart(4, '0')}`;
  const keys = Array.from({ length: L.keysPerRequestMax }, (_, i) => longKey(i));
  const nodes = Array.from({ length: L.nodesPerRequestMax }, (_, i) => 16 ** 6 - 1 - i);
  const requests = antiEntropyRequestCaps(L);
  for (const m of [{ t: 'get', keys }, { t: 'leaves', nodes }, { t: 'children', level: 5, nodes }, { t: 'scan', after: longKey(0), limit: 1000 }]) {
    t.doesNotThrow(() => decodeMessage(encodeMessage(m, false), requests), `an anti-entropy ${m.t} request at its limit`);
  }
  const ack = { t: 'ack', id: Number.MAX_SAFE_INTEGER, refused: Array.from({ length: 1000 }, (_, i) => [i, 'invalid_system_record']), want: keys };
  t.doesNotThrow(() => decodeMessage(encodeMessage(ack, false), pushSenderCaps(1000)), 'an ack refusing and wanting 1,000 records');
  const hashes = Buffer.alloc(L.nodesPerRequestMax * 16 * 8, 0xab).toString('base64');
  t.doesNotThrow(() => decodeMessage(encodeMessage({ t: 'children', hashes }, false), antiEntropyResponseCaps(L, FRAME_BYTES_MAX)), 'children hashes of the most nodes');
  t.doesNotThrow(() => decodeMessage(encodeMessage({ t: 'subscribe', v: 1 }, true), CONFIG_STREAM_REQUEST_CAPS), 'a subscription');

  // Agents may only read: their anti-entropy streams cap a put like any small message.
  t.throws(() => decodeMessage(encodeJsonText(`{"t":"put","records":[${records(10).join(',')}]}`, true), requests), { code: 'FRAME_TOO_LARGE' }, 'a put from an agent');
  t.doesNotThrow(() => decodeMessage(encodeJsonText(`{"t":"put","records":[${records(10).join(',')}]}`, true), antiEntropyRequestCaps(L, FRAME_BYTES_MAX)), 'a put from a controller');
});

t.test('senders never compress past the ratio bound: such a frame goes plain and is accepted', async (t) => {
  const text = `{"t":"records","records":[${records(3).join(',')}],"pad":"${' '.repeat(MiB)}"}`;
  const frame = encodeJsonText(text, true);
  t.equal(frame[0], 0, 'sent plain');
  t.equal(frame.length, text.length + 1);
  t.doesNotThrow(() => decodeMessage(frame, { messageBytesMax: 64, messageBytesMaxByType: { records: 2 * MiB } }));
  // Ordinary batches still compress.
  t.equal(encodeJsonText(`{"t":"records","records":[${records(100).join(',')}]}`, true)[0], DEFLATE, 'a batch of 100 records is compressed');
});

t.test('mergeCaps admits what any part admits', async (t) => {
  const merged = mergeCaps({ messageBytesMax: 100, messageBytesMaxByType: { a: 10, b: 1000 } }, { messageBytesMax: 50, messageBytesMaxByType: { c: 500 } });
  t.same(merged, { messageBytesMax: 100, messageBytesMaxByType: { a: 50, b: 1000, c: 500 } });
});

t.test('a stream refuses a frame longer than its largest message at the length prefix', async (t) => {
  // Only the prefix of a 10,000-byte frame arrives, then nothing: a config-stream request is small,
  // so the read fails at once, without waiting for (or buffering) the body.
  const prefix = lengthPrefixed(new Uint8Array(10_000)).subarray(0, 2);
  const [a, b] = duplexPair<Uint8Array>();
  const s = new MessageStream(b, { frameBytesMax: FRAME_BYTES_MAX, ...CONFIG_STREAM_REQUEST_CAPS, ioTimeoutMs: 2_000, compress: false, timers: TEST_TIMERS });
  void a.sink((async function* () { yield prefix; await new Promise(() => undefined); })());
  await t.rejects(s.read(), { code: 'FRAME_TOO_LARGE' });
});
