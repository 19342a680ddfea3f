// Exhaustive exploration of voter changes in AgentAssisted mode (agent-epoch-explorer.ts): controllers
// changing voters epoch by epoch, agents' exclusive vote leases, stale readings and the settle wait,
// with the rules of quorum/agent-epochs.ts. Each run is complete and not vacuous, and each rule, taken
// away, lets two sides hold quorum.
// Larger runs (a few minutes): `EXPLORE_DEEP=1 npx tap --timeout 3000 test/quorum/agent-epoch-explorer.test.ts`.
import t from 'tap';
import { exploreAgentEpochs, type AgentEpochExploreOptions } from './agent-epoch-explorer.ts';

type Run = Omit<AgentEpochExploreOptions, 'maxStates'>;
const deep = process.env['EXPLORE_DEEP'] === '1';
const explore = (o: Run) => exploreAgentEpochs({ maxStates: 5_000_000, ...o });
const ab = ['a', 'b'];
const abc = ['a', 'b', 'c'];

const runs: Array<[string, Run]> = [
  ['two datacenters (one controller each, two agents), three changes', { universe: ab, initialVoters: ab, agents: ['x', 'y'], controllerWeight: 10, maxEpoch: 4 }],
  ['two controllers and a newcomer, one agent, two changes', { universe: abc, initialVoters: ab, agents: ['x'], controllerWeight: 10, maxEpoch: 3 }],
  ['two controllers and a newcomer, two agents, one change', { universe: abc, initialVoters: ab, agents: ['x', 'y'], controllerWeight: 10, maxEpoch: 2 }],
  ['two datacenters, both agents registered during the changes, three changes', { universe: ab, initialVoters: ab, agents: [], laterAgents: ['x', 'y'], controllerWeight: 10, maxEpoch: 4 }],
  ...(deep ? [
    ['two controllers and a newcomer, an agent registered during two changes', { universe: abc, initialVoters: ab, agents: [], laterAgents: ['x'], controllerWeight: 10, maxEpoch: 3 }],
    ['two controllers and a newcomer, three agents, one change', { universe: abc, initialVoters: ab, agents: ['x', 'y', 'z'], controllerWeight: 10, maxEpoch: 2 }],
    ['three controllers, one agent, two changes', { universe: abc, initialVoters: abc, agents: ['x'], controllerWeight: 10, maxEpoch: 3 }],
    ['weight 1, two controllers and a newcomer, two agents, one change', { universe: abc, initialVoters: ab, agents: ['x', 'y'], controllerWeight: 1, maxEpoch: 2 }],
  ] as Array<[string, Run]> : []),
];
for (const [name, o] of runs) {
  t.test(`AgentAssisted voter changes, ${name}: no split lets two sides hold quorum`, async (t) => {
    const r = explore(o);
    t.ok(r.complete, `complete: ${r.states} states`);
    t.same(r.violations, []);
    t.equal(r.maxEpochSeen, o.maxEpoch, `epoch ${r.maxEpochSeen} committed`);
    t.ok(r.sawQuorumAfterChange, 'a controller held quorum under a changed voter set');
  });
}

t.test('AgentAssisted voter changes: each rule taken away lets two sides hold quorum', async (t) => {
  const o: Run = { universe: abc, initialVoters: ab, agents: ['x'], controllerWeight: 10, maxEpoch: 3 };
  const cases: Array<[string, Partial<Run>]> = [
    ['counting by the new voters alone (no joint accounting)', { noJoint: true }],
    ['proposing without the knowers check', { noKnowers: true }],
    ['agents granting to controllers on older epochs', { agentsAnyEpoch: true }],
    ['agents forgetting their epoch on a restart', { agentsForget: true }],
  ];
  // With agents registered during the changes (the registry is its own chain).
  const later: Run = { universe: ab, initialVoters: ab, agents: [], laterAgents: ['x', 'y'], controllerWeight: 10, maxEpoch: 4 };
  const laterThree: Run = { universe: abc, initialVoters: ab, agents: [], laterAgents: ['x'], controllerWeight: 10, maxEpoch: 3 };
  const registryCases: Array<[string, Run]> = [
    ['the registrar registering while a change is decided, joint or settling', { ...later, registryAnytime: true }],
    ['an acceptor choosing on another registry version than the proposer\'s', { ...later, registryAnyAcceptor: true }],
    ['counting by a registry written on a later epoch', { ...laterThree, registryAnyEpoch: true }],
  ];
  for (const [what, w] of [...cases.map(([x, y]) => [x, { ...o, ...y }] as [string, Run]), ...registryCases]) {
    const r = explore(w);
    t.ok(r.violations.length > 0, `${what}: caught (${r.states} states)`);
    t.match(r.violations[0] ?? '', /both hold quorum on sides \w+ \| \w+ after: /, 'with the split and the steps that reached it');
  }
});
