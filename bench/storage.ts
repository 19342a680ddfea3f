// Storage benchmark (prints figures; not a test). 1 KiB resources.
//   npm run bench:storage            full run (100,000-resource cold open)
//   BENCH_OPEN_N=20000 npm run bench:storage   smaller cold-open store
//   BENCH_WRITE_SECONDS=3 per write run. BENCH_SMOKE=1: every part at small sizes (bench/smoke.ts).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MerkleTree, Store, sha256Hex } from '../storage/index.ts';
import { envNumber, sized } from './smoke.ts';

const openChild = fileURLToPath(new URL('./storage-open-child.ts', import.meta.url));
const openN = envNumber('BENCH_OPEN_N', 100_000, 1_000);
const writeSeconds = envNumber('BENCH_WRITE_SECONDS', 3, 0.3);
// Keys in the Merkle tree and updates timed on it.
const merkleKeys = sized(100_000, 5_000);
const merkleUpdates = sized(200_000, 10_000);

function resource(i: number): object {
  // About 1 KiB once encoded.
  return { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: `route-${i}`, namespace: 'default' },
    spec: { hostnames: [`h${i}.example.com`], rules: [{ path: '/', backend: `svc-${i}` }], pad: 'x'.repeat(820) } };
}

async function durableWrites(writers: number): Promise<{ perSecond: number; batches: number; writes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'novaedge-bench-'));
  const store = await Store.open({ path: dir, member: 'bench', strategy: 'LastWriterWins' });
  let next = 0;
  let stop = false;
  const start = performance.now();
  setTimeout(() => { stop = true; }, writeSeconds * 1000);
  await Promise.all(Array.from({ length: writers }, async () => {
    while (!stop) await store.apply(resource(next++));
  }));
  const seconds = (performance.now() - start) / 1000;
  const out = { perSecond: next / seconds, batches: store.batches, writes: next };
  await store.close();
  rmSync(dir, { recursive: true, force: true });
  return out;
}

function merkleCost(): { nsPerUpdate: number } {
  const m = new MerkleTree();
  const n = merkleKeys;
  m.bulkLoad(Array.from({ length: n }, (_, i) => [`ProxyRoute/default/route-${i}`, sha256Hex(String(i))] as const));
  const updates = merkleUpdates;
  const digests = Array.from({ length: 1024 }, (_, i) => sha256Hex(`u${i}`));
  const start = process.hrtime.bigint();
  for (let i = 0; i < updates; i++) m.update(`ProxyRoute/default/route-${i % n}`, digests[i % 1024]);
  return { nsPerUpdate: Number(process.hrtime.bigint() - start) / updates };
}

async function fill(dir: string, n: number): Promise<void> {
  const store = await Store.open({ path: dir, member: 'bench', strategy: 'LastWriterWins' });
  let next = 0;
  await Promise.all(Array.from({ length: 256 }, async () => {
    while (next < n) await store.apply(resource(next++));
  }));
  await store.close();
}

const one = await durableWrites(1);
const many = await durableWrites(64);
console.log(`durable writes/s, 1 writer:    ${one.perSecond.toFixed(0)}  (${one.writes} writes, ${one.batches} synced batches)`);
console.log(`durable writes/s, 64 writers:  ${many.perSecond.toFixed(0)}  (${many.writes} writes, ${many.batches} synced batches, ${(many.writes / many.batches).toFixed(1)} writes/batch)`);
console.log(`group commit speed-up:         ${(many.perSecond / one.perSecond).toFixed(1)}x  (target >= 10x)`);
const mc = merkleCost();
console.log(`Merkle update per write:       ${(mc.nsPerUpdate / 1000).toFixed(2)} us  (${merkleKeys.toLocaleString('en-US')} keys, depth 4)`);

const dir = mkdtempSync(join(tmpdir(), 'novaedge-bench-open-'));
const fillStart = performance.now();
await fill(dir, openN);
console.log(`filled ${openN} resources in   ${((performance.now() - fillStart) / 1000).toFixed(1)} s`);
for (let run = 1; run <= 2; run++) {
  const child = spawnSync(process.execPath, [openChild, dir], { encoding: 'utf8' });
  if (child.status !== 0) throw new Error(`open child failed: ${child.stderr}`);
  const r = JSON.parse(child.stdout) as { openMs: number; rssMb: number; size: number };
  console.log(`cold open #${run} of ${r.size} resources: ${(r.openMs / 1000).toFixed(2)} s, RSS ${r.rssMb.toFixed(0)} MB  (target < 3 s, < 300 MB)`);
}
rmSync(dir, { recursive: true, force: true });
