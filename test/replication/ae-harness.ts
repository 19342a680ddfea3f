// In-process anti-entropy: client and server on the two ends of an it-pair duplex, same code path as
// over libp2p streams.
import { duplexPair } from 'it-pair/duplex';
import type { Store } from '../../storage/index.ts';
import { DEFAULT_ANTI_ENTROPY_LIMITS } from '../../node/replication/anti-entropy-messages.ts';
import { runAntiEntropy, type AntiEntropyReport, type RepairMode } from '../../node/replication/anti-entropy-client.ts';
import { serveAntiEntropy, type ServeReport } from '../../node/replication/anti-entropy-server.ts';
import { MessageStream, type MessageStreamOptions } from '../../node/wire/message-stream.ts';
import { TEST_TIMERS } from '../helpers/test-timers.ts';

export const STREAM_OPTS: MessageStreamOptions = { frameBytesMax: 8 << 20, messageBytesMax: 64 << 20, ioTimeoutMs: 5000, compress: false, timers: TEST_TIMERS };

export async function syncPair(client: Store, server: Store, repairMode: RepairMode, extra: { allowPut?: boolean; batchSize?: number; compress?: boolean } = {}):
  Promise<{ client: AntiEntropyReport; server: ServeReport }> {
  const [a, b] = duplexPair<any>();
  const opts = { ...STREAM_OPTS, compress: extra.compress ?? false };
  const cs = new MessageStream(a, opts);
  const ss = new MessageStream(b, opts);
  const served = serveAntiEntropy(ss, server, { limits: DEFAULT_ANTI_ENTROPY_LIMITS, allowPut: extra.allowPut ?? true, requestsMax: 100_000 });
  const ran = runAntiEntropy(cs, client, { repairMode, batchSize: extra.batchSize ?? 100, limits: DEFAULT_ANTI_ENTROPY_LIMITS, timers: TEST_TIMERS });
  const [c, s] = await Promise.all([ran, served]);
  return { client: c, server: s };
}
