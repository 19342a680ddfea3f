// One prom-client Registry per node (never the global one: several nodes can live in one process,
// in tests and in embedding programs), holding the node's metrics and, for the daemon, the process
// metrics (CPU, memory, event loop, GC, file descriptors) under their usual names.
import { collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import type { ControllerNode } from '../controller/controller-node.ts';
import { registerAgentMetrics, type AgentMetricsSource } from './agent-metrics.ts';
import { registerControllerMetrics, type ControllerMetricsOptions } from './controller-metrics.ts';

/** Identity labels of novaedge_node_info. */
export interface NodeInfoLabels {
  /** Federation ID. */
  federationId: string;
  /** Member name. */
  member: string;
  /** controller or agent. */
  role: 'controller' | 'agent';
  /** libp2p peer ID. */
  peerId: string;
}

/** What a registry is built over. */
export interface NodeRegistryOptions {
  /** Who the node is (novaedge_node_info). */
  info: NodeInfoLabels;
  /** A controller node, for the federation metrics. */
  controller?: ControllerNode;
  /** Options of the controller metrics. */
  controllerMetrics?: ControllerMetricsOptions;
  /** An agent, for the agent metrics. */
  agent?: AgentMetricsSource;
  /**
   * Add process metrics (default false). They describe the whole process, so only one registry per
   * process should carry them: the daemon's. Each call also starts an event-loop monitor for good.
   */
  processMetrics?: boolean;
}

/** A registry with the node's metrics. */
export function createNodeRegistry(o: NodeRegistryOptions): Registry {
  const registry = new Registry();
  const info = new Gauge({
    name: 'novaedge_node_info', help: 'This node: federation, member name, role and peer ID (always 1).',
    labelNames: ['federation_id', 'member', 'role', 'peer_id'], registers: [registry],
  });
  info.set({ federation_id: o.info.federationId, member: o.info.member, role: o.info.role, peer_id: o.info.peerId }, 1);
  if (o.controller !== undefined) registerControllerMetrics(registry, o.controller, o.controllerMetrics);
  if (o.agent !== undefined) registerAgentMetrics(registry, o.agent);
  if (o.processMetrics === true) collectDefaultMetrics({ register: registry });
  return registry;
}
