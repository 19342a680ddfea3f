// Agent benchmark (prints figures; not a test): 3 controllers in separate processes on loopback.
//   1. fan-out: 100 agents (in 4 processes, primaries spread over the controllers) and a write made
//      on us-west: time from its acknowledgement until each agent sees it, p50/p99 (target p99 <= 100 ms);
//   2. catch-up: an agent that missed 100 of 100,000 resources: bytes and round trips it moves, next
//      to the full copy it pulled when it started empty;
//   3. failover with the fast profile (target <= 1 s): the primary's process killed (its connections
//      drop), then the next one frozen with SIGSTOP (silent: only missed health checks tell).
//   npm run bench:agents        BENCH_AGENTS=100 BENCH_RESOURCES=100000 BENCH_WRITES=50 BENCH_FAN_RATE=10
//   BENCH_PARTS=fanout or BENCH_PARTS=catchup (catch-up, then failover with the same probe agent) runs one part.
//   BENCH_SMOKE=1: every part with 4 agents in 2 processes, 300 resources, 5 writes (bench/smoke.ts).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FAST_AGENT, type AgentConfig } from '../node/agent/agent-config.ts';
import { AgentNode } from '../node/agent/agent-node.ts';
import { FAST_PROFILE } from '../node/config/membership-config.ts';
import { benchMembership, benchPki, BenchProcs, machineCpu, percentile, type BenchMember } from './bench-cluster.ts';
import { envNumber, envString, shortfall, sized } from './smoke.ts';

const agentCount = envNumber('BENCH_AGENTS', 100, 4);
const resources = envNumber('BENCH_RESOURCES', 100_000, 300);
const writes = envNumber('BENCH_WRITES', 50, 5);
// Writes per second during the fan-out: each one reaches every agent, so 10/s is 1,000 deliveries/s.
const fanRate = envNumber('BENCH_FAN_RATE', 10, 20);
// Processes the agents are spread over (each runs its share in one event loop).
const agentProcs = envNumber('BENCH_AGENT_PROCS', 4, 2);
const parts = new Set(envString('BENCH_PARTS', 'fanout,catchup', 'fanout,catchup').split(','));
// BENCH_FILE_COPY=off runs the fan-out's agents without their file copy (autonomousMode). Each agent
// rewrites its copy about a second after a change; on separate machines that costs each agent a
// fraction of a percent, but here 25 agents share a process and all 100 share two cores with the
// deliveries, so the copies add to every agent's latency. Off shows the delivery path alone.
const fileCopy = process.env.BENCH_FILE_COPY !== 'off';
const dir = mkdtempSync(join(process.env.BENCH_DATA_DIR ?? tmpdir(), 'novaedge-bench-agents-'));
const names = ['us-west', 'eu-west', 'ap-east'];
const agentNames = Array.from({ length: agentCount }, (_, i) => `edge-${i}`);
const pki = await benchPki(dir, 'bench', names, [...agentNames, 'probe']);
const member = (name: string): BenchMember => pki.members.find((m) => m.name === name)!;
const controllers = pki.members.filter((m) => m.role === 'controller');
const procs = new BenchProcs();
await Promise.all(controllers.map((m) => procs.start(m.name, './controller-process.ts', dir, {
  // Room for every agent's connection, all from one host.
  membership: benchMembership(pki, m, controllers.filter((o) => o !== m).map((o) => o.addr), { connectionsMax: 1_000, inboundConnectionsPerHostPerSecondMax: 10_000 }),
  replication: { dataDir: join(dir, m.name), controllers: names },
})));
await procs.until('controllers connected', async () => (await Promise.all(names.map((n) => procs.ask(n, { cmd: 'peers' })))).every((u) => u.up === 2));

function agentConfig(name: string, primary: string, over: Partial<AgentConfig> = {}): AgentConfig {
  const order = [primary, ...names.filter((n) => n !== primary)];
  return {
    // Agents only dial; a fixed port could be taken meanwhile by one of the many outgoing connections.
    membership: benchMembership(pki, member(name), [], { listen: ['/ip4/127.0.0.1/tcp/0'] }) as AgentConfig['membership'],
    dataDir: join(dir, name),
    controllers: { primary: { endpoint: member(order[0]!).addr }, secondary: order.slice(1).map((n) => ({ endpoint: member(n).addr, priority: 100 })) },
    ...over,
  };
}

// ---- 1. fan-out -------------------------------------------------------------------------------------
if (parts.has('fanout')) {
  // The guide's probe settings (a health check every 10 s): fan-out goes through the config stream,
  // and a hundred agents probing several times a second would measure the probes instead.
  const fanProfile: Partial<AgentConfig> = {};
  const groups = Array.from({ length: agentProcs }, (_, g) => agentNames.filter((_, i) => i % agentProcs === g));
  await Promise.all(groups.map((g, k) => procs.start(`agents-${k}`, './agent-process.ts', dir, {
    agents: g.map((name) => agentConfig(name, names[Number(name.slice(5)) % names.length]!, fileCopy ? {} : { autonomousMode: { enabled: false } })), profile: fanProfile,
  })));
  const agentGroups = groups.map((_, k) => `agents-${k}`);
  const tConnect = performance.now();
  let lastReport = 0;
  await procs.until(`${agentCount} agents connected`, async () => {
    const n = (await Promise.all(agentGroups.map((g) => procs.ask(g, { cmd: 'connected' })))).reduce((s, r) => s + r.n, 0);
    if (performance.now() - lastReport > 10_000) {
      lastReport = performance.now();
      console.log(`  ${n}/${agentCount} agents connected after ${((performance.now() - tConnect) / 1000).toFixed(0)} s`);
    }
    return n === agentCount;
  }, 300_000);
  console.log(`${agentCount} agents connected and caught up in ${((performance.now() - tConnect) / 1000).toFixed(1)} s`);
  // Warm-up writes, not measured: the first deliveries run in V8's interpreter while the JIT
  // compiles the path on the same two cores; steady state is what the figure is about.
  const warmWrites = envNumber('BENCH_FAN_WARMUP', 20, 2);
  if (warmWrites > 0) await procs.ask('us-west', { cmd: 'rate', perSecond: fanRate, count: warmWrites, prefix: 'warm' });
  console.log(`  ${await procs.quiet([...names, ...agentGroups])}`);
  const cpuOf = async (): Promise<number[]> => (await Promise.all([...names, ...agentGroups].map((n) => procs.ask(n, { cmd: 'busy' })))).map((r) => r.cpuMs);
  // The background (heartbeats, probes, gossip) over one idle health-check period (10 s: the
  // periodic work comes in bursts), to tell it from the fan-out's own cost.
  const idleSeconds = sized(10, 0.5);
  const idle0 = await cpuOf();
  await new Promise((r) => setTimeout(r, idleSeconds * 1000));
  const idlePerSecond = (await cpuOf()).map((c, i) => (c - idle0[i]!) / idleSeconds);
  const cpu0 = await cpuOf();
  const fanCpu = machineCpu();
  const tFan = performance.now();
  await Promise.all(agentGroups.map((g) => procs.ask(g, { cmd: 'watch', prefix: 'fan' })));
  const { acks } = await procs.ask('us-west', { cmd: 'rate', perSecond: fanRate, count: writes, prefix: 'fan' });
  const ackAt = new Map<string, number>(acks);
  let seen: Array<[number, string, number]> = [];
  let stalls: Array<{ loopDelayP99Ms: number; loopDelayMaxMs: number }> = [];
  await procs.until('every agent saw every write', async () => {
    const replies = await Promise.all(agentGroups.map((g) => procs.ask(g, { cmd: 'seen' })));
    stalls = replies;
    seen = replies.flatMap((r, k) => r.seen.map(([i, key, at]: [number, string, number]) => [k * 1000 + i, key, at] as [number, string, number]));
    return seen.length >= agentCount * writes;
  }, 20_000).catch(() => undefined);
  shortfall(seen.length >= agentCount * writes, `fan-out: ${seen.length} of ${agentCount * writes} deliveries within 20 s`);
  const fanSeconds = (performance.now() - tFan) / 1000;
  const machine = fanCpu();
  const cpuPerWrite = (await cpuOf()).map((c, i) => (c - cpu0[i]! - idlePerSecond[i]! * fanSeconds) / writes);
  const lags = seen.map(([, key, at]) => Math.max(0, at - ackAt.get(key)!)).sort((a, b) => a - b);
  const lastPerWrite = new Map<string, number>();
  for (const [, key, at] of seen) lastPerWrite.set(key, Math.max(lastPerWrite.get(key) ?? 0, at - ackAt.get(key)!));
  const allSaw = [...lastPerWrite.values()].sort((a, b) => a - b);
  console.log(`fan-out, write on us-west -> ${agentCount} agents (${writes} writes at ${fanRate}/s, ${seen.length}/${agentCount * writes} deliveries${fileCopy ? '' : ', agents without file copy'}): ` +
    `p50 ${percentile(lags, 50).toFixed(1)} ms, p99 ${percentile(lags, 99).toFixed(1)} ms, max ${lags.at(-1)?.toFixed(1)} ms (target p99 <= 100 ms); ` +
    `until the last agent: p50 ${percentile(allSaw, 50).toFixed(1)} ms, p99 ${percentile(allSaw, 99).toFixed(1)} ms`);
  // Whether slow writes are scattered or come in a run (something that stalled everything for a
  // while: a host hiccup, a burst of background work) tells where to look for the tail.
  const inOrder = [...lastPerWrite.entries()].sort((x, y) => ackAt.get(x[0])! - ackAt.get(y[0])!).map(([, ms]) => ms);
  let run = { from: 0, length: 0 };
  for (let i = 0, start = 0; i < inOrder.length; i++) {
    if (inOrder[i]! <= 100) start = i + 1;
    else if (i + 1 - start > run.length) run = { from: start, length: i + 1 - start };
  }
  const slow = inOrder.filter((ms) => ms > 100).length;
  console.log(`  writes the last agent saw after more than 100 ms: ${slow} of ${inOrder.length}` +
    (slow === 0 ? '' : `; the longest run of them: ${run.length} in a row (writes ${run.from + 1}-${run.from + run.length}, ${inOrder.slice(run.from, run.from + run.length).map((ms) => ms.toFixed(0)).join(' ')} ms)`));
  // By the controller each agent follows: us-west's own agents, and those one replication hop away.
  for (const [c, name] of names.entries()) {
    const mine = seen.filter(([id]) => (Math.floor(id / 1000) + (id % 1000) * agentProcs) % names.length === c)
      .map(([, key, at]) => Math.max(0, at - ackAt.get(key)!)).sort((a, b) => a - b);
    console.log(`  agents following ${name}: p50 ${percentile(mine, 50).toFixed(1)} ms, p99 ${percentile(mine, 99).toFixed(1)} ms (${mine.length} deliveries)`);
  }
  console.log(`  CPU per write beyond the background, ms: ${[...names, ...agentGroups].map((n, i) => `${n} ${cpuPerWrite[i]!.toFixed(1)}`).join(', ')}; ` +
    `background, ms per second: ${idlePerSecond.map((c) => c.toFixed(0)).join('/')}`);
  if (machine !== undefined) console.log(`  ${machine}`);
  console.log(`  event-loop delay in the agent processes (${agentCount / agentProcs} agents each): p99 ${stalls.map((x) => x.loopDelayP99Ms.toFixed(0)).join('/')} ms, max ${stalls.map((x) => x.loopDelayMaxMs.toFixed(0)).join('/')} ms`);
  await Promise.all(agentGroups.map((g) => procs.ask(g, { cmd: 'stop' })));
}

// ---- 2. catch-up ------------------------------------------------------------------------------------
if (parts.has('catchup')) {
  const fill = await procs.ask('us-west', { cmd: 'fill', count: resources, prefix: 'fill', concurrency: 64, padBytes: 200 });
  console.log(`filled us-west with ${resources} resources in ${fill.seconds.toFixed(1)} s`);
  await procs.until('controllers identical', async () => new Set((await Promise.all(names.map((n) => procs.ask(n, { cmd: 'root' })))).map((r) => r.root)).size === 1, 300_000);
  const probeConfig = agentConfig('probe', 'us-west', { autonomousMode: { enabled: false } });
  const startProbe = (): Promise<AgentNode> => AgentNode.start(probeConfig, { membershipProfile: FAST_PROFILE, agentProfile: FAST_AGENT });
  const waitConnected = async (a: AgentNode, what: string, cond: () => boolean = () => true): Promise<number> => {
    const t0 = performance.now();
    await procs.until(what, async () => a.state === 'Connected' && cond(), 300_000);
    return performance.now() - t0;
  };
  let probe = await startProbe();
  await waitConnected(probe, 'probe caught up');
  const full = probe.status().lastCatchUp!;
  console.log(`empty agent, full copy of ${probe.store.size} resources: ${(full.bytesReceived / 1e6).toFixed(1)} MB received in ${(full.durationMs / 1000).toFixed(1)} s`);
  await probe.stop();
  await procs.ask('us-west', { cmd: 'rate', perSecond: 1_000, count: 100, prefix: 'fill', padBytes: 200, salt: '-v2' });
  probe = await startProbe();
  await waitConnected(probe, 'probe caught up again');
  const inc = probe.status().lastCatchUp!;
  const differingBytes = inc.pulled * (full.bytesReceived / Math.max(1, probe.store.size));
  console.log(`agent that missed 100 of ${probe.store.size}: ${inc.differingKeys} differing keys, ${inc.pulled} pulled, ${inc.bytesReceived + inc.bytesSent} bytes on the wire ` +
    `(${inc.bytesSent} sent, ${inc.bytesReceived} received) in ${inc.roundTrips} round trips, ${inc.durationMs.toFixed(0)} ms; ` +
    `full copy ${full.bytesReceived} bytes (${((inc.bytesReceived + inc.bytesSent) / full.bytesReceived * 100).toFixed(2)} %); the 100 records alone ~${differingBytes.toFixed(0)} bytes`);

  // ---- 3. failover --------------------------------------------------------------------------------------
  await procs.until('probe follows us-west', async () => probe.state === 'Connected' && probe.status().controller === 'us-west');
  procs.procs.get('us-west')!.kill('SIGKILL');
  const killMs = await waitConnected(probe, 'failover after kill', () => probe.status().controller !== 'us-west');
  const next = probe.status().controller!;
  console.log(`failover, primary process killed: served by ${next} after ${killMs.toFixed(0)} ms (fast profile; target <= 1 s)`);
  const frozen = procs.procs.get(next)!;
  frozen.kill('SIGSTOP');
  const stopMs = await waitConnected(probe, 'failover after freeze', () => probe.status().controller !== next);
  const F = FAST_AGENT.failover!;
  console.log(`failover, ${next} frozen (SIGSTOP, connections stay open): served by ${probe.status().controller} after ${stopMs.toFixed(0)} ms ` +
    `(bound failureThreshold x interval + interval = ${F.failureThreshold! * F.healthCheckIntervalMs! + F.healthCheckIntervalMs!} ms; target <= 1 s)`);
  frozen.kill('SIGCONT');
  await probe.stop();
}
await procs.stopAll();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
