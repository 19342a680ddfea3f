// Adding a controller (prints figures; not a test; issue 21): three controllers with live membership
// in this process, on loopback, with the fast profiles (anti-entropy every second, promotion checked
// every second) as the other in-process benches, hold N = 100,000 resources of about 1 KiB. A fourth
// controller starts from a bootstrap address alone (ControllerConfig `join`: it waits to be added);
// while a writer keeps writing on ctl-a, ctl-b and ctl-c with quorum durability at a steady rate,
// `members add` on ctl-a adds it with autoPromote. Measured from the add call: until it is committed
// (the call returns), until the joiner's start() resolves (it learnt the record), until it holds the N
// resources, and until every controller, the joiner included, counts it as a voter. Then the bytes the
// joiner moved, next to a plain full copy measured in the same run, and the writes refused.
//
// Bytes, two ways:
//  - anti-entropy bytes: frame bytes (compressed as on the wire, without Noise and Yamux) of every
//    anti-entropy session the joiner took part in: those it started (its replicator's
//    antiEntropyBytes per peer) and those the others started with it (theirs for the joiner: the
//    catch-up pushes and the promotion checks). Each session is counted once, by its client, when it
//    completes: a failed session's bytes are not counted (the timeline shows which failed; those
//    that waited for the joiner's session gate until their deadline moved next to nothing).
//  - TCP bytes: everything on the joiner's connections (push, anti-entropy, members exchange,
//    heartbeats, gossip, auth, Noise and Yamux), from the kernel's tcp_info (ss), polled every
//    200 ms and kept per socket (a socket closed between two polls loses its last 200 ms).
// The reference, a plain full copy: one anti-entropy session of a fresh, empty store against ctl-a's
// (the same protocol code, batch size, repair mode and compression as the controllers, over an
// in-memory pipe), i.e. what a fresh controller moves to get the store by anti-entropy alone. The
// serialized store (the sum of its record texts, uncompressed) is printed next to it.
// A timeline from the add shows what happened when: fences, membership records, anti-entropy
// sessions with the joiner, and event-loop stalls. All four controllers and the writer share this
// process's event loop, and the fast profile's health checks (every 200 ms, 100 ms timeout, three
// misses) make a peer unreachable after a stall of a few hundred ms: a fence right after a stall
// says more about the machine (and this set-up) than about `members add`.
//   npm run bench:members-add          BENCH_ADD_N=100000 BENCH_ADD_RATE=200 BENCH_ROUNDS=1
//   BENCH_SMOKE=1: N = 2,000, 1 round (bench/smoke.ts).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { duplexPair } from 'it-pair/duplex';
import { agentFederation, type AgentFederation } from '../test/helpers/agent-federation.ts';
import { waitFor } from '../test/helpers/wait-for.ts';
import { Store } from '../storage/index.ts';
import type { ControllerNode } from '../node/controller/controller-node.ts';
import { fullCopyBytes, runAntiEntropy, type AntiEntropyReport } from '../node/replication/anti-entropy-client.ts';
import { DEFAULT_ANTI_ENTROPY_LIMITS } from '../node/replication/anti-entropy-messages.ts';
import { serveAntiEntropy } from '../node/replication/anti-entropy-server.ts';
import { MessageStream } from '../node/wire/message-stream.ts';
import { REAL_TIMERS } from '../node/host/timer-components.ts';
import { machineCpu, percentile } from './bench-cluster.ts';
import { envNumber, shortfall, sized } from './smoke.ts';

const N = envNumber('BENCH_ADD_N', 100_000, 2_000);
const rate = envNumber('BENCH_ADD_RATE', 200, 200);
const rounds = envNumber('BENCH_ROUNDS', 1, 1);
/** Writes go on this long after the joiner is a voter everywhere (a fence at the promotion would show there), ms. */
const tailMs = sized(3_000, 1_000);
const EXISTING = ['ctl-a', 'ctl-b', 'ctl-c'];
const JOINER = 'ctl-d';
const root = mkdtempSync(join(tmpdir(), 'novaedge-bench-add-'));
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const mb = (bytes: number): string => `${fmt(bytes / 1e6, 1)} MB`;

// About 1 KiB once encoded; the pad is random base64, so deflate (the wire's frames) about halves a
// record instead of shrinking a run of one letter to nothing.
function resource(prefix: string, i: number): object {
  return { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: `${prefix}-${i}`, namespace: 'default' },
    spec: { hostnames: [`${prefix}-${i}.example.com`], rules: [{ path: '/', backend: `svc-${i}` }], pad: randomBytes(450).toString('base64') } };
}

// ---- the joiner's TCP bytes (ss) ------------------------------------------------------------------

const execFileP = promisify(execFile);

/**
 * Bytes on the joiner's TCP connections, from the kernel (ss -ti: tcp_info bytes_received and
 * bytes_acked, per socket). Its sockets: those on its listen port (connections the others dialed),
 * and those the others accepted from it (their libp2p connection's remote port, to their listen port).
 */
function tcpMeter(f: AgentFederation, joinerPort: number, joinerPeerId: string): { poll(): Promise<void>; totals(): { rx: number; tx: number; sockets: number }; stop(): void; available: boolean } {
  const seen = new Map<string, { rx: number; tx: number }>();
  const portOf = (addr: string): number => Number(/\/tcp\/(\d+)/.exec(addr)?.[1] ?? NaN);
  const listenPorts = new Map(f.plan.map((m) => [m.name, m.port] as const));
  let available = true;
  let busy: Promise<void> | undefined;
  const once = async (): Promise<void> => {
    // (joiner's local port, peer port) of the connections it dialed, from the others' side.
    const dialed = new Set<string>();
    for (const name of EXISTING) {
      const c = f.controllers.get(name);
      if (c === undefined) continue;
      for (const conn of c.membership.libp2p.getConnections()) {
        if (conn.direction === 'inbound' && conn.remotePeer.toString() === joinerPeerId) dialed.add(`${portOf(conn.remoteAddr.toString())}>${listenPorts.get(name)}`);
      }
    }
    let out: string;
    try {
      out = (await execFileP('ss', ['-tinHO', 'state', 'established'], { maxBuffer: 64 << 20 })).stdout;
    } catch {
      available = false;
      return;
    }
    for (const line of out.split('\n')) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 5) continue;
      const [local, peer] = [cols[2]!, cols[3]!];
      const lp = Number(local.slice(local.lastIndexOf(':') + 1));
      const pp = Number(peer.slice(peer.lastIndexOf(':') + 1));
      if (!local.startsWith('127.0.0.1:') || (lp !== joinerPort && !dialed.has(`${lp}>${pp}`))) continue;
      const rx = Number(/\bbytes_received:(\d+)/.exec(line)?.[1] ?? 0);
      const tx = Number(/\bbytes_acked:(\d+)/.exec(line)?.[1] ?? 0);
      const prev = seen.get(`${lp}>${pp}`);
      seen.set(`${lp}>${pp}`, { rx: Math.max(rx, prev?.rx ?? 0), tx: Math.max(tx, prev?.tx ?? 0) });
    }
  };
  const poll = (): Promise<void> => (busy ??= once().finally(() => { busy = undefined; }));
  const timer = setInterval(() => { void poll(); }, 200);
  return {
    poll,
    totals: () => {
      let rx = 0;
      let tx = 0;
      for (const s of seen.values()) { rx += s.rx; tx += s.tx; }
      return { rx, tx, sockets: seen.size };
    },
    stop: () => clearInterval(timer),
    get available() { return available; },
  };
}

// ---- the writer --------------------------------------------------------------------------------

interface WriteSample { startMs: number; ms: number; code: string | undefined; on: string }

/** Quorum writes at `rate`/s, round robin on the existing controllers, open loop (one every 1/rate s, not waiting for the last). */
function startWriter(f: AgentFederation, round: number): { stop(): Promise<WriteSample[]> } {
  const samples: WriteSample[] = [];
  const pending = new Set<Promise<void>>();
  let i = 0;
  const t0 = performance.now();
  let stopped = false;
  // Catch up on ticks a busy event loop delayed, so that the rate holds on average.
  const timer = setInterval(() => {
    const due = Math.floor(((performance.now() - t0) * rate) / 1000);
    while (!stopped && i < due) {
      const n = i++;
      const on = EXISTING[n % EXISTING.length]!;
      const node = f.controllers.get(on)!;
      const s0 = performance.now();
      const p = node.apply(resource(`w${round}`, n), { durability: 'quorum' }).then(
        () => { samples.push({ startMs: s0, ms: performance.now() - s0, code: undefined, on }); },
        (err: unknown) => { samples.push({ startMs: s0, ms: performance.now() - s0, code: (err as { code?: string }).code ?? 'ERROR', on }); },
      );
      pending.add(p);
      void p.finally(() => pending.delete(p));
    }
  }, 5);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all([...pending]);
      return samples;
    },
  };
}

interface WriteFigures { writes: number; ok: number; fenced: number; fencedOn: Map<string, number>; other: Map<string, number>; p50: number; p99: number; max: number }

function writeFigures(samples: WriteSample[]): WriteFigures {
  const other = new Map<string, number>();
  let fenced = 0;
  const fencedOn = new Map<string, number>();
  for (const s of samples) {
    if (s.code === 'FENCED') { fenced++; fencedOn.set(s.on, (fencedOn.get(s.on) ?? 0) + 1); }
    else if (s.code !== undefined) other.set(s.code, (other.get(s.code) ?? 0) + 1);
  }
  const lat = samples.filter((s) => s.code === undefined).map((s) => s.ms).sort((x, y) => x - y);
  return { writes: samples.length, ok: lat.length, fenced, fencedOn, other, p50: percentile(lat, 50), p99: percentile(lat, 99), max: lat.at(-1) ?? 0 };
}

function writeLine(what: string, w: WriteFigures): string {
  const others = [...w.other].map(([c, n]) => `${n} ${c}`).join(', ');
  return `${what}: ${fmt(w.writes)} writes, ${fmt(w.ok)} ok, ${fmt(w.fenced)} FENCED${w.fenced === 0 ? '' : ` (${[...w.fencedOn].map(([c, n]) => `${c} ${n}`).join(', ')})`}, ${others === '' ? '0 other errors' : others}; ` +
    `latency p50 ${fmt(w.p50, 1)} ms, p99 ${fmt(w.p99, 1)} ms, max ${fmt(w.max, 1)} ms`;
}

// ---- the reference: a plain full copy --------------------------------------------------------------

/** One anti-entropy session of a fresh, empty store against `source`'s, with the controllers' settings. */
async function plainCopy(source: ControllerNode, dir: string): Promise<{ report: AntiEntropyReport; equal: boolean }> {
  const empty = await Store.open({ path: dir, member: 'reference', strategy: source.config.strategy });
  try {
    const [x, y] = duplexPair<any>();
    const opts = { frameBytesMax: 8 << 20, messageBytesMax: 64 << 20, ioTimeoutMs: 60_000, compress: source.config.sync.compression, timers: REAL_TIMERS };
    const served = serveAntiEntropy(new MessageStream(y, opts), source.store, { limits: DEFAULT_ANTI_ENTROPY_LIMITS, allowPut: true, requestsMax: 10_000_000 });
    const report = await runAntiEntropy(new MessageStream(x, opts), empty, {
      repairMode: source.config.antiEntropy.repairMode, batchSize: source.config.antiEntropy.batchSize, limits: DEFAULT_ANTI_ENTROPY_LIMITS, timers: REAL_TIMERS,
    });
    await served;
    return { report, equal: empty.merkle.root() === source.store.merkle.root() };
  } finally {
    await empty.close();
  }
}

// ---- one round -----------------------------------------------------------------------------------

interface RoundFigures {
  commitMs: number; joinedMs: number; heldMs: number; voterMs: number;
  refBytes: number; storeBytes: number; aeBytes: number; tcpBytes: number | undefined;
  during: WriteFigures; fenceEvents: number; cpuUsPerResource: number;
}

async function round(r: number): Promise<RoundFigures> {
  const teardowns: Array<() => unknown> = [];
  let dirs = 0;
  const fakeTest = { testdir: () => join(root, `r${r}-${dirs++}`), teardown: (fn: () => unknown) => { teardowns.unshift(fn); } };
  const joinAbort = new AbortController();
  let meter: ReturnType<typeof tcpMeter> | undefined;
  let writer: ReturnType<typeof startWriter> | undefined;
  try {
    const f = await agentFederation(fakeTest, { controllers: EXISTING, agents: [], joiners: [JOINER], pinned: true, splitBrain: {} });
    const nodes = EXISTING.map((n) => f.controllers.get(n)!);
    const a = nodes[0]!;
    await Promise.all(nodes.map((n) => n.ready({ timeoutMs: 30_000 })));

    // Set-up: a third of the resources on each controller, local durability, as fast as group commit
    // takes them. Four controllers on one event loop, with health checks every 200 ms: a loaded
    // machine may stall it long enough for a controller to be fenced a moment; such a write waits
    // until it is writable again and is retried (counted, not measured).
    const f0 = performance.now();
    let fillFenced = 0;
    await Promise.all(nodes.map(async (node, k) => {
      const count = Math.floor(N / nodes.length) + (k < N % nodes.length ? 1 : 0);
      let next = 0;
      await Promise.all(Array.from({ length: 32 }, async () => {
        while (next < count) {
          const i = next++;
          for (;;) {
            try {
              await node.apply(resource(`fill-${EXISTING[k]}`, i), { durability: 'local' });
              break;
            } catch (err) {
              if ((err as { code?: string }).code !== 'FENCED') throw err;
              fillFenced++;
              await node.ready({ timeoutMs: 60_000 });
            }
          }
        }
      }));
    }));
    const filledS = (performance.now() - f0) / 1000;
    await waitFor('the three controllers hold every resource', () => nodes.every((n) => n.store.size >= N && n.store.merkle.root() === a.store.merkle.root()),
      { timeoutMs: sized(900_000, 30_000), intervalMs: 200 }, () => nodes.map((n) => n.store.size));
    const allS = (performance.now() - f0) / 1000;
    await Promise.all(nodes.map((n) => n.ready({ timeoutMs: 60_000 })));
    const size = a.store.size;

    const storeBytes = await fullCopyBytes(a.store);
    const ref = await plainCopy(a, join(root, `r${r}-reference`));
    rmSync(join(root, `r${r}-reference`), { recursive: true, force: true });
    shortfall(ref.equal, 'the reference copy differs from ctl-a\'s store');
    const refBytes = ref.report.bytesSent + ref.report.bytesReceived;
    console.log(`round ${r}/${rounds}: ${fmt(size)} resources on ${EXISTING.join(', ')} (written in ${fmt(filledS, 1)} s, on all three after ${fmt(allS, 1)} s${fillFenced === 0 ? '' : `; ${fmt(fillFenced)} fill writes FENCED and retried`}), ` +
      `${fmt(storeBytes / size)} bytes each serialized`);
    console.log(`  reference, plain full copy: an empty store's anti-entropy session against ctl-a: ${fmt(refBytes)} bytes on the wire ` +
      `(${mb(refBytes)}; ${fmt(ref.report.roundTrips)} round trips, ${fmt(ref.report.durationMs)} ms${ref.equal ? '' : ', COPY DIFFERS'}); serialized store ${fmt(storeBytes)} bytes (${mb(storeBytes)})`);

    // The joiner: from the bootstrap address alone, waiting to be added.
    const d = f.plan.find((p) => p.name === JOINER)!;
    meter = tcpMeter(f, d.port, d.peerId.toString());
    const startedAt = performance.now();
    let joinedAt: number | undefined;
    const joining = f.startJoiner(JOINER, ['ctl-a'], joinAbort.signal);
    void joining.then(() => { joinedAt = performance.now(); note(`${JOINER} joined (start resolved)`); }, () => undefined);
    await new Promise((res) => setTimeout(res, 1_000));

    // A timeline from the add (t0, set below): fence transitions and membership records on the
    // existing controllers, anti-entropy sessions with the joiner as they end (each by its client),
    // and event-loop stalls (all five parts share this process's loop; health checks every 200 ms
    // with a 100 ms timeout, three misses in a row make a peer unreachable).
    let t0 = NaN;
    let fenceEvents = 0;
    const timeline: Array<{ at: number; what: string }> = [];
    const note = (what: string, at = performance.now()): void => { timeline.push({ at: at - t0, what }); };
    const offs = nodes.flatMap((n) => [
      n.on('fence', (e) => {
        if (e.fenced) fenceEvents++;
        note(`${n.membership.memberName} ${e.fenced ? `FENCED (${e.reason}: ${e.votes} of ${e.total} votes, ${e.threshold} needed, reaching ${e.reachable.join('/')})` : 'unfenced'}`);
      }),
      n.members!.onAdopted((rec) => { note(`${n.membership.memberName} committed epoch ${rec.epoch} (voters ${rec.voters.join('/')})`); }),
    ]);
    const sessions = new Map<string, { runs: number; failures: number }>();
    let lastTick = NaN;
    const watch = setInterval(() => {
      const now = performance.now();
      if (!Number.isNaN(t0) && now - lastTick > 300) note(`event loop stalled ${fmt(now - lastTick - 20)} ms`, lastTick + 20);
      lastTick = now;
      const j = f.controllers.get(JOINER);
      const pairs = [
        ...(j?.replicator.status() ?? []).map((st) => ({ client: JOINER, server: st.member, st })),
        ...nodes.flatMap((n) => n.replicator.status().filter((st) => st.member === JOINER).map((st) => ({ client: n.membership.memberName, server: JOINER, st }))),
      ];
      for (const { client, server, st } of pairs) {
        const key = `${client}>${server}`;
        const was = sessions.get(key) ?? { runs: 0, failures: 0 };
        const rep = st.lastAntiEntropy;
        if (st.antiEntropyRuns > was.runs && rep !== undefined && !rep.inSync) {
          note(`anti-entropy ${client} -> ${server} done: ${mb(rep.bytesSent + rep.bytesReceived)}, ${fmt(rep.differingKeys)} keys differing, ${fmt(rep.pulled)} pulled, ${fmt(rep.pushed)} pushed, ${fmt(rep.durationMs)} ms`);
        }
        if (st.antiEntropyFailures > was.failures) note(`anti-entropy ${client} -> ${server} FAILED (bytes not counted)`);
        sessions.set(key, { runs: st.antiEntropyRuns, failures: st.antiEntropyFailures });
      }
    }, 20);
    teardowns.unshift(() => clearInterval(watch));
    // The writer, a second alone first (its latency without a join), then the add.
    writer = startWriter(f, r);
    await new Promise((res) => setTimeout(res, 1_000));
    const loop = monitorEventLoopDelay({ resolution: 10 });
    loop.enable();
    const machine = machineCpu();
    const cpu0 = process.cpuUsage();
    t0 = performance.now();
    lastTick = t0;
    // What ctl-a holds when the add starts: the joiner "holds every resource" once it holds as many.
    const target = a.store.size;
    const added = await a.addController({ name: JOINER, peerId: d.peerId.toString(), endpoints: [d.addr], region: '', autoPromote: true });
    const commitMs = performance.now() - t0;
    let heldMs: number | undefined;
    const all = (): ControllerNode[] => [...nodes, ...(f.controllers.has(JOINER) ? [f.controllers.get(JOINER)!] : [])];
    const voted = await waitFor(`${JOINER} a voter on every controller`, () => {
      const j = f.controllers.get(JOINER);
      if (heldMs === undefined && j !== undefined && j.store.size >= target) { heldMs = performance.now() - t0; note(`${JOINER} holds ${fmt(target)} resources`); }
      return j !== undefined && all().every((c) => c.members?.committed.voters.includes(JOINER) === true);
    }, { timeoutMs: sized(600_000, 30_000), intervalMs: 20 }, () => all().map((c) => `${c.membership.memberName}: ${c.members?.committed.voters.join('/')} ${c.store.size}`)).then(() => true, () => false);
    const voterMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    // Promoted with up to 64 keys still differing (membership/promotion.ts): the last few may come after.
    if (heldMs === undefined) {
      await waitFor(`${JOINER} holds as many resources as ctl-a did at the add`, () => {
        if ((f.controllers.get(JOINER)?.store.size ?? 0) >= target) heldMs = performance.now() - t0;
        return heldMs !== undefined;
      }, { timeoutMs: 10_000, intervalMs: 20 }).catch(() => undefined);
    }
    const machineLine = machine();
    loop.disable();
    shortfall(voted, `${JOINER} not a voter everywhere after ${fmt(voterMs)} ms`);
    await meter.poll();
    const joiner = f.controllers.get(JOINER);
    // Anti-entropy sessions the joiner took part in, each counted by its client.
    const started = joiner?.replicator.status() ?? [];
    const byJoiner = started.reduce((n, s) => n + s.antiEntropyBytes, 0);
    const withJoiner = nodes.map((n) => ({ name: n.membership.memberName, s: n.replicator.status().find((s) => s.member === JOINER) }));
    const byOthers = withJoiner.reduce((n, x) => n + (x.s?.antiEntropyBytes ?? 0), 0);
    const aeBytes = byJoiner + byOthers;
    const pushedAcked = withJoiner.reduce((n, x) => n + (x.s?.recordsAcked ?? 0), 0);
    const tcp = meter.available ? meter.totals() : undefined;
    // The tail: writes go on with four voters (three copies per quorum write now).
    await new Promise((res) => setTimeout(res, tailMs));
    const samples = await writer.stop();
    writer = undefined;
    for (const off of offs) off();
    const tEnd = performance.now();
    const during = writeFigures(samples.filter((s) => s.startMs >= t0 && s.startMs < t0 + voterMs));
    const before = writeFigures(samples.filter((s) => s.startMs < t0));
    const after = writeFigures(samples.filter((s) => s.startMs >= t0 + voterMs));
    const cpuUsPerResource = ((cpu.user + cpu.system) / size);

    const ms = (x: number | undefined): string => (x === undefined ? 'never' : `${fmt(x)} ms`);
    console.log(`  ${JOINER} added at epoch ${added.epoch} (learners ${added.learners.join(', ')}): committed after ${fmt(commitMs, 1)} ms; joined (start resolved) after ${ms(joinedAt === undefined ? undefined : joinedAt - t0)} ` +
      `(started ${fmt(t0 - startedAt)} ms before the add); held as many resources as ctl-a at the add (${fmt(target)}) after ${ms(heldMs)}; a voter on all four controllers after ${fmt(voterMs)} ms`);
    console.log(`  joiner's anti-entropy bytes until then: ${fmt(aeBytes)} (${mb(aeBytes)}) = ${fmt(aeBytes / refBytes, 2)}x the plain full copy (target <= 1.5x), ${fmt(aeBytes / storeBytes, 2)}x the serialized store; ` +
      `sessions ${JOINER} started ${fmt(byJoiner)} bytes in ${started.reduce((n, s) => n + s.antiEntropyRuns, 0)} (${started.reduce((n, s) => n + s.antiEntropyFailures, 0)} failed, not counted), ` +
      withJoiner.map((x) => `${x.name} started ${fmt(x.s?.antiEntropyBytes ?? 0)} in ${x.s?.antiEntropyRuns ?? 0} (${x.s?.antiEntropyFailures ?? 0} failed)`).join(', ') +
      `; besides, ${fmt(pushedAcked)} records pushed to it and acknowledged`);
    if (tcp !== undefined) {
      console.log(`  joiner's TCP bytes until then (all of its ${tcp.sockets} connections: push, anti-entropy, membership, gossip, Noise, Yamux): ` +
        `received ${fmt(tcp.rx)}, sent ${fmt(tcp.tx)}; together ${fmt(tcp.rx + tcp.tx)} (${mb(tcp.rx + tcp.tx)}) = ${fmt((tcp.rx + tcp.tx) / refBytes, 2)}x the plain full copy ` +
        `(the writer's records pushed to it are ${mb(pushedAcked * (storeBytes / size))} of them serialized, less compressed)`);
    } else {
      console.log('  joiner\'s TCP bytes: not measured (ss from iproute2 is not available)');
    }
    console.log(`  ${writeLine(`writes before the add (quorum, ${rate}/s round robin on ${EXISTING.join('/')})`, before)}`);
    console.log(`  ${writeLine('writes during the join (add -> voter everywhere)', during)}`);
    console.log(`  ${writeLine(`writes after, ${fmt((tEnd - t0 - voterMs) / 1000, 1)} s with four voters`, after)}`);
    console.log(`  fence events (writes refused) on the existing controllers during the join and after: ${fenceEvents}`);
    const shown = timeline.sort((x, y) => x.at - y.at).filter((e) => e.at >= 0);
    console.log(`  timeline from the add (event-loop stalls over 300 ms, fences, records, anti-entropy sessions with ${JOINER}):`);
    for (const e of shown.slice(0, 40)) console.log(`    +${fmt(e.at)} ms  ${e.what}`);
    if (shown.length > 40) console.log(`    ... ${shown.length - 40} more`);
    console.log(`  CPU of this process (four controllers and the writer) during the join: ${fmt((cpu.user + cpu.system) / 1000)} ms, ${fmt(cpuUsPerResource, 1)} us per resource held; ` +
      `event-loop delay p99 ${fmt(loop.percentile(99) / 1e6, 0)} ms, max ${fmt(loop.max / 1e6, 0)} ms`);
    if (machineLine !== undefined) console.log(`  ${machineLine}`);
    return {
      commitMs, joinedMs: joinedAt === undefined ? NaN : joinedAt - t0, heldMs: heldMs ?? NaN, voterMs, refBytes, storeBytes, aeBytes,
      tcpBytes: tcp === undefined ? undefined : tcp.rx + tcp.tx, during, fenceEvents, cpuUsPerResource,
    };
  } finally {
    await writer?.stop();
    meter?.stop();
    joinAbort.abort(new Error('bench over'));
    for (const td of teardowns) await td();
  }
}

try {
  const results: RoundFigures[] = [];
  for (let r = 1; r <= rounds; r++) results.push(await round(r));
  // A figure missing in every round (a timeout swallowed by a real run) is n/a, not NaN.
  const med = (xs: number[]): number => percentile(xs.filter((x) => !Number.isNaN(x)).sort((x, y) => x - y), 50);
  const fmtMs = (x: number, digits = 0): string => (Number.isNaN(x) ? 'n/a' : `${fmt(x, digits)} ms`);
  const tcp = results.map((x) => x.tcpBytes).filter((x): x is number => x !== undefined);
  const rows: Array<[string, string, string]> = [
    ['members add -> committed', fmtMs(med(results.map((x) => x.commitMs)), 1), ''],
    ['members add -> joined (start resolved)', fmtMs(med(results.map((x) => x.joinedMs))), ''],
    ['members add -> holds every resource', fmtMs(med(results.map((x) => x.heldMs))), ''],
    ['members add -> voter on every controller', fmtMs(med(results.map((x) => x.voterMs))), ''],
    ['joiner anti-entropy bytes / plain full copy', `${fmt(med(results.map((x) => x.aeBytes / x.refBytes)), 2)}x`, '<= 1.5x'],
    ...(tcp.length === results.length ? [['joiner TCP bytes, writes pushed meanwhile included / plain full copy', `${fmt(med(results.map((x) => x.tcpBytes! / x.refBytes)), 2)}x`, '<= 1.5x'] as [string, string, string]] : []),
    ['plain full copy / serialized store', `${fmt(med(results.map((x) => x.refBytes / x.storeBytes)), 2)}x`, ''],
    ['writes FENCED on existing controllers during the join', fmt(results.reduce((n, x) => n + x.during.fenced, 0)), '0'],
    ['writes failed otherwise during the join', fmt(results.reduce((n, x) => n + [...x.during.other.values()].reduce((a, b) => a + b, 0), 0)), '0'],
    ['writer max latency during the join', `${fmt(Math.max(...results.map((x) => x.during.max)), 1)} ms`, ''],
    ['CPU per resource held, during the join', `${fmt(med(results.map((x) => x.cpuUsPerResource)), 1)} us`, ''],
  ];
  console.log(`members add, ${fmt(N)} resources, writer ${rate}/s, median of ${results.length} rounds:`);
  const w0 = Math.max(...rows.map((x) => x[0].length));
  const w1 = Math.max(...rows.map((x) => x[1].length));
  for (const [k, v, target] of rows) console.log(`  ${k.padEnd(w0)}  ${v.padStart(w1)}${target === '' ? '' : `  (target ${target})`}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
