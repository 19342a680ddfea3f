// A small world for the network's own tests: a scheduler, a network and started hosts with seeded
// keys and the host options a node would pass (gossip tuning, gater, its timers and randomness).
import type { PeerId } from '@libp2p/interface';
import type { HostOptions } from '../../../node/host/create-host.ts';
import { Scheduler, type NodeRuntime, type SchedulerOptions } from '../scheduler.ts';
import { seededEd25519Key } from './keys.ts';
import { SimNetwork, type SimNetworkOptions } from './network.ts';
import type { SimHost } from './host.ts';

/** The gossip topic of test worlds. */
export const TEST_TOPIC = 'test-topic';

/** Options of a test world. */
export interface TestWorldOptions {
  scheduler?: Partial<SchedulerOptions>;
  net?: SimNetworkOptions;
  /** Per-node host option overrides. */
  host?: (name: string) => Partial<HostOptions>;
}

/** A test world. */
export interface TestWorld {
  s: Scheduler;
  net: SimNetwork;
  hosts: Record<string, SimHost>;
  runtimes: Record<string, NodeRuntime>;
  /** Peers each node denies (by peer ID string), both ways. */
  denied: Record<string, Set<string>>;
  /** Peers each node's gossip counts as authenticated (default: everyone). */
  unauthenticated: Record<string, Set<string>>;
  /** The current host of `name` (throws if there is none). */
  h(name: string): SimHost;
  /** Boot `name` again and give it a new, started host (after a crash or stop). */
  restart(name: string): Promise<SimHost>;
}

/** Host options for `name` with its runtime's components. */
export async function testHostOptions(w: Pick<TestWorld, 's' | 'denied' | 'unauthenticated'>, name: string, rt: NodeRuntime, extra: Partial<HostOptions> = {}): Promise<HostOptions> {
  w.denied[name] ??= new Set();
  w.unauthenticated[name] ??= new Set();
  return {
    privateKey: await seededEd25519Key(w.s.random, name),
    listen: [],
    bootstrap: [],
    reconnect: { initialDelayMs: 100, maxDelayMs: 1_000, factor: 2 },
    connectionsMax: 100,
    inboundConnectionsPerHostPerSecondMax: 100,
    dialTimeoutMs: 5_000,
    gossip: { heartbeatMs: 1_000, allowedTopics: [TEST_TOPIC], rpcBytesMax: 64 * 1024, isAuthenticated: (p) => !w.unauthenticated[name]!.has(p) },
    isDenied: (p: PeerId) => w.denied[name]!.has(p.toString()),
    timers: rt.timers,
    random: rt.random,
    ...extra,
  };
}

/** Boot `names` on a new network and start a host for each. */
export async function testWorld(seed: number, names: readonly string[], o: TestWorldOptions = {}): Promise<TestWorld> {
  const s = new Scheduler({ seed, ...o.scheduler });
  const net = new SimNetwork(s, o.net);
  const w: TestWorld = {
    s, net, hosts: {}, runtimes: {}, denied: {}, unauthenticated: {},
    h: (name) => {
      const h = w.hosts[name];
      if (h === undefined) throw new Error(`no host ${name}`);
      return h;
    },
    restart: async (name) => {
      const rt = s.boot(name);
      w.runtimes[name] = rt;
      const h = net.createHost(name, await testHostOptions(w, name, rt, o.host?.(name)));
      await h.start();
      w.hosts[name] = h;
      return h;
    },
  };
  for (const name of names) await w.restart(name);
  return w;
}

/** Run `s` until `p` settles (at most `withinMs` virtual ms) and return its value. */
export async function drive<T>(s: Scheduler, p: Promise<T>, withinMs = 60_000, what = 'operation'): Promise<T> {
  let done = false;
  const q = p.finally(() => { done = true; });
  q.catch(() => undefined);
  await s.runUntilTrue(what, () => done, withinMs);
  return q;
}
