// Writes through the admin socket with 64 calls in flight, spread three ways over connections, and
// through the embedded API as the floor (issue 20: "through the admin socket with 64 clients").
//
//   npx node bench/admin-pipeline.ts            (about 1 minute)
//   BENCH_SMOKE=1 npx node bench/admin-pipeline.ts   (a few seconds: the bench still runs end to end)
//
// One controller (a single-controller federation: the quorum is itself, so a quorum write is one
// fsync'd store batch) runs in a child process with its admin socket; this process is the client.
// Each run applies 1 KiB ProxyRoutes with durability quorum, 64 calls in flight at all times:
//   64×1   64 connections, one call in flight on each (what 64 novactl-like clients do)
//   1×64   one connection, 64 calls pipelined on it
//   8×8    8 connections, 8 pipelined on each
//   embedded  64 concurrent ControllerNode.apply calls inside the controller (no socket: the floor)
// It prints writes/s, CPU per 1,000 writes (the controller's, and the client's: this process), and
// writes per synced store batch (the store's group commit gathers the writes in flight into one batch).
// Rounds alternate the modes so a disturbance (the machine is shared) hits them all alike.
// BENCH_MS sets the length of one run (default 5000), BENCH_ROUNDS the rounds (default 2).
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AdminConnection } from '../node/admin/admin-client.ts';
import { busyMeter, machineCpu } from './bench-cluster.ts';

const SMOKE = process.env.BENCH_SMOKE === '1';
const RUN_MS = Number(process.env.BENCH_MS ?? (SMOKE ? 200 : 5000));
/** Length of the unmeasured warm-up run, ms. */
const WARM_MS = SMOKE ? 100 : Math.min(RUN_MS, 1000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? (SMOKE ? 1 : 2));
const IN_FLIGHT = 64;
/** Bytes of padding that make a resource about 1 KiB of JSON. */
const PAD_BYTES = 820;

function resource(prefix: string, i: number): object {
  return {
    apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: `${prefix}-${i}`, namespace: 'default' },
    spec: { hostnames: [`h${i}.example.com`], rules: [{ path: '/', backend: `svc-${i}` }], pad: 'x'.repeat(PAD_BYTES) },
  };
}

interface Figures { writes: number; ms: number; serverCpuMs: number; clientCpuMs: number; batches: number }

// ---------------------------------------------------------------------------------------------
// The controller (child process): `node bench/admin-pipeline.ts controller DIR`.
async function controller(dir: string): Promise<void> {
  const { makeFederation } = await import('../test/helpers/cert-fixtures.ts');
  const { memberConfig, planMembers } = await import('../test/helpers/cluster.ts');
  const { ControllerNode } = await import('../node/controller/controller-node.ts');
  const { startAdminServer } = await import('../node/admin/admin-server.ts');
  const { controllerMethods } = await import('../node/admin/controller-methods.ts');
  const { REAL_TIMERS } = await import('../node/host/timer-components.ts');
  const fed = await makeFederation('admin-pipeline-bench');
  const [m] = await planMembers(fed, [{ name: 'a', role: 'controller' }]);
  const node = await ControllerNode.start({ membership: memberConfig(fed, m!, []), replication: { dataDir: join(dir, 'a'), controllers: ['a'] } });
  const socketPath = join(dir, 'admin.sock');
  // 64 connections of one call each need more than the default 32 slots.
  const admin = await startAdminServer({ timers: REAL_TIMERS, socketPath, methods: controllerMethods(node), connectionsMax: IN_FLIGHT + 8 });
  const cpuMs = (): number => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
  const busy = busyMeter();
  process.on('message', (msg: { cmd: string; prefix?: string; ms?: number }) => {
    void (async () => {
      if (msg.cmd === 'cpu') {
        process.send!({ cpuMs: cpuMs(), batches: node.store.batches, loop: busy().utilization, counters: admin.counters() });
      } else if (msg.cmd === 'embedded') {
        let n = 0;
        const cpu0 = cpuMs();
        const batches0 = node.store.batches;
        const t0 = performance.now();
        const end = t0 + msg.ms!;
        await Promise.all(Array.from({ length: IN_FLIGHT }, async () => {
          while (performance.now() < end) await node.apply(resource(msg.prefix!, n++), { durability: 'quorum' });
        }));
        process.send!({ writes: n, ms: performance.now() - t0, cpuMs: cpuMs() - cpu0, batches: node.store.batches - batches0 });
      } else if (msg.cmd === 'stop') {
        await admin.close();
        await node.stop();
        process.send!({ stopped: true });
        process.exit(0);
      }
    })().catch((err: unknown) => { console.error(err); process.exit(1); });
  });
  process.send!({ socketPath });
}

// ---------------------------------------------------------------------------------------------
// The client (this process).
async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'nv-admin-pipe-'));
  const child = fork(fileURLToPath(import.meta.url), ['controller', dir], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const ask = <T>(msg: object): Promise<T> => new Promise((resolve, reject) => {
    const onExit = (code: number | null): void => reject(new Error(`the controller exited (${code})`));
    child.once('exit', onExit);
    child.once('message', (m) => { child.off('exit', onExit); resolve(m as T); });
    if (Object.keys(msg).length > 0) child.send(msg);
  });
  try {
    const t0 = performance.now();
    const { socketPath } = await ask<{ socketPath: string }>({});
    const startedMs = performance.now() - t0;
    const cpu = (): number => { const c = process.cpuUsage(); return (c.user + c.system) / 1000; };
    const server = (): Promise<{ cpuMs: number; batches: number }> => ask({ cmd: 'cpu' });

    // `connections` connections, `perConnection` calls in flight on each, for `runMs`.
    const overSocket = async (prefix: string, connections: number, perConnection: number, runMs = RUN_MS): Promise<Figures> => {
      const conns = Array.from({ length: connections }, () => new AdminConnection(socketPath));
      try {
        await Promise.all(conns.map((c) => c.call('federation.status'))); // connected and warm
        let n = 0;
        const s0 = await server();
        const c0 = cpu();
        const t0 = performance.now();
        const end = t0 + runMs;
        await Promise.all(conns.flatMap((c) => Array.from({ length: perConnection }, async () => {
          while (performance.now() < end) await c.call('resources.apply', { resources: [resource(prefix, n++)], durability: 'quorum' });
        })));
        const ms = performance.now() - t0;
        const s1 = await server();
        return { writes: n, ms, serverCpuMs: s1.cpuMs - s0.cpuMs, clientCpuMs: cpu() - c0, batches: s1.batches - s0.batches };
      } finally {
        for (const c of conns) c.close();
      }
    };
    const embedded = async (prefix: string): Promise<Figures> => {
      const r = await ask<{ writes: number; ms: number; cpuMs: number; batches: number }>({ cmd: 'embedded', prefix, ms: RUN_MS });
      return { writes: r.writes, ms: r.ms, serverCpuMs: r.cpuMs, clientCpuMs: 0, batches: r.batches };
    };
    const modes: Array<[string, (prefix: string) => Promise<Figures>]> = [
      ['admin 64 conns × 1 in flight', (p) => overSocket(p, 64, 1)],
      ['admin 1 conn × 64 pipelined', (p) => overSocket(p, 1, 64)],
      ['admin 8 conns × 8 pipelined', (p) => overSocket(p, 8, 8)],
      ['embedded API, 64 concurrent (floor)', embedded],
    ];
    // Warm up (JIT, the store's first batches) before anything is measured.
    await overSocket('warm', 8, 8, WARM_MS);
    const results = new Map<string, Figures[]>();
    const machine = machineCpu();
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? modes : [...modes].reverse();
      for (const [name, run] of order) {
        const f = await run(`r${round}-${name.replace(/[^a-z0-9]+/gi, '').toLowerCase()}`);
        results.set(name, [...(results.get(name) ?? []), f]);
      }
    }
    const steal = machine();
    console.log(`\nadmin socket pipelining: 1 KiB ProxyRoutes, durability quorum (single controller), ${IN_FLIGHT} calls in flight, ${ROUNDS} round(s) of ${RUN_MS} ms${SMOKE ? ' (smoke)' : ''}`);
    console.log(`${'mode'.padEnd(38)}${'writes/s'.padStart(10)}${'controller CPU ms/1k'.padStart(22)}${'client CPU ms/1k'.padStart(18)}${'writes/fsync'.padStart(14)}`);
    for (const [name] of modes) {
      const fs = results.get(name)!;
      const rate = fs.map((f) => (f.writes * 1000) / f.ms);
      const server = fs.map((f) => (f.serverCpuMs * 1000) / Math.max(1, f.writes));
      const client = fs.map((f) => (f.clientCpuMs * 1000) / Math.max(1, f.writes));
      const perBatch = fs.map((f) => f.writes / Math.max(1, f.batches));
      const range = (xs: number[], digits = 0): string => {
        const lo = Math.min(...xs).toFixed(digits);
        const hi = Math.max(...xs).toFixed(digits);
        return lo === hi ? lo : `${lo}–${hi}`;
      };
      console.log(`${name.padEnd(38)}${range(rate).padStart(10)}${range(server).padStart(22)}${(name.startsWith('embedded') ? '—' : range(client)).padStart(18)}${range(perBatch, 1).padStart(14)}`);
    }
    if (steal !== undefined) console.log(steal);
    console.log(`controller started in ${startedMs.toFixed(0)} ms`);
    const k = (await ask<{ counters: { responsesPaused: number; responseBufferedBytesPeak: number; connectionsRefused: number; connectionsEvicted: number } }>({ cmd: 'cpu' })).counters;
    console.log(`admin counters: responsesPaused ${k.responsesPaused}, responseBufferedBytesPeak ${k.responseBufferedBytesPeak}, connectionsRefused ${k.connectionsRefused}, connectionsEvicted ${k.connectionsEvicted}`);
    const s0 = performance.now();
    await ask({ cmd: 'stop' });
    console.log(`controller stopped in ${(performance.now() - s0).toFixed(0)} ms`);
  } finally {
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === 'controller') await controller(process.argv[3]!);
else await main();
