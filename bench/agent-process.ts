// Agents in one process for benchmarks, driven over the IPC channel by bench/agents.ts.
// argv[2]: a JSON file with { agents: AgentConfig[], profile: Partial<AgentConfig> }.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { busyMeter, stretchProfiler } from './bench-cluster.ts';
import { AgentNode } from '../node/agent/agent-node.ts';
import type { AgentConfig } from '../node/agent/agent-config.ts';

const config = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { agents: AgentConfig[]; profile: Partial<AgentConfig> };
// BENCH_LOG=warn (or info) prints the agents' logs to stderr.
const logger = process.env.BENCH_LOG === undefined ? undefined : pino({ level: process.env.BENCH_LOG }, pino.destination(2));
const agents = await Promise.all(config.agents.map((c) => AgentNode.start(c, { agentProfile: config.profile, ...(logger === undefined ? {} : { logger }) })));
const nowMs = (): number => performance.timeOrigin + performance.now();
const send = (m: unknown): void => { process.send!(m); };

// First time each agent saw each key with the watched prefix: [agent index, key, ms since epoch].
let watching: string | undefined;
// Event-loop delay while watching: one process hosts many agents, so one's stall delays them all.
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
const seen: Array<[number, string, number]> = [];
agents.forEach((a, i) => {
  void (async () => {
    for await (const e of a.watch()) if (watching !== undefined && e.view.key.includes(`/${watching}-`)) seen.push([i, e.view.key, nowMs()]);
  })();
});

const busy = busyMeter();
const profiler = stretchProfiler();
process.on('message', async (m: { cmd: string; [k: string]: any }) => {
  try {
    switch (m.cmd) {
      case 'busy':
        send({ cmd: 'busy', ...busy() });
        break;
      case 'connected':
        send({ cmd: 'connected', n: agents.filter((a) => a.state === 'Connected').length });
        break;
      case 'watch':
        watching = m.prefix;
        seen.length = 0;
        loopDelay.reset();
        loopDelay.enable();
        send({ cmd: 'watch' });
        break;
      case 'profile':
        // A CPU profile of a stretch: { action: 'start' }, then { action: 'stop', path }.
        if (m.action === 'start') await profiler.start(); else await profiler.stop(m.path);
        send({ cmd: 'profile' });
        break;
      case 'count':
        // How many deliveries were seen, without shipping them (cheap to poll while measuring).
        send({ cmd: 'count', n: seen.length });
        break;
      case 'seen':
        send({ cmd: 'seen', seen, loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6 });
        break;
      case 'stop':
        await Promise.all(agents.map((a) => a.stop()));
        send({ cmd: 'stop' });
        process.exit(0);
    }
  } catch (err) {
    send({ cmd: 'error', message: (err as Error).stack ?? String(err) });
  }
});
send({ cmd: 'started' });
