// A federation of controllers and agents on loopback, in one process: controllers with the fast
// profiles, agents following them with FAST_AGENT. Every node is stopped at teardown.
import { join } from 'node:path';
import pino from 'pino';
import { FAST_AGENT, type AgentConfig } from '../../node/agent/agent-config.ts';
import { AgentNode, type AgentOptions } from '../../node/agent/agent-node.ts';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION, type ReplicationConfig } from '../../node/config/replication-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import type { SplitBrainConfig } from '../../node/controller/write-fence.ts';
import { makeFederation, type TestFederation } from './cert-fixtures.ts';
import { memberConfig, planMembers, type PlannedMember } from './cluster.ts';
import { waitFor } from './wait-for.ts';

/** A running federation. */
export interface AgentFederation {
  fed: TestFederation;
  dir: string;
  controllers: Map<string, ControllerNode>;
  agents: Map<string, AgentNode>;
  plan: PlannedMember[];
  /** (Re)start a controller. */
  startController(name: string): Promise<ControllerNode>;
  /**
   * Start planned controller `name` (of `joiners`) joining from `bootstrap` (controllers' names) alone:
   * it resolves once a member added it (ControllerConfig `join`).
   */
  startJoiner(name: string, bootstrap: string[], signal?: AbortSignal): Promise<ControllerNode>;
  /** Stop a controller (its agents see the connection drop). */
  stopController(name: string): Promise<void>;
  /** Start an agent following `order` (first is the primary; the rest secondaries at priority 100). */
  startAgent(name: string, order: string[], over?: Partial<AgentConfig>, options?: AgentOptions): Promise<AgentNode>;
  /** The agent config used for `name` (after a start). */
  agentConfig(name: string, order: string[], over?: Partial<AgentConfig>): AgentConfig;
}

// NOVAEDGE_TEST_LOG=info (or debug) prints the agents' logs to stderr.
const logger = process.env.NOVAEDGE_TEST_LOG === undefined ? undefined : pino({ level: process.env.NOVAEDGE_TEST_LOG }, pino.destination(2));

/** Options of the federation. */
export interface AgentFederationOptions {
  controllers: string[];
  agents: string[];
  replication?: Partial<ReplicationConfig>;
  splitBrain?: SplitBrainConfig;
  /**
   * Give each controller every other controller's name with its peer ID (membership.controllers), as
   * the daemon's configuration does: the controllers then keep the live membership record.
   */
  pinned?: boolean;
  /** Controllers planned (keys, certificates, ports) but not started nor configured anywhere: startJoiner starts them. */
  joiners?: string[];
}

/** Start the controllers (connected to each other); agents start on demand. */
export async function agentFederation(t: { testdir(): string; teardown(fn: () => unknown): void }, o: AgentFederationOptions): Promise<AgentFederation> {
  const fed = await makeFederation('agent-fed');
  const plan = await planMembers(fed, [
    ...[...o.controllers, ...(o.joiners ?? [])].map((name) => ({ name, role: 'controller' as const })),
    ...o.agents.map((name) => ({ name, role: 'agent' as const })),
  ]);
  const controllers = new Map<string, ControllerNode>();
  const agents = new Map<string, AgentNode>();
  // Registered before the fixture directory, so nodes stop before their directories are removed.
  t.teardown(async () => {
    for (const a of agents.values()) await a.stop();
    for (const c of controllers.values()) await c.stop();
  });
  const dir = t.testdir();
  const byName = (name: string): PlannedMember => {
    const m = plan.find((p) => p.name === name);
    if (m === undefined) throw new Error(`no planned member ${name}`);
    return m;
  };
  const f: AgentFederation = {
    fed, dir, controllers, agents, plan,
    async startController(name) {
      const m = byName(name);
      const node = await ControllerNode.start({
        membership: memberConfig(fed, m, o.controllers.filter((c) => c !== name).map((c) => byName(c).addr), o.pinned === true
          ? { controllers: o.controllers.filter((c) => c !== name).map((c) => ({ name: c, peerId: byName(c).peerId.toString() })) }
          : {}),
        replication: { dataDir: join(dir, name), controllers: o.controllers, ...o.replication },
        // Agent tests write through controllers that a loaded machine's fast failure detector may
        // briefly isolate; fencing is tested on its own, so it stays out of the way here.
        splitBrain: o.splitBrain ?? { fenceWrites: false },
      }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION });
      controllers.set(name, node);
      return node;
    },
    async startJoiner(name, bootstrap, signal) {
      const m = byName(name);
      const node = await ControllerNode.start({
        membership: memberConfig(fed, m, bootstrap.map((c) => byName(c).addr)),
        replication: { dataDir: join(dir, name), controllers: [name], ...o.replication },
        splitBrain: o.splitBrain ?? { fenceWrites: false },
        join: true,
      }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION, ...(signal === undefined ? {} : { signal }), ...(logger === undefined ? {} : { logger }) });
      controllers.set(name, node);
      return node;
    },
    async stopController(name) {
      await controllers.get(name)?.stop();
      controllers.delete(name);
    },
    agentConfig(name, order, over = {}) {
      const m = byName(name);
      const [primary, ...rest] = order;
      return {
        membership: memberConfig(fed, m, []),
        dataDir: join(dir, name),
        controllers: { primary: { endpoint: byName(primary!).addr }, secondary: rest.map((c) => ({ endpoint: byName(c).addr, priority: 100 })) },
        ...over,
      };
    },
    async startAgent(name, order, over = {}, options = {}) {
      const agent = await AgentNode.start(f.agentConfig(name, order, over), {
        membershipProfile: FAST_PROFILE, agentProfile: FAST_AGENT, ...(logger === undefined ? {} : { logger }), ...options,
      });
      agents.set(name, agent);
      return agent;
    },
  };
  for (const name of o.controllers) await f.startController(name);
  await waitFor('controllers connected', () => [...controllers.values()].every((n) =>
    n.replicator.status().every((s) => s.connected) && n.fence.reachable().length === o.controllers.length), { timeoutMs: 10_000 });
  return f;
}

/** A small resource. */
export function route(name: string, spec: object = {}): object {
  return { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name, namespace: 'default' }, spec: { hostnames: [`${name}.example.com`], ...spec } };
}

/**
 * Write `name` on `node` until it is accepted (retried while FENCED: a loaded machine lets a lease
 * lapse for a moment, leases move to a new membership epoch), within `timeoutMs`.
 */
export async function mustWrite(node: ControllerNode, name: string, timeoutMs = 30_000): Promise<void> {
  await waitFor(`${node.membership.memberName} accepts ${name}`, async () => {
    try {
      await node.apply(route(name));
      return true;
    } catch (err) {
      if ((err as { code?: string }).code === 'FENCED') return false;
      throw err;
    }
  }, { timeoutMs }, () => node.fence.tally());
}
