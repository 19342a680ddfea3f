// What runs beside a node for operators: its Prometheus exporter, its admin socket and (a controller
// with remoteClients configured) the remote admin protocol. Started after
// the node, stopped before it, in reverse order; if one fails to start, those already started are
// stopped before the error is passed on, so a failed start leaves no socket or port behind.
import { agentMethods } from '../admin/agent-methods.ts';
import { startAdminServer } from '../admin/admin-server.ts';
import { controllerMethods } from '../admin/controller-methods.ts';
import { RemoteAdmin } from '../admin/remote-admin.ts';
import { AgentNode } from '../agent/agent-node.ts';
import { ControllerNode } from '../controller/controller-node.ts';
import { createNodeRegistry } from '../metrics/node-registry.ts';
import { startMetricsServer } from '../metrics/metrics-server.ts';
import { registerRemoteAdminMetrics } from '../metrics/remote-admin-metrics.ts';
import { loggerOrSilent, type Logger } from '../util/logger.ts';

/** Where the services listen. */
export interface NodeServicesOptions {
  /** Admin socket path. */
  adminSocket: string;
  /** Metrics host and port (port 0: the system picks one). */
  metrics: { host: string; port: number };
  /** Add process metrics to this node's registry (one node per process should). */
  processMetrics: boolean;
  logger?: Logger;
}

/** The running services of one node. */
export interface NodeServices {
  /** The admin socket path. */
  readonly adminSocket: string;
  /** The scrape URL. */
  readonly metricsUrl: string;
  /** The remote admin protocol, when this controller serves remote clients. */
  readonly remoteAdmin: RemoteAdmin | undefined;
  /** Stop the admin server (removing its socket), then the metrics server. */
  stop(): Promise<void>;
}

/** Start the exporter and the admin socket of `node`. */
export async function startNodeServices(node: ControllerNode | AgentNode, o: NodeServicesOptions): Promise<NodeServices> {
  const log = loggerOrSilent(o.logger);
  const stops: Array<() => Promise<void>> = [];
  const stopAll = async (): Promise<void> => {
    for (const stop of stops.splice(0).reverse()) {
      await stop().catch((err: unknown) => log.error({ err: String(err) }, 'stopping a node service failed'));
    }
  };
  try {
    const m = node.membership;
    const registry = createNodeRegistry({
      info: { federationId: m.config.federationId, member: m.memberName, role: m.config.role, peerId: m.peerId.toString() },
      ...(node instanceof ControllerNode ? { controller: node } : { agent: node }),
      processMetrics: o.processMetrics,
    });
    const metrics = await startMetricsServer({ registry, host: o.metrics.host, port: o.metrics.port, ...(o.logger === undefined ? {} : { logger: o.logger }) });
    stops.push(() => metrics.close());
    const methods = node instanceof ControllerNode ? controllerMethods(node) : agentMethods(node);
    const timers = node.membership.components.timers;
    const admin = await startAdminServer({ socketPath: o.adminSocket, methods, timers, ...(o.logger === undefined ? {} : { logger: o.logger }) });
    stops.push(() => admin.close());
    let remoteAdmin: RemoteAdmin | undefined;
    const clients = m.config.remoteClients;
    if (node instanceof ControllerNode && clients !== undefined) {
      const r = new RemoteAdmin({
        federationId: m.config.federationId, auth: m.auth, clientConnectionsMax: clients.connectionsMax, methods, timers,
        ...(o.logger === undefined ? {} : { logger: o.logger }),
      });
      await r.start(m.libp2p);
      stops.push(() => r.stop());
      registerRemoteAdminMetrics(registry, { counters: () => r.counters(), clients: () => m.auth.counters().clients });
      remoteAdmin = r;
    }
    return { adminSocket: admin.path, metricsUrl: metrics.url, remoteAdmin, stop: stopAll };
  } catch (err) {
    await stopAll();
    throw err;
  }
}
