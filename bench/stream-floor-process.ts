// The floor of bench/agent-cost.ts, in its own process: a bare libp2p host with the transport stack
// of a NovaEdge host (TCP, Noise with the same cached-key cipher, yamux with the same batched window
// updates: node/host/create-host.ts) and nothing else, driven over the IPC channel. One process
// listens, the other dials it and opens one stream; the dialer then writes length-prefixed messages
// of a given size as MessageStream.writeFrame does (one byte-stream write of the framed payload per
// message) and the listener reads them with the agents' FrameReader, parsing nothing. The CPU each
// process spends per message is what moving those bytes costs at the least.
// argv[2]: a JSON file with {} (no configuration; BenchProcs writes one for every process).
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { Stream } from '@libp2p/interface';
import { tcp } from '@libp2p/tcp';
import { multiaddr } from '@multiformats/multiaddr';
import { byteStream } from 'it-byte-stream';
import { createLibp2p } from 'libp2p';
import { cachedKeyNoiseCrypto } from '../node/host/noise-crypto.ts';
import { generateEd25519Key } from '../node/identity/keys.ts';
import { batchWindowUpdates } from '../node/host/yamux-window-updates.ts';
import { FrameReader, lengthPrefixed } from '../node/wire/frame-reader.ts';
import { serveBenchCommands } from './bench-cluster.ts';

const PROTOCOL = '/novaedge-bench/stream-floor/1.0.0';
/** Largest message the listener accepts, bytes (a config-stream frame is far smaller). */
const FRAME_BYTES_MAX = 4 * 1024 * 1024;

const send = (m: unknown): void => { process.send!(m); };
batchWindowUpdates();
const libp2p = await createLibp2p({
  privateKey: await generateEd25519Key(),
  addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
  transports: [tcp()],
  connectionEncrypters: [noise({ crypto: cachedKeyNoiseCrypto })],
  streamMuxers: [yamux()],
  connectionMonitor: { enabled: false },
});

let received = 0;
let receivedBytes = 0;
let outbound: { stream: Stream; bytes: ReturnType<typeof byteStream> } | undefined;
await libp2p.handle(PROTOCOL, ({ stream }) => {
  void (async () => {
    const reader = new FrameReader(stream.source, FRAME_BYTES_MAX);
    try {
      for (;;) {
        const frame = await reader.read();
        received++;
        receivedBytes += frame.length;
      }
    } catch {
      // The stream ended (the dialer stopped).
    }
  })();
});

serveBenchCommands({
  address: () => ({ addr: libp2p.getMultiaddrs()[0]!.toString() }),
  dial: async (m) => {
    const stream = await libp2p.dialProtocol(multiaddr(m.addr), PROTOCOL);
    outbound = { stream, bytes: byteStream(stream) };
  },
  send: async (m) => {
    // `count` messages of `payload` (base64: a real config-stream frame) in bursts of `burst`,
    // `perSecond` bursts a second on schedule: the controller writes one frame to each of its
    // agents' streams per change, so a burst of A messages per write is the same pattern of
    // work and wake-ups on one stream. Each message is its own write, as each frame is there.
    const o = outbound!;
    const payload = Buffer.from(m.payload, 'base64');
    const gapMs = 1000 / m.perSecond;
    const t0 = performance.now();
    for (let i = 0, tick = 0; i < m.count; tick++) {
      const wait = t0 + tick * gapMs - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      for (let k = 0; k < m.burst && i < m.count; k++, i++) await o.bytes.write(lengthPrefixed(payload));
    }
    return { seconds: (performance.now() - t0) / 1000 };
  },
  count: () => ({ n: received, bytes: receivedBytes }),
  stop: async () => {
    await outbound?.stream.close().catch(() => undefined);
    await libp2p.stop();
  },
});
send({ cmd: 'started' });
