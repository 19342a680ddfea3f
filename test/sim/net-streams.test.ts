// Connections and streams of the simulated network behave as node/ expects of libp2p's: dials by
// /memory multiaddr, connection events on both ends, protocol negotiation, lpStream frames both ways
// after the link's latency, node/wire's FrameReader, yamux-like flow control, limited connections,
// the connection gater both ways, and graceful close.
import t from 'tap';
import type { Connection, Stream } from '@libp2p/interface';
import { lpStream } from 'it-length-prefixed-stream';
import { byteStream } from 'it-byte-stream';
import { multiaddr } from '@multiformats/multiaddr';
import { FrameReader, lengthPrefixed } from '../../node/wire/frame-reader.ts';
import { drive, testWorld } from './net/test-world.ts';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | { subarray(): Uint8Array }): string => new TextDecoder().decode(b instanceof Uint8Array ? b : b.subarray());

// An echo handler: every lp frame back, then close.
function echo({ stream }: { stream: Stream }): void {
  const lp = lpStream(stream);
  void (async () => {
    for (;;) {
      let f;
      try {
        f = await lp.read();
      } catch {
        break;
      }
      await lp.write(f);
    }
    await stream.close();
  })().catch((e: unknown) => stream.abort(e as Error));
}

t.test('dial by /memory multiaddr: connection events on both ends, lpStream frames both ways after the latency', async (t) => {
  const w = await testWorld(11, ['a', 'b'], { net: { link: { latencyMinMs: 10, jitterMeanMs: 0 } } });
  const [a, b] = [w.h('a'), w.h('b')];
  await b.handle('/echo/1', echo);
  const opened: string[] = [];
  a.addEventListener('connection:open', (e) => opened.push(`a ${(e as CustomEvent<Connection>).detail.direction}`));
  b.addEventListener('connection:open', (e) => opened.push(`b ${(e as CustomEvent<Connection>).detail.direction}`));
  b.addEventListener('peer:connect', () => opened.push('b peer:connect'));
  t.match(b.getMultiaddrs().map(String), [`/memory/b/p2p/${b.peerId.toString()}`]);

  const t0 = w.s.nowMs();
  const conn = await drive(w.s, a.dial(b.getMultiaddrs()[0]!));
  t.equal(w.s.nowMs() - t0, 40, 'SYN, SYN-ACK, hello, accept: two round trips of 10 ms');
  t.equal(conn.remotePeer.toString(), b.peerId.toString());
  await w.s.runFor(20);
  t.same(opened, ['a outbound', 'b inbound', 'b peer:connect']);
  t.equal(await drive(w.s, a.dial(b.peerId)), conn, 'a second dial returns the open connection');

  const t1 = w.s.nowMs();
  const replies = await drive(w.s, (async () => {
    const stream = await a.dialProtocol(b.peerId, '/echo/1');
    const lp = lpStream(stream);
    const out: string[] = [];
    for (const m of ['one', 'two', 'three']) {
      await lp.write(enc(m));
      out.push(dec(await lp.read()));
    }
    await stream.close();
    return out;
  })());
  t.same(replies, ['one', 'two', 'three']);
  t.equal(w.s.nowMs() - t1, 80, 'negotiation and three echoes: four round trips');
});

t.test('node/wire FrameReader reads frames from a simulated stream; a slow reader stalls the writer (flow control)', async (t) => {
  const w = await testWorld(12, ['a', 'b']);
  const [a, b] = [w.h('a'), w.h('b')];
  let server: Stream | undefined;
  await b.handle('/bulk/1', ({ stream }) => { server = stream; });
  const stream = await drive(w.s, a.dialProtocol(b.getMultiaddrs()[0]!, '/bulk/1'));
  const payload = new Uint8Array(1024 * 1024).map((_, i) => i % 251);
  // A write resolves once the stream's sink took it; the next one waits for the sink to be done.
  let written = false;
  const bytes = byteStream(stream);
  void bytes.write(lengthPrefixed(payload)).then(() => bytes.write(enc('after'))).then(() => { written = true; });
  await w.s.runFor(1_000);
  t.notOk(written, 'a 1 MiB frame does not fit the 256 KiB window of a reader that does not read');
  const reader = new FrameReader(server!.source, 2 * 1024 * 1024);
  const frame = await drive(w.s, reader.read());
  t.equal(frame.byteLength, payload.byteLength);
  t.ok(frame.every((v, i) => v === payload[i]), 'every byte, in order');
  await w.s.runFor(10);
  t.ok(written, 'the writer finished once the reader read');
});

t.test('protocol negotiation: an unsupported protocol fails; lazily, its stream fails', async (t) => {
  const w = await testWorld(13, ['a', 'b']);
  const [a, b] = [w.h('a'), w.h('b')];
  const conn = await drive(w.s, a.dial(b.getMultiaddrs()[0]!));
  await t.rejects(drive(w.s, conn.newStream('/nope/1')), { name: 'UnsupportedProtocolError' });
  const lazy = await drive(w.s, conn.newStream('/nope/1', { negotiateFully: false }));
  t.equal(lazy.protocol, '/nope/1');
  await t.rejects(drive(w.s, lpStream(lazy).read()));
  t.equal(lazy.status, 'aborted');
});

t.test('a limited connection serves only runOnLimitedConnection handlers until its limits are lifted', async (t) => {
  const w = await testWorld(14, ['a', 'b']);
  const [a, b] = [w.h('a'), w.h('b')];
  await b.handle('/echo/1', echo);
  await b.handle('/auth/1', echo, { runOnLimitedConnection: true });
  // As the auth service does on connection:open (node/host/pre-auth-limits.ts).
  b.addEventListener('connection:open', (e) => {
    const c = (e as CustomEvent<Connection>).detail;
    if (c.direction === 'inbound') c.limits = { seconds: 5 };
  });
  const conn = await drive(w.s, a.dial(b.getMultiaddrs()[0]!));
  const roundTrip = async (protocol: string): Promise<string> => {
    const s = await conn.newStream(protocol);
    const lp = lpStream(s);
    await lp.write(enc('hi'));
    return dec(await lp.read());
  };
  await t.rejects(drive(w.s, roundTrip('/echo/1')), { name: 'UnexpectedEOFError' }, 'refused: the stream ends at once');
  t.equal(await drive(w.s, roundTrip('/auth/1')), 'hi', 'the auth protocol runs on a limited connection');
  const inbound = b.getConnections()[0]!;
  delete inbound.limits;
  t.equal(await drive(w.s, roundTrip('/echo/1')), 'hi', 'lifted: everything runs');
  inbound.limits = { seconds: 1 };
  await t.rejects(inbound.newStream('/echo/1'), { name: 'LimitedConnectionError' }, 'nor may it open streams without runOnLimitedConnection');
});

t.test('the connection gater is asked on both sides; dialing self fails', async (t) => {
  const w = await testWorld(15, ['a', 'b', 'c']);
  const [a, b, c] = [w.h('a'), w.h('b'), w.h('c')];
  w.denied.a!.add(b.peerId.toString());
  await t.rejects(drive(w.s, a.dial(b.getMultiaddrs()[0]!)), { name: 'DialDeniedError' }, 'a denies b: its dial fails before sending anything');
  w.denied.c!.add(b.peerId.toString());
  const closed: string[] = [];
  b.addEventListener('connection:close', () => closed.push('b close'));
  c.addEventListener('connection:open', () => closed.push('c open (wrong)'));
  await drive(w.s, b.dial(c.getMultiaddrs()[0]!)); // b's side opens on accept...
  await w.s.runFor(100);
  t.same(closed, ['b close'], '...and c, denying b inbound, resets it and never opens its end');
  t.equal(b.getConnections().length, 0);
  await t.rejects(drive(w.s, a.dial(a.getMultiaddrs()[0]!)), /dial self/i);
});

t.test('graceful close: the remote sees its streams end, then the connection close', async (t) => {
  const w = await testWorld(16, ['a', 'b']);
  const [a, b] = [w.h('a'), w.h('b')];
  let server: Stream | undefined;
  await b.handle('/x/1', ({ stream }) => { server = stream; });
  const stream = await drive(w.s, a.dialProtocol(b.getMultiaddrs()[0]!, '/x/1'));
  await drive(w.s, byteStream(stream).write(enc('last words')));
  const events: string[] = [];
  b.addEventListener('connection:close', () => events.push('b connection:close'));
  b.addEventListener('peer:disconnect', () => events.push('b peer:disconnect'));
  await drive(w.s, a.getConnections()[0]!.close());
  await w.s.runFor(10);
  const chunks: string[] = [];
  for await (const c of server!.source) chunks.push(dec(c));
  t.same(chunks, ['last words'], 'the remote read what was sent, then a clean end');
  t.same(events, ['b connection:close', 'b peer:disconnect']);
  t.equal(a.getConnections().length + b.getConnections().length, 0);
});

t.test('ping measures a virtual round trip; an inbound ping stream ends a timeout after its read began, as @libp2p/ping does', async (t) => {
  const w = await testWorld(17, ['a', 'b'], { net: { link: { latencyMinMs: 10, jitterMeanMs: 0 } } });
  const [a, b] = [w.h('a'), w.h('b')];
  await drive(w.s, a.dial(b.getMultiaddrs()[0]!));
  const rtt = await drive(w.s, a.services.ping.ping(b.peerId));
  t.equal(rtt, 40, 'protocol negotiation and one echo: two round trips of 20 ms');
  // A long-lived ping stream (node/agent/ping-channel.ts keeps one per controller).
  const stream = await drive(w.s, a.dialProtocol(b.peerId, '/ipfs/ping/1.0.0'));
  const bytes = byteStream(stream);
  const payload = new Uint8Array(32).fill(7);
  await drive(w.s, bytes.write(payload));
  t.same([...(await drive(w.s, bytes.read({ bytes: 32 }))).subarray()], [...payload]);
  await w.s.runFor(59_000);
  t.equal(stream.status, 'open');
  await w.s.runFor(2_000);
  t.not(stream.status, 'open', 'the server aborted it 60 s after the read began, though it was answered');
});

t.test('DNS-style addresses name nodes: a node listening on /dns4/<name>/tcp/<port> advertises and is dialed by it', async (t) => {
  const w = await testWorld(18, ['a', 'b'], { host: (n) => ({ listen: [`/dns4/${n}/tcp/9090`] }) });
  const [a, b] = [w.h('a'), w.h('b')];
  t.equal(b.getMultiaddrs()[0]?.toString(), `/dns4/b/tcp/9090/p2p/${b.peerId.toString()}`);
  const conn = await drive(w.s, a.dial(multiaddr(`/dns4/b/tcp/9090/p2p/${b.peerId.toString()}`)));
  t.equal(conn.remotePeer.toString(), b.peerId.toString());
  await t.rejects(drive(w.s, a.dial(multiaddr('/ip4/10.0.0.1/tcp/9090'))), /no transport/);
});
