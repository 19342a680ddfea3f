// The embeddable entry point: createNode(config) starts a node of the configured role.
//
//   const node = await createNode({ membership: {...}, replication: {...} });
//   await node.apply({ apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: 'api' }, spec: {} });
//   node.status(); await node.stop();
import { ControllerNode, type ControllerConfig, type ControllerOptions } from './controller/controller-node.ts';

export { ControllerNode, type ControllerConfig, type ControllerOptions, type Durability, type FederationStatus, type LinkDirection, type MemberStatus } from './controller/controller-node.ts';
export { FAST_PROFILE, MEMBERSHIP_DEFAULTS, type MembershipConfig } from './config/membership-config.ts';
export { FAST_REPLICATION, REPLICATION_DEFAULTS, type ReplicationConfig } from './config/replication-config.ts';
export { QuorumTimeoutError } from './replication/replicator.ts';

/** Start a node from its configuration. Controllers only for now; the agent role comes with its issue. */
export async function createNode(config: ControllerConfig, options: ControllerOptions = {}): Promise<ControllerNode> {
  if (config.membership.role !== 'controller') {
    throw new Error(`createNode: role "${config.membership.role}" is not available yet; only controllers can be created`);
  }
  return ControllerNode.start(config, options);
}
