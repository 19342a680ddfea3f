// Configuration of a controller's store and replication: the guide's conflictResolution, sync and
// antiEntropy sections in milliseconds, with documented defaults, a fast profile for tests, and
// validation that names each field and checks the relations between them.
import { STRATEGY_NAMES, type StrategyName } from '../../storage/index.ts';
import { isSystemKind } from '../../storage/logic/system-keys.ts';
import { NOVAEDGE_RESOURCE_KINDS, RESOURCE_KINDS_ADDED_MAX } from '../../storage/logic/resource-kinds.ts';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import type { RepairMode } from '../replication/anti-entropy-client.ts';

/** Replication settings of a controller. */
export interface ReplicationConfig {
  /** Directory of the node's LevelDB store. */
  dataDir: string;
  /** Names of every configured controller (localMember and members), self included. */
  controllers: string[];
  /** conflictResolution.strategy (default LastWriterWins). */
  strategy?: StrategyName;
  /** sync section. */
  sync?: {
    /** Push records as they are written (default true; off only to test anti-entropy alone). */
    pushEnabled?: boolean;
    /** Records per push batch (default 100). */
    batchSize?: number;
    /** Compress frames (default true). */
    compression?: boolean;
    /** Deadline of one replication stream read/write, ms (default 30,000). */
    timeoutMs?: number;
    /** Deadline of a quorum-durable write's acknowledgements, ms (default: timeoutMs). */
    quorumTimeoutMs?: number;
  };
  /** antiEntropy section. */
  antiEntropy?: {
    /** Run periodically (default true). */
    enabled?: boolean;
    /** Period, ms (default 300,000 = 5 m). */
    intervalMs?: number;
    /** Records per request (default 100). */
    batchSize?: number;
    /** pull, push or bidirectional (default bidirectional). */
    repairMode?: RepairMode;
  };
  /** Deleted records are collected this long after the delete, ms (default 24 h). */
  tombstoneGraceMs?: number;
  /**
   * Resource kinds stored besides NovaEdge's own (NOVAEDGE_RESOURCE_KINDS); resources of any other
   * kind are refused, written or replicated (default none). List the same kinds on every controller.
   */
  resourceKinds?: string[];
}

/** Replication settings with every default applied. */
export interface ResolvedReplicationConfig {
  dataDir: string;
  controllers: string[];
  strategy: StrategyName;
  sync: { pushEnabled: boolean; batchSize: number; compression: boolean; timeoutMs: number; quorumTimeoutMs: number };
  antiEntropy: { enabled: boolean; intervalMs: number; batchSize: number; repairMode: RepairMode };
  tombstoneGraceMs: number;
  /** The kinds added to NovaEdge's own. */
  resourceKinds: string[];
}

/** Defaults of the guide, with antiEntropy at its 5 m interval. */
export const REPLICATION_DEFAULTS = {
  strategy: 'LastWriterWins' as StrategyName,
  sync: { pushEnabled: true, batchSize: 100, compression: true, timeoutMs: 30_000 },
  antiEntropy: { enabled: true, intervalMs: 300_000, batchSize: 100, repairMode: 'bidirectional' as RepairMode },
  tombstoneGraceMs: 24 * 3600 * 1000,
};

/** A fast profile for tests and local runs: anti-entropy every second, short timeouts. */
export const FAST_REPLICATION: Readonly<Partial<ReplicationConfig>> = Object.freeze({
  sync: { timeoutMs: 3_000 },
  antiEntropy: { intervalMs: 1_000 },
});

const KNOWN = new Set(['dataDir', 'controllers', 'strategy', 'sync', 'antiEntropy', 'tombstoneGraceMs', 'resourceKinds']);
// A kind name as resources carry it (storage/logic/resource.ts).
const KIND_NAME = /^[A-Z][A-Za-z0-9]{0,62}$/;

function checkResourceKinds(issues: ConfigIssue[], kinds: unknown): string[] {
  if (kinds === undefined) return [];
  if (!Array.isArray(kinds)) {
    issues.push({ field: 'resourceKinds', problem: 'must be a list of kind names, e.g. [ProxyRoute, MyKind]' });
    return [];
  }
  if (kinds.length > RESOURCE_KINDS_ADDED_MAX) issues.push({ field: 'resourceKinds', problem: `at most ${RESOURCE_KINDS_ADDED_MAX} kinds` });
  const seen = new Set<string>();
  kinds.forEach((k: unknown, i) => {
    const field = `resourceKinds[${i}]`;
    if (typeof k !== 'string' || !KIND_NAME.test(k)) issues.push({ field, problem: `must be a CamelCase kind name (letters and digits, at most 63), got ${JSON.stringify(String(k).slice(0, 70))}` });
    else if (isSystemKind(k)) issues.push({ field, problem: `${k} is the federation's own kind: it cannot be listed` });
    else if (seen.has(k)) issues.push({ field, problem: `${k} is listed twice` });
    else if (NOVAEDGE_RESOURCE_KINDS.includes(k)) issues.push({ field, problem: `${k} is one of NovaEdge's own kinds (always stored): remove it` });
    seen.add(String(k));
  });
  return [...seen];
}

function intIn(issues: ConfigIssue[], field: string, v: number, min: number, max: number): void {
  if (!Number.isInteger(v) || v < min || v > max) issues.push({ field, problem: `must be an integer in ${min}..${max}` });
}

/** Apply defaults (over an optional profile) and validate; throws ConfigError listing every problem. */
export function resolveReplicationConfig(cfg: ReplicationConfig, self: string, profile: Readonly<Partial<ReplicationConfig>> = {}): ResolvedReplicationConfig {
  const issues: ConfigIssue[] = [];
  for (const k of Object.keys(cfg)) if (!KNOWN.has(k)) issues.push({ field: k, problem: 'unknown field' });
  if (typeof cfg.dataDir !== 'string' || cfg.dataDir === '') issues.push({ field: 'dataDir', problem: 'is required' });
  const controllers = cfg.controllers ?? [];
  if (!Array.isArray(controllers) || controllers.length === 0) issues.push({ field: 'controllers', problem: 'list every controller, this one included' });
  else {
    if (!controllers.includes(self)) issues.push({ field: 'controllers', problem: `must include this member (${self})` });
    if (new Set(controllers).size !== controllers.length) issues.push({ field: 'controllers', problem: 'names must be unique' });
    if (controllers.length > 64) issues.push({ field: 'controllers', problem: 'at most 64 controllers' });
  }
  const strategy = cfg.strategy ?? profile.strategy ?? REPLICATION_DEFAULTS.strategy;
  if (!STRATEGY_NAMES.includes(strategy)) issues.push({ field: 'strategy', problem: `must be one of ${STRATEGY_NAMES.join(', ')}` });
  const merged = { ...REPLICATION_DEFAULTS.sync, ...profile.sync, ...cfg.sync };
  // The quorum deadline follows the stream deadline unless set: one setting did both before.
  const sync = { ...merged, quorumTimeoutMs: merged.quorumTimeoutMs ?? merged.timeoutMs };
  intIn(issues, 'sync.batchSize', sync.batchSize, 1, 1000);
  intIn(issues, 'sync.timeoutMs', sync.timeoutMs, 100, 3_600_000);
  intIn(issues, 'sync.quorumTimeoutMs', sync.quorumTimeoutMs, 100, 3_600_000);
  const antiEntropy = { ...REPLICATION_DEFAULTS.antiEntropy, ...profile.antiEntropy, ...cfg.antiEntropy };
  intIn(issues, 'antiEntropy.intervalMs', antiEntropy.intervalMs, 100, 86_400_000);
  intIn(issues, 'antiEntropy.batchSize', antiEntropy.batchSize, 1, 1000);
  if (!['pull', 'push', 'bidirectional'].includes(antiEntropy.repairMode)) {
    issues.push({ field: 'antiEntropy.repairMode', problem: 'must be pull, push or bidirectional' });
  }
  if (!sync.pushEnabled && !antiEntropy.enabled) {
    issues.push({ field: 'antiEntropy.enabled', problem: 'with push off, anti-entropy is the only way records move' });
  }
  const tombstoneGraceMs = cfg.tombstoneGraceMs ?? profile.tombstoneGraceMs ?? REPLICATION_DEFAULTS.tombstoneGraceMs;
  intIn(issues, 'tombstoneGraceMs', tombstoneGraceMs, 60_000, 365 * 86_400_000);
  if (antiEntropy.intervalMs * 10 > tombstoneGraceMs) {
    // A tombstone collected before every peer ran anti-entropy could let a stale replica resurrect it.
    issues.push({ field: 'tombstoneGraceMs', problem: 'must be at least 10 anti-entropy intervals' });
  }
  const resourceKinds = checkResourceKinds(issues, cfg.resourceKinds ?? profile.resourceKinds);
  if (issues.length > 0) throw new ConfigError(issues);
  return { dataDir: cfg.dataDir, controllers: [...controllers], strategy, sync, antiEntropy, tombstoneGraceMs, resourceKinds };
}
