// Agent fan-out cost (issue 20, "Agents at scale"; prints figures, asserts nothing): the CPU a
// controller spends per agent delivery and the CPU an agent spends per delivery, each next to the
// floor of moving the same bytes over one Noise+yamux stream between two processes, in one run.
// Latency at 100 agents on two cores measures the host (bench:agents); CPU per delivery is what the
// code controls, and what says how many agents a controller serves.
//
//   npm run bench:agent-cost                       (about 2 minutes)
//   BENCH_SMOKE=1 npm run bench:agent-cost         (a few seconds: every part runs, figures mean nothing)
//   BENCH_AGENTS=20 BENCH_AGENT_PROCS=4 BENCH_RATE=20 BENCH_WRITES=200 BENCH_ROUNDS=2 BENCH_FILE_COPY=off BENCH_PAD=random
//
// One controller (a single-controller federation) and BENCH_AGENTS agents, all following it, spread
// over BENCH_AGENT_PROCS processes. One controller, not three: with three, each controller's CPU
// would mix pushing to its peers and receiving their pushes into the fan-out; with one, everything
// its process does beyond its idle background is the writes and their delivery to the agents, and
// the writes' own cost is measured apart (before any agent connects) and taken out.
// The agents run with their file copy off (autonomousMode.enabled false) unless BENCH_FILE_COPY=on:
// the figure is the delivery path; the copy is a separate cost (a rewrite per coalescing window).
//
// Parts, in this order:
//   1. the controller alone: BENCH_WRITES/4 writes at BENCH_RATE with no agent: CPU per write (the
//      write itself: store, Merkle, fsync), and the frame that carries one such record to an agent
//      (ConfigBroadcast's encoding, length prefix included): its size is what the floor sends;
//   2. the agents connect; the controller's memory and file descriptors before and after, per agent;
//   3. rounds, alternating: the floor (two processes, bench/stream-floor-process.ts: a bare libp2p
//      host each with NovaEdge's transport stack, one stream, the frame written BENCH_WRITES x
//      BENCH_AGENTS times, in bursts of BENCH_AGENTS at BENCH_RATE bursts/s, which is the pattern in
//      which the controller writes frames; then a quarter as many spread evenly, one per wake-up),
//      then the system (BENCH_WRITES writes at BENCH_RATE on the controller, each delivered to every
//      agent). Each run's CPU (process.cpuUsage in each child) less an idle baseline measured right
//      before it, for as long (the floor's: 2 s, it has no background; part 1's: half as long as
//      a system run's, BENCH_WRITES / BENCH_RATE / 2 s, 5 s by default); deliveries counted per agent
//      and key, not timed; the bytes and TCP segments the controller's sockets sent (ss), stolen
//      CPU and the share other processes took (/proc/stat).
// BENCH_PROF=<dir> writes a CPU profile of every child process, start to end (BenchProcs).
// BENCH_WINDOW_PROF=<dir> adds one more system run after the rounds, not counted, with the controller
// and the agent processes profiled over its writes and deliveries alone, and prints the functions
// with the most self time in each, per delivery (bench/profile-top.ts; profiling slows them down).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AgentConfig } from '../node/agent/agent-config.ts';
import { topLines } from './profile-top.ts';
import { benchMembership, benchPki, BenchProcs, machineShares, percentile, type MachineShares } from './bench-cluster.ts';
import { envNumber, envString, shortfall, sized, smoke } from './smoke.ts';

const agentCount = envNumber('BENCH_AGENTS', 20, 4);
const agentProcs = Math.min(agentCount, envNumber('BENCH_AGENT_PROCS', 4, 2));
/** Writes per second on the controller; each reaches every agent. */
const rate = envNumber('BENCH_RATE', 20, 20);
/** Writes per system run (and the floor sends writes x agents messages). */
const writes = envNumber('BENCH_WRITES', 200, 10);
const rounds = envNumber('BENCH_ROUNDS', 2, 1);
const fileCopy = envString('BENCH_FILE_COPY', 'off', 'off') === 'on';
/** 'random': a pad that does not compress (every byte of the value on the wire); 'repeat': 'x' repeated. */
const padKind = envString('BENCH_PAD', 'random', 'random') as 'random' | 'repeat';
/** Pad of each resource: about 1 KiB of JSON in all, as the other benches write. */
const PAD_BYTES = 820;
/** Noise and yamux around one message: yamux's 12-byte header, Noise's 2-byte length and 16-byte tag. */
const TRANSPORT_OVERHEAD_BYTES = 12 + 2 + 16;
const windowSeconds = writes / rate;
const floorIdleSeconds = Math.min(2, windowSeconds);
/** Write rates of the capacity estimate, per second. */
const CAPACITY_RATES = [10, 100, 1_000];
/** Agent counts of the fan-out time estimate. */
const FAN_OUT_AGENTS = [100, 1_000, 10_000];

const dir = mkdtempSync(join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'novaedge-bench-agent-cost-'));
const agentNames = Array.from({ length: agentCount }, (_, i) => `edge-${i}`);
const pki = await benchPki(dir, 'bench', ['ctl'], agentNames);
const ctl = pki.members.find((m) => m.name === 'ctl')!;
const procs = new BenchProcs();
const agentGroups = Array.from({ length: agentProcs }, (_, k) => `agents-${k}`);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const range = (xs: number[], digits = 0): string => {
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return fmt(lo, digits) === fmt(hi, digits) ? fmt(lo, digits) : `${fmt(lo, digits)}–${fmt(hi, digits)}`;
};
const median = (xs: number[]): number => percentile([...xs].sort((a, b) => a - b), 50);
/** A figure that needs Linux tools (`ss`, /proc/self/task): "unknown" where they are missing. */
const known = (n: number, digits: number): string => Number.isFinite(n) ? n.toFixed(digits) : 'unknown';

/** CPU so far of named processes, ms: all of it, the kernel's part, the main thread's part. */
async function cpuOf(names: string[]): Promise<{ cpu: number[]; sys: number[]; main: number[] }> {
  const rs = await Promise.all(names.map((n) => procs.ask(n, { cmd: 'busy' })));
  return { cpu: rs.map((r) => r.cpuMs as number), sys: rs.map((r) => r.systemMs as number), main: rs.map((r) => r.mainThreadMs as number) };
}
const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);

/** TCP counters of the established loopback sockets whose local (or peer) port is `port` (ss). */
function socketCounters(port: number, end: 'local' | 'peer'): { bytesSent: number; segsOut: number } {
  let out = '';
  try {
    out = execFileSync('ss', ['-tinH', 'state', 'established', `( ${end === 'local' ? 'sport' : 'dport'} = :${port} )`], { encoding: 'utf8' });
  } catch {
    return { bytesSent: NaN, segsOut: NaN };
  }
  const num = (s: string, name: string): number => Number(new RegExp(`\\b${name}:(\\d+)`).exec(s)?.[1] ?? 0);
  // Each socket: a line of addresses, then an indented line of counters.
  const stats = out.split('\n').filter((l) => /^\s/.test(l) && l.includes('segs_out'));
  return { bytesSent: sum(stats.map((l) => num(l, 'bytes_sent'))), segsOut: sum(stats.map((l) => num(l, 'segs_out'))) };
}

/** What one measured window cost, beyond the idle baseline taken right before it. */
interface Window {
  seconds: number;
  /** CPU beyond the baseline, ms, per process in the order asked. */
  cpuMs: number[];
  /** The kernel's part of it (system time: socket I/O, fsync), ms. */
  sysMs: number[];
  /** The main thread's part of it (the event loop: what a CPU profile samples), ms. */
  mainMs: number[];
  /** The baseline: CPU per second while idle, ms, per process. */
  idleMsPerSecond: number[];
  machine: MachineShares | undefined;
}

/**
 * Idle baseline of `idleSeconds` on `names`, then `work`, then their CPU less the baseline scaled to
 * the work's duration. The machine's shares cover the work only.
 */
async function measure(names: string[], idleSeconds: number, work: () => Promise<void>): Promise<Window> {
  const idle0 = await cpuOf(names);
  await sleep(idleSeconds * 1000);
  const idle1 = await cpuOf(names);
  const idlePerSecond = idle1.cpu.map((c, i) => (c - idle0.cpu[i]!) / idleSeconds);
  const idleSysPerSecond = idle1.sys.map((c, i) => (c - idle0.sys[i]!) / idleSeconds);
  const idleMainPerSecond = idle1.main.map((c, i) => (c - idle0.main[i]!) / idleSeconds);
  const cpu0 = await cpuOf(names);
  const self0 = process.cpuUsage();
  const shares = machineShares();
  const t0 = performance.now();
  await work();
  const seconds = (performance.now() - t0) / 1000;
  const cpu1 = await cpuOf(names);
  const raw = cpu1.cpu.map((c, i) => c - cpu0.cpu[i]!);
  const self = process.cpuUsage(self0);
  const machine = shares(sum(raw) + (self.user + self.system) / 1000);
  return {
    seconds, cpuMs: raw.map((c, i) => c - idlePerSecond[i]! * seconds),
    sysMs: cpu1.sys.map((c, i) => c - cpu0.sys[i]! - idleSysPerSecond[i]! * seconds),
    mainMs: cpu1.main.map((c, i) => c - cpu0.main[i]! - idleMainPerSecond[i]! * seconds), idleMsPerSecond: idlePerSecond, machine,
  };
}

const sharesText = (m: MachineShares | undefined): string => m === undefined ? 'machine shares unknown'
  : `stolen ${m.stolenPct.toFixed(0)}%, other processes ${m.othersPct.toFixed(0)}%, niced ${m.nicedPct.toFixed(0)}%, idle ${m.idlePct.toFixed(0)}%`;

// ---- the controller, and the controller alone --------------------------------------------------------
await procs.start('ctl', './controller-process.ts', dir, {
  // Room for every agent's connection, all from one host.
  membership: benchMembership(pki, ctl, [], { connectionsMax: 1_000, inboundConnectionsPerHostPerSecondMax: 10_000 }),
  replication: { dataDir: join(dir, 'ctl'), controllers: ['ctl'] },
}, {}, ['--expose-gc']);
const rateCmd = (prefix: string, count: number): Promise<{ acks: Array<[string, number, number]> }> =>
  procs.ask('ctl', { cmd: 'rate', perSecond: rate, count, prefix, padBytes: PAD_BYTES, padKind });
// Warm-up, not measured: the first writes run in V8's interpreter.
await rateCmd('warm', sized(40, 4));
const aloneWrites = Math.max(1, Math.round(writes / 4));
let aloneKey = '';
const alone = await measure(['ctl'], windowSeconds / 2, async () => { aloneKey = (await rateCmd('alone', aloneWrites)).acks[0]![0]; });
const writeCostUs = (alone.cpuMs[0]! * 1000) / aloneWrites;
const frameInfo = await procs.ask('ctl', { cmd: 'frame', key: aloneKey });
const frameBytes: number = frameInfo.framedBytes;
console.log(`agent cost: 1 controller, ${agentCount} agents in ${agentProcs} processes (file copy ${fileCopy ? 'on' : 'off'}), ${rate} writes/s, ` +
  `${writes} writes per run (${fmt(writes * agentCount)} deliveries), ${rounds} rounds; machine ${(await import('node:os')).availableParallelism()} CPUs`);
console.log(`frame of one changed record to one agent: ${frameBytes} bytes (record ${frameInfo.recordBytes} bytes of JSON, ${padKind === 'random' ? 'incompressible' : 'repeated'} ${PAD_BYTES}-byte pad, ` +
  `compression ${frameInfo.compressed ? 'on' : 'off'}); ${frameBytes + TRANSPORT_OVERHEAD_BYTES} bytes with yamux and Noise framing`);
console.log(`controller alone, CPU per write (store, Merkle, fsync; no agent): ${fmt(writeCostUs)} us, kernel ${fmt((alone.sysMs[0]! * 1000) / aloneWrites)} us ` +
  `(${aloneWrites} writes at ${rate}/s; ${sharesText(alone.machine)})`);

// ---- the agents -----------------------------------------------------------------------------------------
const memBefore = await procs.ask('ctl', { cmd: 'memory' });
function agentConfig(name: string): AgentConfig {
  return {
    // Agents only dial; a fixed port could be taken meanwhile by one of the many outgoing connections.
    membership: benchMembership(pki, pki.members.find((m) => m.name === name)!, [], { listen: ['/ip4/127.0.0.1/tcp/0'] }) as AgentConfig['membership'],
    dataDir: join(dir, name),
    controllers: { primary: { endpoint: ctl.addr } },
    ...(fileCopy ? {} : { autonomousMode: { enabled: false } }),
  };
}
// The floor's two processes start meanwhile (they stay idle until the rounds).
await Promise.all([
  ...agentGroups.map((g, k) => procs.start(g, './agent-process.ts', dir, {
    agents: agentNames.filter((_, i) => i % agentProcs === k).map(agentConfig), profile: {},
  })),
  procs.start('floor-tx', './stream-floor-process.ts', dir, {}),
  procs.start('floor-rx', './stream-floor-process.ts', dir, {}),
]);
const tConnect = performance.now();
await procs.until(`${agentCount} agents connected`, async () =>
  sum((await Promise.all(agentGroups.map((g) => procs.ask(g, { cmd: 'connected' })))).map((r) => r.n)) === agentCount, 120_000);
console.log(`${agentCount} agents connected and caught up in ${((performance.now() - tConnect) / 1000).toFixed(1)} s`);
// Warm-up of the delivery path, not measured.
await rateCmd('warm-fan', sized(40, 4));
console.log(`  ${await procs.quiet(['ctl', ...agentGroups])}`);
const memAfter = await procs.ask('ctl', { cmd: 'memory' });
const perAgent = (k: 'rss' | 'heapUsed' | 'external' | 'fds'): number => (memAfter[k] - memBefore[k]) / agentCount;
console.log(`controller memory per connected agent: RSS ${fmt(perAgent('rss') / 1024)} KiB, heap ${fmt(perAgent('heapUsed') / 1024)} KiB, ` +
  `external ${fmt(perAgent('external') / 1024)} KiB, ${known(perAgent('fds'), 2)} file descriptors ` +
  `(RSS ${fmt(memBefore.rss / 2 ** 20)} -> ${fmt(memAfter.rss / 2 ** 20)} MiB, ${memBefore.fds} -> ${memAfter.fds} fds, ${memAfter.agents} agents following; ` +
  `${memAfter.collected ? 'after a full GC' : 'without a forced GC'})`);
// The streams each agent's connection keeps open at the controller, by protocol (the federation's id left out).
const streamsPerAgent = Object.entries(memAfter.protocols as Record<string, number>)
  .map(([protocol, n]) => [protocol.replace(/\/novaedge\/[^/]+\//, '/novaedge/<fed>/'), n - ((memBefore.protocols as Record<string, number>)[protocol] ?? 0)] as const)
  .filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]);
console.log(`  per agent at the controller: ${((memAfter.connections - memBefore.connections) / agentCount).toFixed(2)} connections, ` +
  `${(sum(streamsPerAgent.map(([, n]) => n)) / agentCount).toFixed(2)} open streams (${streamsPerAgent.map(([p, n]) => `${p} ${(n / agentCount).toFixed(2)}`).join(', ')})`);

// ---- the floor's stream ----------------------------------------------------------------------------
const { addr: floorAddr } = await procs.ask('floor-rx', { cmd: 'address' });
const floorPort = Number(/\/tcp\/(\d+)/.exec(floorAddr)![1]);
await procs.ask('floor-tx', { cmd: 'dial', addr: floorAddr });
let floorSent = 0;
async function floorSend(count: number, perSecond: number, burst: number): Promise<void> {
  await procs.ask('floor-tx', { cmd: 'send', payload: frameInfo.payload, count, perSecond, burst });
  floorSent += count;
  await procs.until('floor messages received', async () => (await procs.ask('floor-rx', { cmd: 'count' })).n >= floorSent, 60_000);
}
// Warm-up, not measured.
await floorSend(sized(2_000, 20), rate, agentCount);

// ---- rounds ---------------------------------------------------------------------------------------------
interface FloorRun { txUs: number; rxUs: number; txSysUs: number; rxSysUs: number; spreadTxUs: number; spreadRxUs: number; bytesPerMessage: number; segsPerMessage: number; machine: MachineShares | undefined }
interface SystemRun {
  ctlUs: number; ctlFanUs: number; agentUs: number; ctlSysUs: number; agentSysUs: number; ctlMainUs: number; agentMainUs: number; deliveries: number; expected: number; perSecond: number;
  lagP50: number; lagP99: number; bytesPerDelivery: number; segsPerDelivery: number; machine: MachineShares | undefined;
  /** Idle CPU right before, us per second: the controller's, and the agent processes' together. */
  ctlIdleUs: number; agentsIdleUs: number;
}
const floorRuns: FloorRun[] = [];
const systemRuns: SystemRun[] = [];
const messages = writes * agentCount;

async function floorRun(): Promise<FloorRun> {
  const tcp0 = socketCounters(floorPort, 'peer');
  const burst = await measure(['floor-tx', 'floor-rx'], floorIdleSeconds, () => floorSend(messages, rate, agentCount));
  const tcp1 = socketCounters(floorPort, 'peer');
  const spreadCount = Math.max(1, Math.round(messages / 4));
  const spread = await measure(['floor-tx', 'floor-rx'], floorIdleSeconds / 2, () => floorSend(spreadCount, rate * agentCount, 1));
  return {
    txUs: (burst.cpuMs[0]! * 1000) / messages, rxUs: (burst.cpuMs[1]! * 1000) / messages,
    txSysUs: (burst.sysMs[0]! * 1000) / messages, rxSysUs: (burst.sysMs[1]! * 1000) / messages,
    spreadTxUs: (spread.cpuMs[0]! * 1000) / spreadCount, spreadRxUs: (spread.cpuMs[1]! * 1000) / spreadCount,
    bytesPerMessage: (tcp1.bytesSent - tcp0.bytesSent) / messages, segsPerMessage: (tcp1.segsOut - tcp0.segsOut) / messages, machine: burst.machine,
  };
}

async function systemRun(round: number | string, profileDir?: string): Promise<SystemRun> {
  const prefix = `sys${round}`;
  await Promise.all(agentGroups.map((g) => procs.ask(g, { cmd: 'watch', prefix })));
  const expected = writes * agentCount;
  let acks: Array<[string, number, number]> = [];
  let counted = 0;
  // The controller's sockets' counters over an idle stretch as long as the run, and over the run.
  const idleTcp0 = socketCounters(ctl.port, 'local');
  let idleTcp1 = idleTcp0;
  let tcp0 = idleTcp0;
  const w = await measure(['ctl', ...agentGroups], windowSeconds, async () => {
    idleTcp1 = socketCounters(ctl.port, 'local');
    tcp0 = idleTcp1;
    if (profileDir !== undefined) await Promise.all(['ctl', ...agentGroups].map((n) => procs.ask(n, { cmd: 'profile', action: 'start' })));
    acks = (await rateCmd(prefix, writes)).acks;
    await procs.until('every agent saw every write', async () => {
      counted = sum((await Promise.all(agentGroups.map((g) => procs.ask(g, { cmd: 'count' })))).map((r) => r.n));
      return counted >= expected;
    }, 30_000).catch(() => undefined);
    if (profileDir !== undefined) await Promise.all(['ctl', ...agentGroups].map((n) => procs.ask(n, { cmd: 'profile', action: 'stop', path: join(profileDir, `${n}.cpuprofile`) })));
  });
  const tcp1 = socketCounters(ctl.port, 'local');
  // Counted by agent and key: each agent must have seen each write once.
  const replies = await Promise.all(agentGroups.map((g) => procs.ask(g, { cmd: 'seen' })));
  const pairs = new Set<string>();
  const ackAt = new Map(acks.map(([key, at]) => [key, at] as const));
  const lags: number[] = [];
  let lastSeen = 0;
  for (const [k, r] of replies.entries()) {
    for (const [i, key, at] of r.seen as Array<[number, string, number]>) {
      if (!ackAt.has(key)) continue;
      pairs.add(`${k}/${i}/${key}`);
      lags.push(Math.max(0, at - ackAt.get(key)!));
      lastSeen = Math.max(lastSeen, at);
    }
  }
  lags.sort((a, b) => a - b);
  const deliveries = pairs.size;
  shortfall(deliveries === expected, `round ${round}: ${deliveries} of ${expected} deliveries (agent, write) within 30 s`);
  const firstSent = Math.min(...acks.map(([, , sent]) => sent));
  const idleBytes = idleTcp1.bytesSent - idleTcp0.bytesSent;
  const idleSegs = idleTcp1.segsOut - idleTcp0.segsOut;
  const ctlCpu = w.cpuMs[0]!;
  return {
    ctlUs: (ctlCpu * 1000) / deliveries,
    ctlFanUs: ((ctlCpu - (writeCostUs * writes) / 1000) * 1000) / deliveries,
    agentUs: (sum(w.cpuMs.slice(1)) * 1000) / deliveries,
    ctlSysUs: (w.sysMs[0]! * 1000) / deliveries, agentSysUs: (sum(w.sysMs.slice(1)) * 1000) / deliveries,
    ctlMainUs: (w.mainMs[0]! * 1000) / deliveries, agentMainUs: (sum(w.mainMs.slice(1)) * 1000) / deliveries,
    deliveries, expected,
    // From the first write to the last delivery, plus the one write gap that W writes on schedule
    // span beyond their W - 1 gaps: rate x agents when the agents keep up.
    perSecond: deliveries / ((lastSeen - firstSent) / 1000 + 1 / rate),
    lagP50: percentile(lags, 50), lagP99: percentile(lags, 99),
    bytesPerDelivery: (tcp1.bytesSent - tcp0.bytesSent - (idleBytes * w.seconds) / windowSeconds) / deliveries,
    segsPerDelivery: (tcp1.segsOut - tcp0.segsOut - (idleSegs * w.seconds) / windowSeconds) / deliveries,
    machine: w.machine,
    ctlIdleUs: w.idleMsPerSecond[0]! * 1000, agentsIdleUs: sum(w.idleMsPerSecond.slice(1)) * 1000,
  };
}

for (let r = 1; r <= rounds; r++) {
  const f = await floorRun();
  floorRuns.push(f);
  console.log(`round ${r}/${rounds} floor: sender ${f.txUs.toFixed(1)} us/message (kernel ${f.txSysUs.toFixed(1)}), receiver ${f.rxUs.toFixed(1)} us/message (kernel ${f.rxSysUs.toFixed(1)}) ` +
    `(${fmt(messages)} messages of ${frameBytes} bytes in bursts of ${agentCount}, ${rate} bursts/s; ${known(f.bytesPerMessage, 0)} bytes and ${known(f.segsPerMessage, 2)} TCP segments on the wire each; ${sharesText(f.machine)}); ` +
    `one per wake-up: sender ${f.spreadTxUs.toFixed(1)}, receiver ${f.spreadRxUs.toFixed(1)} us/message`);
  const s = await systemRun(r);
  systemRuns.push(s);
  console.log(`round ${r}/${rounds} system: controller ${s.ctlUs.toFixed(1)} us/delivery (kernel ${s.ctlSysUs.toFixed(1)}, main thread ${known(s.ctlMainUs, 0)}; ${s.ctlFanUs.toFixed(1)} without the write itself), ` +
    `agent ${s.agentUs.toFixed(1)} us/delivery (kernel ${s.agentSysUs.toFixed(1)}, main thread ${known(s.agentMainUs, 0)}) ` +
    `(${fmt(s.deliveries)}/${fmt(s.expected)} deliveries, ${fmt(s.perSecond)} deliveries/s; ${known(s.bytesPerDelivery, 0)} bytes and ${known(s.segsPerDelivery, 2)} TCP segments sent per delivery; ` +
    `ack -> agent p50 ${s.lagP50.toFixed(1)} ms, p99 ${s.lagP99.toFixed(1)} ms; ${sharesText(s.machine)})`);
}

// ---- the table -----------------------------------------------------------------------------------------
const ctlRatios = systemRuns.map((s, i) => s.ctlFanUs / floorRuns[i]!.txUs);
const ctlGrossRatios = systemRuns.map((s, i) => s.ctlUs / floorRuns[i]!.txUs);
const agentRatios = systemRuns.map((s, i) => s.agentUs / floorRuns[i]!.rxUs);
const verdict = (ratios: number[], target: number): string => ratios.every((x) => x <= target) ? 'met' : ratios.every((x) => x > target) ? 'MISSED' : 'met in some rounds';
console.log('');
console.log('| figure (CPU per delivery, us; ratios within a round) | measured | floor | ratio | target |');
console.log('| --- | --- | --- | --- | --- |');
console.log(`| controller, fan-out (less the write itself) | ${range(systemRuns.map((s) => s.ctlFanUs), 1)} | sender ${range(floorRuns.map((f) => f.txUs), 1)} | ${range(ctlRatios, 2)}× | ≤ 3×: ${verdict(ctlRatios, 3)} |`);
console.log(`| controller, all its CPU / deliveries (kernel part) | ${range(systemRuns.map((s) => s.ctlUs), 1)} (${range(systemRuns.map((s) => s.ctlSysUs), 1)}) | sender ${range(floorRuns.map((f) => f.txUs), 1)} (${range(floorRuns.map((f) => f.txSysUs), 1)}) | ${range(ctlGrossRatios, 2)}× | |`);
console.log(`| agent (kernel part) | ${range(systemRuns.map((s) => s.agentUs), 1)} (${range(systemRuns.map((s) => s.agentSysUs), 1)}) | receiver ${range(floorRuns.map((f) => f.rxUs), 1)} (${range(floorRuns.map((f) => f.rxSysUs), 1)}) | ${range(agentRatios, 2)}× | ≤ 5×: ${verdict(agentRatios, 5)} |`);
console.log(`| deliveries/s achieved (${rate} writes/s x ${agentCount} agents) | ${range(systemRuns.map((s) => s.perSecond))} | | | |`);
console.log('');
console.log(`controller CPU per delivery: ${range(systemRuns.map((s) => s.ctlFanUs), 1)} us without the write, ${range(systemRuns.map((s) => s.ctlUs), 1)} us with it; ` +
  `floor sender ${range(floorRuns.map((f) => f.txUs), 1)} us/message; ratio ${range(ctlRatios, 2)}x (target <= 3x: ${verdict(ctlRatios, 3)})`);
console.log(`agent CPU per delivery: ${range(systemRuns.map((s) => s.agentUs), 1)} us; floor receiver ${range(floorRuns.map((f) => f.rxUs), 1)} us/message; ` +
  `ratio ${range(agentRatios, 2)}x (target <= 5x: ${verdict(agentRatios, 5)})`);

// ---- capacity, from the medians -----------------------------------------------------------------------
// A core's second: the writes themselves, then per agent its deliveries and its idle background.
// The background: the controller's idle CPU before the system runs (their mean: each idle stretch
// is one health-check period at the defaults, and the periodic work comes in bursts) less its idle
// CPU with no agent, measured in part 1.
const mean = (xs: number[]): number => sum(xs) / xs.length;
const ctlIdleUs = mean(systemRuns.map((s) => s.ctlIdleUs));
const backgroundPerAgentUs = Math.max(0, (ctlIdleUs - alone.idleMsPerSecond[0]! * 1000) / agentCount);
const agentBackgroundUs = mean(systemRuns.map((s) => s.agentsIdleUs)) / agentCount;
// At least 1 us: a tiny run's fan-out, less a write cost measured apart, can come out at or below 0.
const fanUs = Math.max(1, median(systemRuns.map((s) => s.ctlFanUs)));
// The fan-out alone (the writes' own cost does not grow with agents; it is the write path's figure),
// and what is left of the core after the writes at the per-write cost measured here (one record per
// store batch at BENCH_RATE: at higher rates group commit and the broadcast batch records, so both
// are upper bounds there).
const fanOnly = CAPACITY_RATES.map((w) => 1e6 / (w * fanUs + backgroundPerAgentUs));
const afterWrites = CAPACITY_RATES.map((w) => Math.max(0, (1e6 - w * writeCostUs) / (w * fanUs + backgroundPerAgentUs)));
console.log(`background per connected agent (idle: heartbeats, health checks): controller ${fmt(backgroundPerAgentUs)} us/s, agent ${fmt(agentBackgroundUs)} us/s ` +
  `(controller with no agent: ${fmt(alone.idleMsPerSecond[0]! * 1000)} us/s)`);
console.log(`agents one controller core serves, fan-out alone (CPU 100% busy; medians: ${fanUs.toFixed(1)} us/delivery): ${CAPACITY_RATES.map((w, i) => `${fmt(fanOnly[i]!)} at ${fmt(w)} writes/s`).join(', ')}`);
console.log(`  the same after the writes themselves at ${fmt(writeCostUs)} us each: ${CAPACITY_RATES.map((w, i) => `${fmt(afterWrites[i]!)} at ${fmt(w)} writes/s`).join(', ')}`);
// The controller writes one change's frames to its agents one after the other on one event loop: the
// last agent's leaves that long after the first, whatever the cores (a floor under p99).
console.log(`  one change's frames to every agent take ${FAN_OUT_AGENTS.map((n) => `${fmt((n * fanUs) / 1000, 1)} ms for ${fmt(n)}`).join(', ')} agents of the controller's event loop`);
console.log('CPU per operation is each process\'s own (process.cpuUsage, every thread); niced work (the simulation sweep) takes idle CPU only: ' +
  'it stretches wall-clock figures, little the CPU per operation');

// ---- where the time goes (BENCH_WINDOW_PROF) ------------------------------------------------------------
const profileDir = process.env.BENCH_WINDOW_PROF;
if (profileDir !== undefined && profileDir !== '') {
  mkdirSync(profileDir, { recursive: true });
  const p = await systemRun('profiled', profileDir);
  console.log(`\nprofiled system run (not counted; profiling slows it): controller ${p.ctlUs.toFixed(1)} us/delivery, agent ${p.agentUs.toFixed(1)} us/delivery; profiles in ${profileDir}`);
  const topN = envNumber('BENCH_PROF_TOP', 25, 5);
  // A profile samples the main thread: its shares are of the main thread's CPU per delivery.
  const ctlUs = median(systemRuns.map((s) => s.ctlMainUs));
  const agentUs = median(systemRuns.map((s) => s.agentMainUs));
  console.log(`main thread per delivery (what the profiles split): controller ${ctlUs.toFixed(0)} us of ${median(systemRuns.map((s) => s.ctlUs)).toFixed(0)}, ` +
    `agent ${agentUs.toFixed(0)} us of ${median(systemRuns.map((s) => s.agentUs)).toFixed(0)}; the rest is other threads (LevelDB's writes and fsyncs, GC helpers)`);
  console.log(`controller over the run (${fmt(p.deliveries)} deliveries of ${writes} writes; the writes included):`);
  for (const line of topLines([join(profileDir, 'ctl.cpuprofile')], topN, ctlUs)) console.log(`  ${line}`);
  console.log(`agent processes together over the run (${fmt(p.deliveries)} deliveries):`);
  for (const line of topLines(agentGroups.map((g) => join(profileDir, `${g}.cpuprofile`)), topN, agentUs)) console.log(`  ${line}`);
  // The background: an idle stretch as long as a run, profiled the same way.
  const names = ['ctl', ...agentGroups];
  await Promise.all(names.map((n) => procs.ask(n, { cmd: 'profile', action: 'start' })));
  await sleep(windowSeconds * 1000);
  await Promise.all(names.map((n) => procs.ask(n, { cmd: 'profile', action: 'stop', path: join(profileDir, `${n}-idle.cpuprofile`) })));
  console.log(`controller idle for ${windowSeconds} s with ${agentCount} agents:`);
  for (const line of topLines([join(profileDir, 'ctl-idle.cpuprofile')], Math.min(topN, 15), ctlIdleUs, 'the controller\'s idle CPU per second (all threads)')) console.log(`  ${line}`);
  console.log(`agent processes idle for ${windowSeconds} s:`);
  for (const line of topLines(agentGroups.map((g) => join(profileDir, `${g}-idle.cpuprofile`)), Math.min(topN, 15), agentBackgroundUs, 'an agent\'s idle CPU per second (all threads)')) console.log(`  ${line}`);
}
if (smoke) console.log('(smoke run: the figures mean nothing)');

await procs.stopAll();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
