// Start what a config file describes — the node (controller or agent), its Prometheus exporter and
// its admin socket — and stop them in reverse order. If a part fails to start, the parts already
// started are stopped before the error is passed on, so a failed start leaves no socket behind.
import { mkdir } from 'node:fs/promises';
import type { Logger } from 'pino';
import { AgentNode } from '../../node/agent/agent-node.ts';
import { agentStartIssues, controllerStartIssues } from '../../node/config/field-paths.ts';
import type { FileConfig } from '../../node/config/file-config.ts';
import { nodeComponents, type NodeComponents } from '../../node/components.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import { ConfigError, type ConfigIssue } from '../../node/errors.ts';
import { startNodeServices } from '../../node/services/node-services.ts';
import { checkFileCredentials } from './check-credentials.ts';
import { startFailureOf, type StartStage } from './start-failure.ts';

/** A running daemon node. */
export interface DaemonNode {
  /** What to print at start. */
  readonly summary: {
    member: string;
    role: 'controller' | 'agent';
    federationId: string;
    peerId: string;
    listen: string[];
    adminSocket: string | undefined;
    metricsUrl: string;
  };
  /** Stop the admin server (removing its socket), the metrics server, then the node. */
  stop(): Promise<void>;
}

// Problems the node finds while starting (its own certificate refused, a CA file unreadable...)
// are configuration problems: report them under the file's paths like those found at load. An
// address or data directory another process holds is a StartFailure naming its field.
async function withFilePaths<T>(cfg: FileConfig, stage: StartStage, start: () => Promise<T>, rename: (i: readonly ConfigIssue[]) => ConfigIssue[]): Promise<T> {
  try {
    return await start();
  } catch (err) {
    if (err instanceof ConfigError) throw new ConfigError(rename(err.issues));
    throw startFailureOf(err, stage, cfg) ?? err;
  }
}

/** What the daemon node runs on (default the real clocks, timers, network and disk). */
export interface DaemonOptions {
  components?: Partial<NodeComponents>;
  /** Aborts a start still waiting (a joining controller not added yet): the daemon was asked to stop. */
  signal?: AbortSignal;
}

/** Start the node a config file describes; `logger` is the daemon's. */
export async function startDaemonNode(cfg: FileConfig, logger: Logger, options: DaemonOptions = {}): Promise<DaemonNode> {
  // Resolved once: the node and its services share them.
  const components = nodeComponents(options.components);
  // Key, certificate and CAs first: a node whose certificate its peers would refuse creates nothing.
  await checkFileCredentials(cfg, components.wallClock());
  await mkdir(cfg.node.dataDir, { recursive: true, mode: 0o700 });
  const node: ControllerNode | AgentNode = cfg.role === 'controller'
    ? await withFilePaths(cfg, 'node', () => ControllerNode.start(cfg.controller, { logger, components, ...(options.signal === undefined ? {} : { signal: options.signal }) }), controllerStartIssues)
    : await withFilePaths(cfg, 'node', () => AgentNode.start(cfg.agent, { logger, components }), agentStartIssues);
  try {
    const services = await withFilePaths(cfg, 'services', () => startNodeServices(node, {
      adminSocket: cfg.node.adminSocket, metrics: cfg.node.metricsAddress, processMetrics: true, logger,
    }), (i) => [...i]);
    const m = node.membership;
    return {
      summary: {
        member: m.memberName, role: cfg.role, federationId: m.config.federationId, peerId: m.peerId.toString(),
        listen: m.multiaddrs(), adminSocket: services.adminSocket, metricsUrl: services.metricsUrl,
      },
      stop: async () => {
        await services.stop();
        await node.stop().catch((err: unknown) => logger.error({ err: String(err) }, 'stopping the node failed'));
      },
    };
  } catch (err) {
    await node.stop().catch(() => undefined);
    throw err;
  }
}
