// The HostFactory (node/components.ts) of a simulated node: the node's host options build a SimHost
// on the simulated network, wrapped by the same `hostFromNet` the real host uses (the real
// Reconnector, built from the options with the node's injected timers and randomness, and identify
// after authentication).

import type { HostFactory } from '../../../node/components.ts';
import { hostFromNet } from '../../../node/host/create-host.ts';
import type { HostNet } from '../../../node/host/host-net.ts';
import type { SimNetwork } from './network.ts';

/** A HostFactory that puts node `name` on `net` (one running host per name at a time). */
export function simHostFactory(net: SimNetwork, name: string): HostFactory {
  return async (options) => hostFromNet<HostNet>(net.createHost(name, options), options);
}
