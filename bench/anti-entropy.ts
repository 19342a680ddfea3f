// Anti-entropy benchmark (prints figures; not a test): two stores of N = 100,000 1 KiB resources
// that differ in d = 10 / 100 / 1,000 records, repaired by one bidirectional session of the real
// protocol code over an in-memory duplex. Prints bytes on the wire, round trips and time next to the
// size of a full copy and the target (bytes <= 2 x differing records + 64 KiB; d = 100 in < 1 s).
//   npm run bench:anti-entropy            BENCH_AE_N=20000 for a quicker run
//   BENCH_SMOKE=1: N = 1,000, d = 10 / 100 (bench/smoke.ts).
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { duplexPair } from 'it-pair/duplex';
import { encodeRecord, Store } from '../storage/index.ts';
import { fullCopyBytes, runAntiEntropy } from '../node/replication/anti-entropy-client.ts';
import { DEFAULT_ANTI_ENTROPY_LIMITS } from '../node/replication/anti-entropy-messages.ts';
import { serveAntiEntropy } from '../node/replication/anti-entropy-server.ts';
import { MessageStream } from '../node/wire/message-stream.ts';
import { REAL_TIMERS } from '../node/host/timer-components.ts';
import { envNumber, sized } from './smoke.ts';

const N = envNumber('BENCH_AE_N', 100_000, 1_000);
const differences = sized([10, 100, 1000], [10, 100]);
const dir = mkdtempSync(join(tmpdir(), 'novaedge-bench-ae-'));

function resource(i: number, rev = 0): object {
  return { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: `route-${i}`, namespace: 'default' },
    spec: { hostnames: [`h${i}.example.com`], rules: [{ path: '/', backend: `svc-${i}` }], rev, pad: 'x'.repeat(800) } };
}

const base = join(dir, 'base');
{
  const s = await Store.open({ path: base, member: 'a', strategy: 'LastWriterWins' });
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: 256 }, async () => { while (next < N) await s.apply(resource(next++)); }));
  console.log(`filled ${N} resources in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  await s.close();
}

for (const d of differences) {
  const pa = join(dir, `a-${d}`);
  const pb = join(dir, `b-${d}`);
  cpSync(base, pa, { recursive: true });
  cpSync(base, pb, { recursive: true });
  const a = await Store.open({ path: pa, member: 'a', strategy: 'LastWriterWins' });
  const b = await Store.open({ path: pb, member: 'b', strategy: 'LastWriterWins' });
  // Half the differences are newer on a, half on b.
  const changed: string[] = [];
  for (let i = 0; i < d; i++) {
    const s = i % 2 === 0 ? a : b;
    changed.push((await s.apply(resource(i * Math.floor(N / d), 1))).view.key);
  }
  const diffBytes = (await a.getRecords(changed)).reduce((n, r) => n + encodeRecord(r!).length, 0);
  const full = await fullCopyBytes(a);
  const [x, y] = duplexPair<any>();
  const opts = { frameBytesMax: 8 << 20, messageBytesMax: 64 << 20, ioTimeoutMs: 30_000, compress: false, timers: REAL_TIMERS };
  const served = serveAntiEntropy(new MessageStream(y, opts), a, { limits: DEFAULT_ANTI_ENTROPY_LIMITS, allowPut: true, requestsMax: 1_000_000 });
  const report = await runAntiEntropy(new MessageStream(x, opts), b, { repairMode: 'bidirectional', batchSize: 100, limits: DEFAULT_ANTI_ENTROPY_LIMITS, timers: REAL_TIMERS });
  await served;
  if (a.merkle.root() !== b.merkle.root()) throw new Error('stores differ after the session');
  const bytes = report.bytesSent + report.bytesReceived;
  const target = 2 * diffBytes + 64 * 1024;
  console.log(`d=${String(d).padStart(4)}: ${bytes} bytes on the wire (target <= ${target}: ${bytes <= target ? 'met' : 'MISSED'}), ` +
    `${report.roundTrips} round trips, ${report.durationMs.toFixed(0)} ms; differing records ${diffBytes} bytes; full copy ${full} bytes (${(100 * bytes / full).toFixed(2)}%)`);
  await a.close();
  await b.close();
}
rmSync(dir, { recursive: true, force: true });
