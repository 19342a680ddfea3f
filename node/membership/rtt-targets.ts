// Which peers the RTT prober pings: authenticated controllers, once each however many connections
// they have. Agents are left out: they measure their controllers themselves (health checks) and
// report those figures in their heartbeats, so pinging every agent from every controller would be
// most of the ping traffic of a large federation for figures nobody else needs. Pings from agents
// are still answered (the ping protocol handler does not depend on this).

import type { PeerId } from '@libp2p/interface';
import type { MemberRole } from '../../membership/member-name.ts';

/** The authenticated identity of a peer, or undefined when it is not authenticated. */
export type PeerRoleLookup = (peerId: PeerId) => { role: MemberRole } | undefined;

/** The distinct authenticated controller peers among `connections`, in connection order. */
export function controllerRttTargets(connections: Iterable<{ remotePeer: PeerId }>, peerInfo: PeerRoleLookup): PeerId[] {
  const out: PeerId[] = [];
  const seen = new Set<string>();
  for (const c of connections) {
    const id = c.remotePeer.toString();
    if (seen.has(id)) continue;
    seen.add(id);
    if (peerInfo(c.remotePeer)?.role === 'controller') out.push(c.remotePeer);
  }
  return out;
}
