// An agent's metrics, with the guide's names. Read through a narrow view of the agent, so the
// exporter does not depend on how the agent is built (AgentNode satisfies it).
import type { Registry } from 'prom-client';
import type { RejectionCount } from '../replication/record-rejections.ts';
import { liveCounter, liveGauge, one } from './live-metrics.ts';
import { registerRecordsRejected } from './records-rejected.ts';

/** What the exporter reads from an agent. */
export interface AgentMetricsSource {
  /** The agent's status at this moment. */
  status(): {
    /** Times the agent left a failed controller. */
    failovers: number;
    /** Name of the controller followed now, if any. */
    controller: string | undefined;
    /** Every configured controller: name (undefined until it authenticated once; then the endpoint is used) and connection. */
    controllers: Array<{ name: string | undefined; endpoint?: string; connected: boolean }>;
  };
  /** Records refused from controllers, per controller and reason. */
  rejections?: { counts(): RejectionCount[] };
}

/** Register an agent's metrics on `registry`. */
export function registerAgentMetrics(registry: Registry, agent: AgentMetricsSource): void {
  const label = (c: { name: string | undefined; endpoint?: string }): string => c.name ?? c.endpoint ?? 'unknown';
  liveCounter({
    name: 'novaedge_agent_failover_total', registry, labelNames: [],
    help: 'Times this agent left a failed controller for another.',
    read: () => one(agent.status().failovers),
  });
  liveGauge({
    name: 'novaedge_agent_controller_connection', registry, labelNames: ['controller'],
    help: 'Whether this agent holds an authenticated connection to each configured controller (1) or not (0).',
    read: () => agent.status().controllers.map((c) => ({ labels: { controller: label(c) }, value: c.connected ? 1 : 0 })),
  });
  const rejections = agent.rejections;
  if (rejections !== undefined) registerRecordsRejected(registry, () => rejections.counts());
  liveGauge({
    name: 'novaedge_agent_controller_current', registry, labelNames: ['controller'],
    help: 'The controller this agent takes its configuration from now (1); absent when it runs autonomously.',
    read: () => {
      const s = agent.status();
      return s.controller === undefined ? [] : [{ labels: { controller: s.controller }, value: 1 }];
    },
  });
}
