// Exhaustive exploration of voter changes in AgentAssisted mode (quorum/agent-epochs.ts): controllers
// changing their voter set epoch by epoch, as voter-epoch-explorer.ts explores it with stale readings
// and the settle wait, plus agents whose vote leases count, and the three rules that AgentAssisted adds
// (joint accounting, agents refusing older epochs, the knowers check before a change).
//
// The model, per step:
//   - choose: a value for the slot after epoch e, as in voter-epoch-explorer.ts (a majority of the
//     voters of e and of the value, each committed on e and settled), and only when some voter P on e,
//     settled, passes the knowers rule: knowersBlock (the shipped function) with P, the controllers on
//     e (each settled: P waits one settle after its check; the node knows of a subset of them) and the
//     agents leased to P whose lease answered a request on e known to be on e. Values: any single-voter change (its record keeps the voters
//     before it, `prior`), or, from a record with `prior`, the finishing change that drops it;
//   - learn, adopt, and readings refreshed or expired: as in voter-epoch-explorer.ts;
//   - an agent grants its lease to a controller (a new one only once no lease is held: exclusivity),
//     unless the controller is on an epoch below one it granted at; the lease then carries that epoch;
//   - a lease expires (with `agentsForget`, the agent also forgets its epoch: a restart without saving).
//   - with `laterAgents`, the agent registry changes too (node/votes/registry-keeper.ts): the
//     registrar registers the next agent while a voter holding quorum, once a majority of its voters
//     hold its version, and only when it is not in doubt (it accepted a value for the next slot), not
//     joint and settled; versions spread between controllers whose records list each other, each
//     tagged with the registrar's epoch; an acceptor takes part in choosing only on the proposer's
//     registry version; a controller holding a registry tagged with a later epoch than its own counts
//     nothing (`registryAnytime`, `registryAnyAcceptor`, `registryAnyEpoch` drop those three rules).
// A controller holds quorum on a side when it is a voter of its record and `tally` (the shipped
// function) passes, with the voters on its side it counts by their readings, the agents leased to it,
// and the voters before its record's change (joint). The invariant, checked in every state over every
// split of the controllers: no two controllers on opposite sides both hold quorum.
// Weakened rules must be caught: `noJoint`, `noKnowers`, `agentsAnyEpoch`, `agentsForget`, and the
// three registry ones. (Counting
// knower controllers before they settle is not caught in the federations explored here: the
// acceptors' own settle covers them there. The node keeps the wait after the check all the same.)

import { countsByRegistry, knowersBlock, registryWait } from '../../quorum/agent-epochs.ts';
import { quorumConfig, type QuorumConfig } from '../../quorum/quorum-config.ts';
import { tally } from '../../quorum/tally.ts';
import { isChosen, isMajorityOf, peerCountsAtEpoch } from '../../quorum/voter-slot.ts';
import type { VoterConfig } from '../../quorum/voter-config.ts';
import { pathText, type Path } from './explorer-path.ts';
import { breadthFirst, Interner, isSettled, nextVoterConfigs, noteSplitBrains, readingSteps, VIOLATIONS_MAX } from './voter-explorer-kit.ts';

/** Exploration parameters. */
export interface AgentEpochExploreOptions {
  /** Every controller that may ever be a voter. */
  universe: readonly string[];
  /** The voters every controller starts from (epoch 1). */
  initialVoters: readonly string[];
  /** Registered agents (their names). */
  agents: readonly string[];
  /**
   * Agents registered later, one at a time, by the registrar (node/votes/registry-keeper.ts): the
   * first controller of `universe`, while a voter holding quorum by its own registry, once a majority
   * of its voters hold its version (quorum-durable). Each controller counts by the registry version it
   * holds; versions spread from controller to controller. They can grant leases before they count.
   */
  laterAgents?: readonly string[];
  /** Weakened: the registrar changes the registry while in doubt (it accepted a value for the next slot), joint or unsettled. */
  registryAnytime?: boolean;
  /** Weakened: an acceptor accepts whatever registry version it holds (not only the proposer's). */
  registryAnyAcceptor?: boolean;
  /** Weakened: a controller counts by a registry made on an epoch above its own. */
  registryAnyEpoch?: boolean;
  /** AgentAssisted weights and minAgentsForQuorum. */
  controllerWeight: number;
  agentWeight?: number;
  minAgentsForQuorum?: number;
  /** No value is chosen beyond this epoch. */
  maxEpoch: number;
  /** Stop after this many states. */
  maxStates: number;
  /** Weakened: a controller counts by its own voters only. */
  noJoint?: boolean;
  /** Weakened: a change is chosen without the knowers check. */
  noKnowers?: boolean;
  /** Weakened: agents grant whatever the requester's epoch. */
  agentsAnyEpoch?: boolean;
  /** Weakened: an agent whose lease expired may forget the epoch it granted at. */
  agentsForget?: boolean;
}

/** Outcome of an exploration. */
export interface AgentEpochExploreResult {
  states: number;
  complete: boolean;
  violations: string[];
  maxEpochSeen: number;
  /** Some state had controllers on three different epochs at once. */
  sawThreeEpochs: boolean;
  /** Some controller held quorum with a voter set other than the first (changes were not vacuous). */
  sawQuorumAfterChange: boolean;
}

/** A record as the model sees it: its epoch, voters, and the voters before its change (joint). */
interface Rec extends VoterConfig {
  readonly prior?: readonly string[];
}

interface State {
  cfg: number[];
  chosen: Map<number, number>;
  /** reading[i * n + j]: the epoch i last read from j (0: expired). */
  readings: number[];
  /** Per controller: the registry version it holds. */
  reg: number[];
  /** Per registry version (index v - 1): the membership epoch of the registrar that made it. */
  regEpochs: number[];
  /** Per controller: the epoch of a slot it accepted a value for and has not learnt (0: none). */
  doubt: number[];
  /** Per agent: controller index holding its lease (-1: none), the epoch that lease answered, the epoch it granted at last. */
  lease: number[];
  leaseEpoch: number[];
  known: number[];
  path: Path | undefined;
}

export function exploreAgentEpochs(o: AgentEpochExploreOptions): AgentEpochExploreResult {
  const names = o.universe;
  const n = names.length;
  const later = o.laterAgents ?? [];
  const agents = [...o.agents, ...later];
  // The registry of version v: the first agents and v of the later ones.
  const registries = Array.from({ length: later.length + 1 }, (_, v) => new Set([...o.agents, ...later.slice(0, v)]));
  const registeredAt = (s: State, i: number): ReadonlySet<string> => registries[s.reg[i]!]!;
  const recs = new Interner<Rec>((c) => `${c.epoch}:${c.voters.join(',')}|${c.prior?.join(',') ?? '-'}`);
  const text = (i: number): string => {
    const c = recs.get(i);
    return `${c.epoch}:${c.voters.join('')}${c.prior === undefined ? '' : `(was ${c.prior.join('')})`}`;
  };
  const result: AgentEpochExploreResult = { states: 0, complete: true, violations: [], maxEpochSeen: 1, sawThreeEpochs: false, sawQuorumAfterChange: false };
  const configCache = new Map<string, QuorumConfig>();
  const configOf = (self: string, voters: readonly string[]): QuorumConfig => {
    const k = `${self}|${voters.join(',')}`;
    let c = configCache.get(k);
    if (c === undefined) {
      c = quorumConfig({
        mode: 'AgentAssisted', self, controllers: [...voters], controllerWeight: o.controllerWeight,
        agentWeight: o.agentWeight ?? 1, minAgentsForQuorum: o.minAgentsForQuorum ?? 1,
      });
      configCache.set(k, c);
    }
    return c;
  };
  const nextCache = new Map<number, number[]>();
  const nextRecs = (ci: number): number[] => {
    let out = nextCache.get(ci);
    if (out === undefined) {
      const c = recs.get(ci);
      const changes: Rec[] = nextVoterConfigs(names, c).map((v) => ({ ...v, prior: c.voters }));
      if (c.prior !== undefined) changes.push({ epoch: c.epoch + 1, voters: c.voters, learners: [] });
      nextCache.set(ci, (out = changes.map((r) => recs.intern(r))));
    }
    return out;
  };
  const epochOf = (s: State, j: number): number => recs.get(s.cfg[j]!).epoch;
  const countedEpoch = (s: State, i: number, j: number): number => {
    const r = s.readings[i * n + j]!;
    return r === 0 ? Number.MAX_SAFE_INTEGER : r;
  };
  const settled = (s: State, b: number): boolean => isSettled(s.readings, n, b, epochOf(s, b));
  const leasedTo = (s: State, i: number): string[] => agents.filter((_, k) => s.lease[k] === i);
  const holdsQuorum = (s: State, i: number, side: number): boolean => {
    const c = recs.get(s.cfg[i]!);
    if (!c.voters.includes(names[i]!)) return false;
    // A registry made on a later epoch than its own: it is behind, and counts nothing until it catches up.
    if (o.registryAnyEpoch !== true && s.reg[i]! > 0 && !countsByRegistry(s.regEpochs[s.reg[i]! - 1]!, c.epoch)) return false;
    const reached: string[] = [];
    for (let j = 0; j < n; j++) {
      if (j !== i && ((side >> j) & 1) === 1 && peerCountsAtEpoch(c.epoch, countedEpoch(s, i, j))) reached.push(names[j]!);
    }
    const t = tally(configOf(names[i]!, c.voters), {
      reachableControllers: reached, leasedAgents: leasedTo(s, i), registeredAgents: registeredAt(s, i),
      ...(o.noJoint === true || c.prior === undefined ? {} : { priorControllers: c.prior }),
    });
    return t.haveQuorum;
  };
  // The knowers rule for the slot after P's epoch (P settled, a voter of its record).
  const knowersPass = (s: State, p: number): boolean => {
    if (o.noKnowers === true) return true;
    const c = recs.get(s.cfg[p]!);
    if (!c.voters.includes(names[p]!) || !settled(s, p)) return false;
    // Every controller on P's epoch, settled: P may know it by a clock answer or by the answer to its
    // commit (reached now or not); the node knows a subset of them.
    const controllerEpochs = new Map<string, number>();
    for (let k = 0; k < n; k++) if (k !== p && epochOf(s, k) === c.epoch && settled(s, k)) controllerEpochs.set(names[k]!, c.epoch);
    const agentsAtEpoch = agents.filter((_, k) => s.lease[k] === p && s.leaseEpoch[k] === c.epoch);
    const input = {
      epoch: c.epoch, controllerEpochs, agentsAtEpoch, registeredAgents: registeredAt(s, p),
      ...(c.prior === undefined ? {} : { priorControllers: c.prior }),
    };
    return knowersBlock(configOf(names[p]!, c.voters), input).blocked;
  };
  const key = (s: State): string =>
    `${s.cfg.join(',')}|${[...s.chosen.values()].join(',')}|${s.readings.join(',')}|${s.lease.join(',')}|${s.leaseEpoch.join(',')}|${s.known.join(',')}|${s.reg.join(',')}|${s.regEpochs.join(',')}|${s.doubt.join(',')}`;
  const step = (s: State, t: string, change: Partial<Omit<State, 'path'>>): State => ({ ...s, ...change, path: { step: t, prev: s.path } });

  const successors = (s: State): State[] => {
    const out: State[] = [];
    for (const ci of new Set(s.cfg)) {
      const c = recs.get(ci);
      if (c.epoch >= o.maxEpoch || s.chosen.has(c.epoch + 1)) continue;
      // Each proposer that passes the knowers rule, with the acceptors ready for it: committed on e,
      // settled, and (unless registryAnyAcceptor) holding the proposer's registry version.
      const seen = new Set<string>();
      for (let proposer = 0; proposer < n; proposer++) {
      if (s.cfg[proposer] !== ci || !knowersPass(s, proposer)) continue;
      const ready = names.filter((_, k) => s.cfg[k] === ci && settled(s, k) && (o.registryAnyAcceptor === true || s.reg[k] === s.reg[proposer]));
      if (!isMajorityOf(c.voters, ready) || seen.has(ready.join())) continue;
      seen.add(ready.join());
      for (const v of nextRecs(ci)) {
        if (!isChosen(c, recs.get(v), ready)) continue;
        const chosen = new Map(s.chosen);
        chosen.set(c.epoch + 1, v);
        // Every ready acceptor may have accepted it (the least knowledge: all of them in doubt).
        const doubt = s.doubt.map((d, k) => (ready.includes(names[k]!) ? c.epoch + 1 : d));
        out.push(step(s, `${names[proposer]} proposes; ${ready.filter((r) => c.voters.includes(r)).join('')} of ${text(ci)} choose ${text(v)}`, { chosen, doubt }));
      }
      }
    }
    for (let i = 0; i < n; i++) {
      const mine = recs.get(s.cfg[i]!);
      const moved = (ci: number, t: string): State => {
        const cfg = [...s.cfg];
        cfg[i] = ci;
        const doubt = [...s.doubt];
        if (doubt[i]! <= recs.get(ci).epoch) doubt[i] = 0;
        return step(s, t, { cfg, doubt });
      };
      const v = s.chosen.get(mine.epoch + 1);
      if (v !== undefined) out.push(moved(v, `${names[i]} learns ${text(v)}`));
      for (let j = 0; j < n; j++) {
        const theirs = s.cfg[j]!;
        if (recs.get(theirs).epoch > mine.epoch) out.push(moved(theirs, `${names[i]} adopts ${text(theirs)} from ${names[j]}`));
      }
      for (const r of readingSteps(names, s.readings, i, (j) => epochOf(s, j))) out.push(step(s, r.text, { readings: r.readings }));
    }
    // The registry: the registrar registers the next agent; versions spread.
    const r0 = s.reg[0]!;
    const regCfg = recs.get(s.cfg[0]!);
    const registrarFree = o.registryAnytime === true || registryWait({ pendingValue: s.doubt[0] !== 0, joint: regCfg.prior !== undefined, settling: !settled(s, 0) }) === undefined;
    if (r0 < later.length && registrarFree && regCfg.voters.includes(names[0]!) && holdsQuorum(s, 0, (1 << n) - 1)
      && isMajorityOf(regCfg.voters, names.filter((_, k) => s.reg[k]! >= r0))) {
      const reg = [...s.reg];
      reg[0] = r0 + 1;
      out.push(step(s, `${names[0]} registers ${later[r0]} on epoch ${regCfg.epoch}`, { reg, regEpochs: [...s.regEpochs, regCfg.epoch] }));
    }
    // Versions spread between controllers that replicate with each other: each one's record lists the
    // other (a removed controller is denied, one not added yet is not admitted).
    const lists = (k: number, j: number): boolean => recs.get(s.cfg[k]!).voters.includes(names[j]!);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < n; k++) {
        if (s.reg[k]! <= s.reg[i]! || !lists(k, i) || !lists(i, k)) continue;
        const reg = [...s.reg];
        reg[i] = s.reg[k]!;
        out.push(step(s, `${names[i]} takes registry version ${s.reg[k]} from ${names[k]}`, { reg }));
      }
    }
    for (let k = 0; k < agents.length; k++) {
      const held = s.lease[k]!;
      for (let i = 0; i < n; i++) {
        const e = epochOf(s, i);
        if ((held !== -1 && held !== i) || (o.agentsAnyEpoch !== true && e < s.known[k]!)) continue;
        if (held === i && s.leaseEpoch[k] === e && s.known[k] === Math.max(s.known[k]!, e)) continue;
        const lease = [...s.lease];
        const leaseEpoch = [...s.leaseEpoch];
        const known = [...s.known];
        lease[k] = i;
        leaseEpoch[k] = e;
        known[k] = Math.max(known[k]!, e);
        out.push(step(s, `${agents[k]} grants to ${names[i]} on epoch ${e}`, { lease, leaseEpoch, known }));
      }
      if (held !== -1) {
        const lease = [...s.lease];
        const leaseEpoch = [...s.leaseEpoch];
        lease[k] = -1;
        leaseEpoch[k] = 0;
        out.push(step(s, `${agents[k]}'s lease to ${names[held]} expires`, { lease, leaseEpoch }));
      } else if (o.agentsForget === true && s.known[k] !== 0) {
        const known = [...s.known];
        known[k] = 0;
        out.push(step(s, `${agents[k]} restarts and forgets its epoch`, { known }));
      }
    }
    return out;
  };

  const c0 = recs.intern({ epoch: 1, voters: [...o.initialVoters].sort(), learners: [] });
  const start: State = {
    cfg: names.map(() => c0), chosen: new Map(), readings: names.flatMap(() => names.map(() => 1)),
    lease: agents.map(() => -1), leaseEpoch: agents.map(() => 0), known: agents.map(() => 0), reg: names.map(() => 0), regEpochs: [], doubt: names.map(() => 0), path: undefined,
  };
  const r = breadthFirst({
    start, key, successors, maxStates: o.maxStates,
    visit: (s) => {
      const epochs = new Set(s.cfg.map((ci) => recs.get(ci).epoch));
      if (epochs.size >= 3) result.sawThreeEpochs = true;
      result.maxEpochSeen = Math.max(result.maxEpochSeen, ...epochs);
      if (!result.sawQuorumAfterChange) {
        for (let i = 0; i < n; i++) {
          if (recs.get(s.cfg[i]!).voters.join() !== recs.get(c0).voters.join() && holdsQuorum(s, i, (1 << n) - 1)) result.sawQuorumAfterChange = true;
        }
      }
      noteSplitBrains(names, (k, side) => holdsQuorum(s, k, side), (k) => text(s.cfg[k]!), pathText(s.path), result.violations);
      return result.violations.length < VIOLATIONS_MAX;
    },
  });
  result.states = r.states;
  result.complete = r.complete;
  return result;
}

