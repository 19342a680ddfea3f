// Exhaustive explorations of live voter changes decided per epoch by Paxos (quorum/voter-slot.ts):
// the Paxos messages themselves over one or two changes (voter-slot-explorer.ts), and many epochs
// deep over larger federations with each slot's decision taken as Paxos guarantees it
// (voter-epoch-explorer.ts). Each run is complete and not vacuous, and each weakened rule is caught.
// Larger runs than CI's (a minute or two): `EXPLORE_DEEP=1 npx tap --timeout 3000 test/quorum/voter-slot-explorer.test.ts`.
import t from 'tap';
import { exploreVoterSlots, type SlotExploreOptions } from './voter-slot-explorer.ts';
import { exploreVoterEpochs, type EpochExploreOptions } from './voter-epoch-explorer.ts';

const deep = process.env['EXPLORE_DEEP'] === '1';
const slots = (o: Omit<SlotExploreOptions, 'maxStates'>) => exploreVoterSlots({ maxStates: 4_000_000, ...o });
const epochs = (o: Omit<EpochExploreOptions, 'maxStates'>) => exploreVoterEpochs({ maxStates: 4_000_000, ...o });
const ab = ['a', 'b'];
const abc = ['a', 'b', 'c'];
const abcd = ['a', 'b', 'c', 'd'];
const abcde = ['a', 'b', 'c', 'd', 'e'];

const slotRuns: Array<[string, Omit<SlotExploreOptions, 'maxStates'>]> = [
  ['two voters, two changes, one round each', { universe: ab, initialVoters: ab, maxEpoch: 3, rounds: 1 }],
  ['two voters and an outsider, one change, two rounds each', { universe: abc, initialVoters: ab, maxEpoch: 2, rounds: 2 }],
  ...(deep ? [
    ['three voters, one change, one round each', { universe: abc, initialVoters: abc, maxEpoch: 2, rounds: 1 }],
    ['two voters and an outsider, two changes, one round each', { universe: abc, initialVoters: ab, maxEpoch: 3, rounds: 1 }],
  ] as Array<[string, Omit<SlotExploreOptions, 'maxStates'>]> : []),
];
for (const [name, o] of slotRuns) {
  t.test(`Paxos messages, ${name}: one value per slot, and no split lets two sides hold quorum`, async (t) => {
    const r = slots(o);
    t.ok(r.complete, `complete: ${r.states} states`);
    t.same(r.violations, []);
    t.ok(r.sawRecovery, "a proposer carried another's accepted value");
    t.ok(r.maxEpochSeen >= o.maxEpoch, `epoch ${r.maxEpochSeen} committed`);
  });
}

t.test('Paxos messages: each weakened rule is caught', async (t) => {
  const o = { universe: abc, initialVoters: ab, maxEpoch: 2, rounds: 2 };
  const cases = [
    ['an acceptor accepting a ballot below its promise', { ...o, acceptLower: true }, /^agreement: /],
    ['a proposer ignoring the acceptances its promises carried', { ...o, ignoreAccepted: true }, /^agreement: /],
    // (From two voters, any two-voter change keeps a common voter: three are needed to go wrong.)
    ['a change of two voters at once', { universe: abc, initialVoters: abc, maxEpoch: 2, rounds: 1, twoVoterChanges: true }, /both hold quorum on sides \w+ \| \w+ after: /],
  ] as const;
  for (const [what, w, pattern] of cases) {
    const r = slots(w);
    t.ok(r.violations.length > 0, `${what}: caught (${r.states} states)`);
    t.match(r.violations[0] ?? '', pattern, 'with the steps that reached it');
  }
});

const epochRuns: Array<[string, Omit<EpochExploreOptions, 'maxStates'>]> = [
  ['three controllers, three changes deep', { universe: abc, initialVoters: abc, maxEpoch: 4 }],
  ['three voters and a newcomer, three changes deep', { universe: abcd, initialVoters: abc, maxEpoch: 4 }],
  ['two voters and two newcomers, four changes deep', { universe: abcd, initialVoters: ab, maxEpoch: 5 }],
  ['five voters, three changes deep', { universe: abcde, initialVoters: abcde, maxEpoch: 4 }],
  ...(deep ? [['three voters and two newcomers, four changes deep', { universe: abcde, initialVoters: abc, maxEpoch: 5 }]] as Array<[string, Omit<EpochExploreOptions, 'maxStates'>]> : []),
];
for (const [name, o] of epochRuns) {
  t.test(`epochs, ${name}: no split lets two sides hold quorum`, async (t) => {
    const r = epochs(o);
    t.ok(r.complete, `complete: ${r.states} states`);
    t.same(r.violations, []);
    t.ok(r.sawThreeEpochs, 'controllers on three epochs at once');
    t.equal(r.maxEpochSeen, o.maxEpoch, `epoch ${r.maxEpochSeen} committed`);
  });
}

// The count rule as shipped: peers counted by clock answers that may be stale, and voters that settle
// before a voter change (voter-epoch-explorer.ts, staleReadings).
const staleRuns: Array<[string, Omit<EpochExploreOptions, 'maxStates'>]> = [
  ['three controllers, three changes deep', { universe: abc, initialVoters: abc, maxEpoch: 4, staleReadings: true }],
  ['two voters and a newcomer, three changes deep', { universe: abc, initialVoters: ab, maxEpoch: 4, staleReadings: true }],
];
for (const [name, o] of staleRuns) {
  t.test(`epochs counted by stale readings, ${name}: no split lets two sides hold quorum`, async (t) => {
    const r = epochs(o);
    t.ok(r.complete, `complete: ${r.states} states`);
    t.same(r.violations, []);
    t.ok(r.sawThreeEpochs, 'controllers on three epochs at once');
    t.equal(r.maxEpochSeen, o.maxEpoch, `epoch ${r.maxEpochSeen} committed`);
  });
}

t.test('epochs counted by stale readings: without the settle wait, two sides hold quorum', async (t) => {
  const r = epochs({ universe: abc, initialVoters: abc, maxEpoch: 3, staleReadings: true, noSettle: true });
  t.ok(r.violations.length > 0, `caught (${r.states} states)`);
  t.match(r.violations[0] ?? '', /both hold quorum on sides \w+ \| \w+ after: /);
});

t.test('epochs: each weakened rule is caught', async (t) => {
  const o = { universe: abcd, initialVoters: abc, maxEpoch: 4 };
  const cases = [
    ['counting a peer on a newer epoch', { ...o, countNewer: true }],
    ['a change of two voters at once', { ...o, twoVoterChanges: true }],
    ['a voter accepting for the next slot before it committed the epoch', { ...o, acceptorsAnyEpoch: true }],
  ] as const;
  for (const [what, w] of cases) {
    const r = epochs(w);
    t.ok(r.violations.length > 0, `${what}: caught (${r.states} states)`);
    t.match(r.violations[0] ?? '', /both hold quorum on sides \w+ \| \w+ after: /, 'with the split and the steps that reached it');
  }
});
