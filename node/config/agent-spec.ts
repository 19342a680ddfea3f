// The `spec:` of a NovaEdgeAgent config file: federationID and localMember as on a controller, the
// failure detector (healthCheck), and the guide's `agent` block (Step 5 and "Agent Reachability
// Reporting"): controllers (primary, secondary, learned, failover), autonomousMode, reachabilityProbe.
// Ranges and relations (probe timeout vs periods, failover timeout vs health-check interval) are
// left to resolveAgentConfig, which owns them.
import { isAbsolute, resolve } from 'node:path';
import { LEARNED_REGIONS_MAX, type AgentConfig, type AutonomousModeConfig, type ControllerEndpoint, type FailoverConfig, type LearnedControllersConfig, type ReachabilityProbeConfig } from '../agent/agent-config.ts';
import { endpointToMultiaddr } from './endpoint.ts';
import { defined, type FieldReader } from './field-reader.ts';
import type { HealthCheckOptions } from '../../membership/health-check.ts';
import { PRIORITY_MAX, ANY_INT, readHealthCheck, readLocalMember, TLS_REFUSED, type MemberEntry } from './member-fields.ts';

/** Most secondary controllers. */
export const SECONDARIES_MAX = 63;

/** An agent's spec, read. */
export interface AgentSpec {
  /** spec.federationID. */
  federationId: string | undefined;
  /** spec.localMember (name, region, zone). */
  localMember: MemberEntry;
  /** spec.healthCheck, in ms (the membership failure detector). */
  healthCheck: Partial<HealthCheckOptions>;
  /** The agent part of AgentConfig (membership and dataDir are added by the caller). */
  agent: Omit<AgentConfig, 'membership' | 'dataDir'>;
  /** False when spec.agent.controllers.primary had a problem (already reported). */
  primaryOk: boolean;
  /** Index in the file of each well-formed secondary (for mapping `secondary[i]` back). */
  secondaryIndexes: number[];
}

function readController(r: FieldReader, defaultPriority: number | undefined): ControllerEndpoint | undefined {
  const endpoint = r.str('endpoint', { required: true });
  const peerId = r.str('peerId');
  const priority = r.int('priority', 0, PRIORITY_MAX);
  if (r.has('tls')) r.problem('tls', TLS_REFUSED);
  r.done();
  if (endpoint === undefined) return undefined;
  const res = endpointToMultiaddr(endpoint, peerId);
  if ('problem' in res) {
    r.problem(res.field, res.problem);
    return undefined;
  }
  const p = priority ?? defaultPriority;
  return p === undefined ? { endpoint: res.addr } : { endpoint: res.addr, priority: p };
}

// spec.agent.controllers.learned: the priorities of controllers learned from the membership record
// (lower is preferred; default 200, after the configured ones), by controller name and by region,
// and how often the agent reads the controller directory (refreshInterval, default 30s). The labels
// are checked by resolveAgentConfig.
function readLearned(l: FieldReader): { learned: Partial<LearnedControllersConfig> | undefined; refreshMs: number | undefined } {
  const priority = l.int('priority', 0, PRIORITY_MAX);
  const map = (key: string): Record<string, number> | undefined => {
    const raw = l.raw(key);
    const r = l.child(key);
    let out: Record<string, number> | undefined;
    if (raw !== undefined && r.ok) {
      out = {};
      for (const label of Object.keys(raw as Record<string, unknown>).slice(0, LEARNED_REGIONS_MAX + 1)) {
        const p = r.int(label, 0, PRIORITY_MAX);
        if (p !== undefined) out[label] = p;
      }
    }
    r.done();
    return out;
  };
  const regions = map('regions');
  const controllers = map('controllers');
  const refreshMs = l.duration('refreshInterval');
  l.done();
  const learned = defined<Partial<LearnedControllersConfig>>({ priority, regions, controllers });
  return { learned: Object.keys(learned).length === 0 ? undefined : learned, refreshMs };
}

/** Read `spec` of a NovaEdgeAgent; relative autonomousMode.configPath is taken from `baseDir`. */
export function readAgentSpec(spec: FieldReader, baseDir: string): AgentSpec {
  const federationId = spec.str('federationID', { required: true });
  const local = readLocalMember(spec.child('localMember', { required: true }), 'agent');

  const healthCheck = readHealthCheck(spec.child('healthCheck'));

  const a = spec.child('agent', { required: true });
  const cs = a.child('controllers', { required: true });
  const primary = readController(cs.child('primary', { required: true }), undefined);
  const secondary = cs.items('secondary', SECONDARIES_MAX).map((r) => readController(r, undefined));
  const learned = readLearned(cs.child('learned'));
  const f = cs.child('failover');
  const failover = defined<Partial<FailoverConfig>>({
    timeoutMs: f.duration('timeout'),
    healthCheckIntervalMs: f.duration('healthCheckInterval'),
    failureThreshold: f.int('failureThreshold', ...ANY_INT),
    recoveryDelayMs: f.duration('recoveryDelay'),
    latencyAware: f.bool('latencyAware'),
  });
  f.done();
  cs.done();

  const am = a.child('autonomousMode');
  const configPath = am.str('configPath');
  const autonomousMode = defined<Partial<AutonomousModeConfig>>({
    enabled: am.bool('enabled'),
    configPath: configPath === undefined ? undefined : isAbsolute(configPath) ? configPath : resolve(baseDir, configPath),
  });
  am.done();

  const rp = a.child('reachabilityProbe');
  const reachabilityProbe = defined<Partial<ReachabilityProbeConfig>>({
    enabled: rp.bool('enabled'),
    intervalMs: rp.duration('interval'),
    timeoutMs: rp.duration('timeout'),
  });
  rp.done();
  a.done();
  spec.done();

  const ok = <T>(v: T | undefined): v is T => v !== undefined;
  return {
    primaryOk: primary !== undefined,
    secondaryIndexes: secondary.flatMap((c, i) => (c === undefined ? [] : [i])),
    federationId,
    localMember: local.entry,
    healthCheck,
    agent: {
      // A missing primary was reported; the placeholder keeps the object whole for the validator pass.
      controllers: { primary: primary ?? { endpoint: '' }, secondary: secondary.filter(ok), ...(learned.learned === undefined ? {} : { learned: learned.learned }) },
      ...(learned.refreshMs === undefined ? {} : { directoryRefreshMs: learned.refreshMs }),
      failover,
      autonomousMode,
      reachabilityProbe,
    },
  };
}
