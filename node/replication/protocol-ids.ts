// Protocol IDs of replication; each embeds the federation ID like every NovaEdge protocol.
import type { ReplicationProtocol } from './replicator.ts';

/** The libp2p protocol ID of a replication protocol. */
export function replicationProtocol(federationId: string, p: ReplicationProtocol): string {
  return `/novaedge/${federationId}/${p}/1.0.0`;
}
