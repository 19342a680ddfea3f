// Configuration of an agent: which controllers serve it (primary, then secondaries by priority),
// when it fails over and back, how it probes every controller, and where it keeps the copy it
// serves when no controller answers. The guide's `agent` spec in milliseconds, with documented
// defaults, a fast profile for tests, and validation that names each field and checks relations.
import { multiaddr } from '@multiformats/multiaddr';
import type { MembershipConfig } from '../config/membership-config.ts';
import { ConfigError, type ConfigIssue } from '../errors.ts';
import { isLocationLabel, isMemberName } from '../../membership/member-name.ts';

/** One controller an agent may take its configuration from. */
export interface ControllerEndpoint {
  /** The controller's multiaddr, with /p2p/<peerId> (its identity is what the agent trusts). */
  endpoint: string;
  /** Lower is preferred; the primary is 0. Default 0 for the primary, 100 for a secondary. */
  priority?: number;
}

/**
 * Controllers the agent learns from the membership record (the controller directory its controller
 * serves, node/membership/controller-directory.ts): a controller added to the federation after this
 * configuration was written becomes a failover candidate with this priority. Lower is preferred, as
 * for configured controllers (primary 0, secondaries 100 by default), so by default a learned
 * controller is followed only when no configured one is healthy.
 */
export interface LearnedControllersConfig {
  /** Priority of a learned controller that neither `controllers` nor `regions` names. Default 200. */
  priority: number;
  /** Priority of a learned controller by its region (the record's region label). Default: none. */
  regions: Readonly<Record<string, number>>;
  /** Priority of a learned controller by its member name; before `regions`. Default: none. */
  controllers: Readonly<Record<string, number>>;
}

/** Failover settings (the guide's `controllers.failover`). */
export interface FailoverConfig {
  /** The current controller is failed over when no health check succeeded for this long, ms. Default 30 000. */
  timeoutMs: number;
  /** Health checks of every controller run this often, ms. Default 10 000. */
  healthCheckIntervalMs: number;
  /** Fail over after this many failed health checks in a row. Default 3. */
  failureThreshold: number;
  /** A better-priority controller must stay healthy this long before the agent fails back to it, ms. Default 60 000. */
  recoveryDelayMs: number;
  /** Among healthy controllers of equal priority, prefer the lowest round-trip time. Default true. */
  latencyAware: boolean;
}

/**
 * Reachability probes (the guide's `reachabilityProbe`): every configured controller is probed; the
 * current one at failover.healthCheckIntervalMs (the health check), the others at intervalMs.
 */
export interface ReachabilityProbeConfig {
  /** Report which controllers this agent reaches (in its heartbeats). Default true. */
  enabled: boolean;
  /** Probe period of the controllers other than the current one, ms. Default 10 000. */
  intervalMs: number;
  /** Deadline of one probe (and health check), ms. Default 5 000; at most both periods. */
  timeoutMs: number;
}

/** Autonomous mode (the guide's `autonomousMode`). */
export interface AutonomousModeConfig {
  /** Keep a file copy and serve it at start when no controller answers. Default true. */
  enabled: boolean;
  /** The file copy. Default `<dataDir>/config.json`. */
  configPath: string;
  /**
   * Changes within this window are written together, ms. Default 1000: each write is the whole
   * configuration, and the copy only has to be recent when every controller is gone.
   */
  writeCoalesceMs: number;
}

/** Agent configuration, as given by the user. */
export interface AgentConfig {
  /** Identity, certificates, addresses (role must be 'agent'; bootstrap comes from `controllers`). */
  membership: MembershipConfig;
  /** Directory of the agent's durable replica. */
  dataDir: string;
  /** The controllers: a primary and secondaries, and the priorities of those learned from the membership record. */
  controllers: { primary: ControllerEndpoint; secondary?: ControllerEndpoint[]; learned?: Partial<LearnedControllersConfig> };
  /** Failover; defaults above. */
  failover?: Partial<FailoverConfig>;
  /** Probes; defaults above. */
  reachabilityProbe?: Partial<ReachabilityProbeConfig>;
  /** File copy; defaults above. */
  autonomousMode?: Partial<AutonomousModeConfig>;
  /** Records per anti-entropy request when catching up. Default 100. */
  antiEntropyBatchSize?: number;
  /** Records per live-update batch the controller sends. Default 100. */
  streamBatchSize?: number;
  /**
   * The controller directory (which controllers the federation has) is read from the controller
   * followed at each new session with it and this often, ms. Default 30 000.
   */
  directoryRefreshMs?: number;
}

/** One configured controller, resolved. */
export interface ResolvedControllerEndpoint {
  endpoint: string;
  /** Peer ID from the endpoint. */
  peerId: string;
  priority: number;
}

/** Agent configuration with every default applied. */
export interface ResolvedAgentConfig {
  dataDir: string;
  /** Primary first, then secondaries in the order given. */
  controllers: ResolvedControllerEndpoint[];
  /** Priorities of learned controllers. */
  learned: LearnedControllersConfig;
  directoryRefreshMs: number;
  failover: FailoverConfig;
  reachabilityProbe: ReachabilityProbeConfig;
  autonomousMode: AutonomousModeConfig;
  antiEntropyBatchSize: number;
  streamBatchSize: number;
}

/** The guide's defaults. */
export const AGENT_DEFAULTS = Object.freeze({
  failover: Object.freeze({ timeoutMs: 30_000, healthCheckIntervalMs: 10_000, failureThreshold: 3, recoveryDelayMs: 60_000, latencyAware: true }),
  reachabilityProbe: Object.freeze({ enabled: true, intervalMs: 10_000, timeoutMs: 5_000 }),
  autonomousMode: Object.freeze({ enabled: true, writeCoalesceMs: 1_000 }),
  antiEntropyBatchSize: 100,
  streamBatchSize: 100,
  secondaryPriority: 100,
  learnedPriority: 200,
  directoryRefreshMs: 30_000,
});

/**
 * Fast profile for tests and benchmarks: health checks every 200 ms, each allowed the whole period,
 * so a silent primary is failed over within 3 x 200 + 200 = 800 ms (one whose connection drops, at
 * once); fail back after 1 s of recovered health; the controller directory read every second.
 */
export const FAST_AGENT: Readonly<Partial<Pick<AgentConfig, 'failover' | 'reachabilityProbe' | 'directoryRefreshMs'>>> = Object.freeze({
  failover: { timeoutMs: 3_000, healthCheckIntervalMs: 200, failureThreshold: 3, recoveryDelayMs: 1_000 },
  reachabilityProbe: { intervalMs: 200, timeoutMs: 200 },
  directoryRefreshMs: 1_000,
});

/** Most regions `controllers.learned.regions` may name. */
export const LEARNED_REGIONS_MAX = 64;

/** Most controllers an agent may be configured with. */
export const AGENT_CONTROLLERS_MAX = 64;

const KNOWN = new Set(['membership', 'dataDir', 'controllers', 'failover', 'reachabilityProbe', 'autonomousMode', 'antiEntropyBatchSize', 'streamBatchSize', 'directoryRefreshMs']);

function intIn(issues: ConfigIssue[], field: string, v: unknown, min: number, max: number): void {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) issues.push({ field, problem: `must be an integer in ${min}..${max}` });
}

function endpointOf(issues: ConfigIssue[], field: string, c: ControllerEndpoint | undefined, dfltPriority: number): ResolvedControllerEndpoint | undefined {
  if (c === undefined || typeof c !== 'object') {
    issues.push({ field, problem: 'must be { endpoint, priority? }' });
    return undefined;
  }
  const priority = c.priority ?? dfltPriority;
  intIn(issues, `${field}.priority`, priority, 0, 1_000_000);
  let peerId: string | undefined;
  try {
    const ma = multiaddr(c.endpoint);
    if (!ma.protoNames().includes('tcp')) issues.push({ field: `${field}.endpoint`, problem: 'must be a TCP multiaddr' });
    peerId = ma.getPeerId() ?? undefined;
    if (peerId === undefined) issues.push({ field: `${field}.endpoint`, problem: 'must end with /p2p/<peerId>: the agent trusts the controller by its identity' });
  } catch (e) {
    issues.push({ field: `${field}.endpoint`, problem: `not a multiaddr (${(e as Error).message})` });
  }
  return peerId === undefined ? undefined : { endpoint: c.endpoint, peerId, priority };
}

function learnedOf(issues: ConfigIssue[], given: Partial<LearnedControllersConfig> | undefined, profile: Partial<LearnedControllersConfig> | undefined): LearnedControllersConfig {
  const field = 'controllers.learned';
  if (given !== undefined && (typeof given !== 'object' || given === null || Array.isArray(given))) {
    issues.push({ field, problem: 'must be { priority?, regions?, controllers? }' });
    return { priority: AGENT_DEFAULTS.learnedPriority, regions: {}, controllers: {} };
  }
  for (const k of Object.keys(given ?? {})) if (!['priority', 'regions', 'controllers'].includes(k)) issues.push({ field: `${field}.${k}`, problem: 'unknown field' });
  const priority = given?.priority ?? profile?.priority ?? AGENT_DEFAULTS.learnedPriority;
  intIn(issues, `${field}.priority`, priority, 0, 1_000_000);
  const regions = priorityMap(issues, `${field}.regions`, given?.regions ?? profile?.regions ?? {}, 'region', isLocationLabel,
    'must be a region label (letters, digits, ".", "_", "-"; at most 63 characters)');
  const controllers = priorityMap(issues, `${field}.controllers`, given?.controllers ?? profile?.controllers ?? {}, 'controller', isMemberName,
    'must be a member name (a DNS-1123 label)');
  return { priority, regions, controllers };
}

// A mapping of labels (regions, controller names) to priorities: at most LEARNED_REGIONS_MAX entries,
// each label valid and each priority in 0..1,000,000.
function priorityMap(issues: ConfigIssue[], field: string, r: unknown, what: string, valid: (label: string) => boolean, labelProblem: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (typeof r !== 'object' || r === null || Array.isArray(r)) {
    issues.push({ field, problem: `must be a mapping of ${what} to priority` });
    return out;
  }
  const entries = Object.entries(r);
  if (entries.length > LEARNED_REGIONS_MAX) issues.push({ field, problem: `at most ${LEARNED_REGIONS_MAX} entries` });
  for (const [label, p] of entries.slice(0, LEARNED_REGIONS_MAX)) {
    const at = `${field}.${label.slice(0, 64)}`;
    if (label === '' || !valid(label)) {
      issues.push({ field: at, problem: labelProblem });
      continue;
    }
    const before = issues.length;
    intIn(issues, at, p, 0, 1_000_000);
    if (issues.length === before) out[label] = p as number;
  }
  return out;
}

/**
 * The priority of learned controller `name` of `region` under `learned` (lower is preferred): by its
 * name, else by its region, else the default.
 */
export function learnedPriority(learned: LearnedControllersConfig, name: string, region: string): number {
  if (Object.hasOwn(learned.controllers, name)) return learned.controllers[name]!;
  return region !== '' && Object.hasOwn(learned.regions, region) ? learned.regions[region]! : learned.priority;
}

/** Apply defaults (over an optional profile such as FAST_AGENT) and validate; throws ConfigError. */
export function resolveAgentConfig(cfg: AgentConfig, profile: Readonly<Partial<AgentConfig>> = {}): ResolvedAgentConfig {
  const issues: ConfigIssue[] = [];
  for (const k of Object.keys(cfg)) if (!KNOWN.has(k)) issues.push({ field: k, problem: 'unknown field' });
  if (cfg.membership?.role !== 'agent') issues.push({ field: 'membership.role', problem: 'must be "agent"' });
  if (typeof cfg.dataDir !== 'string' || cfg.dataDir === '') issues.push({ field: 'dataDir', problem: 'is required' });

  const controllers: ResolvedControllerEndpoint[] = [];
  const primary = endpointOf(issues, 'controllers.primary', cfg.controllers?.primary, 0);
  if (primary !== undefined) controllers.push(primary);
  const secondary = cfg.controllers?.secondary ?? [];
  if (!Array.isArray(secondary)) issues.push({ field: 'controllers.secondary', problem: 'must be a list' });
  else {
    if (secondary.length + 1 > AGENT_CONTROLLERS_MAX) issues.push({ field: 'controllers.secondary', problem: `at most ${AGENT_CONTROLLERS_MAX - 1} entries` });
    secondary.forEach((c, i) => {
      const r = endpointOf(issues, `controllers.secondary[${i}]`, c, AGENT_DEFAULTS.secondaryPriority);
      if (r !== undefined) controllers.push(r);
    });
  }
  const learned = learnedOf(issues, cfg.controllers?.learned, profile.controllers?.learned);
  const seen = new Set<string>();
  for (const c of controllers) {
    if (seen.has(c.peerId)) issues.push({ field: 'controllers', problem: `controller ${c.peerId} is listed twice` });
    seen.add(c.peerId);
  }

  const failover: FailoverConfig = { ...AGENT_DEFAULTS.failover, ...profile.failover, ...cfg.failover };
  intIn(issues, 'failover.timeoutMs', failover.timeoutMs, 100, 3_600_000);
  intIn(issues, 'failover.healthCheckIntervalMs', failover.healthCheckIntervalMs, 50, 3_600_000);
  intIn(issues, 'failover.failureThreshold', failover.failureThreshold, 1, 1_000);
  intIn(issues, 'failover.recoveryDelayMs', failover.recoveryDelayMs, 0, 86_400_000);
  if (typeof failover.latencyAware !== 'boolean') issues.push({ field: 'failover.latencyAware', problem: 'must be true or false' });
  const reachabilityProbe: ReachabilityProbeConfig = { ...AGENT_DEFAULTS.reachabilityProbe, ...profile.reachabilityProbe, ...cfg.reachabilityProbe };
  intIn(issues, 'reachabilityProbe.intervalMs', reachabilityProbe.intervalMs, 50, 3_600_000);
  intIn(issues, 'reachabilityProbe.timeoutMs', reachabilityProbe.timeoutMs, 10, 3_600_000);
  if (typeof reachabilityProbe.enabled !== 'boolean') issues.push({ field: 'reachabilityProbe.enabled', problem: 'must be true or false' });
  // One check per controller at a time: a deadline longer than the period would stack them up.
  const periodMin = Math.min(failover.healthCheckIntervalMs, reachabilityProbe.intervalMs);
  if (reachabilityProbe.timeoutMs > periodMin) {
    issues.push({ field: 'reachabilityProbe.timeoutMs', problem: `must be at most the probe periods (${periodMin})` });
  }
  // A timeout shorter than one check period would fail over between two checks, on no evidence.
  if (failover.timeoutMs < failover.healthCheckIntervalMs) {
    issues.push({ field: 'failover.timeoutMs', problem: `must be at least failover.healthCheckIntervalMs (${failover.healthCheckIntervalMs})` });
  }
  const am = { ...AGENT_DEFAULTS.autonomousMode, ...profile.autonomousMode, ...cfg.autonomousMode };
  const autonomousMode: AutonomousModeConfig = {
    enabled: am.enabled, writeCoalesceMs: am.writeCoalesceMs,
    configPath: am.configPath ?? `${typeof cfg.dataDir === 'string' ? cfg.dataDir : '.'}/config.json`,
  };
  if (typeof autonomousMode.enabled !== 'boolean') issues.push({ field: 'autonomousMode.enabled', problem: 'must be true or false' });
  if (typeof autonomousMode.configPath !== 'string' || autonomousMode.configPath === '') issues.push({ field: 'autonomousMode.configPath', problem: 'must be a file path' });
  intIn(issues, 'autonomousMode.writeCoalesceMs', autonomousMode.writeCoalesceMs, 0, 60_000);
  const antiEntropyBatchSize = cfg.antiEntropyBatchSize ?? profile.antiEntropyBatchSize ?? AGENT_DEFAULTS.antiEntropyBatchSize;
  intIn(issues, 'antiEntropyBatchSize', antiEntropyBatchSize, 1, 1_000);
  const streamBatchSize = cfg.streamBatchSize ?? profile.streamBatchSize ?? AGENT_DEFAULTS.streamBatchSize;
  intIn(issues, 'streamBatchSize', streamBatchSize, 1, 1_000);
  const directoryRefreshMs = cfg.directoryRefreshMs ?? profile.directoryRefreshMs ?? AGENT_DEFAULTS.directoryRefreshMs;
  intIn(issues, 'directoryRefreshMs', directoryRefreshMs, 100, 86_400_000);
  if (issues.length > 0) throw new ConfigError(issues);
  return { dataDir: cfg.dataDir, controllers, learned, failover, reachabilityProbe, autonomousMode, antiEntropyBatchSize, streamBatchSize, directoryRefreshMs };
}
