// Replication benchmark (prints figures; not a test): 3 controllers in separate processes on
// loopback, 1 KiB resources.
//   - sustained durable writes/s with writers on all three (64 concurrent writers in all);
//   - replication lag, write acknowledged on A -> visible on B and C, p50 / p99 at 1,000 writes/s;
//   - burst (BENCH_PARTS=burst): 100,000 writes on one controller as fast as it takes them (64 at a
//     time; BENCH_BURST_WRITES to change), then the time from the burst's end until all three hold
//     equal Merkle roots. The burst overflows the 10,000-record push queues, and the overflow's
//     anti-entropy catches the others up (target: equal within 2 s of the burst's end). It prints
//     the overflows: on a slow machine the burst may not outpace push; BENCH_PUSH_QUEUE_MAX=1000
//     makes it overflow there too.
//   npm run bench:replication        (anti-entropy figures: npm run bench:anti-entropy)
//   BENCH_PARTS=load,lag,burst picks the parts (default load,lag).
//   BENCH_DURABILITY=quorum: the sustained load's writes wait for a majority (default local).
//   BENCH_SMOKE=1: every part (load, lag, burst) at small sizes, in a few seconds (bench/smoke.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { benchMembership, benchPki, BenchProcs, machineCpu, percentile } from './bench-cluster.ts';
import { envNumber, envString, shortfall, smoke } from './smoke.ts';

const seconds = envNumber('BENCH_SECONDS', 5, 0.5);
const parts = new Set(envString('BENCH_PARTS', 'load,lag', 'load,lag,burst').split(','));
// BENCH_DATA_DIR=/dev/shm puts the stores in memory: it shows what the three controllers do when they
// do not share one disk's fsyncs (they would not, on three machines).
const dir = mkdtempSync(join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'novaedge-bench-repl-'));
const names = ['us-west', 'eu-west', 'ap-east'];
const pki = await benchPki(dir, 'bench', names);
const procs = new BenchProcs();
// A smoke run's burst is small: a small push queue makes it overflow all the same, so the repair
// by anti-entropy that the burst part is about runs too.
const childEnv = smoke && process.env.BENCH_PUSH_QUEUE_MAX === undefined ? { BENCH_PUSH_QUEUE_MAX: '100' } : {};
await Promise.all(pki.members.map((m) => procs.start(m.name, './controller-process.ts', dir, {
  membership: benchMembership(pki, m, pki.members.filter((o) => o !== m).map((o) => o.addr)),
  replication: { dataDir: join(dir, m.name), controllers: names, sync: { compression: false } },
}, childEnv)));
const ask = (name: string, msg: { cmd: string; [k: string]: unknown }): Promise<any> => procs.ask(name, msg);
await procs.until('controllers connected', async () => (await Promise.all(names.map((n) => ask(n, { cmd: 'peers' })))).every((u) => u.up === 2), 20_000);

// Throughput: 64 writers in all, spread over the three controllers. "Sustained" is the steady state:
// the first seconds of a fresh process go largely to the JIT (a quarter of all CPU in a 5 s run
// from cold), so a warm-up run with the same writers on other keys comes first and is not counted.
const warmSeconds = envNumber('BENCH_WARMUP_SECONDS', 5, 0.2);
// BENCH_DURABILITY=quorum: the load's writes wait for a majority (default local: durable on their controller).
const durability = envString('BENCH_DURABILITY', 'local', 'local');
if (durability !== 'local' && durability !== 'quorum') throw new Error(`BENCH_DURABILITY must be local or quorum, not ${durability}`);
const load = (prefix: string, ms: number): Promise<any[]> => Promise.all(names.map((n, i) => ask(n, { cmd: 'load', writers: i === 0 ? 22 : 21, ms, prefix: `${prefix}-${n}`, durability })));
const skipLoad = process.env.BENCH_SKIP_LOAD === '1' || !parts.has('load');
if (!skipLoad && warmSeconds > 0) await load('warm', warmSeconds * 1000);
const loadCpu = machineCpu();
const loads = skipLoad ? [] : await load('load', seconds * 1000);
const total = loads.reduce((s, l) => s + l.writes, 0);
const secs = Math.max(...loads.map((l) => l.seconds));
if (loads.length > 0) console.log(`sustained durable writes/s, 3 controllers, 64 writers, ${durability} durability: ${(total / secs).toFixed(0)}  (${loads.map((l, i) => `${names[i]} ${l.writes}`).join(', ')}; ${loads.map((l) => l.recordsPerBatch.toFixed(1)).join('/')} records per push batch; target >= 5,000)`);
if (loads.length > 0) {
  console.log(`  per process: ${loads.map((l, i) => `${names[i]} ${l.syncedBatches} synced batches at ${l.msPerSyncedBatch.toFixed(1)} ms, CPU ${l.cpuSeconds.toFixed(1)} s, ${(100 * l.sentEarly / Math.max(1, l.writes)).toFixed(0)}% of its writes sent before durable`).join('; ')}`);
  // CPU per write varies less than writes/s when the host is busy: the figure to compare changes by.
  console.log(`  CPU per 1,000 writes, three processes together: ${(loads.reduce((c, l) => c + l.cpuSeconds, 0) * 1e6 / total).toFixed(0)} ms; ${loadCpu() ?? ''}`);
}

// Lag at 1,000 writes/s from us-west: acknowledged there -> visible on eu-west and ap-east. Measured
// once the throughput run has drained (every controller holds the same records and its event loop is
// idle): the backlog of relays and batches it leaves would otherwise be counted as lag.
const roots = async (): Promise<Array<{ size: number; root: string }>> => Promise.all(names.map((n) => ask(n, { cmd: 'root' })));
await procs.until('controllers identical', async () => new Set((await roots()).map((r) => r.root)).size === 1, 60_000);
console.log(`  ${await procs.quiet(names)}`);
if (parts.has('lag')) await lagPart();
if (parts.has('burst')) await burstPart();
await procs.stopAll();
rmSync(dir, { recursive: true, force: true });

async function lagPart(): Promise<void> {
const rate = envNumber('BENCH_RATE', 1000, 100);
const count = rate * seconds;
await Promise.all(names.slice(1).map((n) => ask(n, { cmd: 'watch', prefix: 'lag' })));
const busyOf = async (): Promise<Array<{ utilization: number; cpuMs: number; syncedBatches: number }>> => Promise.all(names.map((n) => ask(n, { cmd: 'busy' })));
const busy0 = await busyOf();
const lagCpu = machineCpu();
const { acks } = await ask(names[0]!, { cmd: 'rate', perSecond: rate, count, prefix: 'lag' });
const lagBusy = await busyOf();
const lagMachine = lagCpu();
const ackAt = new Map<string, number>(acks);
const settle = Date.now() + 10_000;
let seenAll: Array<Map<string, number>> = [];
let replies: any[] = [];
while (Date.now() < settle) {
  replies = await Promise.all(names.slice(1).map((n) => ask(n, { cmd: 'seen' })));
  seenAll = replies.map((s) => new Map<string, number>(s.seen));
  if (seenAll.every((s) => s.size >= count)) break;
  await new Promise((r) => setTimeout(r, 200));
}
shortfall(seenAll.length === names.length - 1 && seenAll.every((s) => s.size >= count), `lag: not every write seen on every peer (${seenAll.map((s) => s.size).join('/')} of ${count})`);
const pct = percentile;
for (const [i, seen] of seenAll.entries()) {
  const lags = [...ackAt].filter(([k]) => seen.has(k)).map(([k, t]) => Math.max(0, seen.get(k)! - t)).sort((a, b) => a - b);
  console.log(`lag us-west -> ${names[i + 1]} at ${rate} writes/s: p50 ${pct(lags, 50).toFixed(1)} ms, p99 ${pct(lags, 99).toFixed(1)} ms, max ${lags[lags.length - 1]!.toFixed(1)} ms` +
    ` (${lags.length}/${count} seen; target p99 <= 10 ms; its event loop stalled up to ${replies[i].loopDelayMaxMs.toFixed(0)} ms, p99 ${replies[i].loopDelayP99Ms.toFixed(1)} ms)`);
}

// What the rate cost each process, to tell queueing on a busy machine from per-write work.
console.log(`  during the ${rate} writes/s: event loops busy ${lagBusy.map((b) => `${(b.utilization * 100).toFixed(0)}%`).join('/')}, ` +
  `CPU per write ${lagBusy.map((b, i) => `${((b.cpuMs - busy0[i]!.cpuMs) * 1000 / count).toFixed(0)}`).join('/')} us, ` +
  `writes per synced batch ${lagBusy.map((b, i) => (count / Math.max(1, b.syncedBatches - busy0[i]!.syncedBatches)).toFixed(1)).join('/')}; ${lagMachine ?? ''}`);
}

// A burst on us-west; then how long until eu-west and ap-east hold what it holds.
async function burstPart(): Promise<void> {
  const writes = envNumber('BENCH_BURST_WRITES', 100_000, 500);
  const repl0 = (await ask(names[0]!, { cmd: 'replication' })).peers as Array<{ member: string; overflows: number; antiEntropyRuns: number }>;
  const fill = await ask(names[0]!, { cmd: 'fill', count: writes, concurrency: 64, prefix: 'burst' });
  const endMs = performance.now();
  const atEnd = await roots();
  const repl = (await ask(names[0]!, { cmd: 'replication' })).peers as Array<{ member: string; overflows: number; lagMs: number; antiEntropyRuns: number }>;
  let last = atEnd;
  const deadlineMs = endMs + envNumber('BENCH_BURST_WAIT_SECONDS', 600, 20) * 1000;
  while (new Set(last.map((r) => r.root)).size > 1 && performance.now() < deadlineMs) {
    await new Promise((r) => setTimeout(r, 20));
    last = await roots();
  }
  const equal = new Set(last.map((r) => r.root)).size === 1;
  const afterS = (performance.now() - endMs) / 1000;
  console.log(`burst of ${writes} writes on ${names[0]}: ${fill.seconds.toFixed(1)} s (${(writes / fill.seconds).toFixed(0)} writes/s); ` +
    `records held at its end ${atEnd.map((r, i) => `${names[i]} ${r.size}`).join(', ')}; ` +
    (equal ? `Merkle roots equal ${afterS.toFixed(2)} s after the burst's end` : `roots NOT equal ${afterS.toFixed(0)} s after (${last.map((r, i) => `${names[i]} ${r.size}`).join(', ')})`) +
    ' (target <= 2 s)');
  shortfall(equal, `burst: Merkle roots not equal ${afterS.toFixed(0)} s after the burst`);
  console.log(`  at the burst's end, ${names[0]} to each peer: ${repl.map((p, i) => `${p.member} ${p.overflows - repl0[i]!.overflows} push-queue overflows, ` +
    `${p.antiEntropyRuns - repl0[i]!.antiEntropyRuns} anti-entropy runs, sync lag ${(p.lagMs / 1000).toFixed(1)} s`).join('; ')}`);
  // What the repair cost: the overflow's anti-entropy moves records 100 (antiEntropy.batchSize) per round trip.
  const after = (await ask(names[0]!, { cmd: 'replication' })).peers as Array<{ member: string; antiEntropyRuns: number; lastAntiEntropy?: { durationMs: number; differingKeys: number; roundTrips: number } }>;
  console.log(`  when equal: ${after.map((p, i) => `${p.member} ${p.antiEntropyRuns - repl0[i]!.antiEntropyRuns} anti-entropy runs` +
    (p.lastAntiEntropy === undefined ? '' : `, the last ${p.lastAntiEntropy.differingKeys} differing records in ${(p.lastAntiEntropy.durationMs / 1000).toFixed(1)} s, ${p.lastAntiEntropy.roundTrips} round trips`)).join('; ')}`);
}
