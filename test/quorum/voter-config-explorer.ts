// Exhaustive exploration of live voter changes (quorum/voter-config.ts), driving the real rules (no
// model of them). A small federation starts from one configuration; every interleaving of these
// steps is explored, up to a highest epoch:
//   - a controller that holds quorum under its configuration proposes any change that applies to it
//     (add a learner, promote one, remove a member);
//   - a controller stores the configuration of another, when the adopt rule says so;
//   - a controller commits its joint configuration once the controllers that ever stored it hold a
//     quorum of both sets (acknowledgements gathered from anywhere, at any time: the most a
//     committer could know).
// The network is not part of the state: it can split into any sides between any two steps, so each
// step is allowed whenever SOME split allows it (a proposer holds quorum on some side exactly when it
// does with every controller reached, since counting more peers never loses quorum; two controllers
// exchange a configuration when they share a side), and the invariant is checked over EVERY split.
// That explores every interleaving of proposals on opposite sides, of stale controllers rejoining,
// of cuts between proposal, acknowledgement and commit, with one state per set of configurations.
// Invariant, in every state: there is no split into sides in which two controllers on different sides
// both hold quorum (each counting itself and the controllers on its side that the count rule lets it
// count, and only while a voter of its own configuration).
// Weakened rules must be caught: `countNewer` counts peers whatever their configuration; `noJoint`
// makes a voter change effective at once; `commitOnNewSet` commits with a quorum of the new set only;
// `adoptConflicts` stores a configuration of the same epoch but other content.

import {
  applyVoterChange, committable, compareConfigs, configId, configMembers, isVoter, peerCounts, voterQuorum,
  VoterChangeError, type VoterChange, type VoterConfig,
} from '../../quorum/voter-config.ts';
import { pathText, type Path } from './explorer-path.ts';
import { breadthFirst, Interner, noteSplitBrains, VIOLATIONS_MAX } from './voter-explorer-kit.ts';

/** Exploration parameters. */
export interface VoterExploreOptions {
  /** Every controller that may ever be a member (the ones not in `initial` can be added). */
  universe: readonly string[];
  /** The configuration every controller starts from. */
  initial: VoterConfig;
  /** No change is proposed at or beyond this epoch. */
  maxEpoch: number;
  /** Stop after this many states (a safety net; a complete run reports complete: true). */
  maxStates: number;
  /** Weakened: count every peer on the side, whatever its configuration. */
  countNewer?: boolean;
  /** Weakened: a voter change takes effect at once (no joint configuration). */
  noJoint?: boolean;
  /** Weakened: commit with a quorum of the new voter set only. */
  commitOnNewSet?: boolean;
  /** Weakened: store a configuration of the same epoch and other content. */
  adoptConflicts?: boolean;
}

/** Outcome of an exploration. */
export interface VoterExploreResult {
  states: number;
  complete: boolean;
  /** First violations, with the steps that reached them. */
  violations: string[];
  /** Highest epoch reached (the exploration was not vacuous). */
  maxEpochSeen: number;
  /** Some state had two different configurations of one epoch (concurrent proposals happened). */
  sawConflict: boolean;
  /** Some state had a joint configuration committed. */
  sawCommit: boolean;
}

interface State {
  /** Configuration of each controller (index into `configs`). */
  cfg: number[];
  /** For each joint configuration, the controllers that ever stored it (bit mask). */
  stored: Map<number, number>;
  path: Path | undefined;
}

export function exploreVoterChanges(o: VoterExploreOptions): VoterExploreResult {
  const names = o.universe;
  const n = names.length;
  // Configurations are interned: the state holds indexes.
  const configs = new Interner<VoterConfig>(configId);
  const intern = (c: VoterConfig): number => configs.intern(c);
  const result: VoterExploreResult = { states: 0, complete: true, violations: [], maxEpochSeen: o.initial.epoch, sawConflict: false, sawCommit: false };

  // Whether controller i holds quorum on a side made of the controllers in mask `side` (i included).
  const holdsQuorum = (s: State, i: number, side: number): boolean => {
    const mine = configs.get(s.cfg[i]!);
    if (!isVoter(mine, names[i]!)) return false;
    const counted = new Set<string>([names[i]!]);
    for (let j = 0; j < n; j++) {
      if (j === i || ((side >> j) & 1) === 0) continue;
      if (o.countNewer || peerCounts(mine, configs.get(s.cfg[j]!))) counted.add(names[j]!);
    }
    return voterQuorum(mine, counted).haveQuorum;
  };
  const everyone = (1 << n) - 1;

  const key = (s: State): string => `${s.cfg.join(',')}/${[...s.stored].sort((a, b) => a[0] - b[0]).map(([c, m]) => `${c}:${m}`).join(';')}`;

  // Controller i now holds configuration c (and has stored it).
  const moved = (s: State, i: number, c: VoterConfig, step: string): State => {
    const ci = intern(c);
    const cfg = [...s.cfg];
    cfg[i] = ci;
    // Only a joint configuration's acknowledgements matter (for its commit): others are not kept, so
    // states that differ only in them are one.
    const stored = new Map(s.stored);
    if (c.joint !== undefined) stored.set(ci, (stored.get(ci) ?? 0) | (1 << i));
    return { cfg, stored, path: { step, prev: s.path } };
  };

  const successors = (s: State): State[] => {
    const out: State[] = [];
    for (let i = 0; i < n; i++) {
      const mine = configs.get(s.cfg[i]!);
      // Adopt from another controller (on its side at that moment).
      for (let j = 0; j < n; j++) {
        if (j === i || s.cfg[j] === s.cfg[i]) continue;
        const theirs = configs.get(s.cfg[j]!);
        const order = compareConfigs(mine, theirs);
        if (order === 'newer' || (o.adoptConflicts && order === 'conflict')) out.push(moved(s, i, theirs, `${names[i]} stores ${configId(theirs)} from ${names[j]}`));
      }
      // Commit.
      if (mine.joint !== undefined) {
        const storedBy = new Set(names.filter((_, k) => ((s.stored.get(s.cfg[i]!) ?? 0) >> k) & 1));
        const ok = o.commitOnNewSet ? voterQuorum({ ...mine, joint: undefined }, storedBy).haveQuorum : committable(mine, storedBy);
        if (ok) out.push(moved(s, i, applyVoterChange(mine, { op: 'commit' }), `${names[i]} commits ${configId(mine)}`));
      }
      // Propose.
      if (mine.epoch < o.maxEpoch && mine.joint === undefined && holdsQuorum(s, i, everyone)) {
        const changes: VoterChange[] = [];
        for (const m of names) {
          if (!configMembers(mine).includes(m)) changes.push({ op: 'add-learner', member: m });
          if (mine.learners.includes(m)) changes.push({ op: 'promote', member: m });
          if (configMembers(mine).includes(m)) changes.push({ op: 'remove', member: m });
        }
        for (const ch of changes) {
          let next: VoterConfig;
          try {
            next = applyVoterChange(mine, ch);
          } catch (err) {
            if (err instanceof VoterChangeError) continue;
            throw err;
          }
          if (o.noJoint && next.joint !== undefined) next = { epoch: next.epoch, voters: next.voters, learners: next.learners };
          out.push(moved(s, i, next, `${names[i]} proposes ${ch.op} ${ch.op === 'commit' ? '' : ch.member} -> ${configId(next)}`));
        }
      }
    }
    return out;
  };

  const c0 = intern(o.initial);
  const start: State = { cfg: names.map(() => c0), stored: new Map(o.initial.joint === undefined ? [] : [[c0, (1 << n) - 1]]), path: undefined };
  const r = breadthFirst({
    start, key, successors, maxStates: o.maxStates,
    visit: (s) => {
      // The invariant.
      noteSplitBrains(names, (k, side) => holdsQuorum(s, k, side), (k) => configId(configs.get(s.cfg[k]!)), pathText(s.path), result.violations);
      const epochs = new Map<number, number>();
      for (const ci of s.cfg) {
        const c = configs.get(ci);
        result.maxEpochSeen = Math.max(result.maxEpochSeen, c.epoch);
        if (epochs.has(c.epoch) && epochs.get(c.epoch) !== ci) result.sawConflict = true;
        epochs.set(c.epoch, ci);
        if (c.joint === undefined && c.epoch > o.initial.epoch && configs.values().some((p) => p.joint !== undefined && p.epoch === c.epoch - 1)) result.sawCommit = true;
      }
      return result.violations.length < VIOLATIONS_MAX;
    },
  });
  result.states = r.states;
  result.complete = r.complete;
  return result;
}
