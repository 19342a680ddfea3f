// Exhaustive exploration of live voter changes decided by single-decree Paxos per epoch
// (quorum/voter-slot.ts), driving the real rules (onPrepare, onAccept, valueToPropose, isMajorityOf,
// isSingleVoterChange, peerCountsAtEpoch), in the style of voter-config-explorer.ts. A small
// federation starts from one configuration; every interleaving of these steps is explored:
//   - prepare: a controller that committed epoch e (< maxEpoch) starts a ballot for slot e+1, with a
//     round above its previous one (at most `rounds`);
//   - promise: a voter of e gets the prepare (onPrepare); a promise reaches the proposer, with what the
//     voter had accepted;
//   - propose: with promises from a majority of the voters of e, the proposer asks them to accept
//     valueToPropose(promises, its own change), its own being any single-voter change of e;
//   - accept: a voter of e gets the accept (onAccept); an acceptance reaches the proposer;
//   - learn: with acceptances in its ballot from a majority of the voters of e and of the value
//     (isChosen; a voter the value adds accepts too), the proposer commits epoch e+1 (if still on e);
//   - adopt: a controller on an older epoch takes the configuration of one on a newer epoch.
// A request and its answer are one step: an answer that is lost or comes too late is a step not taken
// (the proposer moves on without it). Messages of a proposer's old ballots may still arrive after it
// moved on, since a ballot's requests stay deliverable until the proposer starts another.
// The network is not part of the state: each step is allowed whenever SOME split allows it, and the
// invariants are checked over EVERY split, in every state:
//   - agreement: no epoch is ever committed with two different configurations;
//   - no split into two sides in which a controller on each side holds quorum (a voter of its own
//     configuration counting itself and the voters of that configuration on its side that
//     peerCountsAtEpoch lets it count).
// Peers' epochs are known at once (heartbeats that lag are the contact window's business, as for
// every other vote). Weakened rules must be caught: `countNewer` counts peers on newer epochs;
// `twoVoterChanges` lets a change add or remove two voters; `acceptLower` accepts a ballot below the
// promised one; `ignoreAccepted` proposes one's own change whatever the promises carried.

import {
  compareBallots, isChosen, isMajorityOf, onAccept, onPrepare, valueToPropose, type Ballot, type SlotAcceptor,
} from '../../quorum/voter-slot.ts';
import type { VoterConfig } from '../../quorum/voter-config.ts';
import { pathText, type Path } from './explorer-path.ts';
import { breadthFirst, holdsQuorumByEpoch, Interner, nextVoterConfigs, noteSplitBrains, VIOLATIONS_MAX } from './voter-explorer-kit.ts';

/** Exploration parameters. */
export interface SlotExploreOptions {
  /** Every controller that may ever be a voter (those not in `initial` can be added). */
  universe: readonly string[];
  /** The voters every controller starts from (epoch 1). */
  initialVoters: readonly string[];
  /** No ballot is started for a slot beyond this epoch. */
  maxEpoch: number;
  /** Ballot rounds each proposer may use, per epoch (1..rounds). */
  rounds: number;
  /** Stop after this many states (a safety net; a complete run reports complete: true). */
  maxStates: number;
  /** Weakened: count peers whatever their epoch. */
  countNewer?: boolean;
  /** Weakened: a change may add or remove two voters at once. */
  twoVoterChanges?: boolean;
  /** Weakened: an acceptor accepts a ballot below the one it promised. */
  acceptLower?: boolean;
  /** Weakened: a proposer carries its own change whatever its promises reported. */
  ignoreAccepted?: boolean;
}

/** Outcome of an exploration. */
export interface SlotExploreResult {
  states: number;
  complete: boolean;
  /** First violations, with the steps that reached them. */
  violations: string[];
  /** Highest epoch committed (the exploration was not vacuous). */
  maxEpochSeen: number;
  /** Some proposer carried a value it did not propose itself (a stuck proposal was finished). */
  sawRecovery: boolean;
  /** Some slot had acceptances of two different values. */
  sawCompetingValues: boolean;
}

/** One controller's proposer: its latest ballot for the slot after `epoch`. */
interface Proposer {
  epoch: number;
  /** The configuration of `epoch` it had committed (whose voters are the slot's acceptors). */
  base: number;
  round: number;
  /** 'prep': gathering promises; 'acc': asking to accept `value`. */
  phase: 'prep' | 'acc';
  promises: number;
  /** Highest acceptance the promises carried. */
  best?: { ballot: Ballot; config: number };
  value?: number;
  accepted: number;
  /** The value carried was another proposer's. */
  recovered?: boolean;
}

interface State {
  /** Committed configuration of each controller (index into `configs`). */
  cfg: number[];
  acceptor: SlotAcceptor[];
  proposer: Array<Proposer | undefined>;
  /** First configuration committed for each epoch (agreement is checked against it). */
  committed: Map<number, number>;
  path: Path | undefined;
}

export function exploreVoterSlots(o: SlotExploreOptions): SlotExploreResult {
  const names = o.universe;
  const n = names.length;
  const configs = new Interner<VoterConfig>((c) => `${c.epoch}:${c.voters.join(',')}`);
  const intern = (c: VoterConfig): number => configs.intern(c);
  const cfgText = (i: number): string => `${configs.get(i).epoch}:${configs.get(i).voters.join('')}`;
  const result: SlotExploreResult = { states: 0, complete: true, violations: [], maxEpochSeen: 1, sawRecovery: false, sawCompetingValues: false };
  const successorsCache = new Map<number, number[]>();
  const nextConfigs = (ci: number): number[] => {
    let out = successorsCache.get(ci);
    if (out === undefined) successorsCache.set(ci, (out = nextVoterConfigs(names, configs.get(ci), o.twoVoterChanges).map(intern)));
    return out;
  };
  const holdsQuorum = (s: State, i: number, side: number): boolean =>
    holdsQuorumByEpoch(names, configs.get(s.cfg[i]!), i, side, (j) => configs.get(s.cfg[j]!).epoch, o.countNewer);
  const ballotText = (b: Ballot | undefined): string => (b === undefined ? '-' : `${b.round}${b.proposer}`);

  const key = (s: State): string => {
    const acc = s.acceptor.map((a) => `${a.epoch}.${ballotText(a.promised)}.${a.accepted === undefined ? '-' : `${ballotText(a.accepted.ballot)}=${intern(a.accepted.config)}`}`);
    const prop = s.proposer.map((p) => (p === undefined ? '-' : `${p.epoch}.${p.base}.${p.round}.${p.phase}.${p.promises}.${p.best === undefined ? '-' : `${ballotText(p.best.ballot)}=${p.best.config}`}.${p.value ?? '-'}.${p.accepted}`));
    return `${s.cfg.join(',')}|${acc.join(',')}|${prop.join(',')}|${[...s.committed].map(([e, c]) => `${e}=${c}`).join(',')}`;
  };

  const withStep = (s: State, step: string, change: Partial<Omit<State, 'path'>>): State => ({ ...s, ...change, path: { step, prev: s.path } });
  const setAt = <T>(xs: readonly T[], i: number, x: T): T[] => {
    const out = [...xs];
    out[i] = x;
    return out;
  };
  // Controller i commits configuration ci: a fresh acceptor for the next slot.
  const commit = (s: State, i: number, ci: number, step: string): State => {
    const c = configs.get(ci);
    const committed = new Map(s.committed);
    if (!committed.has(c.epoch)) committed.set(c.epoch, ci);
    return withStep(s, step, { cfg: setAt(s.cfg, i, ci), acceptor: setAt(s.acceptor, i, { epoch: c.epoch }), committed });
  };

  const successors = (s: State): State[] => {
    const out: State[] = [];
    for (let i = 0; i < n; i++) {
      const me = names[i]!;
      const mine = configs.get(s.cfg[i]!);
      const p = s.proposer[i];
      // Adopt a newer configuration.
      for (let j = 0; j < n; j++) {
        if (configs.get(s.cfg[j]!).epoch > mine.epoch) out.push(commit(s, i, s.cfg[j]!, `${me} adopts ${cfgText(s.cfg[j]!)} from ${names[j]}`));
      }
      // Start a ballot for the slot after its epoch.
      if (mine.epoch < o.maxEpoch) {
        const from = p !== undefined && p.epoch === mine.epoch ? p.round + 1 : 1;
        for (let round = from; round <= o.rounds; round++) {
          out.push(withStep(s, `${me} prepares ${round}${me} for epoch ${mine.epoch + 1}`, {
            proposer: setAt(s.proposer, i, { epoch: mine.epoch, base: s.cfg[i]!, round, phase: 'prep', promises: 0, accepted: 0 }),
          }));
        }
      }
      if (p === undefined) continue;
      // The voters of the epoch the proposer had committed when it prepared.
      const slotVoters = configs.get(p.base).voters;
      const ballot: Ballot = { round: p.round, proposer: me };
      const answered = (mask: number): string[] => names.filter((_, k) => (mask >> k) & 1);
      for (let v = 0; v < n; v++) {
        // Prepare goes to the voters of the epoch; accept to them and to a voter the value adds.
        const acceptor = slotVoters.includes(names[v]!) || (p.phase === 'acc' && configs.get(p.value!).voters.includes(names[v]!));
        if (!acceptor) continue;
        const bit = 1 << v;
        if (p.phase === 'prep' && (p.promises & bit) === 0) {
          const r = onPrepare(s.acceptor[v]!, p.epoch, ballot);
          if (!r.answer.ok) continue;
          let best = p.best;
          const acc = r.answer.accepted;
          if (acc !== undefined && (best === undefined || compareBallots(acc.ballot, best.ballot) > 0)) best = { ballot: acc.ballot, config: intern(acc.config) };
          out.push(withStep(s, `${names[v]} promises ${ballotText(ballot)}${acc === undefined ? '' : ` (accepted ${ballotText(acc.ballot)}=${cfgText(intern(acc.config))})`}`, {
            acceptor: setAt(s.acceptor, v, r.acceptor),
            proposer: setAt(s.proposer, i, { ...p, promises: p.promises | bit, ...(best === undefined ? {} : { best }) }),
          }));
        }
        if (p.phase === 'acc' && (p.accepted & bit) === 0) {
          const a = s.acceptor[v]!;
          const config = configs.get(p.value!);
          const r = o.acceptLower && a.epoch === p.epoch
            ? { acceptor: { epoch: a.epoch, promised: a.promised ?? ballot, accepted: { ballot, config } }, answer: { ok: true } as const }
            : onAccept(a, p.epoch, ballot, config);
          if (!r.answer.ok) continue;
          if (a.accepted !== undefined && intern(a.accepted.config) !== p.value) result.sawCompetingValues = true;
          out.push(withStep(s, `${names[v]} accepts ${ballotText(ballot)}=${cfgText(p.value!)}`, {
            acceptor: setAt(s.acceptor, v, r.acceptor),
            proposer: setAt(s.proposer, i, { ...p, accepted: p.accepted | bit }),
          }));
        }
      }
      // Propose: with a majority of promises, ask to accept the value they impose, or its own change.
      if (p.phase === 'prep' && isMajorityOf(slotVoters, answered(p.promises))) {
        const promises = p.best === undefined ? [] : [{ accepted: { ballot: p.best.ballot, config: configs.get(p.best.config) } }];
        // Each own change, or the one value the promises impose on all of them.
        const values = new Set(nextConfigs(p.base).map((own) => (o.ignoreAccepted ? own : intern(valueToPropose(promises, configs.get(own))))));
        for (const value of values) {
          const recovered = p.best !== undefined && value === p.best.config;
          out.push(withStep(s, `${me} asks to accept ${ballotText(ballot)}=${cfgText(value)}${recovered ? ' (carried)' : ''}`, {
            proposer: setAt(s.proposer, i, { ...p, phase: 'acc', value, recovered }),
          }));
        }
      }
      // Learn: a majority accepted in this ballot.
      if (p.phase === 'acc' && mine.epoch === p.epoch && isChosen(configs.get(p.base), configs.get(p.value!), answered(p.accepted))) {
        out.push(commit(s, i, p.value!, `${me} learns ${cfgText(p.value!)} is chosen and commits it`));
      }
    }
    return out;
  };

  const c0 = intern({ epoch: 1, voters: [...o.initialVoters].sort(), learners: [] });
  const start: State = {
    cfg: names.map(() => c0), acceptor: names.map(() => ({ epoch: 1 })), proposer: names.map(() => undefined),
    committed: new Map([[1, c0]]), path: undefined,
  };
  const r = breadthFirst({
    start, key, successors, maxStates: o.maxStates,
    visit: (s) => {
      for (let i = 0; i < n; i++) {
        const ci = s.cfg[i]!;
        const c = configs.get(ci);
        result.maxEpochSeen = Math.max(result.maxEpochSeen, c.epoch);
        if (s.committed.get(c.epoch) !== ci && result.violations.length < VIOLATIONS_MAX) {
          result.violations.push(`agreement: ${names[i]} committed ${cfgText(ci)} but ${cfgText(s.committed.get(c.epoch)!)} was committed for that epoch, after: ${pathText(s.path)}`);
        }
        if (s.proposer[i]?.recovered) result.sawRecovery = true;
      }
      noteSplitBrains(names, (k, side) => holdsQuorum(s, k, side), (k) => cfgText(s.cfg[k]!), pathText(s.path), result.violations);
      return result.violations.length < VIOLATIONS_MAX;
    },
  });
  result.states = r.states;
  result.complete = r.complete;
  return result;
}
