// A fixed set of seeds of the random simulation (run.ts) in every `npm test`: each federation, client
// mix and fault schedule drawn from its seed, every checker run over the history, and the node code
// must not have touched the real clock, timers or randomness. Longer sweeps: `npm run sim` (see
// docs/simulation.md). SIM_SEEDS / SIM_SECONDS widen this one.
import t from 'tap';
import { describeReport, runSeed } from './run.ts';

const SEEDS = Number(process.env.SIM_SEEDS ?? 6);
// About 40 s of CPU in all; a loaded CI machine may take several times that.
t.setTimeout(600_000);
const SECONDS = Number(process.env.SIM_SECONDS ?? 40);

for (let seed = 1; seed <= SEEDS; seed++) {
  t.test(`seed ${seed}`, async (t) => {
    const r = await runSeed({ seed, virtualMs: SECONDS * 1_000 });
    t.comment(describeReport(r).split('\n')[0]!);
    t.same(r.violations.map((v) => `[${v.checker}] ${v.message}`), [], describeReport(r));
    t.same(r.realTimeLeaks, [], 'node code used only its components for time and randomness');
    t.ok(r.acked.local + r.acked.quorum > 0, 'the clients got writes acknowledged');
  });
}

// Seeds a sweep found failing, replayed with the shape it ran: each names the defect it caught.
const REGRESSIONS: Array<{ name: string; seed: number; controllers: number; agents: number; strategy: 'LastWriterWins' | 'Merge' | 'Manual'; mode: 'Controllers' | 'AgentAssisted' }> = [
  // An agent kept a half-open connection to a controller restarted behind a cut, and checks that never
  // negotiated to the others: it stayed Autonomous with every controller "connected" (agents now
  // close a connection whose checks fail failureThreshold times in a row, and redial).
  { name: 'agent closes dead controller links', seed: 1035, controllers: 3, agents: 2, strategy: 'Manual', mode: 'Controllers' },
  // Gossip peered over a connection that closed while another stayed open: a and b stayed
  // authenticated, their link answered pings, and each showed the other Unhealthy for good (a live
  // link whose heartbeats stopped is now re-made: membership/gossip-silence.ts).
  { name: 'a live link whose gossip fell silent is re-made', seed: 100245, controllers: 2, agents: 1, strategy: 'LastWriterWins', mode: 'AgentAssisted' },
  // Two controllers whose clocks disagreed each counted only itself; a, 4 s behind, still held quorum
  // with the leases of the agents following it, and its writes lost last-writer-wins to earlier ones
  // (agents are now clock witnesses: a lease counts only while the agent's clock agrees).
  { name: 'agents are clock witnesses', seed: 300260, controllers: 2, agents: 3, strategy: 'LastWriterWins', mode: 'AgentAssisted' },
  // b, paused 1.9 s in the middle of a clock probe of c and set 2.3 s back as it resumed, took c's
  // answer (±1.1 s) for agreement and accepted writes 2.3 s behind its side for a second (a
  // measurement coarser than maxClockOffset now tells nothing: membership/clock-offset.ts).
  { name: 'a coarse clock measurement is not agreement', seed: 1400271, controllers: 3, agents: 0, strategy: 'LastWriterWins', mode: 'Controllers' },
  // A checker gap, not a node defect: x stayed on a, whose link was slowed to 56-110 ms each way with
  // 200 ms checks, for 10.2 s; most checks were answered, so staying was right (check/agents.ts).
  { name: 'an agent may stay on a controller most of whose checks are answered', seed: 1503839, controllers: 5, agents: 2, strategy: 'Manual', mode: 'Controllers' },
  // A checker gap, not a node defect: a's ping reached b, b's answer was held by a one-way cut and
  // reached a when it healed, the instant b was paused; the checker wanted both ways open at once.
  // c's link was silent 4.4 s, during which its clock was set 8.7 s ahead and back; on reconnecting,
  // a counted c by its last clock probe, taken before: a sample older than a probe cycle is no measurement.
  { name: 'a clock sample older than a probe cycle is no measurement', seed: 1600318, controllers: 3, agents: 0, strategy: 'Merge', mode: 'Controllers' },
  { name: 'an answer held by a one-way cut counts once the cut heals', seed: 1508059, controllers: 3, agents: 0, strategy: 'Merge', mode: 'Controllers' },
  // Live membership with agents: b removed a; the agents following b never granted it their votes
  // (its oldest connection to them, the one reused, was dead after a half-open fault; and the vote
  // epoch was saved in a database the replica had closed), so b stayed fenced by the voters before
  // the change for good (votes are now asked on the newest connection).
  { name: 'vote requests go over the newest connection to an agent', seed: 1890002, controllers: 2, agents: 3, strategy: 'Manual', mode: 'AgentAssisted' },
  // a, removed while cut off, learnt it from b's refusal only once a majority of the OTHER voters
  // counted (of two, the other one); until then it served its agents, which stayed on it.
  { name: 'a removed controller learns it from the other voters\' refusals', seed: 1890103, controllers: 2, agents: 3, strategy: 'LastWriterWins', mode: 'AgentAssisted' },
  // a knew it was removed but went on writing with its agent's lease for the rest of the lease.
  { name: 'a controller that knows it was removed refuses writes', seed: 1890187, controllers: 2, agents: 3, strategy: 'Merge', mode: 'AgentAssisted' },
];

for (const r of REGRESSIONS) {
  t.test(`regression seed ${r.seed}: ${r.name}`, async (t) => {
    const rep = await runSeed({ seed: r.seed, virtualMs: 60_000, controllers: r.controllers, agents: r.agents, strategy: r.strategy, mode: r.mode });
    t.same(rep.violations.map((v) => `[${v.checker}] ${v.message}`), [], describeReport(rep));
  });
}

