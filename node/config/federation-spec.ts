// The `spec:` of a NovaEdgeFederation config file (the guide's Step 4 shape plus splitBrain and
// antiEntropy): read into the pieces of a ControllerConfig, with every problem under its path. Ranges
// and relations between fields are left to the validators that own them (membership, replication,
// quorum); this file checks shapes, types, durations, endpoints and the member list.
import { multiaddr } from '@multiformats/multiaddr';
import { MAX_CONTROLLERS, QUORUM_MODES } from '../../quorum/index.ts';
import { STRATEGY_NAMES, type StrategyName } from '../../storage/logic/rules/index.ts';
import { RESOURCE_KINDS_ADDED_MAX } from '../../storage/logic/resource-kinds.ts';
import type { SplitBrainConfig } from '../controller/write-fence.ts';
import type { RepairMode } from '../replication/anti-entropy-client.ts';
import type { ReplicationConfig } from './replication-config.ts';
import { endpointToMultiaddr } from './endpoint.ts';
import { defined, type FieldReader } from './field-reader.ts';
import type { HealthCheckOptions } from '../../membership/health-check.ts';
import { PRIORITY_MAX, ANY_INT, readHealthCheck, readLocalMember, readLocation, readName, TLS_REFUSED, type MemberEntry } from './member-fields.ts';

/** Most other members of a controller: the quorum module counts at most MAX_CONTROLLERS, itself included. */
export const MEMBERS_MAX = MAX_CONTROLLERS - 1;
/** Any integer: ranges are checked by the validator that owns the field. */

/** A controller's spec, read. */
export interface ControllerSpec {
  /** spec.federationID. */
  federationId: string | undefined;
  /** spec.localMember. */
  localMember: MemberEntry;
  /** spec.members that are well-formed, in file order (problems already reported for the others). */
  members: MemberEntry[];
  /** Index in spec.members of each entry of `members` (for mapping bootstrap[i] back). */
  memberIndexes: number[];
  /** Names of every member with a valid, unique name, well-formed or not (they count as configured controllers). */
  memberNames: string[];
  /**
   * spec.bootstrap: addresses (multiaddrs with /p2p/<peerId>) of members of a federation this
   * controller joins (live membership): it learns the membership from them. Empty with spec.members.
   */
  bootstrap: string[];
  /** Port of localMember.endpoint, the default listen port. */
  localPort: number | undefined;
  /** The default listen multiaddr: localMember.endpoint's IP and port (0.0.0.0 for a DNS name). */
  localListen: string | undefined;
  /** spec.healthCheck, in ms. */
  healthCheck: Partial<HealthCheckOptions>;
  /** spec.conflictResolution.strategy, spec.sync, spec.antiEntropy, spec.tombstoneGracePeriod. */
  replication: Omit<ReplicationConfig, 'dataDir' | 'controllers'>;
  /** spec.splitBrain, in ms. */
  splitBrain: SplitBrainConfig;
}

function readMember(r: FieldReader): { name: string | undefined; entry: MemberEntry | undefined } {
  const name = readName(r);
  const region = readLocation(r, 'region', false);
  const zone = readLocation(r, 'zone', false);
  const endpoint = r.str('endpoint', { required: true });
  const peerId = r.str('peerId');
  const priority = r.int('priority', 0, PRIORITY_MAX, { default: 0 });
  if (r.has('tls')) r.problem('tls', TLS_REFUSED);
  let address: string | undefined;
  if (endpoint !== undefined) {
    const res = endpointToMultiaddr(endpoint, peerId);
    if ('problem' in res) r.problem(res.field, res.problem);
    else address = res.addr;
  }
  r.done();
  if (name === undefined || address === undefined || priority === undefined) return { name, entry: undefined };
  return { name, entry: { name, region, zone, endpoint, address, priority } };
}

/** Read `spec` of a NovaEdgeFederation. */
export function readControllerSpec(spec: FieldReader): ControllerSpec {
  const federationId = spec.str('federationID', { required: true });
  const local = readLocalMember(spec.child('localMember', { required: true }), 'controller');

  const members: MemberEntry[] = [];
  const memberIndexes: number[] = [];
  const seen = new Map<string, number>();
  spec.items('members', MEMBERS_MAX).forEach((r, i) => {
    const { name, entry } = readMember(r);
    if (name === undefined) return;
    if (name === local.entry.name) {
      spec.problem(`members[${i}].name`, `is the local member (spec.localMember.name): list only the other controllers`);
      return;
    }
    const first = seen.get(name);
    if (first !== undefined) {
      spec.problem(`members[${i}].name`, `duplicate of spec.members[${first}].name (${name})`);
      return;
    }
    seen.set(name, i);
    if (entry === undefined) return;
    members.push(entry);
    memberIndexes.push(i);
  });

  const bootstrap: string[] = [];
  (spec.strings('bootstrap', MEMBERS_MAX) ?? []).forEach((a, i) => {
    let id: string | null = null;
    try {
      id = multiaddr(a).getPeerId();
    } catch (err) {
      spec.problem(`bootstrap[${i}]`, `is not a multiaddr (${(err as Error).message})`);
      return;
    }
    if (id === null) spec.problem(`bootstrap[${i}]`, 'must end in /p2p/<peerId>: the member\'s certificate is checked against it');
    else bootstrap.push(a);
  });
  if (bootstrap.length > 0 && members.length > 0) spec.problem('bootstrap', 'is for a controller joining a federation (it learns the members from them): list spec.members or spec.bootstrap, not both');

  const healthCheck = readHealthCheck(spec.child('healthCheck'));

  const sync = spec.child('sync');
  // Pushes go out as writes happen, so there is no sync period: interval is read (and must be a
  // valid duration) for files written for the guide, and has no effect.
  sync.duration('interval');
  const syncCfg = defined({ timeoutMs: sync.duration('timeout'), quorumTimeoutMs: sync.duration('quorumTimeout'), batchSize: sync.int('batchSize', ...ANY_INT), compression: sync.bool('compression') });
  sync.done();

  const cr = spec.child('conflictResolution');
  const strategy = cr.oneOf<StrategyName>('strategy', STRATEGY_NAMES);
  if (cr.bool('vectorClocks') === false) {
    cr.problem('vectorClocks', 'cannot be turned off: version vectors are how concurrent writes are told apart from ordered ones (HLC stamps still order every write)');
  }
  cr.done();

  const ae = spec.child('antiEntropy');
  const antiEntropy = defined({
    enabled: ae.bool('enabled'),
    intervalMs: ae.duration('interval'),
    batchSize: ae.int('batchSize', ...ANY_INT),
    repairMode: ae.oneOf<RepairMode>('repairMode', ['pull', 'push', 'bidirectional']),
  });
  ae.done();
  const tombstoneGraceMs = spec.duration('tombstoneGracePeriod');
  // Kinds stored besides NovaEdge's own; the names are checked by resolveReplicationConfig.
  const resourceKinds = spec.strings('resourceKinds', RESOURCE_KINDS_ADDED_MAX);

  const sb = spec.child('splitBrain');
  const enabled = sb.bool('enabled', { default: true });
  let fenceWrites = sb.bool('fenceWrites');
  if (enabled === false) {
    // Turning protection off is accepting writes without quorum; asking for both is a contradiction.
    if (fenceWrites === true) sb.problem('fenceWrites', 'contradicts enabled: false (split-brain protection off means writes are never fenced)');
    fenceWrites = false;
  }
  const splitBrain = defined<SplitBrainConfig>({
    mode: sb.oneOf('mode', QUORUM_MODES),
    quorumSize: sb.int('quorumSize', ...ANY_INT),
    controllerWeight: sb.int('controllerWeight', ...ANY_INT),
    agentWeight: sb.int('agentWeight', ...ANY_INT),
    minAgentsForQuorum: sb.int('minAgentsForQuorum', ...ANY_INT),
    detectionDelayMs: sb.duration('detectionDelay'),
    leaseMs: sb.duration('leaseDuration'),
    driftMarginMs: sb.duration('leaseDriftMargin'),
    healingHoldMs: sb.duration('healingHold'),
    agentAbsenceExpiryMs: sb.duration('agentAbsenceExpiry'),
    fenceWrites,
  });
  sb.done();
  spec.done();

  return {
    federationId,
    localMember: local.entry,
    members,
    memberIndexes,
    memberNames: [...seen.keys()],
    bootstrap,
    localPort: local.port,
    localListen: local.listen,
    healthCheck,
    replication: defined({
      ...(strategy === undefined ? {} : { strategy }),
      ...(Object.keys(syncCfg).length === 0 ? {} : { sync: syncCfg }),
      ...(Object.keys(antiEntropy).length === 0 ? {} : { antiEntropy }),
      tombstoneGraceMs,
      resourceKinds,
    }),
    splitBrain,
  };
}
