// Exhaustive exploration of many successive voter changes (quorum/voter-slot.ts), with each epoch's
// Paxos instance taken as what it guarantees: voter-slot-explorer.ts checks the Paxos messages
// themselves over one change, where this one goes several epochs deep and to larger federations,
// which the message-level state space cannot reach. What a slot's decision needs from the epochs
// around it is kept exact:
//   - choose: the slot after epoch e gets a value once a majority of the voters of e and of the value
//     accept it (isChosen), each having committed e (an acceptor takes part only then:
//     onPrepare/onAccept answer OTHER_EPOCH to a voter on any other epoch). The value is any single-voter change of e (isSingleVoterChange);
//     once chosen, it is the slot's only value (Paxos agreement, checked by voter-slot-explorer.ts);
//   - learn: a controller on e commits the value chosen for the slot after e (the proposer that saw
//     the acceptances, or anyone it told);
//   - adopt: a controller takes the configuration of one on a newer epoch (it may skip epochs).
// The network is not part of the state: each step is allowed whenever SOME split allows it, and the
// invariant is checked over EVERY split, in every state: no split into two sides in which a
// controller on each side holds quorum (a voter of its configuration counting itself and the voters
// of that configuration on its side whose epoch peerCountsAtEpoch lets it count).
// Weakened rules must be caught: `countNewer` counts peers on newer epochs; `twoVoterChanges` lets a
// change add or remove two voters; `acceptorsAnyEpoch` lets a voter of e accept for the slot after e
// before it committed e.
//
// `staleReadings` models the count rule as shipped (node/controller/write-fence.ts): a controller does
// not see a peer's epoch, it counts the peer by the epoch of its latest clock answer, which may be
// older than the one the peer holds now. Each controller holds a reading of each other one: a step
// refreshes it to the peer's current epoch (an answered probe) or expires it (the answer aged past
// its validity: not counted any more); the peer counts while its reading is at most the counter's
// epoch. And the settle rule as shipped (node/membership/members-acceptor.ts): a voter takes part in
// choosing a voter change only once no controller holds a reading of it older than its epoch (the
// wait outlasts every answer's validity). `noSettle` drops that rule, and must be caught.

import { isChosen, isMajorityOf } from '../../quorum/voter-slot.ts';
import type { VoterConfig } from '../../quorum/voter-config.ts';
import { pathText, type Path } from './explorer-path.ts';
import { breadthFirst, holdsQuorumByEpoch, Interner, isSettled, nextVoterConfigs, noteSplitBrains, readingSteps, VIOLATIONS_MAX } from './voter-explorer-kit.ts';

/** Exploration parameters. */
export interface EpochExploreOptions {
  /** Every controller that may ever be a voter (those not in `initialVoters` can be added). */
  universe: readonly string[];
  /** The voters every controller starts from (epoch 1). */
  initialVoters: readonly string[];
  /** No value is chosen beyond this epoch. */
  maxEpoch: number;
  /** Stop after this many states (a safety net; a complete run reports complete: true). */
  maxStates: number;
  /** Weakened: count peers whatever their epoch. */
  countNewer?: boolean;
  /** Weakened: a change may add or remove two voters at once. */
  twoVoterChanges?: boolean;
  /** Weakened: a voter of e accepts for the slot after e whatever epoch it has committed. */
  acceptorsAnyEpoch?: boolean;
  /** Count peers by readings of their epoch that may be stale (the shipped rule; see the file comment). */
  staleReadings?: boolean;
  /** Weakened (with staleReadings): a voter takes part in a voter change while others hold stale readings of it. */
  noSettle?: boolean;
}

/** Outcome of an exploration. */
export interface EpochExploreResult {
  states: number;
  complete: boolean;
  /** First violations, with the steps that reached them. */
  violations: string[];
  /** Highest epoch committed (the exploration was not vacuous). */
  maxEpochSeen: number;
  /** Some state had controllers on three different epochs at once. */
  sawThreeEpochs: boolean;
}

interface State {
  /** Committed configuration of each controller (index into `configs`). */
  cfg: number[];
  /** The value chosen for each slot (by the epoch it makes), once chosen. */
  chosen: Map<number, number>;
  /** With staleReadings: reading[i * n + j], the epoch i last read from j (0: expired, not counted). */
  readings: number[];
  path: Path | undefined;
}

export function exploreVoterEpochs(o: EpochExploreOptions): EpochExploreResult {
  const names = o.universe;
  const n = names.length;
  const configs = new Interner<VoterConfig>((c) => `${c.epoch}:${c.voters.join(',')}`);
  const cfgText = (i: number): string => `${configs.get(i).epoch}:${configs.get(i).voters.join('')}`;
  const result: EpochExploreResult = { states: 0, complete: true, violations: [], maxEpochSeen: 1, sawThreeEpochs: false };
  const successorsCache = new Map<number, number[]>();
  const nextConfigs = (ci: number): number[] => {
    let out = successorsCache.get(ci);
    if (out === undefined) successorsCache.set(ci, (out = nextVoterConfigs(names, configs.get(ci), o.twoVoterChanges).map((c) => configs.intern(c))));
    return out;
  };
  const epochOf = (s: State, j: number): number => configs.get(s.cfg[j]!).epoch;
  // The epoch `i` counts `j` by: its reading (stale or expired, with staleReadings), else j's own.
  // An expired reading (0) is counted as an epoch no configuration reaches: never counted.
  const countedEpoch = (s: State, i: number, j: number): number => {
    if (o.staleReadings !== true) return epochOf(s, j);
    const r = s.readings[i * n + j]!;
    return r === 0 ? Number.MAX_SAFE_INTEGER : r;
  };
  const holdsQuorum = (s: State, i: number, side: number): boolean =>
    holdsQuorumByEpoch(names, configs.get(s.cfg[i]!), i, side, (j) => countedEpoch(s, i, j), o.countNewer);
  // Settled: no controller holds a reading of `b` older than its epoch.
  const settled = (s: State, b: number): boolean => o.staleReadings !== true || o.noSettle === true || isSettled(s.readings, n, b, epochOf(s, b));
  const key = (s: State): string => `${s.cfg.join(',')}|${[...s.chosen.values()].join(',')}|${s.readings.join(',')}`;
  const step = (s: State, text: string, change: Partial<Omit<State, 'path'>>): State => ({ ...s, ...change, path: { step: text, prev: s.path } });
  const moved = (s: State, i: number, ci: number, text: string): State => {
    const cfg = [...s.cfg];
    cfg[i] = ci;
    return step(s, text, { cfg });
  };

  const successors = (s: State): State[] => {
    const out: State[] = [];
    // Choose: for each epoch some controller has committed, a value for its slot.
    for (const ci of new Set(s.cfg)) {
      const c = configs.get(ci);
      if (c.epoch >= o.maxEpoch || s.chosen.has(c.epoch + 1)) continue;
      const ready = names.filter((_, k) => (o.acceptorsAnyEpoch ? configs.get(s.cfg[k]!).epoch <= c.epoch : s.cfg[k] === ci) && settled(s, k));
      if (!isMajorityOf(c.voters, ready)) continue;
      for (const v of nextConfigs(ci)) {
        if (!isChosen(c, configs.get(v), ready)) continue;
        const chosen = new Map(s.chosen);
        chosen.set(c.epoch + 1, v);
        out.push(step(s, `voters ${ready.filter((r) => c.voters.includes(r)).join('')} of ${cfgText(ci)} choose ${cfgText(v)}`, { chosen }));
      }
    }
    for (let i = 0; i < n; i++) {
      const mine = configs.get(s.cfg[i]!);
      // Learn the value chosen for the slot after its epoch.
      const v = s.chosen.get(mine.epoch + 1);
      if (v !== undefined) out.push(moved(s, i, v, `${names[i]} learns ${cfgText(v)}`));
      // Adopt a newer configuration.
      for (let j = 0; j < n; j++) {
        const theirs = s.cfg[j]!;
        if (configs.get(theirs).epoch > mine.epoch) {
          out.push(moved(s, i, theirs, `${names[i]} adopts ${cfgText(theirs)} from ${names[j]}`));
        }
      }
      // Readings: refreshed to the peer's epoch (a probe answered), or expired.
      if (o.staleReadings === true) {
        for (const r of readingSteps(names, s.readings, i, (j) => epochOf(s, j))) out.push(step(s, r.text, { readings: r.readings }));
      }
    }
    return out;
  };

  const c0 = configs.intern({ epoch: 1, voters: [...o.initialVoters].sort(), learners: [] });
  const start: State = { cfg: names.map(() => c0), chosen: new Map(), readings: o.staleReadings === true ? names.flatMap(() => names.map(() => 1)) : [], path: undefined };
  const r = breadthFirst({
    start, key, successors, maxStates: o.maxStates,
    visit: (s) => {
      const epochs = new Set(s.cfg.map((ci) => configs.get(ci).epoch));
      if (epochs.size >= 3) result.sawThreeEpochs = true;
      result.maxEpochSeen = Math.max(result.maxEpochSeen, ...epochs);
      noteSplitBrains(names, (k, side) => holdsQuorum(s, k, side), (k) => cfgText(s.cfg[k]!), pathText(s.path), result.violations);
      return result.violations.length < VIOLATIONS_MAX;
    },
  });
  result.states = r.states;
  result.complete = r.complete;
  return result;
}
