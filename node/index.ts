// The embeddable entry point: createNode(config) starts a node of the configured role.
//
//   const controller = await createNode({ membership: { role: 'controller', ... }, replication: {...} });
//   await controller.apply({ apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: 'api' }, spec: {} });
//
//   const agent = await createNode({ membership: { role: 'agent', ... }, dataDir, controllers: { primary: { endpoint } } });
//   for await (const change of agent.watch({ fromSeq: 0 })) reconfigure(change.view);
import { AgentNode, type AgentOptions } from './agent/agent-node.ts';
import type { AgentConfig } from './agent/agent-config.ts';
import { ControllerNode, type ControllerConfig, type ControllerOptions } from './controller/controller-node.ts';

export { ControllerNode, type ControllerConfig, type ControllerOptions, type Durability, type FederationStatus, type LinkDirection, type MemberStatus } from './controller/controller-node.ts';
export { AgentNode, type AgentOptions, type AgentState, type AgentStatus, type AgentControllerStatus } from './agent/agent-node.ts';
export { AGENT_DEFAULTS, FAST_AGENT, type AgentConfig, type ControllerEndpoint } from './agent/agent-config.ts';
export { ConfigCacheError } from './agent/config-cache.ts';
export { FAST_PROFILE, MEMBERSHIP_DEFAULTS, type MembershipConfig } from './config/membership-config.ts';
export { FAST_REPLICATION, REPLICATION_DEFAULTS, type ReplicationConfig } from './config/replication-config.ts';
export { NotReadyError, READY_TIMEOUT_MS, type ReadyOptions } from './controller/write-readiness.ts';
export { QuorumTimeoutError, QuorumUnavailableError, RefusedByPeersError } from './replication/replicator.ts';
export { ReadOnlyError } from './errors.ts';
export { createClient, NovaEdgeClient, type ClientOptions } from './client/client.ts';
export {
  nodeComponents, REAL_RANDOM,
  type NodeComponents, type RandomSource, type StoreDbFactory, type HostFactory, type TimerComponents, type WallClock,
} from './components.ts';

/**
 * Start a node of the role its membership configuration names. `options.components` overrides what
 * the node takes from its environment (clocks, timers, randomness, host, store database).
 */
export async function createNode(config: ControllerConfig, options?: ControllerOptions): Promise<ControllerNode>;
export async function createNode(config: AgentConfig, options?: AgentOptions): Promise<AgentNode>;
export async function createNode(config: ControllerConfig | AgentConfig, options: ControllerOptions & AgentOptions = {}): Promise<ControllerNode | AgentNode> {
  if (config.membership.role === 'agent') return AgentNode.start(config as AgentConfig, options);
  return ControllerNode.start(config as ControllerConfig, options);
}
