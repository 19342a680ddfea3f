// Protocol IDs and gossip topics. Each embeds the federation ID, so nodes of different federations
// sharing a network never even negotiate a protocol with each other.

/** The auth protocol, run first on every connection. */
export function authProtocol(federationId: string): string {
  return `/novaedge/${federationId}/auth/1.0.0`;
}

/** The gossipsub topic carrying heartbeats. */
export function healthTopic(federationId: string): string {
  return `/novaedge/${federationId}/health/1`;
}

/** Clock probes between controllers (node/membership/clock-probe.ts). */
export function clockProtocol(federationId: string): string {
  return `/novaedge/${federationId}/clock/3.0.0`;
}

/** The remote admin protocol: the admin API for operator and viewer certificates (node/admin/remote-admin.ts). */
export function adminProtocol(federationId: string): string {
  return `/novaedge/${federationId}/admin/1.0.0`;
}

/**
 * The controller directory an agent reads from the controller it follows (live membership: which
 * controllers exist, where added ones listen, whose identities are denied); node/membership/controller-directory.ts.
 */
export function controllersProtocol(federationId: string): string {
  return `/novaedge/${federationId}/controllers/1.0.0`;
}
