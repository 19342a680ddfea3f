// Member endpoints as a config file gives them — `host:port` plus a peer ID, or a whole multiaddr —
// turned into the dialable multiaddr libp2p needs (`/ip4|ip6|dns/<host>/tcp/<port>/p2p/<peerId>`).
// The peer ID is required: it is what pins the member's identity (the certificate it presents must
// be issued for that peer ID), the role the guide gives to `tls.serverName`.
import { isIP } from 'node:net';
import { peerIdFromString } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';

/** A member address, or the problem with one of the two fields. */
export type EndpointResult = { addr: string } | { field: 'endpoint' | 'peerId'; problem: string };

/** Host names as DNS allows them (labels of letters, digits and '-'). */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

/** A peer ID in its text form; the problem when it is not an Ed25519 one (node identities are Ed25519). */
export function checkPeerId(text: string): string | undefined {
  try {
    const id = peerIdFromString(text);
    return id.type === 'Ed25519' ? undefined : `must be an Ed25519 peer ID (12D3Koo…), got a ${id.type} one`;
  } catch {
    return `not a peer ID: ${JSON.stringify(text.slice(0, 60))} (it looks like 12D3KooW…; novactl keygen prints it)`;
  }
}

/** `host:port` → `{ host, port }`, IPv6 in brackets (`[::1]:9090`); undefined when malformed. */
export function splitHostPort(text: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(text);
  if (m === null) return undefined;
  const host = m[1] ?? m[2]!;
  const port = Number(m[3]);
  if (port < 1 || port > 65_535) return undefined;
  if (m[1] !== undefined && isIP(host) !== 6) return undefined;
  if (m[1] === undefined && isIP(host) === 0 && !HOST_NAME.test(host)) return undefined;
  return { host, port };
}

/** Dialable multiaddr of a member from its endpoint and (optional when the multiaddr has /p2p/) peer ID. */
export function endpointToMultiaddr(endpoint: string, peerId: string | undefined): EndpointResult {
  if (peerId !== undefined) {
    const bad = checkPeerId(peerId);
    if (bad !== undefined) return { field: 'peerId', problem: bad };
  }
  if (endpoint.startsWith('/')) {
    let ma;
    try {
      ma = multiaddr(endpoint);
    } catch (e) {
      return { field: 'endpoint', problem: `not a multiaddr (${(e as Error).message})` };
    }
    const protos = ma.protoNames();
    if (!protos.includes('tcp')) return { field: 'endpoint', problem: 'must be a TCP multiaddr (/ip4|ip6|dns/<host>/tcp/<port>[/p2p/<peerId>])' };
    const inAddr = ma.getPeerId() ?? undefined;
    if (inAddr !== undefined) {
      const bad = checkPeerId(inAddr);
      if (bad !== undefined) return { field: 'endpoint', problem: bad };
      if (peerId !== undefined && peerId !== inAddr) return { field: 'peerId', problem: `differs from the /p2p/ part of the endpoint (${inAddr})` };
      return { addr: endpoint };
    }
    if (peerId === undefined) return { field: 'peerId', problem: 'is required: the endpoint multiaddr has no /p2p/<peerId> part' };
    return { addr: `${endpoint}/p2p/${peerId}` };
  }
  const hp = splitHostPort(endpoint);
  if (hp === undefined) return { field: 'endpoint', problem: `must be host:port (e.g. "controller.eu-west.example.com:9090", "[::1]:9090") or a multiaddr, got ${JSON.stringify(endpoint.slice(0, 80))}` };
  if (peerId === undefined) return { field: 'peerId', problem: 'is required with a host:port endpoint: it pins the member\'s identity' };
  const proto = isIP(hp.host) === 4 ? 'ip4' : isIP(hp.host) === 6 ? 'ip6' : 'dns';
  return { addr: `/${proto}/${hp.host}/tcp/${hp.port}/p2p/${peerId}` };
}

/**
 * The listen multiaddr of a controller whose endpoint is `host:port`: that address when the host is
 * an IP (an endpoint of 127.0.0.1 listens on loopback only) or `localhost` (127.0.0.1), and every
 * IPv4 interface (0.0.0.0) for a DNS name, which this host's interfaces cannot be matched against.
 */
export function listenAddrOf(host: string, port: number): string {
  if (isIP(host) === 4) return `/ip4/${host}/tcp/${port}`;
  if (isIP(host) === 6) return `/ip6/${host}/tcp/${port}`;
  if (host.toLowerCase() === 'localhost') return `/ip4/127.0.0.1/tcp/${port}`;
  return `/ip4/0.0.0.0/tcp/${port}`;
}
