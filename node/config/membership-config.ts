// Configuration of a membership node: what it needs to join a federation, prove who it is, and
// detect failures. Every field has a documented default (except the identity of the member, which
// has none) and start-up validation that names the field and checks relations between fields.
// Units are the last word of each name (intervalMs, frameBytesMax).

import type { Ed25519PrivateKey } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import { checkHealthCheck, DEFAULT_HEALTH_CHECK, type HealthCheckOptions } from '../../membership/health-check.ts';
import { isLocationLabel, isMemberName, isMemberRole, type MemberRole } from '../../membership/member-name.ts';
import { CERTIFICATE_BYTES_MAX, type MemberCertificate } from '../identity/certificate.ts';
import type { CaPublicKey } from '../identity/ca.ts';
import { TRUSTED_CAS_PER_ROLE_MAX } from '../identity/trust-store.ts';
import { pinProblems, type MemberPin } from '../auth/member-pins.ts';
import { ConfigError, type ConfigIssue } from '../errors.ts';

/** Reconnection to configured members: exponential backoff with jitter, bounded. */
export interface ReconnectConfig {
  /** First retry delay after a failed dial or a lost connection. Default 500. */
  initialDelayMs: number;
  /** Ceiling of the retry delay. Default 30 000. */
  maxDelayMs: number;
  /** Growth of the delay per failed attempt. Default 2. */
  factor: number;
  /**
   * Ceiling of the retry delay when a controller redials another controller (agents use maxDelayMs
   * towards their controllers). A cut-off controller is fenced until it is redialed, so this bounds
   * how long a healed minority stays fenced, whatever the cut's length. Default 1000; 10..60 000.
   */
  controllerMaxDelayMs: number;
}

/** Membership node configuration, as given by the user (optional fields take their defaults). */
export interface MembershipConfig {
  /** Federation ID (DNS-1123 label); part of every protocol ID and topic. Required. */
  federationId: string;
  /** This member's name (DNS-1123 label); must match its certificate. Required. */
  memberName: string;
  /** This member's role; must match its certificate. Required. */
  role: MemberRole;
  /** Region label. Required. */
  region: string;
  /** Zone label. Default ''. */
  zone?: string;
  /** Multiaddrs to listen on (TCP). Default ['/ip4/0.0.0.0/tcp/9090']. */
  listen?: string[];
  /** Multiaddrs of the other configured members (with /p2p/<peerId> when known). Default []. */
  bootstrap?: string[];
  /**
   * The controllers this node is configured with (other than itself), each by name, by the peer ID
   * that pins its identity, or both: a controller's spec.members, an agent's spec.agent.controllers
   * (ControllerNode and AgentNode fill it in when it is not given). When set, a certificate naming a
   * listed member is accepted only from its peer ID, a listed peer ID only under its name, and a
   * controller certificate only for a listed name from a listed peer ID (AUTH_MEMBER_PINNED,
   * AUTH_MEMBER_UNKNOWN), inbound and outbound. Default: unset, any controller the trusted CAs certify.
   */
  controllers?: MemberPin[];
  /** Identity key file (created with mode 0600 when missing). Exactly one of keyFile, privateKey. */
  keyFile?: string;
  /** In-memory identity key. Exactly one of keyFile, privateKey. */
  privateKey?: Ed25519PrivateKey;
  /** This member's certificate file. Exactly one of certificateFile, certificate. */
  certificateFile?: string;
  /** This member's certificate. Exactly one of certificateFile, certificate. */
  certificate?: MemberCertificate;
  /** CA files trusted for controller certificates. At least one controller CA (file or object) is required. */
  controllerCaFiles?: string[];
  /** CAs trusted for controller certificates. */
  controllerCas?: CaPublicKey[];
  /** CA files trusted for agent certificates. Default []. */
  agentCaFiles?: string[];
  /** CAs trusted for agent certificates. Default []. */
  agentCas?: CaPublicKey[];
  /** Failure detector. Default the guide's: interval 10 s, timeout 5 s, failureThreshold 3, successThreshold 1. */
  healthCheck?: Partial<HealthCheckOptions>;
  /** A new connection that has not authenticated within this is closed. Default 5000. */
  authTimeoutMs?: number;
  /** A peer whose certificate was refused may not reconnect for this long. Default 10 000 (0 disables). */
  authDenyMs?: number;
  /** Tolerance at the edges of certificate validity windows. Default 60 000. */
  certificateClockSkewMs?: number;
  /** Largest auth protocol frame. Default 8192. */
  authFrameBytesMax?: number;
  /** Largest heartbeat message (certificate included). Default 32 768. */
  heartbeatBytesMax?: number;
  /** Round-trip probe (ping) period per authenticated controller peer (agents report their own figures). Default 5000. */
  rttIntervalMs?: number;
  /** Round-trip probe deadline; at most rttIntervalMs. Default 2000. */
  rttTimeoutMs?: number;
  /** Reconnection backoff. Default { initialDelayMs: 500, maxDelayMs: 30 000, factor: 2, controllerMaxDelayMs: 1000 }. */
  reconnect?: Partial<ReconnectConfig>;
  /** Most members in the peer table. Default 1024. */
  membersMax?: number;
  /** Most simultaneous connections. Default 256. */
  connectionsMax?: number;
  /** Most inbound connections waiting to authenticate at once; more are closed at once (AUTH_BUSY). Default 64. */
  unauthenticatedConnectionsMax?: number;
  /** Most new inbound connections per second from one host. Default 25. */
  inboundConnectionsPerHostPerSecondMax?: number;
  /** Remote HLC stamps further ahead than this are counted as clock skew. Default 500. */
  maxClockOffsetMs?: number;
  /** Gossipsub mesh-maintenance period. Default 1000. */
  gossipHeartbeatMs?: number;
  /**
   * 'subscribe': publish heartbeats and receive everyone's (the peer table sees every member);
   * 'publish': only publish them (nobody forwards others' heartbeats here). Default 'subscribe' for
   * controllers, 'publish' for agents: an agent has no use for other agents' health, and receiving
   * it would cost every agent a verification per heartbeat of every other, O(agents²) in all.
   */
  healthGossip?: 'subscribe' | 'publish';
  /**
   * Serve the remote admin protocol to client certificates (operator, viewer): controllers only.
   * Undefined (the default): client certificates are refused (AUTH_CLIENT_REFUSED).
   */
  remoteClients?: RemoteClientsConfig;
}

/** The remote clients (operators, viewers) a controller serves. */
export interface RemoteClientsConfig {
  /** CA files trusted for client certificates. With neither caFiles nor cas: the controller CAs. */
  caFiles?: string[];
  /** CAs trusted for client certificates. */
  cas?: CaPublicKey[];
  /** Most client connections at once (one more is refused with AUTH_BUSY). Default 64. */
  connectionsMax?: number;
}

/** Default bound on remote client connections. */
export const REMOTE_CLIENT_CONNECTIONS_MAX_DEFAULT = 64;
/** Largest remoteClients.connectionsMax accepted. */
const REMOTE_CLIENT_CONNECTIONS_MAX_LIMIT = 1024;

/** Fields that name one of two sources (a file or an in-memory object); exactly one is set. */
type SourceField = 'keyFile' | 'privateKey' | 'certificateFile' | 'certificate';

/**
 * Configuration with every default applied and validated. Same fields, same meaning and documentation
 * as MembershipConfig; every field is set except the source fields, of which exactly one per pair is.
 */
export type ResolvedMembershipConfig =
  & Required<Omit<MembershipConfig, SourceField | 'healthCheck' | 'reconnect' | 'controllers' | 'remoteClients'>>
  & Pick<MembershipConfig, SourceField | 'controllers'>
  & {
    /** Remote clients served, complete; undefined: none. */
    remoteClients?: Required<RemoteClientsConfig>;
    /** Failure detector, complete. */
    healthCheck: HealthCheckOptions;
    /** Reconnection backoff, complete. */
    reconnect: ReconnectConfig;
  };

/** Defaults of every optional field. */
export const MEMBERSHIP_DEFAULTS = Object.freeze({
  zone: '',
  listen: ['/ip4/0.0.0.0/tcp/9090'],
  bootstrap: [] as string[],
  healthCheck: DEFAULT_HEALTH_CHECK,
  authTimeoutMs: 5_000,
  authDenyMs: 10_000,
  certificateClockSkewMs: 60_000,
  authFrameBytesMax: 8_192,
  heartbeatBytesMax: 32_768,
  rttIntervalMs: 5_000,
  rttTimeoutMs: 2_000,
  reconnect: Object.freeze({ initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, controllerMaxDelayMs: 1_000 }),
  membersMax: 1_024,
  connectionsMax: 256,
  unauthenticatedConnectionsMax: 64,
  inboundConnectionsPerHostPerSecondMax: 25,
  maxClockOffsetMs: 500,
  gossipHeartbeatMs: 1_000,
});

/**
 * Fast profile for tests, benchmarks and LANs: interval 200 ms (a stopped member is Unhealthy
 * within 3 x 200 + 100 = 700 ms of its last heartbeat), quick reconnects and probes. The auth
 * deadline stays at its default: it bounds a handshake, which a loaded machine can slow down.
 */
export const FAST_PROFILE: Readonly<Partial<MembershipConfig>> = Object.freeze({
  healthCheck: { intervalMs: 200, timeoutMs: 100, failureThreshold: 3, successThreshold: 1 },
  rttIntervalMs: 1_000,
  rttTimeoutMs: 1_000,
  reconnect: { initialDelayMs: 50, maxDelayMs: 1_000, factor: 2 },
  gossipHeartbeatMs: 100,
});

const KNOWN = new Set<string>([
  'federationId', 'memberName', 'role', 'region', 'zone', 'listen', 'bootstrap', 'keyFile', 'privateKey',
  'certificateFile', 'certificate', 'controllerCaFiles', 'controllerCas', 'agentCaFiles', 'agentCas',
  'healthCheck', 'authTimeoutMs', 'authDenyMs', 'certificateClockSkewMs', 'authFrameBytesMax',
  'heartbeatBytesMax', 'rttIntervalMs', 'rttTimeoutMs', 'reconnect', 'membersMax', 'connectionsMax', 'controllers',
  'unauthenticatedConnectionsMax',
  'inboundConnectionsPerHostPerSecondMax', 'maxClockOffsetMs', 'gossipHeartbeatMs', 'healthGossip', 'remoteClients',
]);

// Bounds of the numeric fields: [min, max], integers.
const RANGES: Record<string, [number, number]> = {
  authTimeoutMs: [100, 120_000],
  authDenyMs: [0, 3_600_000],
  certificateClockSkewMs: [0, 3_600_000],
  authFrameBytesMax: [CERTIFICATE_BYTES_MAX + 512, 65_536],
  heartbeatBytesMax: [CERTIFICATE_BYTES_MAX + 1_024, 1_048_576],
  rttIntervalMs: [100, 3_600_000],
  rttTimeoutMs: [10, 3_600_000],
  membersMax: [1, 65_536],
  connectionsMax: [2, 100_000],
  unauthenticatedConnectionsMax: [1, 4_096],
  inboundConnectionsPerHostPerSecondMax: [1, 10_000],
  maxClockOffsetMs: [1, 3_600_000],
  gossipHeartbeatMs: [20, 60_000],
  'reconnect.initialDelayMs': [10, 60_000],
  'reconnect.maxDelayMs': [10, 3_600_000],
  'reconnect.factor': [1, 10],
  'reconnect.controllerMaxDelayMs': [10, 60_000],
};

const LISTS_MAX = { listen: 16, bootstrap: 1_024 } as const;

function checkAddrs(field: 'listen' | 'bootstrap', list: unknown, issues: ConfigIssue[]): void {
  if (!Array.isArray(list)) {
    issues.push({ field, problem: 'must be a list of multiaddrs' });
    return;
  }
  if (list.length > LISTS_MAX[field]) issues.push({ field, problem: `at most ${LISTS_MAX[field]} entries` });
  if (field === 'listen' && list.length === 0) issues.push({ field, problem: 'needs at least one address' });
  list.forEach((a: unknown, i) => {
    const at = `${field}[${i}]`;
    if (typeof a !== 'string') return issues.push({ field: at, problem: 'not a string' });
    let protos: string[];
    try {
      protos = multiaddr(a).protoNames();
    } catch (e) {
      return issues.push({ field: at, problem: `not a multiaddr (${(e as Error).message})` });
    }
    if (!protos.includes('tcp')) issues.push({ field: at, problem: 'must be a TCP multiaddr (/ip4|ip6|dns/.../tcp/<port>)' });
    if (field === 'listen' && protos.includes('p2p')) issues.push({ field: at, problem: 'a listen address has no /p2p/ part' });
    return undefined;
  });
}

function oneOf(cfg: MembershipConfig, a: keyof MembershipConfig, b: keyof MembershipConfig, issues: ConfigIssue[]): void {
  const n = (cfg[a] === undefined ? 0 : 1) + (cfg[b] === undefined ? 0 : 1);
  if (n !== 1) issues.push({ field: `${String(a)}|${String(b)}`, problem: `set exactly one of ${String(a)} and ${String(b)}` });
}

/** Apply defaults (optionally over a profile such as FAST_PROFILE) and validate; throws ConfigError. */
export function resolveMembershipConfig(cfg: MembershipConfig, profile: Readonly<Partial<MembershipConfig>> = {}): ResolvedMembershipConfig {
  const issues: ConfigIssue[] = [];
  for (const k of Object.keys(cfg)) if (!KNOWN.has(k)) issues.push({ field: k, problem: 'unknown field' });

  if (!isMemberName(cfg.federationId)) issues.push({ field: 'federationId', problem: 'must be a DNS-1123 label (a-z, 0-9, -; 1..63 chars)' });
  if (!isMemberName(cfg.memberName)) issues.push({ field: 'memberName', problem: 'must be a DNS-1123 label (a-z, 0-9, -; 1..63 chars)' });
  if (!isMemberRole(cfg.role)) issues.push({ field: 'role', problem: 'must be "controller" or "agent"' });
  if (!isLocationLabel(cfg.region) || cfg.region === '') issues.push({ field: 'region', problem: 'must be a label of 1..63 chars (A-Z, a-z, 0-9, ., _, -)' });
  const zone = cfg.zone ?? profile.zone ?? MEMBERSHIP_DEFAULTS.zone;
  if (!isLocationLabel(zone)) issues.push({ field: 'zone', problem: 'must be a label of 0..63 chars (A-Z, a-z, 0-9, ., _, -)' });

  const listen = cfg.listen ?? profile.listen ?? [...MEMBERSHIP_DEFAULTS.listen];
  const bootstrap = cfg.bootstrap ?? profile.bootstrap ?? [...MEMBERSHIP_DEFAULTS.bootstrap];
  checkAddrs('listen', listen, issues);
  checkAddrs('bootstrap', bootstrap, issues);
  for (const p of pinProblems(cfg.controllers)) issues.push({ field: `controllers${p.field}`, problem: p.problem });

  oneOf(cfg, 'keyFile', 'privateKey', issues);
  oneOf(cfg, 'certificateFile', 'certificate', issues);
  const controllerCaFiles = cfg.controllerCaFiles ?? [];
  const controllerCas = cfg.controllerCas ?? [];
  const agentCaFiles = cfg.agentCaFiles ?? [];
  const agentCas = cfg.agentCas ?? [];
  if (controllerCaFiles.length + controllerCas.length === 0) {
    issues.push({ field: 'controllerCaFiles|controllerCas', problem: 'trust at least one controller CA' });
  }
  if (controllerCaFiles.length + controllerCas.length > TRUSTED_CAS_PER_ROLE_MAX) {
    issues.push({ field: 'controllerCaFiles|controllerCas', problem: `at most ${TRUSTED_CAS_PER_ROLE_MAX} controller CAs` });
  }
  if (agentCaFiles.length + agentCas.length > TRUSTED_CAS_PER_ROLE_MAX) {
    issues.push({ field: 'agentCaFiles|agentCas', problem: `at most ${TRUSTED_CAS_PER_ROLE_MAX} agent CAs` });
  }
  const remoteClients = resolveRemoteClients(cfg, issues);

  const healthCheck: HealthCheckOptions = { ...MEMBERSHIP_DEFAULTS.healthCheck, ...profile.healthCheck, ...cfg.healthCheck };
  for (const p of checkHealthCheck(healthCheck)) issues.push(p);
  const reconnect: ReconnectConfig = { ...MEMBERSHIP_DEFAULTS.reconnect, ...profile.reconnect, ...cfg.reconnect };

  const num = (k: keyof typeof MEMBERSHIP_DEFAULTS & keyof MembershipConfig): number =>
    (cfg[k] ?? profile[k] ?? MEMBERSHIP_DEFAULTS[k]) as number;
  const resolved: ResolvedMembershipConfig = {
    federationId: cfg.federationId,
    memberName: cfg.memberName,
    role: cfg.role,
    region: cfg.region,
    zone,
    listen,
    bootstrap,
    controllers: cfg.controllers,
    keyFile: cfg.keyFile,
    privateKey: cfg.privateKey,
    certificateFile: cfg.certificateFile,
    certificate: cfg.certificate,
    controllerCaFiles,
    controllerCas,
    agentCaFiles,
    agentCas,
    healthCheck,
    authTimeoutMs: num('authTimeoutMs'),
    authDenyMs: num('authDenyMs'),
    certificateClockSkewMs: num('certificateClockSkewMs'),
    authFrameBytesMax: num('authFrameBytesMax'),
    heartbeatBytesMax: num('heartbeatBytesMax'),
    rttIntervalMs: num('rttIntervalMs'),
    rttTimeoutMs: num('rttTimeoutMs'),
    reconnect,
    membersMax: num('membersMax'),
    connectionsMax: num('connectionsMax'),
    unauthenticatedConnectionsMax: num('unauthenticatedConnectionsMax'),
    inboundConnectionsPerHostPerSecondMax: num('inboundConnectionsPerHostPerSecondMax'),
    maxClockOffsetMs: num('maxClockOffsetMs'),
    gossipHeartbeatMs: num('gossipHeartbeatMs'),
    healthGossip: cfg.healthGossip ?? profile.healthGossip ?? (cfg.role === 'agent' ? 'publish' : 'subscribe'),
    ...(remoteClients === undefined ? {} : { remoteClients }),
  };
  if (resolved.healthGossip !== 'subscribe' && resolved.healthGossip !== 'publish') {
    issues.push({ field: 'healthGossip', problem: 'must be "subscribe" or "publish"' });
  }

  const values: Record<string, unknown> = {
    ...resolved,
    'reconnect.initialDelayMs': reconnect.initialDelayMs,
    'reconnect.maxDelayMs': reconnect.maxDelayMs,
    'reconnect.factor': reconnect.factor,
    'reconnect.controllerMaxDelayMs': reconnect.controllerMaxDelayMs,
  };
  for (const [field, [min, max]] of Object.entries(RANGES)) {
    const v = values[field];
    const integer = field !== 'reconnect.factor';
    if (typeof v !== 'number' || !Number.isFinite(v) || (integer && !Number.isSafeInteger(v)) || v < min || v > max) {
      issues.push({ field, problem: `must be ${integer ? 'an integer' : 'a number'} in ${min}..${max}` });
    }
  }
  // Relations between fields.
  if (resolved.rttTimeoutMs > resolved.rttIntervalMs) {
    issues.push({ field: 'rttTimeoutMs', problem: `must be at most rttIntervalMs (${resolved.rttIntervalMs}): one probe per peer at a time` });
  }
  if (reconnect.maxDelayMs < reconnect.initialDelayMs) {
    issues.push({ field: 'reconnect.maxDelayMs', problem: `must be at least reconnect.initialDelayMs (${reconnect.initialDelayMs})` });
  }
  if (Array.isArray(bootstrap) && resolved.connectionsMax <= bootstrap.length) {
    issues.push({ field: 'connectionsMax', problem: `must exceed the number of bootstrap members (${bootstrap.length})` });
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return resolved;
}

// remoteClients: controllers only; its CAs bounded like every role's; connectionsMax an integer in range.
function resolveRemoteClients(cfg: MembershipConfig, issues: ConfigIssue[]): Required<RemoteClientsConfig> | undefined {
  const rc = cfg.remoteClients;
  if (rc === undefined) return undefined;
  if (cfg.role !== 'controller') issues.push({ field: 'remoteClients', problem: 'only controllers serve remote clients' });
  const caFiles = rc.caFiles ?? [];
  const cas = rc.cas ?? [];
  if (caFiles.length + cas.length > TRUSTED_CAS_PER_ROLE_MAX) {
    issues.push({ field: 'remoteClients.caFiles|cas', problem: `at most ${TRUSTED_CAS_PER_ROLE_MAX} client CAs` });
  }
  const connectionsMax = rc.connectionsMax ?? REMOTE_CLIENT_CONNECTIONS_MAX_DEFAULT;
  if (!Number.isSafeInteger(connectionsMax) || connectionsMax < 1 || connectionsMax > REMOTE_CLIENT_CONNECTIONS_MAX_LIMIT) {
    issues.push({ field: 'remoteClients.connectionsMax', problem: `must be an integer from 1 to ${REMOTE_CLIENT_CONNECTIONS_MAX_LIMIT}` });
  }
  return { caFiles, cas, connectionsMax };
}
