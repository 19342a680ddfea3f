// Where each field of the internal configuration objects comes from in a config file, so problems
// found by the existing validators (membership, replication, quorum) and by the node at start-up
// (credentials, fencing) are reported under the path the operator wrote: `healthCheck.timeoutMs`
// from resolveMembershipConfig becomes `spec.healthCheck.timeout`.
import type { ConfigIssue } from '../errors.ts';
import { formatDuration } from './duration.ts';

/** Membership config field → config file path. */
const MEMBERSHIP: Record<string, string> = {
  federationId: 'spec.federationID',
  memberName: 'spec.localMember.name',
  role: 'kind',
  region: 'spec.localMember.region',
  zone: 'spec.localMember.zone',
  listen: 'node.listen',
  bootstrap: 'spec.members',
  keyFile: 'node.identityKeyFile',
  'keyFile|privateKey': 'node.identityKeyFile',
  certificateFile: 'node.certificateFile',
  'certificateFile|certificate': 'node.certificateFile',
  controllerCaFiles: 'node.controllerCaFiles',
  'controllerCaFiles|controllerCas': 'node.controllerCaFiles',
  agentCaFiles: 'node.agentCaFiles',
  'agentCaFiles|agentCas': 'node.agentCaFiles',
  'healthCheck.intervalMs': 'spec.healthCheck.interval',
  'healthCheck.timeoutMs': 'spec.healthCheck.timeout',
  'healthCheck.failureThreshold': 'spec.healthCheck.failureThreshold',
  'healthCheck.successThreshold': 'spec.healthCheck.successThreshold',
  connectionsMax: 'spec.members',
  remoteClients: 'node.remoteAdmin.enabled',
  'remoteClients.caFiles|cas': 'node.remoteAdmin.clientCaFiles',
  'remoteClients.caFiles': 'node.remoteAdmin.clientCaFiles',
  'remoteClients.connectionsMax': 'node.remoteAdmin.connectionsMax',
};

/** Replication config field → config file path. */
const REPLICATION: Record<string, string> = {
  dataDir: 'node.dataDir',
  controllers: 'spec.members',
  strategy: 'spec.conflictResolution.strategy',
  'sync.batchSize': 'spec.sync.batchSize',
  'sync.timeoutMs': 'spec.sync.timeout',
  'sync.quorumTimeoutMs': 'spec.sync.quorumTimeout',
  'sync.compression': 'spec.sync.compression',
  'antiEntropy.enabled': 'spec.antiEntropy.enabled',
  'antiEntropy.intervalMs': 'spec.antiEntropy.interval',
  'antiEntropy.batchSize': 'spec.antiEntropy.batchSize',
  'antiEntropy.repairMode': 'spec.antiEntropy.repairMode',
  tombstoneGraceMs: 'spec.tombstoneGracePeriod',
  resourceKinds: 'spec.resourceKinds',
};

/** Quorum config field (validateQuorumConfig, WriteFence's `splitBrain.*`) → config file path. */
const QUORUM: Record<string, string> = {
  '(root)': 'spec.splitBrain',
  mode: 'spec.splitBrain.mode',
  quorumSize: 'spec.splitBrain.quorumSize',
  controllerWeight: 'spec.splitBrain.controllerWeight',
  agentWeight: 'spec.splitBrain.agentWeight',
  minAgentsForQuorum: 'spec.splitBrain.minAgentsForQuorum',
  leaseMs: 'spec.splitBrain.leaseDuration',
  driftMarginMs: 'spec.splitBrain.leaseDriftMargin',
  detectionDelayMs: 'spec.splitBrain.detectionDelay',
  healingHoldMs: 'spec.splitBrain.healingHold',
  agentAbsenceExpiryMs: 'spec.splitBrain.agentAbsenceExpiry',
  fenceWrites: 'spec.splitBrain.fenceWrites',
  self: 'spec.localMember.name',
  controllers: 'spec.members',
};

/** Agent config field (resolveAgentConfig) → config file path; `membership.*` goes through MEMBERSHIP. */
const AGENT: Record<string, string> = {
  dataDir: 'node.dataDir',
  controllers: 'spec.agent.controllers',
  'controllers.primary': 'spec.agent.controllers.primary',
  'controllers.primary.endpoint': 'spec.agent.controllers.primary.endpoint',
  'controllers.primary.priority': 'spec.agent.controllers.primary.priority',
  'controllers.secondary': 'spec.agent.controllers.secondary',
  'controllers.learned': 'spec.agent.controllers.learned',
  directoryRefreshMs: 'spec.agent.controllers.learned.refreshInterval',
  'failover.timeoutMs': 'spec.agent.controllers.failover.timeout',
  'failover.healthCheckIntervalMs': 'spec.agent.controllers.failover.healthCheckInterval',
  'failover.failureThreshold': 'spec.agent.controllers.failover.failureThreshold',
  'failover.recoveryDelayMs': 'spec.agent.controllers.failover.recoveryDelay',
  'failover.latencyAware': 'spec.agent.controllers.failover.latencyAware',
  'reachabilityProbe.enabled': 'spec.agent.reachabilityProbe.enabled',
  'reachabilityProbe.intervalMs': 'spec.agent.reachabilityProbe.interval',
  'reachabilityProbe.timeoutMs': 'spec.agent.reachabilityProbe.timeout',
  'autonomousMode.enabled': 'spec.agent.autonomousMode.enabled',
  'autonomousMode.configPath': 'spec.agent.autonomousMode.configPath',
};

/** Which validator an internal field name comes from. */
export type FieldSource = 'membership' | 'replication' | 'quorum' | 'agent';

const TABLES: Record<FieldSource, Record<string, string>> = { membership: MEMBERSHIP, replication: REPLICATION, quorum: QUORUM, agent: AGENT };

/** The config file path of an internal field (`listen[1]` → `node.listen[1]`, `bootstrap[2]` → `spec.members[2].endpoint`). */
export function filePathOf(field: string, source: FieldSource): string {
  if (source === 'agent' && field.startsWith('membership.')) {
    const rest = field.slice('membership.'.length);
    return rest === 'bootstrap' || rest.startsWith('bootstrap[') ? 'spec.agent.controllers' : filePathOf(rest, 'membership');
  }
  // The learned controllers' priorities (controllers.learned.regions.<region>, .controllers.<name>) are where the file has them.
  if (source === 'agent' && field.startsWith('controllers.learned.')) return `spec.agent.${field}`;
  const table = TABLES[source];
  const direct = table[field];
  if (direct !== undefined) return direct;
  const m = /^([^[]+)\[(\d+)\](.*)$/.exec(field);
  if (m !== null) {
    const [, base, index, rest] = m;
    // Bootstrap addresses are built from spec.members in order, one per member.
    if (source === 'membership' && base === 'bootstrap') return `spec.members[${index}].endpoint${rest}`;
    const mapped = table[base!];
    if (mapped !== undefined) return `${mapped}[${index}]${rest}`;
  }
  return `(internal ${source}) ${field}`;
}

/**
 * A validator's problem text in the file's terms: internal names it mentions become file paths
 * ("less than intervalMs (10000)" → "less than spec.healthCheck.interval (10s)"), and millisecond
 * ranges of duration fields become durations ("in 100..3600000" → "in 100ms..1h").
 */
export function fileProblem(problem: string, field: string, source: FieldSource): string {
  const table = TABLES[source];
  const prefix = field.includes('.') ? field.slice(0, field.lastIndexOf('.') + 1) : '';
  let out = problem;
  for (const [key, path] of Object.entries(table)) {
    if (!key.endsWith('Ms')) continue;
    const short = key.startsWith(prefix) ? key.slice(prefix.length) : undefined;
    for (const name of short === undefined || short.includes('.') ? [key] : [key, short]) {
      out = out.replace(new RegExp(`(?<![\\w.])${name.replace('.', '\\.')} \\((\\d+)\\)`, 'g'), (_m, n: string) => `${path} (${formatDuration(Number(n))})`);
    }
  }
  if (/Ms(\[|$)/.test(field)) {
    out = out.replace(/\b(\d+)\.\.(\d+)\b/, (_m, a: string, b: string) => `${formatDuration(Number(a))}..${formatDuration(Number(b))}`)
      .replace(/\((\d+)\)/g, (_m, n: string) => `(${formatDuration(Number(n))})`);
  }
  return out;
}

/** Issues of one validator, renamed to config file paths. */
export function toFileIssues(issues: readonly ConfigIssue[], source: FieldSource): ConfigIssue[] {
  return issues.map((i) => ({ field: filePathOf(i.field, source), problem: fileProblem(i.problem, i.field, source) }));
}

/**
 * Issues raised by a controller while starting (credentials, fencing), renamed to config file paths:
 * `splitBrain.*` from the write fence, everything else from membership and credentials.
 */
export function controllerStartIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return issues.map((i) => {
    if (i.field === 'splitBrain' || i.field.startsWith('splitBrain.')) {
      const rest = i.field.slice('splitBrain.'.length);
      return { field: i.field === 'splitBrain' ? 'spec.splitBrain' : filePathOf(rest, 'quorum'), problem: fileProblem(i.problem, rest, 'quorum') };
    }
    return { field: filePathOf(i.field, 'membership'), problem: fileProblem(i.problem, i.field, 'membership') };
  });
}

/** Merge issues, dropping a later one whose field already has a problem (the first is the precise one). */
export function mergeIssues(first: readonly ConfigIssue[], later: readonly ConfigIssue[]): ConfigIssue[] {
  const seen = new Set(first.map((i) => i.field));
  return [...first, ...later.filter((i) => !seen.has(i.field))];
}

/** Issues raised by an agent while starting (agent config, membership, credentials), renamed to config file paths. */
export function agentStartIssues(issues: readonly ConfigIssue[]): ConfigIssue[] {
  return issues.map((i) => {
    const asAgent = filePathOf(i.field, 'agent');
    if (!asAgent.startsWith('(internal')) return { field: asAgent, problem: fileProblem(i.problem, i.field, 'agent') };
    return { field: filePathOf(i.field, 'membership'), problem: fileProblem(i.problem, i.field, 'membership') };
  });
}
