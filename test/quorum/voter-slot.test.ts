// The per-epoch decision of the next voter configuration (quorum/voter-slot.ts): ballots, the
// acceptor's rules, the value a proposer must carry, single-voter changes, the count rule, and, over
// random schedules of proposers, deliveries and losses, Paxos's agreement: at most one configuration
// is ever chosen for a slot, whatever happens.
import t from 'tap';
import fc from 'fast-check';
import {
  compareBallots, freshAcceptor, isChosen, isMajorityOf, isSingleVoterChange, majority, nextBallot, onAccept, onPrepare, peerCountsAtEpoch,
  valueToPropose, type Ballot, type SlotAcceptor,
} from '../../quorum/voter-slot.ts';
import type { VoterConfig } from '../../quorum/voter-config.ts';
import { check, runs } from '../helpers/fc-run.ts';

const cfg = (epoch: number, voters: string[]): VoterConfig => ({ epoch, voters, learners: [] });
const b = (round: number, proposer: string): Ballot => ({ round, proposer });

t.test('ballots: by round, then proposer; a next ballot is above the one seen', async (t) => {
  t.ok(compareBallots(b(1, 'z'), b(2, 'a')) < 0);
  t.ok(compareBallots(b(2, 'a'), b(2, 'b')) < 0);
  t.equal(compareBallots(b(2, 'a'), b(2, 'a')), 0);
  t.ok(compareBallots(nextBallot(b(5, 'z'), 'a'), b(5, 'z')) > 0);
  t.same(nextBallot(undefined, 'a'), b(1, 'a'));
});

t.test('an acceptor promises only higher ballots, accepts unless it promised higher, and only for its slot', async (t) => {
  let a: SlotAcceptor = freshAcceptor(3);
  const p1 = onPrepare(a, 3, b(1, 'x'));
  t.same(p1.answer, { ok: true }, 'nothing accepted yet');
  a = p1.acceptor;
  t.same(onPrepare(a, 3, b(1, 'x')).answer, { ok: false, why: 'LOWER_BALLOT', promised: b(1, 'x') }, 'the same ballot is not promised twice');
  t.same(onPrepare(a, 2, b(9, 'x')).answer, { ok: false, why: 'OTHER_EPOCH', epoch: 3 }, 'a prepare for another slot');
  const acc = onAccept(a, 3, b(1, 'x'), cfg(4, ['a', 'b', 'c', 'd']));
  t.same(acc.answer, { ok: true });
  a = acc.acceptor;
  const p2 = onPrepare(a, 3, b(2, 'y'));
  t.same(p2.answer, { ok: true, accepted: { ballot: b(1, 'x'), config: cfg(4, ['a', 'b', 'c', 'd']) } }, 'a promise reports what was accepted');
  a = p2.acceptor;
  t.same(onAccept(a, 3, b(1, 'x'), cfg(4, ['a', 'b'])).answer, { ok: false, why: 'LOWER_BALLOT', promised: b(2, 'y') }, 'no accept below the promise');
  t.same(onAccept(a, 4, b(3, 'y'), cfg(5, ['a'])).answer, { ok: false, why: 'OTHER_EPOCH', epoch: 3 });
});

t.test('the value carried: the highest-ballot acceptance among the promises, else the proposer\'s own', async (t) => {
  const own = cfg(4, ['a', 'b']);
  t.same(valueToPropose([{}, {}], own), own);
  const old = cfg(4, ['a', 'b', 'c', 'd']);
  const newer = cfg(4, ['a', 'b', 'c', 'e']);
  t.same(valueToPropose([{ accepted: { ballot: b(1, 'x'), config: old } }, {}, { accepted: { ballot: b(2, 'w'), config: newer } }], own), newer);
});

t.test('single voter changes only; majorities; the count rule', async (t) => {
  const abc = cfg(3, ['a', 'b', 'c']);
  t.ok(isSingleVoterChange(abc, cfg(4, ['a', 'b', 'c', 'd'])), 'add one');
  t.ok(isSingleVoterChange(abc, cfg(4, ['a', 'b'])), 'remove one');
  t.ok(isSingleVoterChange(abc, { epoch: 4, voters: ['a', 'b', 'c'], learners: ['d'] }), 'learners only');
  t.notOk(isSingleVoterChange(abc, cfg(4, ['a', 'b', 'd'])), 'a swap is two changes');
  t.notOk(isSingleVoterChange(abc, cfg(5, ['a', 'b', 'c', 'd'])), 'skipping an epoch');
  t.notOk(isSingleVoterChange(cfg(3, ['a']), cfg(4, [])), 'no voter left');
  t.equal(majority(['a', 'b', 'c', 'd']), 3);
  t.ok(isMajorityOf(['a', 'b', 'c'], ['a', 'c', 'z']), 'members outside the set do not count');
  t.notOk(isMajorityOf(['a', 'b', 'c'], ['a', 'z', 'y']));
  // Chosen: a majority of the voters before and of the voters after.
  const v3 = cfg(1, ['a', 'b', 'c']);
  t.ok(isChosen(v3, cfg(2, ['a', 'b', 'c', 'd']), ['a', 'b', 'd']), 'adding d: 2 of abc and 3 of abcd');
  t.notOk(isChosen(v3, cfg(2, ['a', 'b', 'c', 'd']), ['a', 'b']), '2 of abc but only 2 of abcd');
  t.notOk(isChosen(v3, cfg(2, ['a', 'b', 'c', 'd']), ['a', 'd', 'x']), '3 of abcd needs 2 of abc too');
  t.ok(isChosen(v3, cfg(2, ['a', 'b']), ['a', 'b']), 'removing c: 2 of abc and 2 of ab');
  t.notOk(isChosen(v3, cfg(2, ['a', 'b']), ['a', 'c']), 'removing c: a and c are 2 of abc but 1 of ab');
  t.ok(peerCountsAtEpoch(4, 4));
  t.ok(peerCountsAtEpoch(4, 3), 'a peer still on an older epoch counts');
  t.notOk(peerCountsAtEpoch(4, 5), 'one on a newer epoch does not');
  t.notOk(peerCountsAtEpoch(4, undefined), 'nor one whose epoch is not known');
});

t.test('property: any majority of a voter set and any of the set one voter apart intersect', async (t) => {
  const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
  check(t, fc.property(fc.subarray(names, { minLength: 1 }), fc.constantFrom(...names), fc.func(fc.boolean()), fc.func(fc.boolean()), (voters, m, pickX, pickY) => {
    const other = voters.includes(m) ? voters.filter((v) => v !== m) : [...voters, m];
    if (other.length === 0) return;
    // Greedy majorities chosen by arbitrary predicates, completed to a majority in list order.
    const take = (set: string[], pick: (s: string) => boolean): Set<string> => {
      const chosen = set.filter((s) => pick(s));
      for (const s of set) if (chosen.length < majority(set) && !chosen.includes(s)) chosen.push(s);
      return new Set(chosen.slice(0, Math.max(majority(set), chosen.length)));
    };
    const x = take(voters, pickX);
    const y = take(other, pickY);
    if (![...x].some((v) => y.has(v))) throw new Error(`disjoint majorities ${[...x]} of ${voters} and ${[...y]} of ${other}`);
  }), runs(500));
});

// A random run of Paxos for one slot among `voters`: proposers with their own values, messages
// delivered in any order, duplicated or lost. Returns every (ballot, value) a majority accepted.
interface Msg { to: string; kind: 'prepare' | 'accept'; ballot: Ballot; config?: VoterConfig; from: string }
type AcceptRule = typeof onAccept;
function runPaxos(seed: number[], voters: string[], proposers: Array<{ name: string; own: VoterConfig }>, accept: AcceptRule = onAccept): Array<{ ballot: Ballot; config: VoterConfig }> {
  let k = 0;
  const next = (n: number): number => (n <= 1 ? 0 : (seed[k++ % seed.length]! >>> 0) % n);
  const acceptors = new Map(voters.map((v) => [v, freshAcceptor(1)]));
  const prop = proposers.map((p) => ({ ...p, ballot: undefined as Ballot | undefined, promises: new Map<string, { accepted?: { ballot: Ballot; config: VoterConfig } }>(), seen: undefined as Ballot | undefined, sent: false }));
  const net: Msg[] = [];
  const acceptedBy = new Map<string, Set<string>>(); // ballot key -> voters that accepted it
  const valueOf = new Map<string, VoterConfig>();
  const key = (bb: Ballot): string => `${bb.round}/${bb.proposer}`;
  for (let step = 0; step < 300; step++) {
    const choice = next(3);
    if (choice === 0 || net.length === 0) { // a proposer (re)starts with a new ballot
      const p = prop[next(prop.length)]!;
      p.ballot = nextBallot(p.seen, p.name);
      p.seen = p.ballot;
      p.promises = new Map();
      p.sent = false;
      for (const v of voters) net.push({ to: v, kind: 'prepare', ballot: p.ballot, from: p.name });
      continue;
    }
    const i = next(net.length);
    const m = net[i]!;
    if (next(4) !== 0) net.splice(i, 1); // else duplicated: stays for another delivery
    if (next(10) === 0) continue; // lost
    const a = acceptors.get(m.to)!;
    const p = prop.find((x) => x.name === m.from)!;
    if (m.kind === 'prepare') {
      const r = onPrepare(a, 1, m.ballot);
      acceptors.set(m.to, r.acceptor);
      if (r.answer.ok && p.ballot !== undefined && compareBallots(p.ballot, m.ballot) === 0) p.promises.set(m.to, r.answer);
      if (!r.answer.ok && r.answer.why === 'LOWER_BALLOT' && compareBallots(r.answer.promised, p.seen!) > 0) p.seen = r.answer.promised;
      if (!p.sent && p.ballot !== undefined && isMajorityOf(voters, p.promises.keys())) {
        p.sent = true;
        const value = valueToPropose([...p.promises.values()], p.own);
        for (const v of voters) net.push({ to: v, kind: 'accept', ballot: p.ballot, config: value, from: p.name });
      }
    } else {
      const r = accept(a, 1, m.ballot, m.config!);
      acceptors.set(m.to, r.acceptor);
      if (r.answer.ok) {
        const s = acceptedBy.get(key(m.ballot)) ?? new Set<string>();
        s.add(m.to);
        acceptedBy.set(key(m.ballot), s);
        valueOf.set(key(m.ballot), m.config!);
      }
    }
  }
  return [...acceptedBy].filter(([, s]) => isMajorityOf(voters, s)).map(([k2]) => {
    const [round, proposer] = k2.split('/');
    return { ballot: { round: Number(round), proposer: proposer! }, config: valueOf.get(k2)! };
  });
}

t.test('property: Paxos agreement — at most one configuration is chosen for a slot, whatever the schedule', async (t) => {
  const voters = ['a', 'b', 'c', 'd', 'e'];
  const proposers = [
    { name: 'a', own: cfg(2, ['a', 'b', 'c', 'd', 'e', 'f']) },
    { name: 'c', own: cfg(2, ['a', 'b', 'c', 'd']) },
    { name: 'e', own: { epoch: 2, voters, learners: ['g'] } },
  ];
  let chosenRuns = 0;
  check(t, fc.property(fc.array(fc.integer(), { minLength: 50, maxLength: 400 }), fc.integer({ min: 1, max: 3 }), (seed, n) => {
    const chosen = runPaxos(seed, voters, proposers.slice(0, n));
    if (chosen.length > 0) chosenRuns++;
    const values = new Set(chosen.map((c) => JSON.stringify(c.config)));
    if (values.size > 1) throw new Error(`two configurations chosen: ${[...values].join(' and ')}`);
  }), runs(300));
  t.ok(chosenRuns > 0, `some runs chose a configuration (${chosenRuns}): the property was not vacuous`);
});

t.test('the property catches a broken acceptor: one that accepts below its promise lets two values be chosen', async (t) => {
  const voters = ['a', 'b', 'c'];
  const proposers = [{ name: 'x', own: cfg(2, ['a', 'b']) }, { name: 'y', own: cfg(2, ['a', 'b', 'c', 'd']) }];
  const broken: AcceptRule = (a, epoch, ballot, config) =>
    onAccept({ epoch: a.epoch, ...(a.accepted === undefined ? {} : { accepted: a.accepted }) }, epoch, ballot, config);
  const out = fc.check(fc.property(fc.array(fc.integer(), { minLength: 50, maxLength: 400 }), (seed) => {
    const values = new Set(runPaxos(seed, voters, proposers, broken).map((c) => JSON.stringify(c.config)));
    return values.size <= 1;
  }), { numRuns: 2_000, seed: 42 });
  t.ok(out.failed, `a schedule with two configurations chosen is found (after ${out.numRuns} runs)`);
});

// The safety argument of quorum/voter-slot.ts, over random histories: a chain of chosen
// configurations each one voter from the last, every controller on some committed epoch, constrained
// only by what choosing requires (slot j+1 chosen: a majority of the voters of j had committed j, and
// epochs never go back), and any split into two sides. No two controllers on different sides both
// hold quorum when each counts the voters of its epoch on its side whose epoch the count rule allows.
// Weakened (must be caught): `countNewer` counts peers on newer epochs too; `swaps` lets a change
// replace a voter (two voters apart).
function quorumHolders(chain: VoterConfig[], epochOf: Map<string, number>, side: ReadonlySet<string>, countNewer: boolean): string[] {
  const out: string[] = [];
  for (const x of side) {
    const e = epochOf.get(x)!;
    const voters = chain[e - 1]!.voters;
    if (!voters.includes(x)) continue;
    const counted = voters.filter((v) => side.has(v) && (countNewer || peerCountsAtEpoch(e, epochOf.get(v))));
    if (counted.length >= majority(voters)) out.push(x);
  }
  return out;
}
const universe = ['a', 'b', 'c', 'd', 'e'];
const historyArb = fc.record({
  start: fc.subarray(universe, { minLength: 1 }),
  changes: fc.array(fc.constantFrom(...universe), { maxLength: 5 }),
  epochs: fc.array(fc.integer({ min: 1, max: 6 }), { minLength: universe.length, maxLength: universe.length }),
  sideA: fc.subarray(universe),
});
function historyOf(h: { start: string[]; changes: string[]; epochs: number[] }, swaps = false): { chain: VoterConfig[]; epochOf: Map<string, number> } | undefined {
  const chain = [cfg(1, [...h.start].sort())];
  for (const m of h.changes) {
    const last = chain.at(-1)!;
    const removed = last.voters.filter((v) => v !== m);
    const outsider = universe.find((u) => !last.voters.includes(u) && u !== m);
    const voters = last.voters.includes(m)
      ? (swaps && outsider !== undefined ? [...removed, outsider].sort() : removed)
      : [...last.voters, m].sort();
    if (voters.length === 0) break;
    chain.push(cfg(last.epoch + 1, voters));
  }
  const epochOf = new Map(universe.map((n, i) => [n, Math.min(h.epochs[i]!, chain.length)]));
  const top = Math.max(...epochOf.values());
  for (let j = 2; j <= top; j++) {
    const prev = chain[j - 2]!.voters;
    if (!isMajorityOf(prev, prev.filter((v) => epochOf.get(v)! >= j - 1))) return undefined; // j could not have been chosen
  }
  return { chain, epochOf };
}

t.test('property: with single-voter changes and the count rule, two sides never both hold quorum', async (t) => {
  let valid = 0;
  check(t, fc.property(historyArb, (h) => {
    const hist = historyOf(h);
    if (hist === undefined) return;
    valid++;
    const a = new Set(h.sideA);
    const b = new Set(universe.filter((n) => !a.has(n)));
    const qa = quorumHolders(hist.chain, hist.epochOf, a, false);
    const qb = quorumHolders(hist.chain, hist.epochOf, b, false);
    if (qa.length > 0 && qb.length > 0) throw new Error(`both sides hold quorum: ${qa} on ${[...a]}, ${qb} on ${[...b]}, epochs ${JSON.stringify([...hist.epochOf])}`);
  }), runs(3_000));
  t.ok(valid > 100, `${valid} valid histories checked`);
});

function bothSidesFound(countNewer: boolean, swaps: boolean): { failed: boolean; numRuns: number } {
  return fc.check(fc.property(historyArb, (h) => {
    const hist = historyOf(h, swaps);
    if (hist === undefined) return true;
    const a = new Set(h.sideA);
    const b = new Set(universe.filter((n) => !a.has(n)));
    return !(quorumHolders(hist.chain, hist.epochOf, a, countNewer).length > 0 && quorumHolders(hist.chain, hist.epochOf, b, countNewer).length > 0);
  }), { numRuns: 20_000, seed: 7 });
}

t.test('property: each weakened rule is caught (peers on newer epochs counted; a change that swaps a voter)', async (t) => {
  const newer = bothSidesFound(true, false);
  t.ok(newer.failed, `counting peers on newer epochs: a split where both sides hold quorum is found (after ${newer.numRuns} runs)`);
  const swaps = bothSidesFound(false, true);
  t.ok(swaps.failed, `swapping a voter in one change: found too (after ${swaps.numRuns} runs)`);
});
