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

import { isChosen, isMajorityOf, isSingleVoterChange, peerCountsAtEpoch } from '../../quorum/voter-slot.ts';
import type { VoterConfig } from '../../quorum/voter-config.ts';
import { controllerMajority } from '../../quorum/threshold.ts';
import { pathText, type Path } from './explorer-path.ts';

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
  path: Path | undefined;
}

export function exploreVoterEpochs(o: EpochExploreOptions): EpochExploreResult {
  const names = o.universe;
  const n = names.length;
  const configs: VoterConfig[] = [];
  const byId = new Map<string, number>();
  const intern = (c: VoterConfig): number => {
    const id = `${c.epoch}:${c.voters.join(',')}`;
    let i = byId.get(id);
    if (i === undefined) {
      i = configs.length;
      configs.push(c);
      byId.set(id, i);
    }
    return i;
  };
  const cfgText = (i: number): string => `${configs[i]!.epoch}:${configs[i]!.voters.join('')}`;
  const result: EpochExploreResult = { states: 0, complete: true, violations: [], maxEpochSeen: 1, sawThreeEpochs: false };

  const successorsCache = new Map<number, number[]>();
  const nextConfigs = (ci: number): number[] => {
    const cached = successorsCache.get(ci);
    if (cached !== undefined) return cached;
    const c = configs[ci]!;
    const out: number[] = [];
    for (let m = 1; m < 1 << n; m++) {
      const voters = names.filter((_, k) => (m >> k) & 1);
      const next: VoterConfig = { epoch: c.epoch + 1, voters, learners: [] };
      const diff = voters.filter((v) => !c.voters.includes(v)).length + c.voters.filter((v) => !voters.includes(v)).length;
      if (o.twoVoterChanges ? diff >= 1 && diff <= 2 : isSingleVoterChange(c, next) && diff === 1) out.push(intern(next));
    }
    successorsCache.set(ci, out);
    return out;
  };

  const holdsQuorum = (s: State, i: number, side: number): boolean => {
    const mine = configs[s.cfg[i]!]!;
    if (!mine.voters.includes(names[i]!)) return false;
    let counted = 0;
    for (let j = 0; j < n; j++) {
      if (((side >> j) & 1) === 0 || !mine.voters.includes(names[j]!)) continue;
      if (j === i || o.countNewer || peerCountsAtEpoch(mine.epoch, configs[s.cfg[j]!]!.epoch)) counted++;
    }
    return counted >= controllerMajority(mine.voters.length);
  };
  const splitBrain = (s: State, i: number, j: number): [number, number] | undefined => {
    const others = [...Array(n).keys()].filter((k) => k !== i && k !== j);
    for (let m = 0; m < 1 << others.length; m++) {
      let si = 1 << i;
      let sj = 1 << j;
      others.forEach((k, b) => {
        if ((m >> b) & 1) si |= 1 << k;
        else sj |= 1 << k;
      });
      if (holdsQuorum(s, i, si) && holdsQuorum(s, j, sj)) return [si, sj];
    }
    return undefined;
  };
  const maskText = (m: number): string => names.filter((_, k) => (m >> k) & 1).join('');
  const key = (s: State): string => `${s.cfg.join(',')}|${[...s.chosen.values()].join(',')}`;
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
      const c = configs[ci]!;
      if (c.epoch >= o.maxEpoch || s.chosen.has(c.epoch + 1)) continue;
      const ready = names.filter((_, k) => (o.acceptorsAnyEpoch ? configs[s.cfg[k]!]!.epoch <= c.epoch : s.cfg[k] === ci));
      if (!isMajorityOf(c.voters, ready)) continue;
      for (const v of nextConfigs(ci)) {
        if (!isChosen(c, configs[v]!, ready)) continue;
        const chosen = new Map(s.chosen);
        chosen.set(c.epoch + 1, v);
        out.push(step(s, `voters ${ready.filter((r) => c.voters.includes(r)).join('')} of ${cfgText(ci)} choose ${cfgText(v)}`, { chosen }));
      }
    }
    for (let i = 0; i < n; i++) {
      const mine = configs[s.cfg[i]!]!;
      // Learn the value chosen for the slot after its epoch.
      const v = s.chosen.get(mine.epoch + 1);
      if (v !== undefined) out.push(moved(s, i, v, `${names[i]} learns ${cfgText(v)}`));
      // Adopt a newer configuration.
      for (let j = 0; j < n; j++) {
        const theirs = s.cfg[j]!;
        if (configs[theirs]!.epoch > mine.epoch) {
          out.push(moved(s, i, theirs, `${names[i]} adopts ${cfgText(theirs)} from ${names[j]}`));
        }
      }
    }
    return out;
  };

  const c0 = intern({ epoch: 1, voters: [...o.initialVoters].sort(), learners: [] });
  const start: State = { cfg: names.map(() => c0), chosen: new Map(), path: undefined };
  const seen = new Set<string>([key(start)]);
  const queue: State[] = [start];
  for (let head = 0; head < queue.length && result.violations.length < 3; head++) {
    const s = queue[head]!;
    queue[head] = undefined as unknown as State;
    result.states++;
    const epochs = new Set(s.cfg.map((ci) => configs[ci]!.epoch));
    if (epochs.size >= 3) result.sawThreeEpochs = true;
    result.maxEpochSeen = Math.max(result.maxEpochSeen, ...epochs);
    for (let i = 0; i < n && result.violations.length < 3; i++) {
      for (let j = i + 1; j < n && result.violations.length < 3; j++) {
        const split = splitBrain(s, i, j);
        if (split === undefined) continue;
        result.violations.push(`${names[i]} (${cfgText(s.cfg[i]!)}) and ${names[j]} (${cfgText(s.cfg[j]!)}) both hold quorum on sides ` +
          `${maskText(split[0])} | ${maskText(split[1])} after: ${pathText(s.path)}`);
      }
    }
    for (const next of successors(s)) {
      const k = key(next);
      if (seen.has(k)) continue;
      if (seen.size >= o.maxStates) {
        result.complete = false;
        continue;
      }
      seen.add(k);
      queue.push(next);
    }
  }
  return result;
}
