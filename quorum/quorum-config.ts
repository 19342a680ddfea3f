// Quorum configuration: the guide's `splitBrain` block (plus the controller list, self, and the vote
// lease timings the guide lacks), with defaults and validation. Validation returns every problem,
// each naming its field; contradictions between fields are refused, never silently fixed.

import { ASSUMED_CLOCK_RATE_DRIFT_PPM, minDriftMarginMs } from './clock-drift.ts';
import {
  MAX_AGENT_ABSENCE_MS, MAX_AGENTS, MAX_CONTROLLERS, MAX_DELAY_MS, MAX_LEASE_MS, MAX_WEIGHT,
} from './limits.ts';
import { isMemberName as isQuorumMemberName } from '../membership/member-name.ts';
import { controllerMajority } from './threshold.ts';

/** How votes are counted: controllers only, or controllers plus agent vote leases (two datacenters). */
export type QuorumMode = 'Controllers' | 'AgentAssisted';

/** Every mode, in a stable order. */
export const QUORUM_MODES: readonly QuorumMode[] = ['Controllers', 'AgentAssisted'];

/** Configuration as written by the operator; omitted fields take the defaults below. */
export interface QuorumConfigInput {
  /** Counting mode; default `Controllers`. */
  mode?: QuorumMode;
  /** Member name of this controller; must be one of `controllers`. */
  self: string;
  /** Every configured controller member name, `self` included. */
  controllers: readonly string[];
  /** Controllers mode: votes needed; default ⌊n/2⌋+1, refused unless n/2 < quorumSize ≤ n. */
  quorumSize?: number;
  /** AgentAssisted: weight of each controller; default 10. */
  controllerWeight?: number;
  /** AgentAssisted: weight of each registered agent; default 1. */
  agentWeight?: number;
  /** AgentAssisted: agent leases needed unless a strict majority of controllers is reached; default 1. */
  minAgentsForQuorum?: number;
  /** Duration of one vote lease on the granting agent's clock; default 10 s. */
  leaseMs?: number;
  /** A controller stops counting a lease this much before the agent would free it; default 1 s. */
  driftMarginMs?: number;
  /** Time in Suspected before a partition is reported Confirmed; default 30 s (the guide's). */
  detectionDelayMs?: number;
  /** Least time in Healing before Healthy, even when caught up at once; default 0. */
  healingHoldMs?: number;
  /** An agent unseen this long may be removed from the registry; default 24 h. */
  agentAbsenceExpiryMs?: number;
  /** Refuse writes without quorum; default true. False accepts them as counted minority writes. */
  fenceWrites?: boolean;
}

/** A validated configuration with every default applied. */
export interface QuorumConfig {
  /** Counting mode. */
  readonly mode: QuorumMode;
  /** Member name of this controller (one of `controllers`). */
  readonly self: string;
  /** Configured controllers, sorted, unique, `self` included. */
  readonly controllers: readonly string[];
  /** Controllers mode: votes needed (a strict majority or more of `controllers`). */
  readonly quorumSize: number;
  /** AgentAssisted: weight of each controller. */
  readonly controllerWeight: number;
  /** AgentAssisted: weight of each registered agent. */
  readonly agentWeight: number;
  /** AgentAssisted: agent leases needed unless a strict majority of controllers is reached. */
  readonly minAgentsForQuorum: number;
  /** Vote lease duration on the agent's clock. */
  readonly leaseMs: number;
  /** How long before the agent's expiry a controller stops counting a lease. */
  readonly driftMarginMs: number;
  /** Time in Suspected before the partition is Confirmed. */
  readonly detectionDelayMs: number;
  /** Least time in Healing before Healthy. */
  readonly healingHoldMs: number;
  /** Absence after which an agent may be removed from the registry. */
  readonly agentAbsenceExpiryMs: number;
  /** Refuse writes without quorum. */
  readonly fenceWrites: boolean;
}

/** One problem with one field. Same shape as node/'s ConfigIssue so it can be wrapped as is. */
export interface QuorumConfigIssue {
  /** Field name as in the configuration, e.g. `quorumSize`. */
  field: string;
  /** What is wrong with it. */
  problem: string;
}

/** Outcome of validation: the complete config, or every problem found. */
export type QuorumConfigResult = QuorumConfigValid | QuorumConfigInvalid;

/** A valid configuration. */
export interface QuorumConfigValid {
  /** Valid. */
  ok: true;
  /** With every default applied. */
  config: QuorumConfig;
}

/** A refused configuration. */
export interface QuorumConfigInvalid {
  /** Invalid. */
  ok: false;
  /** Every problem found, each naming its field. */
  issues: QuorumConfigIssue[];
}

/** Defaults of the optional fields. */
export const QUORUM_DEFAULTS = {
  mode: 'Controllers',
  controllerWeight: 10,
  agentWeight: 1,
  minAgentsForQuorum: 1,
  leaseMs: 10_000,
  driftMarginMs: 1_000,
  detectionDelayMs: 30_000,
  healingHoldMs: 0,
  agentAbsenceExpiryMs: 86_400_000,
  fenceWrites: true,
} as const satisfies Partial<QuorumConfig>;

/** Default quorum size of `n` controllers: ⌊n/2⌋+1, the smallest strict majority. */
export function defaultQuorumSize(n: number): number {
  return controllerMajority(n);
}

/** Validates `input` (typically parsed YAML) and applies defaults. */
export function validateQuorumConfig(input: unknown): QuorumConfigResult {
  const issues: QuorumConfigIssue[] = [];
  const bad = (field: string, problem: string): void => { issues.push({ field, problem }); };
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    return { ok: false, issues: [{ field: '(root)', problem: 'must be an object' }] };
  }
  const o = input as Record<string, unknown>;

  const mode = o.mode ?? QUORUM_DEFAULTS.mode;
  if (!QUORUM_MODES.includes(mode as QuorumMode)) bad('mode', `must be one of ${QUORUM_MODES.join(', ')}, got ${show(mode)}`);

  const self = o.self;
  if (!isQuorumMemberName(self)) bad('self', `must be a member name (DNS-1123 label), got ${show(self)}`);

  let controllers: string[] = [];
  if (!Array.isArray(o.controllers)) {
    bad('controllers', 'must be a list of controller member names');
  } else if (o.controllers.length < 1 || o.controllers.length > MAX_CONTROLLERS) {
    bad('controllers', `must list 1..${MAX_CONTROLLERS} controllers, got ${o.controllers.length}`);
  } else {
    const seen = new Set<string>();
    o.controllers.forEach((c: unknown, i: number) => {
      if (!isQuorumMemberName(c)) bad(`controllers[${i}]`, `must be a member name (DNS-1123 label), got ${show(c)}`);
      else if (seen.has(c)) bad(`controllers[${i}]`, `duplicate controller ${c}`);
      else seen.add(c);
    });
    controllers = [...seen].sort();
    if (isQuorumMemberName(self) && !seen.has(self)) bad('controllers', `must include self (${self})`);
  }
  const n = controllers.length;

  let quorumSize = defaultQuorumSize(Math.max(n, 1));
  if (o.quorumSize !== undefined) {
    if (mode === 'AgentAssisted') {
      bad('quorumSize', 'applies to mode Controllers only; AgentAssisted uses weights (⌊W/2⌋+1)');
    } else if (!isIntIn(o.quorumSize, 1, MAX_CONTROLLERS)) {
      bad('quorumSize', `must be an integer in 1..${MAX_CONTROLLERS}, got ${show(o.quorumSize)}`);
    } else if (n > 0 && o.quorumSize > n) {
      bad('quorumSize', `${o.quorumSize} is larger than the ${n} configured controllers: quorum could never be reached`);
    } else if (n > 0 && 2 * o.quorumSize <= n) {
      // Two sides of a split hold a + b ≤ n controllers; both reach q only if 2q ≤ n. The guide's
      // "n/2" for even n (2 of 4) is exactly that: a 2–2 split would give both halves quorum.
      bad('quorumSize', `${o.quorumSize} of ${n} is not a strict majority: two disjoint sides of ${o.quorumSize} could both accept writes (need more than ${n / 2}, default ${defaultQuorumSize(n)})`);
    } else {
      quorumSize = o.quorumSize;
    }
  }

  const controllerWeight = intField(o, 'controllerWeight', QUORUM_DEFAULTS.controllerWeight, 1, MAX_WEIGHT, bad);
  const agentWeight = intField(o, 'agentWeight', QUORUM_DEFAULTS.agentWeight, 1, MAX_WEIGHT, bad);
  const minAgentsForQuorum = intField(o, 'minAgentsForQuorum', QUORUM_DEFAULTS.minAgentsForQuorum, 0, MAX_AGENTS, bad);
  const leaseMs = intField(o, 'leaseMs', QUORUM_DEFAULTS.leaseMs, 1, MAX_LEASE_MS, bad);
  const driftMarginMs = intField(o, 'driftMarginMs', QUORUM_DEFAULTS.driftMarginMs, 0, MAX_LEASE_MS, bad);
  const detectionDelayMs = intField(o, 'detectionDelayMs', QUORUM_DEFAULTS.detectionDelayMs, 0, MAX_DELAY_MS, bad);
  const healingHoldMs = intField(o, 'healingHoldMs', QUORUM_DEFAULTS.healingHoldMs, 0, MAX_DELAY_MS, bad);
  const agentAbsenceExpiryMs = intField(o, 'agentAbsenceExpiryMs', QUORUM_DEFAULTS.agentAbsenceExpiryMs, 1, MAX_AGENT_ABSENCE_MS, bad);

  if (leaseMs !== undefined && driftMarginMs !== undefined) {
    if (driftMarginMs >= leaseMs) {
      bad('driftMarginMs', `${driftMarginMs} must be less than leaseMs (${leaseMs}): a controller would never count a lease`);
    } else if (driftMarginMs < minDriftMarginMs(leaseMs)) {
      bad('driftMarginMs', `${driftMarginMs} is too small for leaseMs ${leaseMs}: clock rates may drift by ${ASSUMED_CLOCK_RATE_DRIFT_PPM / 10_000} %, so it must be at least ${minDriftMarginMs(leaseMs)} (2ρ/(1+ρ) of the lease)`);
    }
  }
  if (leaseMs !== undefined && agentAbsenceExpiryMs !== undefined && agentAbsenceExpiryMs <= leaseMs) {
    bad('agentAbsenceExpiryMs', `${agentAbsenceExpiryMs} must be longer than leaseMs (${leaseMs}): an agent renewing its lease would look absent`);
  }

  const fenceWrites = o.fenceWrites ?? QUORUM_DEFAULTS.fenceWrites;
  if (typeof fenceWrites !== 'boolean') bad('fenceWrites', `must be true or false, got ${show(fenceWrites)}`);

  if (issues.length > 0) return { ok: false, issues };
  return {
    ok: true,
    config: Object.freeze({
      mode: mode as QuorumMode,
      self: self as string,
      controllers: Object.freeze(controllers),
      quorumSize,
      controllerWeight: controllerWeight!,
      agentWeight: agentWeight!,
      minAgentsForQuorum: minAgentsForQuorum!,
      leaseMs: leaseMs!,
      driftMarginMs: driftMarginMs!,
      detectionDelayMs: detectionDelayMs!,
      healingHoldMs: healingHoldMs!,
      agentAbsenceExpiryMs: agentAbsenceExpiryMs!,
      fenceWrites: fenceWrites as boolean,
    }),
  };
}

/** Like validateQuorumConfig, but throws a RangeError listing the problems (for tests and fixtures). */
export function quorumConfig(input: QuorumConfigInput): QuorumConfig {
  const r = validateQuorumConfig(input);
  if (!r.ok) throw new RangeError(`invalid quorum configuration: ${r.issues.map((i) => `${i.field}: ${i.problem}`).join('; ')}`);
  return r.config;
}

function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

function intField(
  o: Record<string, unknown>, field: string, dflt: number, min: number, max: number,
  bad: (field: string, problem: string) => void,
): number | undefined {
  const v = o[field] ?? dflt;
  if (isIntIn(v, min, max)) return v;
  bad(field, `must be an integer in ${min}..${max}, got ${show(v)}`);
  return undefined;
}

function show(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v);
  if (v === undefined) return 'nothing';
  try { return String(JSON.stringify(v)).slice(0, 60); } catch { return typeof v; }
}
