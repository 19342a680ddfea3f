// Agents in one process for benchmarks, driven over the IPC channel by bench/agents.ts.
// argv[2]: a JSON file with { agents: AgentConfig[], profile: Partial<AgentConfig> }.
import { readFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pino from 'pino';
import { serveBenchCommands } from './bench-cluster.ts';
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

serveBenchCommands({
  connected: () => ({ n: agents.filter((a) => a.state === 'Connected').length }),
  watch: (m) => {
    watching = m.prefix;
    seen.length = 0;
    loopDelay.reset();
    loopDelay.enable();
  },
  // How many deliveries were seen, without shipping them (cheap to poll while measuring).
  count: () => ({ n: seen.length }),
  seen: () => ({ seen, loopDelayP99Ms: loopDelay.percentile(99) / 1e6, loopDelayMaxMs: loopDelay.max / 1e6 }),
  stop: async () => {
    await Promise.all(agents.map((a) => a.stop()));
  },
});
send({ cmd: 'started' });
