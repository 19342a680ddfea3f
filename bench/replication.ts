// Replication benchmark (prints figures; not a test): 3 controllers in separate processes on
// loopback, 1 KiB resources.
//   - sustained durable writes/s with writers on all three (64 concurrent writers in all);
//   - replication lag, write acknowledged on A -> visible on B and C, p50 / p99 at 1,000 writes/s.
//   npm run bench:replication        (anti-entropy figures: npm run bench:anti-entropy)
import { fork, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'node:net';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { createCa, writeCaPublicFile } from '../node/identity/ca.ts';
import { issueCertificate, writeCertificateFile } from '../node/identity/certificate.ts';
import { generateEd25519Key } from '../node/identity/keys.ts';
import { writeNewKeyFile } from '../node/identity/key-file.ts';

const child = fileURLToPath(new URL('./controller-process.ts', import.meta.url));
const seconds = Number(process.env.BENCH_SECONDS ?? 5);
// BENCH_DATA_DIR=/dev/shm puts the stores in memory: it shows what the three controllers do when they
// do not share one disk's fsyncs (they would not, on three machines).
const dir = mkdtempSync(join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'novaedge-bench-repl-'));
const names = ['us-west', 'eu-west', 'ap-east'];

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const a = s.address(); s.close(() => resolve((a as { port: number }).port)); });
    s.on('error', reject);
  });
}

const ca = await createCa(join(dir, 'ca.key'), 'controllers');
await writeCaPublicFile(join(dir, 'ca.pub'), ca.public);
const agentCa = await createCa(join(dir, 'agent-ca.key'), 'agents');
await writeCaPublicFile(join(dir, 'agent-ca.pub'), agentCa.public);
const members = await Promise.all(names.map(async (name) => {
  const key = await generateEd25519Key();
  const peerId = peerIdFromPrivateKey(key).toString();
  await writeNewKeyFile(join(dir, `${name}.key`), 'novaedge/identity-key', key);
  const cert = await issueCertificate(ca, { federationId: 'bench', member: name, role: 'controller', peerId, notBeforeMs: Date.now() - 60_000, notAfterMs: Date.now() + 3_600_000 });
  await writeCertificateFile(join(dir, `${name}.cert`), cert);
  const port = await freePort();
  return { name, peerId, port, addr: `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}` };
}));

const procs = new Map<string, ChildProcess>();
for (const m of members) {
  const cfgPath = join(dir, `${m.name}.json`);
  writeFileSync(cfgPath, JSON.stringify({
    membership: {
      federationId: 'bench', memberName: m.name, role: 'controller', region: m.name, listen: [`/ip4/127.0.0.1/tcp/${m.port}`],
      bootstrap: members.filter((o) => o !== m).map((o) => o.addr), keyFile: join(dir, `${m.name}.key`),
      certificateFile: join(dir, `${m.name}.cert`), controllerCaFiles: [join(dir, 'ca.pub')], agentCaFiles: [join(dir, 'agent-ca.pub')],
    },
    replication: { dataDir: join(dir, m.name), controllers: names, sync: { compression: false } },
  }));
  const execArgv = process.env.BENCH_PROF === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROF}`];
  procs.set(m.name, fork(child, [cfgPath], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv }));
}

function ask(name: string, msg: object): Promise<any> {
  const p = procs.get(name)!;
  return new Promise((resolve, reject) => {
    const on = (m: any): void => {
      if (m.cmd === 'error') { p.off('message', on); reject(new Error(`${name}: ${m.message}`)); }
      else if (m.cmd === (msg as { cmd: string }).cmd) { p.off('message', on); resolve(m); }
    };
    p.on('message', on);
    p.send(msg);
  });
}

await Promise.all([...procs.values()].map((p) => new Promise((r) => p.once('message', r))));
const deadline = Date.now() + 20_000;
while (true) {
  const up = await Promise.all(names.map((n) => ask(n, { cmd: 'peers' })));
  if (up.every((u) => u.up === 2)) break;
  if (Date.now() > deadline) throw new Error('controllers did not connect');
  await new Promise((r) => setTimeout(r, 100));
}

// Throughput: 64 writers in all, spread over the three controllers.
const loads = process.env.BENCH_SKIP_LOAD === '1' ? [] : await Promise.all(names.map((n, i) => ask(n, { cmd: 'load', writers: i === 0 ? 22 : 21, ms: seconds * 1000, prefix: `load-${n}` })));
const total = loads.reduce((s, l) => s + l.writes, 0);
const secs = Math.max(...loads.map((l) => l.seconds));
if (loads.length > 0) console.log(`sustained durable writes/s, 3 controllers, 64 writers: ${(total / secs).toFixed(0)}  (${loads.map((l, i) => `${names[i]} ${l.writes}`).join(', ')}; ${loads.map((l) => l.recordsPerBatch.toFixed(1)).join('/')} records per push batch; target >= 5,000)`);
if (loads.length > 0) {
  console.log(`  per process: ${loads.map((l, i) => `${names[i]} ${l.syncedBatches} synced batches at ${l.msPerSyncedBatch.toFixed(1)} ms, CPU ${l.cpuSeconds.toFixed(1)} s`).join('; ')}`);
}

// Lag at 1,000 writes/s from us-west: acknowledged there -> visible on eu-west and ap-east.
const rate = Number(process.env.BENCH_RATE ?? 1000);
const count = rate * seconds;
await Promise.all(names.slice(1).map((n) => ask(n, { cmd: 'watch', prefix: 'lag' })));
const { acks } = await ask(names[0]!, { cmd: 'rate', perSecond: rate, count, prefix: 'lag' });
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
const pct = (xs: number[], p: number): number => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
for (const [i, seen] of seenAll.entries()) {
  const lags = [...ackAt].filter(([k]) => seen.has(k)).map(([k, t]) => Math.max(0, seen.get(k)! - t)).sort((a, b) => a - b);
  console.log(`lag us-west -> ${names[i + 1]} at ${rate} writes/s: p50 ${pct(lags, 50).toFixed(1)} ms, p99 ${pct(lags, 99).toFixed(1)} ms, max ${lags[lags.length - 1]!.toFixed(1)} ms` +
    ` (${lags.length}/${count} seen; target p99 <= 20 ms; its event loop stalled up to ${replies[i].loopDelayMaxMs.toFixed(0)} ms, p99 ${replies[i].loopDelayP99Ms.toFixed(1)} ms)`);
}

await Promise.all(names.map((n) => ask(n, { cmd: 'stop' }).catch(() => undefined)));
rmSync(dir, { recursive: true, force: true });
