// Side-by-side benchmark (prints figures; not a test): a 3-member etcd (Debian's etcd-server,
// installed with apt-get when missing and running as root) against 3 NovaEdge controllers, on the
// same machine, loopback only, 1 KiB values, fsync on for both (both defaults). The systems take
// turns: each round starts etcd, measures it, stops it, then does the same with NovaEdge, so only
// one of them runs at a time. Printed per round and at the end as a table with ratios
// (NovaEdge / etcd; ranges over the rounds), with the stolen CPU of every run and the share of the
// machine other (not niced) processes took meanwhile: on a shared machine that is the noise.
//
// What it measures, per system:
//   - durable writes/s, 64 writers, quorum durability. NovaEdge: the controllers' own embedded API
//     in their processes (22/21/21 writers, bench/controller-process.ts `load`); etcd: 64 clients in
//     this process over etcd's native gRPC API, one HTTP/2 connection per member, writers spread
//     round-robin over the three members (bench/etcd-grpc.ts);
//   - the same with `local` durability (NovaEdge only; compared with etcd's quorum figure: etcd has
//     no local mode);
//   - the same, quorum, with 64 clients through the controllers' admin sockets (clients in this
//     process like etcd's, sharing one pipelined AdminConnection per controller);
//   - the same through the remote admin protocol (libp2p, Noise, an operator certificate: createClient,
//     one client per controller, its writers sharing its pipelined stream), with the ack latency
//     each writer saw (closed loop: p50, p99);
//   - 1 writer, quorum (NovaEdge embedded on one controller; etcd to its leader, its best case);
//   - CPU per 1,000 quorum writes during the 64-writer run: utime+stime from /proc/<pid>/stat of
//     every process of the system, and the same plus this process (etcd's client runs here);
//   - ack latency p50/p99 at a fixed rate (200 writes/s), quorum, open loop;
//   - restart: BENCH_KEYS keys written (1 KiB values), one member (an etcd follower; a controller)
//     stopped, 100 writes made on the others, then spawn -> its first quorum write accepted
//     ("accepts writes") and spawn -> it holds everything (etcd: its serializable revision reaches
//     the probe write's; NovaEdge: the three Merkle roots are equal).
// Printed per NovaEdge run, not compared: the 1-writer run beside the same writer with local
// durability, each with its synced store batch time (what a quorum write adds to a local one), and
// the restart's phases in the restarted process (modules loaded, node started, ready, probe acked).
//
// Run:  npm run bench:vs-etcd            (2 rounds, 5 s per measurement, 100,000 keys: about 5 min)
//       BENCH_SMOKE=1 npm run -s bench:vs-etcd   (bench/smoke.ts: 1 round, 1 s, 2,000 keys, < 60 s)
// Environment:
//   BENCH_ROUNDS (2)   BENCH_SECONDS (5)   BENCH_WARMUP_SECONDS (2)   BENCH_KEYS (100000)
//   BENCH_RATE (200, writes/s of the latency run)   BENCH_DATA_DIR (parent of the temp data dir)
//   BENCH_ETCD (etcd binary)   BENCH_ETCD_INSTALL=0|1 (apt-get install -y etcd-server when etcd is
//   missing: by default yes, but not in a smoke run)
//   BENCH_SYSTEMS=etcd,novaedge (run only some)
//   BENCH_PROF=<dir>: a CPU profile of each controller over the 64-writer quorum run and over the
//   latency run, per round (<dir>/q64-r<round>-<name>.cpuprofile, lat-r<round>-<name>.cpuprofile;
//   node bench/profile-top.ts summarises them)
// Without etcd (not installable): smoke mode prints NovaEdge's figures alone and exits 0; a full
// run exits 1. Everything runs on 127.0.0.1; the data directory is removed and every process
// killed at exit, also on SIGINT/SIGTERM.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { AdminConnection } from '../node/admin/admin-client.ts';
import { createClient } from '../node/client/client.ts';
import { writeCertificateFile } from '../node/identity/certificate.ts';
import { writeNewKeyFile } from '../node/identity/key-file.ts';
import { makeClient } from '../test/helpers/cert-fixtures.ts';
import { benchMembership, benchPki, BenchProcs, machineCpu, percentile, type BenchPki } from './bench-cluster.ts';
import { EtcdCluster, ensureEtcd, type EtcdMember } from './etcd-cluster.ts';
import type { EtcdClient } from './etcd-grpc.ts';
import { envNumber, smoke } from './smoke.ts';

const rounds = Math.max(1, Math.floor(envNumber('BENCH_ROUNDS', 2, 1)));
const seconds = envNumber('BENCH_SECONDS', 5, 1);
const warmSeconds = envNumber('BENCH_WARMUP_SECONDS', 2, 0.5);
const keys = Math.max(1, Math.floor(envNumber('BENCH_KEYS', 100_000, 2_000)));
const rate = envNumber('BENCH_RATE', 200, 200);
const systems = new Set((process.env.BENCH_SYSTEMS ?? 'etcd,novaedge').split(','));
const writers = 64;
const missed = 100;
const ms = seconds * 1000;
const valueBytes = 1024;
const value = Buffer.alloc(valueBytes, 'v');
const names = ['us-west', 'eu-west', 'ap-east'];
const clkTck = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
const sleep = (t: number): Promise<void> => new Promise((r) => setTimeout(r, t));

// --- one data directory, everything killed and removed at exit ----------------------------------
const root = mkdtempSync(join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'novaedge-bench-vs-etcd-'));
let etcdLive: EtcdCluster | undefined;
let novaLive: BenchProcs | undefined;
process.on('exit', () => {
  etcdLive?.killNow();
  for (const p of novaLive?.procs.values() ?? []) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  rmSync(root, { recursive: true, force: true });
});
for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  process.on(sig, () => {
    console.error(`\n${sig}: killing the benchmark's processes and removing ${root}`);
    process.exit(code);
  });
}

// --- figures ------------------------------------------------------------------------------------
/** What one run of one system measured (absent: not measured). */
interface Figures {
  q64?: number;
  local64?: number;
  admin64?: number;
  remote64?: number;
  remoteP50?: number;
  remoteP99?: number;
  /** etcd: ack latency of its 64 writers (the reference of the remote clients' latency). */
  q64p50?: number;
  q64p99?: number;
  q1?: number;
  cpu?: number;
  cpuWithClient?: number;
  p50?: number;
  p99?: number;
  restart?: number;
  caughtUp?: number;
  /** machineCpu() over the whole run (user, system, idle, stolen). */
  machine?: string;
  /** machineCpu() over the 64-writer quorum measurement. */
  machineQ64?: string;
  /** Share of the machine used by other, not niced, processes during the 64-writer quorum run, %. */
  othersQ64?: number;
  /** NovaEdge, the 64-writer quorum run: what its store batches and push batches looked like. */
  storeQ64?: string;
  /** NovaEdge, the latency run: each controller's event-loop delay (a stall delays every ack waiting on it). */
  loopLat?: string;
  /** NovaEdge: where the restart's time went, in the restarted process. */
  restartPhases?: string;
  /** NovaEdge: the 1-writer run taken apart (local durability beside it, synced batch time). */
  oneWriter?: string;
  wallSeconds?: number;
  /** Set-up, not compared: how long writing BENCH_KEYS keys took, and until every member held them. */
  fillSeconds?: number;
  /** Set-up, not compared: spawn of the three members -> ready (etcd: a leader; NovaEdge: connected). */
  startSeconds?: number;
}
type FigureId = Exclude<keyof Figures, 'machine' | 'machineQ64' | 'othersQ64' | 'storeQ64' | 'loopLat' | 'restartPhases' | 'oneWriter' | 'wallSeconds' | 'fillSeconds' | 'startSeconds'>;

/** CPU time of processes so far, ms (utime + stime of /proc/<pid>/stat: every thread). */
function procCpuMs(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' '); // fields from the 3rd (state) on
    ticks += Number(f[11]) + Number(f[12]); // utime (14th), stime (15th)
  }
  return (ticks * 1000) / clkTck;
}

/** The machine's busy time outside niced processes so far, ms (/proc/stat: user + system + irq + softirq). */
function machineBusyMs(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  return (((f[0] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0)) * 1000) / clkTck;
}

/**
 * Run `load`, with the CPU of `pids` (and of this process) and the machine's CPU split over it
 * (machineCpu: user, system, idle, stolen), and how much of the machine other, not niced, processes
 * used meanwhile (other work on the host: the figures are only as good as this is small).
 */
async function measured(pids: readonly number[], load: () => Promise<{ writes: number; seconds: number }>): Promise<{ writes: number; perSecond: number; cpuPer1k: number; cpuWithClientPer1k: number; machine: string; othersPct: number }> {
  const cpu0 = procCpuMs(pids);
  const self0 = process.cpuUsage();
  const busy0 = machineBusyMs();
  const machine = machineCpu();
  const r = await load();
  const cpuMs = procCpuMs(pids) - cpu0;
  const self = process.cpuUsage(self0);
  const selfMs = (self.user + self.system) / 1000;
  const othersPct = (100 * Math.max(0, machineBusyMs() - busy0 - cpuMs - selfMs)) / (r.seconds * 1000 * availableParallelism());
  return {
    writes: r.writes, perSecond: r.writes / r.seconds, cpuPer1k: (cpuMs * 1000) / r.writes, cpuWithClientPer1k: ((cpuMs + selfMs) * 1000) / r.writes,
    othersPct,
    machine: `${machine() ?? '?'}; this system ${((100 * (cpuMs + selfMs)) / (r.seconds * 1000 * availableParallelism())).toFixed(0)}%, other processes (not niced) ${othersPct.toFixed(0)}%`,
  };
}

/** Open loop at `perSecond`: `write(i)` started on schedule, whatever the earlier ones do; sorted latencies, ms. */
async function paced(perSecond: number, count: number, write: (i: number) => Promise<unknown>): Promise<number[]> {
  const lat: number[] = [];
  const t0 = performance.now();
  const pending: Array<Promise<void>> = [];
  for (let i = 0; i < count; i++) {
    const wait = t0 + (i * 1000) / perSecond - performance.now();
    if (wait > 1) await sleep(wait);
    const sent = performance.now();
    pending.push(write(i).then(() => { lat.push(performance.now() - sent); }));
  }
  await Promise.all(pending);
  return lat.sort((a, b) => a - b);
}

/** Retry `f` every 10 ms until it succeeds; fails with its last error after `timeoutMs`. */
async function retry<T>(what: string, timeoutMs: number, f: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await f();
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`${what}: still failing after ${timeoutMs} ms: ${(err as Error).message}`, { cause: err });
      await sleep(10);
    }
  }
}

// --- etcd ---------------------------------------------------------------------------------------
// A closed loop: `n` writers, each waiting for its ack before its next write, for `forMs`; every ack's
// latency is kept. One loop for etcd's clients, the admin sockets and the remote clients alike.
async function closedLoop(n: number, forMs: number, write: (writer: number, i: number) => Promise<unknown>): Promise<{ writes: number; seconds: number; acks: number[] }> {
  let writes = 0;
  const acks: number[] = [];
  const end = Date.now() + forMs;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: n }, async (_, w) => {
    for (let i = 0; Date.now() < end; i++) {
      const s = performance.now();
      await write(w, i);
      acks.push(performance.now() - s);
      writes++;
    }
  }));
  return { writes, seconds: (performance.now() - t0) / 1000, acks: acks.sort((a, b) => a - b) };
}

function etcdLoad(clients: readonly EtcdClient[], n: number, forMs: number, prefix: string): Promise<{ writes: number; seconds: number; acks: number[] }> {
  return closedLoop(n, forMs, (w, i) => clients[w % clients.length]!.put(`/bench/${prefix}/${w}/${i}`, value));
}

async function etcdRun(bin: string, round: number): Promise<Figures> {
  const t0 = performance.now();
  const dir = mkdtempSync(join(root, `etcd-${round}-`));
  const machine = machineCpu();
  const c = await EtcdCluster.create(bin, dir);
  etcdLive = c;
  const f: Figures = {};
  try {
    const s0 = performance.now();
    c.start();
    await c.ready(30_000);
    f.startSeconds = (performance.now() - s0) / 1000;
    const clients = c.members.map((m) => m.client);
    const leader = c.members[await c.leaderIndex()]!;
    if (warmSeconds > 0) await etcdLoad(clients, writers, warmSeconds * 1000, 'warm');
    let q64acks: number[] = [];
    const q = await measured(c.pids(), async () => {
      const r = await etcdLoad(clients, writers, ms, 'q64');
      q64acks = r.acks;
      return r;
    });
    Object.assign(f, { q64: q.perSecond, cpu: q.cpuPer1k, cpuWithClient: q.cpuWithClientPer1k, machineQ64: q.machine, othersQ64: q.othersPct });
    Object.assign(f, { q64p50: percentile(q64acks, 50), q64p99: percentile(q64acks, 99) });
    const one = await etcdLoad([leader.client], 1, ms, 'one');
    f.q1 = one.writes / one.seconds;
    const lat = await paced(rate, Math.max(1, Math.round(rate * seconds)), (i) => leader.client.put(`/bench/lat/${i}`, value));
    Object.assign(f, { p50: percentile(lat, 50), p99: percentile(lat, 99) });
    Object.assign(f, await etcdRestart(c));
  } finally {
    await c.kill();
    etcdLive = undefined;
    rmSync(dir, { recursive: true, force: true });
  }
  return { ...f, machine: machine(), wallSeconds: (performance.now() - t0) / 1000 };
}

async function etcdRestart(c: EtcdCluster): Promise<{ restart: number; caughtUp: number; fillSeconds: number }> {
  // Keys as fast as etcd takes them: transactions of 100 puts, 4 in flight.
  const f0 = performance.now();
  let next = 0;
  await Promise.all(c.members.concat(c.members[0]!).map(async (m) => {
    while (next < keys) {
      const from = next;
      next = Math.min(keys, next + 100);
      await m.client.putMany(Array.from({ length: next - from }, (_, i) => [`/bench/fill/${from + i}`, value] as const));
    }
  }));
  const fillSeconds = (performance.now() - f0) / 1000;
  const leaderAt = await c.leaderIndex();
  const victim: EtcdMember = c.members[(leaderAt + 1) % c.members.length]!; // a follower
  const leader = c.members[leaderAt]!;
  await c.stopMember(victim);
  let nextMissed = 0;
  await Promise.all(Array.from({ length: 8 }, async () => {
    while (nextMissed < missed) await leader.client.put(`/bench/missed/${nextMissed++}`, value);
  }));
  const t0 = performance.now();
  c.spawn(victim);
  const rev = await retry('etcd restarted member accepting a write', 120_000, () => victim.client.put('/bench/probe', value, 1_000));
  const restart = (performance.now() - t0) / 1000;
  await retry('etcd restarted member caught up', 120_000, async () => {
    if ((await victim.client.revision(1_000)) < rev) throw new Error('behind');
  });
  return { restart, caughtUp: (performance.now() - t0) / 1000, fillSeconds };
}

// --- NovaEdge -----------------------------------------------------------------------------------
// Node's compile cache for the controllers (unless NODE_COMPILE_CACHE is set already): a deployed
// controller runs compiled JavaScript, not TypeScript stripped and compiled at every start, so the
// restart figure should not count that. The first start of a run fills the cache.
const nodeEnv = { NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(root, 'node-compile-cache') };

// The resource controller-process.ts writes (about 1 KiB), for the admin-socket clients here.
function resource(prefix: string, i: number): object {
  return { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: `${prefix}-${i}`, namespace: 'default' },
    spec: { hostnames: [`h${i}.example.com`], rules: [{ path: '/', backend: `svc-${i}` }], pad: 'x'.repeat(820) } };
}

async function novaRun(round: number): Promise<Figures> {
  const t0 = performance.now();
  const dir = mkdtempSync(join(root, `novaedge-${round}-`));
  const machine = machineCpu();
  const pki = await benchPki(dir, 'bench', names);
  const procs = new BenchProcs();
  novaLive = procs;
  const sockets = names.map((n) => join(dir, `${n}.sock`));
  const configOf = (i: number): object => {
    const m = pki.members[i]!;
    return {
      membership: benchMembership(pki, m, pki.members.filter((o) => o !== m).map((o) => o.addr)),
      replication: { dataDir: join(dir, m.name), controllers: names, sync: { compression: false } },
      adminSocket: sockets[i],
    };
  };
  const memberConfigOf = configOf;
  const withRemote = (i: number): object => {
    const c = memberConfigOf(i) as { membership: object };
    return { ...c, membership: { ...c.membership, remoteClients: {} } };
  };
  const ask = (name: string, msg: { cmd: string; [k: string]: unknown }): Promise<any> => procs.ask(name, msg);
  const roots = async (): Promise<string[]> => (await Promise.all(names.map((n) => ask(n, { cmd: 'root' })))).map((r) => r.root);
  const drained = (what: string, timeoutMs = 120_000): Promise<void> => retry(what, timeoutMs, async () => {
    if (new Set(await roots()).size !== 1) throw new Error('Merkle roots differ');
  });
  let lastLoad: any[] = [];
  const load = async (prefix: string, forMs: number, durability: 'local' | 'quorum', profile?: string): Promise<{ writes: number; seconds: number }> => {
    const r = await Promise.all(names.map((n, i) => ask(n, {
      cmd: 'load', writers: i === 0 ? 22 : 21, ms: forMs, prefix: `${prefix}-${n}`, durability,
      ...(profile === undefined ? {} : { profile: `${profile}-${n}.cpuprofile` }),
    })));
    lastLoad = r;
    return { writes: r.reduce((s, x) => s + x.writes, 0), seconds: Math.max(...r.map((x) => x.seconds)) };
  };
  const f: Figures = {};
  try {
    const s0 = performance.now();
    await Promise.all(names.map((n, i) => procs.start(n, './controller-process.ts', dir, withRemote(i), nodeEnv)));
    await procs.until('controllers connected', async () => (await Promise.all(names.map((n) => ask(n, { cmd: 'peers' })))).every((u) => u.up === 2), 30_000);
    f.startSeconds = (performance.now() - s0) / 1000;
    const pids = names.map((n) => procs.procs.get(n)!.pid!);
    if (warmSeconds > 0) await load('warm', warmSeconds * 1000, 'quorum');
    await drained('controllers equal after the warm-up');
    const profile = process.env.BENCH_PROF === undefined ? undefined : join(process.env.BENCH_PROF, `q64-r${round}`);
    const q = await measured(pids, () => load('q64', ms, 'quorum', profile));
    Object.assign(f, { q64: q.perSecond, cpu: q.cpuPer1k, cpuWithClient: q.cpuWithClientPer1k, machineQ64: q.machine, othersQ64: q.othersPct });
    f.storeQ64 = `synced store batches ${lastLoad.map((l) => `${l.syncedBatches} at ${l.msPerSyncedBatch.toFixed(1)} ms`).join(' / ')}; ` +
      `records per push batch ${lastLoad.map((l) => l.recordsPerBatch.toFixed(1)).join(' / ')}`;
    await drained('controllers equal after the quorum run');
    const l = await load('local64', ms, 'local');
    f.local64 = l.writes / l.seconds;
    await drained('controllers equal after the local run');
    const a = await adminLoad(sockets, ms, 'admin64');
    f.admin64 = a.writes / a.seconds;
    await drained('controllers equal after the admin-socket run');
    const r = await remoteLoad(dir, pki, ms, 'remote64');
    Object.assign(f, { remote64: r.writes / r.seconds, remoteP50: percentile(r.acks, 50), remoteP99: percentile(r.acks, 99) });
    await drained('controllers equal after the remote run');
    const one = await ask(names[0]!, { cmd: 'load', writers: 1, ms, prefix: 'one', durability: 'quorum' });
    f.q1 = one.writes / one.seconds;
    // Not compared (etcd has no such mode): the same writer with local durability, and each run's
    // synced store batch time, to show what a quorum write adds to a local one.
    const oneLocal = await ask(names[0]!, { cmd: 'load', writers: 1, ms, prefix: 'one-local', durability: 'local' });
    const perWrite = (r: { writes: number; seconds: number }): string => `${((r.seconds * 1000) / r.writes).toFixed(2)} ms per write`;
    f.oneWriter = `quorum ${perWrite(one)} (synced batch ${one.msPerSyncedBatch.toFixed(2)} ms), ` +
      `local ${perWrite(oneLocal)} (synced batch ${oneLocal.msPerSyncedBatch.toFixed(2)} ms)`;
    if (profile !== undefined) await Promise.all(names.map((n) => ask(n, { cmd: 'profile', action: 'start' })));
    await Promise.all(names.map((n) => ask(n, { cmd: 'loop', action: 'start' })));
    const { acks } = await ask(names[0]!, { cmd: 'rate', perSecond: rate, count: Math.max(1, Math.round(rate * seconds)), prefix: 'lat', durability: 'quorum' });
    const loops = await Promise.all(names.map((n) => ask(n, { cmd: 'loop', action: 'stop' })));
    if (profile !== undefined) await Promise.all(names.map((n) => ask(n, { cmd: 'profile', action: 'stop', path: join(process.env.BENCH_PROF!, `lat-r${round}-${n}.cpuprofile`) })));
    const lat = (acks as Array<[string, number, number]>).map(([, ack, sent]) => ack - sent).sort((x, y) => x - y);
    Object.assign(f, { p50: percentile(lat, 50), p99: percentile(lat, 99) });
    f.loopLat = `event-loop delay p99 ${loops.map((l) => l.p99Ms.toFixed(1)).join(' / ')} ms, max ${loops.map((l) => l.maxMs.toFixed(0)).join(' / ')} ms`;
    await drained('controllers equal after the latency run');

    // Restart: BENCH_KEYS resources, ap-east stopped, 100 writes on us-west, ap-east spawned again.
    // Set-up: a third on each controller, local durability, as fast as group commit takes them; then
    // until all three hold them all.
    const f0 = performance.now();
    await Promise.all(names.map((n, i) => ask(n, {
      cmd: 'fill', count: Math.floor(keys / names.length) + (i < keys % names.length ? 1 : 0), concurrency: 22, prefix: `fill-${n}`, durability: 'local',
    })));
    await drained('controllers equal after the fill', 600_000);
    f.fillSeconds = (performance.now() - f0) / 1000;
    const victim = names[2]!;
    const p = procs.procs.get(victim)!;
    const exited = new Promise((r) => p.once('exit', r));
    await ask(victim, { cmd: 'stop' });
    await exited;
    await ask(names[0]!, { cmd: 'fill', count: missed, concurrency: 8, prefix: 'missed', durability: 'quorum' });
    const r0 = performance.now();
    await procs.start(victim, './controller-process.ts', dir, configOf(2), nodeEnv);
    const { phases } = await ask(victim, { cmd: 'probe', i: 0, timeoutMs: 120_000 });
    f.restart = (performance.now() - r0) / 1000;
    const at = (ms: number): string => (ms / 1000).toFixed(2);
    f.restartPhases = `modules loaded ${at(phases.loadedMs)} s, node started ${at(phases.startedMs)} s, ready ${at(phases.readyMs)} s, ` +
      `probe acked ${at(phases.ackedMs)} s (times since its process started; spawn → acked here ${f.restart.toFixed(2)} s)`;
    await drained('restarted controller caught up');
    f.caughtUp = (performance.now() - r0) / 1000;
  } finally {
    await procs.stopAll();
    // Until they have exited: a controller writes Node's compile cache as it exits.
    await Promise.all([...procs.procs.values()].map((p) => (p.exitCode !== null || p.signalCode !== null ? undefined : new Promise((r) => p.once('exit', r)))));
    novaLive = undefined;
    rmSync(dir, { recursive: true, force: true });
  }
  return { ...f, machine: machine(), wallSeconds: (performance.now() - t0) / 1000 };
}

// 64 clients through the admin sockets (22/21/21 over the controllers), each writing one resource
// at a time with quorum durability. The clients of a controller share one pipelined connection
// (node/admin/admin-client.ts AdminConnection), as etcd's share one HTTP/2 connection per member.
async function adminLoad(sockets: readonly string[], forMs: number, prefix: string): Promise<{ writes: number; seconds: number }> {
  const conns = sockets.map((p) => new AdminConnection(p));
  try {
    return await closedLoop(writers, forMs, (w, i) =>
      conns[w % conns.length]!.call('resources.apply', { resources: [resource(`${prefix}-${w}`, i)], durability: 'quorum' }));
  } finally {
    for (const c of conns) c.close();
  }
}

// 64 remote clients (22/21/21 over the controllers) writing with quorum durability through the remote
// admin protocol with an operator certificate: one createClient per controller (its own libp2p node,
// one admin stream), its writers sharing it, as etcd's clients share one HTTP/2 connection per member.
// Every ack's latency is kept (closed loop: each writer waits for its ack before its next write).
async function remoteLoad(dir: string, pki: BenchPki, forMs: number, prefix: string): Promise<{ writes: number; seconds: number; acks: number[] }> {
  const operator = await makeClient(pki.fed, 'bench-operator', 'operator');
  const files = { identityKeyFile: join(dir, 'operator.key'), certificateFile: join(dir, 'operator.cert'), caFiles: pki.controllerCaFiles };
  await writeNewKeyFile(files.identityKeyFile, 'novaedge/identity-key', operator.privateKey);
  await writeCertificateFile(files.certificateFile, operator.certificate);
  const clients = await Promise.all(pki.members.filter((m) => m.role === 'controller').map((m) => createClient({ ...files, endpoints: [m.addr] })));
  try {
    return await closedLoop(writers, forMs, (w, i) => clients[w % clients.length]!.apply([resource(`${prefix}-${w}`, i)], { durability: 'quorum' }));
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

// --- output -------------------------------------------------------------------------------------
const rows: Array<{ id: FigureId; label: string; etcdFrom?: FigureId; digits: number; lower?: boolean }> = [
  { id: 'q64', label: 'durable writes/s, 64 writers, quorum, embedded client', digits: 0 },
  { id: 'local64', label: 'same, `local` durability (etcd: its quorum figure¹)', etcdFrom: 'q64', digits: 0 },
  { id: 'admin64', label: 'same, quorum, through the admin socket (etcd: gRPC²)', etcdFrom: 'q64', digits: 0 },
  { id: 'remote64', label: 'same, quorum, 64 remote clients (etcd: gRPC²)', etcdFrom: 'q64', digits: 0 },
  { id: 'remoteP50', label: '  their ack p50, ms (etcd: its 64-writer p50; lower is better)', etcdFrom: 'q64p50', digits: 1, lower: true },
  { id: 'remoteP99', label: '  their ack p99, ms (etcd: its 64-writer p99; lower is better)', etcdFrom: 'q64p99', digits: 1, lower: true },
  { id: 'q1', label: '1 writer, quorum, embedded (etcd: to its leader)', digits: 0 },
  { id: 'cpu', label: 'CPU ms per 1,000 quorum writes, all processes (lower is better)', digits: 0, lower: true },
  { id: 'cpuWithClient', label: '  the same plus the client process³ (lower is better)', digits: 0, lower: true },
  { id: 'p50', label: `ack p50 at ${rate} writes/s, quorum, ms (lower is better)`, digits: 1, lower: true },
  { id: 'p99', label: `ack p99 at ${rate} writes/s, quorum, ms (lower is better)`, digits: 1, lower: true },
  { id: 'restart', label: `restart with ${keys.toLocaleString('en-US')} keys: spawn → accepts writes, s (lower is better)`, digits: 2, lower: true },
  { id: 'caughtUp', label: `restart: spawn → caught up after missing ${missed}, s (lower is better)`, digits: 2, lower: true },
];

const fmt = (v: number, digits: number): string => v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
function range(vs: number[], digits: number, suffix = ''): string {
  if (vs.length === 0) return '—';
  const lo = Math.min(...vs);
  const hi = Math.max(...vs);
  return fmt(lo, digits) === fmt(hi, digits) ? `${fmt(lo, digits)}${suffix}` : `${fmt(lo, digits)}–${fmt(hi, digits)}${suffix}`;
}
const stolen = (m: string | undefined): string => /stolen by the hypervisor (\d+%)/.exec(m ?? '')?.[1] ?? '?';
const niced = (m: string | undefined): string => /niced (\d+%)/.exec(m ?? '')?.[1] ?? '?';

function roundLine(system: string, round: number, f: Figures): string {
  const part = (id: FigureId, label: string, digits: number, unit = ''): string => (f[id] === undefined ? '' : `${label} ${fmt(f[id]!, digits)}${unit}`);
  return `round ${round}/${rounds} ${system} (${f.wallSeconds?.toFixed(0)} s): ` + [
    part('q64', '64 writers quorum', 0, '/s'), part('local64', 'local', 0, '/s'), part('admin64', 'admin socket', 0, '/s'),
    part('remote64', 'remote', 0, '/s') + (f.remoteP99 === undefined ? '' : ` (ack p50 ${fmt(f.remoteP50!, 1)} ms, p99 ${fmt(f.remoteP99, 1)} ms)`), part('q1', '1 writer', 0, '/s'),
    part('cpu', 'CPU/1k', 0, ' ms') + (f.cpuWithClient === undefined ? '' : ` (${fmt(f.cpuWithClient, 0)} with the client)`),
    part('p50', 'p50', 1, ' ms'), part('p99', 'p99', 1, ' ms'), part('restart', 'restart', 2, ' s'), part('caughtUp', 'caught up', 2, ' s'),
    `(set-up: three members started in ${f.startSeconds?.toFixed(1) ?? '?'} s; ${keys.toLocaleString('en-US')} keys written and on every member in ${f.fillSeconds?.toFixed(1) ?? '?'} s)`,
  ].filter((s) => s !== '').join(' · ') + `\n    during the 64-writer run: ${f.machineQ64 ?? '?'}` +
    (f.storeQ64 === undefined ? '' : `\n    in it, per controller: ${f.storeQ64}`) +
    (f.loopLat === undefined ? '' : `\n    during the latency run, per controller: ${f.loopLat}`) +
    (f.oneWriter === undefined ? '' : `\n    1 writer on us-west: ${f.oneWriter}`) +
    (f.restartPhases === undefined ? '' : `\n    restart: ${f.restartPhases}`) + `\n    whole run: ${f.machine ?? '?'}`;
}

function table(etcd: Figures[], nova: Figures[]): string {
  const lines: string[][] = [['figure', 'etcd', 'NovaEdge', 'NovaEdge / etcd']];
  for (const r of rows) {
    const e = etcd.map((x) => x[r.etcdFrom ?? r.id]);
    const n = nova.map((x) => x[r.id]);
    const ratios = n.flatMap((v, i) => (v === undefined || e[i] === undefined || e[i] === 0 ? [] : [v / e[i]!]));
    lines.push([r.label, range(e.filter((v) => v !== undefined), r.digits), range(n.filter((v) => v !== undefined), r.digits), range(ratios, 2, '×')]);
  }
  const widths = lines[0]!.map((_, c) => Math.max(...lines.map((l) => l[c]!.length)));
  return lines.map((l, li) => {
    const row = l.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
    return li === 0 ? `${row}\n${widths.map((w) => '-'.repeat(w)).join('  ')}` : row;
  }).join('\n');
}

// --- main -----------------------------------------------------------------------------------------
// A smoke run (CI, a 60 s budget) installs nothing unless BENCH_ETCD_INSTALL=1: an apt-get killed
// half-way by a deadline would leave dpkg half-configured.
const installAllowed = process.env.BENCH_ETCD_INSTALL === undefined ? !smoke : process.env.BENCH_ETCD_INSTALL === '1';
const etcdBin = systems.has('etcd')
  ? ensureEtcd({ allowed: installAllowed, why: smoke ? 'a smoke run does not install it (BENCH_ETCD_INSTALL=1 to let it)' : 'BENCH_ETCD_INSTALL=0 forbids installing it', timeoutMs: 300_000 })
  : { missing: 'BENCH_SYSTEMS leaves etcd out' };
const etcdVersion = 'bin' in etcdBin ? `etcd ${etcdBin.version} (${etcdBin.bin})` : `etcd unavailable: ${etcdBin.missing}`;
console.log(`vs-etcd${smoke ? ' (smoke)' : ''}: machine ${availableParallelism()} CPUs (nproc), Node ${process.version}, ${etcdVersion}`);
console.log(`  ${rounds} round(s), each etcd then NovaEdge, each started fresh and stopped after; ${seconds} s per measurement after a ${warmSeconds} s warm-up; ` +
  `latency at ${rate} writes/s; restart with ${keys.toLocaleString('en-US')} keys; ${valueBytes}-byte values, fsync on; data under ${root}`);
if (!('bin' in etcdBin) && systems.has('etcd')) {
  if (!smoke) {
    console.error(`cannot run etcd: ${etcdBin.missing}. Install it (apt-get install -y etcd-server) or point BENCH_ETCD at an etcd binary.`);
    process.exit(1);
  }
  console.log(`  ETCD IS NOT AVAILABLE (${etcdBin.missing}): smoke mode goes on with NovaEdge's figures alone`);
}
const etcdFigures: Figures[] = [];
const novaFigures: Figures[] = [];
try {
  for (let round = 1; round <= rounds; round++) {
    if ('bin' in etcdBin) {
      etcdFigures.push(await etcdRun(etcdBin.bin, round));
      console.log(roundLine(`etcd ${etcdBin.version}`, round, etcdFigures.at(-1)!));
    }
    if (systems.has('novaedge')) {
      novaFigures.push(await novaRun(round));
      console.log(roundLine('NovaEdge', round, novaFigures.at(-1)!));
    }
  }
} catch (err) {
  console.error(`vs-etcd failed: ${(err as Error).stack ?? String(err)}`);
  process.exit(1);
}

console.log('');
console.log(`machine: ${availableParallelism()} CPUs, Node ${process.version}, ${etcdVersion}; ${seconds} s per measurement, ${rounds} round(s), alternating`);
const perRun = (what: (f: Figures) => string): string => [...etcdFigures.map((f, i) => `etcd r${i + 1} ${what(f)}`), ...novaFigures.map((f, i) => `NovaEdge r${i + 1} ${what(f)}`)].join(', ');
console.log(`stolen CPU per run: ${perRun((f) => stolen(f.machine))}`);
console.log(`other (not niced) processes' share of the machine during the 64-writer runs: ${perRun((f) => `${f.othersQ64?.toFixed(0) ?? '?'}%`)}`);
console.log(`niced processes' share during the 64-writer runs (background work: it slows the system under test too): ${perRun((f) => niced(f.machineQ64))}`);
console.log(table(etcdFigures, novaFigures));
console.log(`¹ etcd has no local-durability mode: every etcd write is committed on a quorum.
² etcd has no separate embedded API: its figure is the 64-client gRPC one (clients in this process).
³ etcd's clients (gRPC over HTTP/2) run in this benchmark process; NovaEdge's embedded writers run
  inside the controllers, so its two CPU rows differ only by this process's idle time.
  Ratios are per round (figures of the same round), as a range over the rounds.`);
process.exit(0);
