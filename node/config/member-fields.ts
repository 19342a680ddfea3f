// Fields shared by controller and agent config files: member names, locations, the local member,
// and the refusal of the guide's Kubernetes `tls:` blocks (our equivalent lives in `node:`).
import { isLocationLabel, isMemberName } from '../../membership/member-name.ts';
import { listenAddrOf, splitHostPort } from './endpoint.ts';
import type { HealthCheckOptions } from '../../membership/health-check.ts';
import { defined, type FieldReader } from './field-reader.ts';

/** Largest member priority. */
export const PRIORITY_MAX = 1_000_000;

/** One federation member as configured. */
export interface MemberEntry {
  /** Member name (DNS-1123 label), as in its certificate. */
  name: string;
  /** Region label ('' when not given for a remote member: its heartbeats announce it). */
  region: string;
  /** Zone label, '' when not set. */
  zone: string;
  /** The endpoint as written (host:port or multiaddr); undefined for a local member without one. */
  endpoint: string | undefined;
  /** Dialable multiaddr with /p2p/<peerId>; undefined for the local member. */
  address: string | undefined;
  /** The guide's priority: lower is preferred by agents. Informational on controllers. Default 0. */
  priority: number;
}

/** Why a guide-style `tls:` block is refused. */
export const TLS_REFUSED = 'is not used: every connection is encrypted (Noise) and authenticated with the federation certificates ' +
  'set in node.certificateFile, node.controllerCaFiles and node.agentCaFiles, and the member\'s identity is pinned by its peerId; remove this block';

/** A region or zone label. */
export function readLocation(r: FieldReader, key: 'region' | 'zone', required: boolean): string {
  const v = r.str(key, { required, allowEmpty: !required });
  if (v !== undefined && !isLocationLabel(v)) r.problem(key, `must be a label of 1..63 chars (A-Z, a-z, 0-9, ., _, -), got ${JSON.stringify(String(v).slice(0, 70))}`);
  return v ?? '';
}

/** A member name (DNS-1123 label); undefined (reported) when bad. */
export function readName(r: FieldReader): string | undefined {
  const name = r.str('name', { required: true });
  if (name !== undefined && !isMemberName(name)) {
    r.problem('name', `must be a DNS-1123 label (a-z, 0-9, -; 1..63 chars), got ${JSON.stringify(String(name).slice(0, 70))}`);
    return undefined;
  }
  return name;
}

/**
 * spec.localMember. A controller's may carry the endpoint its peers dial (its port is the default
 * listen port) and a priority; an agent's is only its name and location.
 */
export function readLocalMember(r: FieldReader, role: 'controller' | 'agent'): { entry: MemberEntry; port: number | undefined; listen: string | undefined } {
  const name = readName(r);
  const region = readLocation(r, 'region', true);
  const zone = readLocation(r, 'zone', false);
  const endpoint = role === 'controller' ? r.str('endpoint') : undefined;
  let port: number | undefined;
  let listen: string | undefined;
  if (endpoint !== undefined) {
    if (endpoint.startsWith('/')) {
      const m = /\/tcp\/(\d+)/.exec(endpoint);
      if (m === null) r.problem('endpoint', 'must be host:port or a TCP multiaddr');
      else port = Number(m[1]);
      const ip = /^\/(ip4|ip6)\/([^/]+)\/tcp\/(\d+)/.exec(endpoint);
      if (ip !== null) listen = ip[0];
    } else {
      const hp = splitHostPort(endpoint);
      if (hp === undefined) r.problem('endpoint', `must be host:port (e.g. "controller.us-west.example.com:9090"), got ${JSON.stringify(endpoint.slice(0, 80))}`);
      else {
        port = hp.port;
        listen = listenAddrOf(hp.host, hp.port);
      }
    }
  }
  const priority = role === 'controller' ? r.int('priority', 0, PRIORITY_MAX, { default: 0 }) ?? 0 : 0;
  if (r.has('tls')) r.problem('tls', TLS_REFUSED);
  r.done();
  return { entry: { name: name ?? '', region, zone, endpoint, address: undefined, priority }, port, listen };
}


/** Integers are read whole and range-checked by the validators they feed (one message per rule). */
export const ANY_INT: [number, number] = [-Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER];

/** The guide's `healthCheck` block (both roles): durations in ms; ranges checked by membership. */
export function readHealthCheck(hc: FieldReader): Partial<HealthCheckOptions> {
  const healthCheck = defined<Partial<HealthCheckOptions>>({
    intervalMs: hc.duration('interval'),
    timeoutMs: hc.duration('timeout'),
    failureThreshold: hc.int('failureThreshold', ...ANY_INT),
    successThreshold: hc.int('successThreshold', ...ANY_INT),
  });
  hc.done();
  return healthCheck;
}
