// For tests of the network with the real host wrapper: a node's Host from simHostFactory with
// bootstrap addresses known in advance (peer IDs come from seeded keys).
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { Host, HostOptions } from '../../../node/host/create-host.ts';
import type { NodeRuntime, Scheduler } from '../scheduler.ts';
import { simHostFactory } from './host-factory.ts';
import { seededEd25519Key } from './keys.ts';
import type { SimNetwork } from './network.ts';
import { TEST_TOPIC } from './test-world.ts';

/** The /memory address node `name` will have (its key is seeded). */
export async function simAddress(s: Scheduler, name: string): Promise<string> {
  return `/memory/${name}/p2p/${peerIdFromPrivateKey(await seededEd25519Key(s.random, name)).toString()}`;
}

/** Boot `name` and start its Host (the real reconnector over the simulated host), dialing `bootstrap`. */
export async function startSimNodeHost(s: Scheduler, net: SimNetwork, name: string, bootstrap: string[], extra: Partial<HostOptions> = {}): Promise<{ host: Host; rt: NodeRuntime }> {
  const rt = s.boot(name);
  const host = await simHostFactory(net, name)({
    privateKey: await seededEd25519Key(s.random, name),
    listen: [],
    bootstrap,
    reconnect: { initialDelayMs: 100, maxDelayMs: 1_000, factor: 2 },
    connectionsMax: 100,
    inboundConnectionsPerHostPerSecondMax: 100,
    dialTimeoutMs: 5_000,
    gossip: { heartbeatMs: 1_000, allowedTopics: [TEST_TOPIC], rpcBytesMax: 64 * 1024, isAuthenticated: () => true },
    isDenied: () => false,
    timers: rt.timers,
    random: rt.random,
    ...extra,
  });
  await host.start();
  return { host, rt };
}
