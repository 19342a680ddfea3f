// One random run of the simulation from one seed: a federation (its size, strategy and agents drawn
// from the seed), clients and faults for the fault phase, then every fault healed and a quiet period
// in which the federation must converge and report the truth, then every checker over the history.
// Same seed, same run: the trace hash proves it.
import { checkHistory, formatViolation, type Violation } from './check/index.ts';
import { fmtMs, type History } from './check/history.ts';
import { SimCluster } from './cluster.ts';
import { Nemesis, type FaultKind, type NemesisOptions } from './nemesis.ts';
import { SimRandom } from './random.ts';
import type { StrategyName } from '../../storage/logic/rules/conflict-rule.ts';
import type { QuorumMode } from '../../quorum/index.ts';
import { Workload, type WorkloadCounts } from './workload.ts';
import { drawJoin, MembershipChanges, type MembershipChangeCounts } from './membership-changes.ts';

/** What to run. */
export interface RunOptions {
  seed: number;
  /** Virtual length of the whole run, ms (fault phase + quiet period). */
  virtualMs: number;
  /** Virtual length of the quiet period at the end (no faults, no clients), ms. */
  quietMs?: number;
  /** Fault kinds (default all). */
  kinds?: NemesisOptions['kinds'];
  /** Override what the seed would choose. */
  controllers?: number;
  agents?: number;
  strategy?: StrategyName;
  mode?: QuorumMode;
  /** Keep the run's timeline (faults, clocks, fences, phases, agents) in the report, for triage. */
  timeline?: boolean;
  /** Called with the run's history before the checkers judge it (triage scripts). */
  inspect?: (h: History) => void;
}

/** What a run did and found. */
export interface RunReport {
  seed: number;
  controllers: number;
  agents: number;
  strategy: StrategyName;
  mode: QuorumMode;
  virtualMs: number;
  realMs: number;
  events: number;
  faults: Record<FaultKind, number>;
  clients: WorkloadCounts;
  /** Membership changes asked and committed (a controller removed). */
  members: MembershipChangeCounts;
  /** Writes acknowledged, by durability. */
  acked: { local: number; quorum: number };
  /** Writes refused or failed, by code. */
  refused: Record<string, number>;
  violations: Violation[];
  traceHash: string;
  /** Uses of the real clock, timers or randomness by node code (directly or through a library it called). */
  realTimeLeaks: string[];
  /** Fault kinds the run was limited to (undefined: all). */
  kinds: readonly FaultKind[] | undefined;
  /** The run's timeline, one line per event (only with RunOptions.timeline). */
  timeline?: string[];
}

const QUIET_MS_DEFAULT = 20_000;
const QUIET_STEP_MS = 250;
const STRATEGIES: readonly StrategyName[] = ['LastWriterWins', 'Merge', 'Manual'];
const NAMES_CONTROLLERS = ['a', 'b', 'c', 'd', 'e', 'f'];
const NAMES_AGENTS = ['x', 'y', 'z'];

/** Run one seed. Throws only on a harness failure (a violation is a result, not an exception). */
export async function runSeed(o: RunOptions): Promise<RunReport> {
  const started = performance.now();
  const rand = new SimRandom(o.seed).fork('run');
  const shape = rand.fork('shape');
  // One run in four counts agents' votes: two controllers (two datacenters), agents as tie-breakers.
  const mode = o.mode ?? rand.fork('mode').pick<QuorumMode>(['Controllers', 'Controllers', 'Controllers', 'AgentAssisted']);
  const assisted = mode === 'AgentAssisted';
  const controllers = o.controllers ?? (assisted ? 2 : shape.pick([3, 3, 3, 5]));
  const agents = o.agents ?? (assisted ? 1 + shape.int(3) : shape.int(3));
  const strategy = o.strategy ?? shape.pick(STRATEGIES);
  const quietMs = o.quietMs ?? QUIET_MS_DEFAULT;
  const faultMs = Math.max(0, o.virtualMs - quietMs);
  const d = new SimCluster();
  // One run in four of Controllers mode with three or more controllers, and of AgentAssisted mode (two
  // datacenters), adds one (a joiner, named after the others); drawn from its own stream, so the runs
  // that add none are those of before.
  const joinRand = rand.fork('joins');
  const changes = { minControllers: assisted ? 2 : 3 };
  const joiner = drawJoin(joinRand, controllers, true, changes) ? NAMES_CONTROLLERS[controllers] : undefined;
  await d.start({
    controllers: NAMES_CONTROLLERS.slice(0, controllers), agents: NAMES_AGENTS.slice(0, agents), seed: o.seed, strategy,
    quorumMode: mode, options: {}, ...(joiner === undefined ? {} : { joiners: [joiner] }),
  });
  const cfg = d.history().config;
  const workload = new Workload(rand.fork('clients'), strategy);
  const nemesis = new Nemesis(rand.fork('faults'), { maxClockOffsetMs: cfg.maxClockOffsetMs, ...(o.kinds === undefined ? {} : { kinds: o.kinds }) });
  const t0 = d.nowMs();
  const end = t0 + faultMs;
  // One run in four of those removes one of them.
  const members = new MembershipChanges(rand.fork('members'), d.nodes().controllers, true, t0, faultMs, changes, joiner, joinRand);
  let nextClient = t0 + workload.nextDelayMs();
  let nextFault = t0 + nemesis.nextDelayMs();
  while (d.nowMs() < end) {
    const expiry = nemesis.nextExpiryMs() ?? Infinity;
    const at = Math.min(nextClient, nextFault, expiry, members.nextAtMs(), end);
    await d.tick(at - d.nowMs());
    if (d.nowMs() >= end) break;
    if (d.nowMs() >= members.nextAtMs()) members.act(d);
    if (d.nowMs() >= nextFault || d.nowMs() >= expiry) {
      await nemesis.act(d);
      if (d.nowMs() >= nextFault) nextFault = d.nowMs() + nemesis.nextDelayMs();
    }
    if (d.nowMs() >= nextClient) {
      workload.issue(d);
      nextClient = d.nowMs() + workload.nextDelayMs();
    }
  }
  // Quiet period: every fault undone, clocks true again, no clients.
  await nemesis.healAll(d);
  for (const n of d.nodes().controllers) if (d.skewOf(n) !== 0) await d.setSkew(n, 0);
  // In steps, so the Merkle roots are sampled: convergence is judged from the samples.
  for (let left = quietMs; left > 0; left -= QUIET_STEP_MS) await d.tick(Math.min(QUIET_STEP_MS, left));
  const history = await d.finish();
  o.inspect?.(history);
  const violations = checkHistory(history, d.bounds());
  const acked = { local: 0, quorum: 0 };
  const refused: Record<string, number> = {};
  for (const w of history.writes) {
    if (w.outcome.status === 'ok') acked[w.durability]++;
    else if (w.outcome.status === 'error') refused[w.outcome.code] = (refused[w.outcome.code] ?? 0) + 1;
  }
  const report: RunReport = {
    seed: o.seed, controllers, agents, strategy, mode, virtualMs: d.nowMs(), realMs: performance.now() - started,
    events: d.scheduler.stats().eventsRun, faults: { ...nemesis.counts }, clients: { ...workload.counts }, members: { ...members.counts }, acked, refused, violations,
    traceHash: d.scheduler.traceHash(),
    kinds: o.kinds,
    ...(o.timeline === true ? { timeline: timelineOf(history) } : {}),
    realTimeLeaks: (d.scheduler.guard?.report() ?? []).filter((u) => u.inNodeCode || u.viaNodeCode)
      .map((u) => `${u.count}x ${u.api} at ${u.caller}${u.caller === u.module ? '' : ` (from ${u.module})`}`),
  };
  await d.stop();
  return report;
}

/** How to replay a seed, and what it found. */
export function describeReport(r: RunReport): string {
  const lines = [
    `seed ${r.seed}: ${r.controllers} controllers, ${r.agents} agents, ${r.strategy}, ${r.mode}, ${(r.virtualMs / 1000).toFixed(1)} virtual s in ${(r.realMs / 1000).toFixed(1)} s`,
    `  replay: npm run sim -- --seed ${r.seed} --seconds ${Math.round(r.virtualMs / 1000)} --controllers ${r.controllers} --agents ${r.agents} --strategy ${r.strategy} --mode ${r.mode}${r.kinds === undefined ? '' : ` --kinds ${r.kinds.join(',')}`} --verbose   (trace ${r.traceHash.slice(0, 16)})`,
    ...r.violations.map((v) => `  ${formatViolation(v)}`),
    ...r.realTimeLeaks.map((l) => `  real time used by node code: ${l}`),
    ...(r.timeline ?? []).map((l) => `  ${l}`),
  ];
  return lines.join('\n');
}

/** The run's events in time order, one line each: what changed in the network and clocks, and how the nodes reacted (vote leases included). */
export function timelineOf(h: History): string[] {
  const rows: Array<[number, string]> = [
    ...h.network.map((n): [number, string] => [n.atMs, `network  ${n.cause}`]),
    ...h.clocks.map((c): [number, string] => [c.atMs, `clock    ${c.node} set ${c.offsetMs >= 0 ? '+' : ''}${c.offsetMs} ms from true time`]),
    ...h.fences.map((f): [number, string] => [f.atMs, `fence    ${f.node} ${f.fenced ? `FENCED (${f.reason ?? '?'})` : 'accepting'}, quorum ${f.haveQuorum ? 'yes' : 'no'}, votes ${f.votes}/${f.total} (threshold ${f.threshold}), reachable ${f.reachable.join(' ') || '-'}`]),
    ...h.phases.map((p): [number, string] => [p.atMs, `phase    ${p.node} ${p.from} -> ${p.to}`]),
    ...h.follows.map((f): [number, string] => [f.atMs, `agent    ${f.agent} ${f.state}, follows ${f.controller ?? 'none'}`]),
    ...h.leases.map((l): [number, string] => [l.fromMs, `lease    ${l.kind === 'granted' ? `${l.agent} granted its vote to ${l.controller}` : `${l.controller} counts ${l.agent}'s vote`} until ${fmtMs(l.untilMs)}`]),
    ...h.memberOps.map((m): [number, string] => [m.startMs, `members  ${m.node} asked to ${m.op} ${m.name}: ${m.outcome.status === 'ok' ? `committed epoch ${m.outcome.epoch}` : m.outcome.status === 'error' ? m.outcome.code : 'no answer'}${m.endMs === undefined ? '' : ` at ${fmtMs(m.endMs)}`}`]),
    ...h.memberships.filter((m) => m.removed.length > 0 || m.epoch > 1).map((m): [number, string] => [m.atMs, `members  ${m.node} holds epoch ${m.epoch}${m.voters === undefined ? '' : `, voters ${m.voters.join(' ')}`}${m.removed.length > 0 ? `, removed ${m.removed.join(' ')}` : ''}`]),
  ];
  return rows.sort((a, b) => a[0] - b[0]).map(([t, line]) => `${fmtMs(t).padStart(9)}  ${line}`);
}
