// A controller in its own process for benchmarks, driven over the IPC channel by bench/replication.ts.
// argv[2]: a JSON file with { membership: MembershipConfig, replication: ReplicationConfig }, and
// optionally adminSocket: a path where it serves the admin API too (bench/vs-etcd.ts), and, when the
// membership config has remoteClients, the remote admin protocol.
// Writes are local-durable unless a command carries durability: 'quorum'.
import { readdirSync, readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { startAdminServer } from '../node/admin/admin-server.ts';
import { controllerMethods } from '../node/admin/controller-methods.ts';
import { RemoteAdmin } from '../node/admin/remote-admin.ts';
import { FAST_PROFILE } from '../node/config/membership-config.ts';
import { ControllerNode } from '../node/controller/controller-node.ts';
import { encodeJsonText } from '../node/wire/codec.ts';
import { lengthPrefixed } from '../node/wire/frame-reader.ts';
import { mulberry32, randomBytesFrom } from '../test/helpers/seeded-random.ts';
import { serveBenchCommands, stretchProfiler } from './bench-cluster.ts';

// Milliseconds since this process started (performance.timeOrigin): the restart figure's phases.
const loadedMs = performance.now();
const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8'));
// Replication and membership on their defaults (anti-entropy every 5 minutes, heartbeats every 10 s):
// the figures are those of push. A 1-second anti-entropy would spend its runs chasing writes still in
// flight, and the fast membership profile's gossip costs about a tenth of a core per process
// (BENCH_FAST_MEMBERSHIP=1 to include it).
// BENCH_PUSH_QUEUE_MAX lowers the push queue (default 10,000) so a burst overflows it on a slow machine too.
const pushQueueMax = process.env.BENCH_PUSH_QUEUE_MAX === undefined ? {} : { pushQueueMax: Number(process.env.BENCH_PUSH_QUEUE_MAX) };
const node = await ControllerNode.start(config, { ...pushQueueMax, ...(process.env.BENCH_FAST_MEMBERSHIP === '1' ? { membershipProfile: FAST_PROFILE } : {}) });
const admin = typeof config.adminSocket === 'string'
  ? await startAdminServer({ socketPath: config.adminSocket, methods: controllerMethods(node), timers: node.membership.components.timers })
  : undefined;
const clients = node.membership.config.remoteClients;
const remoteAdmin = clients === undefined ? undefined : new RemoteAdmin({
  federationId: node.membership.config.federationId, auth: node.membership.auth, clientConnectionsMax: clients.connectionsMax,
  methods: controllerMethods(node), timers: node.membership.components.timers,
});
await remoteAdmin?.start(node.membership.libp2p);
const startedMs = performance.now();
const nowMs = (): number => performance.timeOrigin + performance.now();
const send = (m: unknown): void => { process.send!(m); };

// A pad that does not compress (base64 of seeded random bytes, the same for every write: each frame
// is compressed on its own, so none gains from the others): what a 1 KiB value costs on the wire when
// compression cannot shrink it. 'x' repeated (the default) compresses to almost nothing.
const randomPads = new Map<number, string>();
function randomPad(bytes: number): string {
  let pad = randomPads.get(bytes);
  if (pad === undefined) {
    pad = Buffer.from(randomBytesFrom(mulberry32(20), Math.ceil((bytes * 3) / 4))).toString('base64').slice(0, bytes);
    randomPads.set(bytes, pad);
  }
  return pad;
}

function resource(prefix: string, i: number, padBytes = 820, salt = '', padKind: 'repeat' | 'random' = 'repeat'): object {
  return { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: `${prefix}-${i}`, namespace: 'default' },
    spec: { hostnames: [`h${i}.example.com`], rules: [{ path: '/', backend: `svc-${i}${salt}` }], pad: padKind === 'random' ? randomPad(padBytes) : 'x'.repeat(padBytes) } };
}

/** Open file descriptors of this process (Linux /proc; NaN elsewhere). */
function openFds(): number {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return NaN;
  }
}

// Event-loop delay during the lag phase: tail latency is bounded below by the longest stall.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
const seen = new Map<string, number>();
let watching: string | undefined;
void (async () => {
  for await (const e of node.watch()) if (watching !== undefined && e.view.key.includes(`/${watching}-`) && !seen.has(e.view.key)) seen.set(e.view.key, nowMs());
})();

const profiler = stretchProfiler();
serveBenchCommands({
  peers: () => {
    // Ready when pushing to both peers and holding quorum with both (heard from them).
    const up = Math.min(node.replicator.status().filter((s) => s.connected).length, node.fence.reachable().length - 1);
    return { up };
  },
  load: async (m) => {
    // m.profile: a path for a CPU profile of this load alone (bench/profile-top.ts reads it).
    if (m.profile !== undefined) await profiler.start();
    let next = 0;
    const early0 = node.store.stats.sentEarly;
    const batches0 = node.store.batches;
    const batchMs0 = node.store.batchMs;
    const cpu0 = process.cpuUsage();
    const end = Date.now() + m.ms;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: m.writers }, async () => {
      while (Date.now() < end) await node.apply(resource(m.prefix, next++), { durability: m.durability });
    }));
    const st = node.replicator.status();
    const batches = st.reduce((n, x) => n + x.batchesAcked, 0);
    const records = st.reduce((n, x) => n + x.recordsAcked, 0);
    const cpu = process.cpuUsage(cpu0);
    if (m.profile !== undefined) await profiler.stop(m.profile);
    return {
      writes: next, seconds: (performance.now() - t0) / 1000, recordsPerBatch: records / Math.max(1, batches),
      syncedBatches: node.store.batches - batches0, msPerSyncedBatch: (node.store.batchMs - batchMs0) / Math.max(1, node.store.batches - batches0),
      cpuSeconds: (cpu.user + cpu.system) / 1e6, sentEarly: node.store.stats.sentEarly - early0,
    };
  },
  fill: async (m) => {
    // Many small resources as fast as group commit takes them (set-up for catch-up figures).
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: m.concurrency }, async () => {
      while (next < m.count) await node.apply(resource(m.prefix, next++, m.padBytes), { durability: m.durability });
    }));
    return { seconds: (performance.now() - t0) / 1000, size: node.store.size, root: node.store.merkle.root() };
  },
  root: () => ({ size: node.store.size, root: node.store.merkle.root() }),
  replication: () => ({
    peers: node.replicator.status().map((p) => ({ member: p.member, overflows: p.overflows, lagMs: p.lagMs, needsRepair: p.needsRepair, antiEntropyRuns: p.antiEntropyRuns, antiEntropyFailures: p.antiEntropyFailures, lastAntiEntropy: p.lastAntiEntropy })),
  }),
  rate: async (m) => {
    const acks: Array<[string, number, number]> = [];
    const gapMs = 1000 / m.perSecond;
    const t0 = performance.now();
    const pending: Array<Promise<void>> = [];
    for (let i = 0; i < m.count; i++) {
      const due = t0 + i * gapMs;
      const wait = due - performance.now();
      if (wait > 1) await new Promise((r) => setTimeout(r, wait));
      // Each ack: [key, acknowledged at, sent at] (wall ms).
      const sentMs = nowMs();
      pending.push(node.apply(resource(m.prefix, i, m.padBytes, m.salt, m.padKind), { durability: m.durability }).then((r) => { acks.push([r.view.key, nowMs(), sentMs]); }));
    }
    await Promise.all(pending);
    return { acks };
  },
  probe: async (m) => {
    // One quorum write as soon as the node takes it (restart figures): retried until it succeeds.
    const deadline = Date.now() + m.timeoutMs;
    for (;;) {
      try {
        await node.ready({ timeoutMs: Math.max(1, deadline - Date.now()) });
        const readyMs = performance.now();
        await node.apply(resource('probe', m.i), { durability: 'quorum' });
        return { phases: { loadedMs, startedMs, readyMs, ackedMs: performance.now() } };
      } catch (err) {
        if (Date.now() > deadline) throw err;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  },
  frame: async (m) => {
    // The config-stream frame that carries the stored record `key` alone to an agent, encoded as
    // ConfigBroadcast encodes one (a `records` message, compressed when the node compresses),
    // with its length prefix: the bytes MessageStream.writeFrame hands to the agent's stream.
    const [text] = await node.store.getRecordTexts([m.key]);
    if (text === undefined) throw new Error(`no record ${m.key}`);
    const payload = encodeJsonText(`{"t":"records","records":[${text}]}`, node.config.sync.compression);
    return {
      payload: Buffer.from(payload).toString('base64'), framedBytes: lengthPrefixed(payload).length,
      recordBytes: Buffer.byteLength(text), compressed: node.config.sync.compression,
    };
  },
  memory: () => {
    // After a full collection when the process runs with --expose-gc (BenchProcs.start's execArgv).
    const gc = (globalThis as { gc?: () => void }).gc;
    if (gc !== undefined) { gc(); gc(); }
    const u = process.memoryUsage();
    // Open connections and the streams on them, by protocol (what each agent's connection carries).
    const conns = node.membership.libp2p.getConnections();
    const protocols: Record<string, number> = {};
    for (const c of conns) for (const st of c.streams) protocols[st.protocol ?? '?'] = (protocols[st.protocol ?? '?'] ?? 0) + 1;
    return {
      collected: gc !== undefined, rss: u.rss, heapUsed: u.heapUsed, external: u.external, arrayBuffers: u.arrayBuffers,
      fds: openFds(), agents: node.replicator.followingAgents().length, connections: conns.length, protocols,
    };
  },
  watch: (m) => {
    watching = m.prefix;
    seen.clear();
    loopDelay.reset();
    loopDelay.enable();
  },
  seen: () => ({ seen: [...seen], loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6 }),
  loop: (m) => {
    // Event-loop delay over a stretch: { action: 'start' }, then { action: 'stop' } answers it.
    if (m.action === 'start') {
      loopDelay.reset();
      loopDelay.enable();
      return;
    }
    loopDelay.disable();
    return { p99Ms: loopDelay.percentile(99) / 1e6, maxMs: loopDelay.max / 1e6 };
  },
  stop: async () => {
    await remoteAdmin?.stop();
    await admin?.close();
    await node.stop();
  },
}, { busyExtra: () => ({ syncedBatches: node.store.batches }), profiler });
send({ cmd: 'started', peerId: node.membership.peerId.toString() });
