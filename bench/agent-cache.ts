// The agent's file copy under sustained change (prints figures; asserts nothing): agent CPU and bytes
// written per second with BENCH_RESOURCES resources held and BENCH_RATE changes/s, in one run:
//   1. the changes alone (the replica's writes, its watch; no copy): the baseline;
//   2. full rewrite: every write a whole snapshot, as the copy was kept before its journal (the same
//      writer, coalescing and pacing, with appends refused);
//   3. journal: each write appends the changed records; a snapshot only when the journal outgrows it.
// Each mode starts with its copy written (its first write is a snapshot, not measured), then runs
// BENCH_SECONDS of changes (the full rewrite: whole write cycles, BENCH_FULL_WRITES of them, as its
// writes are paced); CPU is this process's (process.cpuUsage), bytes the writer's count. The
// baseline runs before and after. A journal's snapshots come once per journalBytesMax(snapshot) of
// entries, far apart at this rate, so their share is computed from the measured cost of a snapshot
// and printed apart ("amortized"). The last line puts the copy's own cost side by side: writes per
// second times the CPU of one write measured alone (a snapshot; an append of one window's changes),
// since the differences of whole-process CPU to the baseline carry the machine's noise.
//
//   npm run bench:agent-cache      (about 95 s; BENCH_RESOURCES=100000 BENCH_RATE=100 BENCH_SECONDS=12 BENCH_FULL_WRITES=2)
//   BENCH_SMOKE=1 npm run bench:agent-cache      (a few seconds: figures mean nothing)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Store } from '../storage/index.ts';
import { CacheFiles, journalBytesMax } from '../node/agent/cache-journal.ts';
import { CacheWriter, type CacheSink } from '../node/agent/cache-writer.ts';
import { REAL_TIMERS } from '../node/host/timer-components.ts';
import { systemWallClock } from '../node/util/clock.ts';
import { machineCpu } from './bench-cluster.ts';
import { envNumber, shortfall } from './smoke.ts';

const resources = envNumber('BENCH_RESOURCES', 100_000, 2_000);
const rate = envNumber('BENCH_RATE', 100, 100);
const seconds = envNumber('BENCH_SECONDS', 12, 2);
// The agent's default (autonomousMode.writeCoalesceMs).
const coalesceMs = envNumber('BENCH_COALESCE_MS', 1_000, 200);
const PAGE_MAX = 1_000;

// About 500 bytes once stored: a route with a few hosts and rules.
function resource(i: number, version: number): object {
  return {
    apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: `route-${i}`, namespace: 'default' },
    spec: { hostnames: [`h${i}.example.com`, `www.h${i}.example.com`], rules: [{ path: '/', backend: `svc-${i}`, port: 8080 }, { path: '/api', backend: `api-${i}`, port: 9090 }], version },
  };
}

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const mb = (bytes: number): string => `${fmt(bytes / 1e6, 1)} MB`;
const kb = (bytes: number): string => `${fmt(bytes / 1e3, 1)} KB`;
const signed = (n: number, digits = 1): string => `${n < 0 ? '' : '+'}${fmt(n, digits)}`;

const dir = mkdtempSync(join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'novaedge-bench-agent-cache-'));
const store = await Store.open({ path: join(dir, 'store'), member: 'bench', strategy: 'LastWriterWins' });
const fillStart = performance.now();
let next = 0;
await Promise.all(Array.from({ length: 256 }, async () => {
  while (next < resources) {
    const i = next++;
    await store.apply(resource(i, 0));
  }
}));
console.log(`agent-cache: ${fmt(resources)} resources held (filled in ${fmt((performance.now() - fillStart) / 1000, 1)} s), ${rate} changes/s, ${seconds} s per mode`);

// Seeded: the same keys change in every mode.
let seed = 0x2f6e2b1;
const randomKey = (): number => {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed % resources;
};
let version = 0;

// BENCH_RATE changes/s on the replica, for BENCH_SECONDS or until `until` holds; a writer (if any)
// hears of each change from the replica's watch, as the agent's does.
async function run(writer: CacheWriter | undefined, o: { seconds: number; until?: () => boolean }): Promise<{ cpuMs: number; changes: number; wallS: number }> {
  const stop = new AbortController();
  const following = (async () => {
    try {
      for await (const e of store.watch({ signal: stop.signal })) writer?.schedule(e.record.key);
    } catch {
      // The watch ends with the run.
    }
  })();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let changes = 0;
  while (performance.now() - t0 < o.seconds * 1000 && o.until?.() !== true) {
    const due = Math.floor(((performance.now() - t0) / 1000) * rate);
    const writes: Array<Promise<unknown>> = [];
    while (changes < due) {
      writes.push(store.apply(resource(randomKey(), ++version)));
      changes++;
    }
    await Promise.all(writes);
    await new Promise((r) => setTimeout(r, 5));
  }
  const cpu = process.cpuUsage(cpu0);
  const wallS = (performance.now() - t0) / 1000;
  stop.abort();
  await following;
  return { cpuMs: (cpu.user + cpu.system) / 1000, changes, wallS };
}

const cpuMsOf = async (fn: () => Promise<unknown>): Promise<number> => {
  const cpu0 = process.cpuUsage();
  await fn();
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / 1000;
};

// A writer as the agent wires it (node/agent/agent-node.ts), its first snapshot written; and the CPU
// that snapshot took, measured alone (nothing else runs meanwhile).
async function startWriter(files: CacheSink): Promise<{ w: CacheWriter; snapshotCpuMs: number }> {
  const w = new CacheWriter({
    coalesceMs, timers: REAL_TIMERS, wallClock: systemWallClock, files,
    snapshot: async () => {
      const out: string[] = [];
      for await (const page of store.scanTextPages(PAGE_MAX)) for (const e of page) out.push(e.text);
      return out;
    },
    read: (keys) => store.getRecordTexts(keys),
  });
  const snapshotCpuMs = await cpuMsOf(async () => {
    w.schedule();
    await w.flush();
  });
  return { w, snapshotCpuMs };
}

const id = { federationId: 'bench', member: 'edge-1' };
// Warm-up (compiles the hot paths), not counted.
await run(undefined, { seconds: Math.max(1, seconds / 2) });
const cpuLoad = machineCpu();
const base1 = await run(undefined, { seconds });

// Full rewrite: the journal's files with every append refused, so that every write is a snapshot.
// Its writes are paced (9x the last one's duration), so it runs for whole cycles: until its
// BENCH_FULL_WRITES-th write after the first one ends (at most 4 x BENCH_SECONDS).
const fullFiles = new CacheFiles(join(dir, 'full.json'), id, () => 'LastWriterWins');
const fullSink: CacheSink = {
  compact: (texts) => fullFiles.compact(texts),
  append: async () => undefined,
  get snapshotBytes() { return fullFiles.snapshotBytes; },
  get journalBytes() { return fullFiles.journalBytes; },
  get journalEntries() { return fullFiles.journalEntries; },
};
const fullCycles = envNumber('BENCH_FULL_WRITES', 2, 1);
const { w: fullWriter, snapshotCpuMs: fullSnapshotCpuMs } = await startWriter(fullSink);
const full0 = { ...fullWriter.stats };
const full = await run(fullWriter, { seconds: 4 * seconds, until: () => fullWriter.stats.writes >= full0.writes + fullCycles });
const fullStats = { ...fullWriter.stats };
await fullWriter.stop();

const journalFiles = new CacheFiles(join(dir, 'journal.json'), id, () => 'LastWriterWins');
const { w: journalWriter, snapshotCpuMs } = await startWriter(journalFiles);
const j0 = { ...journalWriter.stats };
const journal = await run(journalWriter, { seconds });
const jStats = { ...journalWriter.stats };
await journalWriter.stop();
const base2 = await run(undefined, { seconds });

// One append alone: a batch of the size a coalescing window gathers at this rate, records read from
// the replica as the writer reads them; the median CPU of 20.
const batch = Math.max(1, Math.round((rate * coalesceMs) / 1000));
const appendCpu: number[] = [];
for (let i = 0; i < 20; i++) {
  const keys = Array.from({ length: batch }, () => `ProxyRoute/default/route-${randomKey()}`);
  appendCpu.push(await cpuMsOf(async () => {
    const texts = await store.getRecordTexts(keys);
    await journalFiles.append(keys.map((key, k) => ({ key, text: texts[k] })));
  }));
}
appendCpu.sort((a, b) => a - b);
const appendCpuMs = appendCpu[10]!;

const baseMsPerS = (base1.cpuMs + base2.cpuMs) / (base1.wallS + base2.wallS);
console.log(`changes alone: CPU ${fmt(base1.cpuMs / base1.wallS, 1)} ms/s before, ${fmt(base2.cpuMs / base2.wallS, 1)} ms/s after (${base1.changes + base2.changes} changes)`);

const fullWrites = fullStats.writes - full0.writes;
const fullBytesPerS = (fullStats.bytes - full0.bytes) / full.wallS;
const fullMsPerS = full.cpuMs / full.wallS;
shortfall(fullWrites > 0, 'no full rewrite during the run');
console.log(`full rewrite: CPU ${fmt(fullMsPerS, 1)} ms/s over ${fmt(full.wallS, 1)} s (${signed(fullMsPerS - baseMsPerS)} beyond the changes), ${kb(fullBytesPerS)}/s written` +
  ` (${fullWrites} writes of ${mb(fullSink.snapshotBytes)}; one alone: ${fmt(fullSnapshotCpuMs)} ms CPU, ${fmt(fullStats.lastWriteDurationMs)} ms wall)`);

const appends = jStats.journal.appends - j0.journal.appends;
const jBytesPerS = (jStats.bytes - j0.bytes) / journal.wallS;
const jMsPerS = journal.cpuMs / journal.wallS;
shortfall(appends > 0, 'no journal append during the run');
console.log(`journal: CPU ${fmt(jMsPerS, 1)} ms/s over ${fmt(journal.wallS, 1)} s (${signed(jMsPerS - baseMsPerS)} beyond the changes), ${kb(jBytesPerS)}/s written` +
  ` (${appends} appends of ${kb(appends > 0 ? (jStats.bytes - j0.bytes) / appends : 0)}; one of ${batch} records alone: ${fmt(appendCpuMs, 2)} ms CPU)`);
// A snapshot follows every journalBytesMax(snapshot) bytes of entries.
const everyS = journalBytesMax(journalFiles.snapshotBytes) / Math.max(1, jBytesPerS);
const amortizedCpu = snapshotCpuMs / everyS;
const amortizedBytes = journalFiles.snapshotBytes / everyS;
console.log(`journal's snapshots, amortized: one every ${fmt(everyS)} s: +${fmt(amortizedCpu, 2)} ms/s CPU, +${kb(amortizedBytes)}/s written` +
  ` (a snapshot: ${mb(journalFiles.snapshotBytes)}, ${fmt(snapshotCpuMs)} ms CPU)`);
// The copy's own CPU per second: writes per second times the CPU of one, measured alone (the
// differences to the baseline above carry the machine's noise).
const fullCopyMsPerS = (fullWrites * fullSnapshotCpuMs) / full.wallS;
const jCopyMsPerS = (appends * appendCpuMs) / journal.wallS + amortizedCpu;
const jCopyBytesPerS = jBytesPerS + amortizedBytes;
console.log(`the copy's cost, full rewrite vs journal: CPU ${fmt(fullCopyMsPerS, 1)} vs ${fmt(jCopyMsPerS, 2)} ms/s (${fmt(fullCopyMsPerS / jCopyMsPerS)}x less),` +
  ` written ${kb(fullBytesPerS)}/s vs ${kb(jCopyBytesPerS)}/s (${fmt(fullBytesPerS / jCopyBytesPerS)}x less)`);
console.log(cpuLoad() ?? 'machine CPU: unknown');
await store.close();
rmSync(dir, { recursive: true, force: true });
