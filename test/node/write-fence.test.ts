// The write fence on a fake clock, fed by a fake membership: it decides from the direct links to the
// other controllers (quorum/controller-contacts.ts). A reset link fences the very next write; a silent
// one fences when the contact window after its last liveness proof runs out, reported by a timer
// without any write; relayed heartbeats never keep a controller reached; a completed authentication is
// contact. Clocks (measured by clock probes) that differ from a quorum fence with reason CLOCK_SKEW.
// Every change of the fence, of quorum and of the phase is one event and one log line.
import t from 'tap';
import { pino } from 'pino';
import type { MembershipNode } from '../../node/membership/membership-node.ts';
import type { ClockSample } from '../../node/membership/membership-service.ts';
import { ManualTimers } from '../helpers/manual-timers.ts';
import { DECISION_REUSE_MS, resolveSplitBrain, WriteFence } from '../../node/controller/write-fence.ts';
import type { FenceEvent, PhaseEvent, QuorumEvent } from '../../node/controller/fence-transitions.ts';
import { Emitter } from '../../node/util/emitter.ts';

const HC = { intervalMs: 200, timeoutMs: 100, failureThreshold: 3, successThreshold: 1 };
const WINDOW_MS = HC.failureThreshold * HC.intervalMs + HC.timeoutMs;
const CONTROLLERS = ['c-a', 'c-b', 'c-c'];
// Wall clock of the fake world at monotonic 0.
const WALL_AT_ZERO_MS = 1_750_000_000_000;


interface AuthPeer { member: string; role: string; peerId: string }
type FakeEvents = { event: (e: { type: string; member: string }) => void; 'clock-sample': (e: ClockSample) => void };
type FakeAuthEvents = { authenticated: (p: AuthPeer) => void; deauthenticated: (p: AuthPeer) => void };

// Just what the fence reads: the authenticated connections, when each direct link last proved alive,
// and the membership and auth events it listens to. Its peer table claims every member was heard from
// this instant (heartbeats relayed by a third member keep it so): the fence must not care.
function fakeMembership(timers: ManualTimers, rtt?: { rttIntervalMs: number; rttTimeoutMs: number }) {
  const connected = new Set<string>();
  const provenAtMs = new Map<string, number>();
  const reads = { proofs: 0 };
  const samples = new Map<string, ClockSample>();
  const events = new Emitter<FakeEvents>((err) => { throw err; });
  const authEvents = new Emitter<FakeAuthEvents>((err) => { throw err; });
  // Members named agent-* are agents; the others controllers.
  const peer = (member: string): AuthPeer => ({ member, role: member.startsWith('agent-') ? 'agent' : 'controller', peerId: `peer-${member}` });
  const node = {
    memberName: 'c-a',
    config: { healthCheck: HC, maxClockOffsetMs: 500, ...rtt },
    authenticatedPeers: () => [...connected].map(peer),
    linkProvenAtMs: (member: string) => {
      reads.proofs++;
      return connected.has(member) ? provenAtMs.get(member) : undefined;
    },
    peer: (member: string) => ({ member, lastHeardAtMs: timers.now }),
    on: (e: keyof FakeEvents, l: never) => events.on(e, l),
    clockSamples: () => [...samples.values()],
    auth: { on: (e: keyof FakeAuthEvents, l: never) => authEvents.on(e, l) },
  } as unknown as MembershipNode;
  return {
    node, connected, reads,
    /**
     * A peer authenticates (no liveness ping answered over the new link yet), and (unless `probe` is
     * false) the clock probe sent on it is answered: its clock measured as agreeing.
     */
    connect(member: string, { probe = true }: { probe?: boolean } = {}): void {
      connected.add(member);
      authEvents.emit('authenticated', peer(member));
      if (probe) this.probed(member);
    },
    /** Its connection is reset: gone at both ends. */
    disconnect(member: string): void {
      connected.delete(member);
      provenAtMs.delete(member);
      authEvents.emit('deauthenticated', peer(member));
    },
    /** A liveness ping over its link is answered now. */
    prove(member: string): void {
      provenAtMs.set(member, timers.now);
    },
    /** A clock probe of `member`, whose clock reads `offsetMs` more than the real time, is answered now (1 ms round trip). */
    probed(member: string, offsetMs = 0, epoch?: number, epochValidMs = 10_000): void {
      const clockMs = WALL_AT_ZERO_MS + timers.now + offsetMs;
      const sample: ClockSample = {
        member, remote: { stampMs: clockMs, physicalMs: clockMs }, sentAtMs: timers.now - 1, receivedAtMs: timers.now, ...(epoch === undefined ? {} : { epoch, epochValidMs }),
      };
      samples.set(member, sample);
      events.emit('clock-sample', sample);
    },
  };
}

// A logger that keeps every record.
function memoryLogger() {
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s)); } });
  return { logger, lines, messages: (msg: string) => lines.filter((l) => l.msg === msg) };
}

function allowed(fence: WriteFence): boolean {
  try {
    fence.check();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'FENCED') return false;
    throw err;
  }
}

function errorOf(fence: WriteFence): Error | undefined {
  try {
    fence.check();
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

function setup(t: import('tap').Test, o: { logger?: import('pino').Logger; skewMs?: () => number; hlcWallMs?: () => number; rtt?: { rttIntervalMs: number; rttTimeoutMs: number } } = {}) {
  const timers = new ManualTimers(1_000);
  const m = fakeMembership(timers, o.rtt);
  const fence = new WriteFence(m.node, resolveSplitBrain(m.node, CONTROLLERS, {}), undefined, {
    timers, wallClock: () => WALL_AT_ZERO_MS + timers.now + (o.skewMs?.() ?? 0),
    ...(o.hlcWallMs === undefined ? {} : { hlc: { highWater: () => ({ wallMs: o.hlcWallMs!(), logical: 0, member: 'c-a' }) } }),
    ...(o.logger === undefined ? {} : { logger: o.logger }),
  });
  t.teardown(() => fence.stop());
  return { timers, m, fence };
}

t.test('a reset fences the very next write; a reconnection lets the next one through', async (t) => {
  const { m, fence } = setup(t);
  t.notOk(allowed(fence), 'alone: fenced');
  m.connect('c-b');
  m.connect('c-c');
  t.ok(allowed(fence), 'all three reached: writes pass');
  t.same(fence.reachable(), CONTROLLERS);

  // No time passes at all: the decision just made is not reused across a reset.
  m.disconnect('c-b');
  m.disconnect('c-c');
  t.notOk(allowed(fence), 'both links reset: the next write is refused');
  t.notOk(allowed(fence), 'and refused again');
  t.equal(fence.counters.fenced, 3, 'every refused write is counted');
  await t.rejects(async () => fence.check(), { code: 'FENCED', reason: 'NO_QUORUM', message: /1 of 3 votes, threshold 2/ });

  m.connect('c-b');
  t.ok(allowed(fence), 'one peer back: a majority again');
  t.same(fence.reachable(), ['c-a', 'c-b']);
});

t.test('a silent link stops counting one contact window after its last proof, reported by a timer with no write', async (t) => {
  const { timers, m, fence } = setup(t);
  m.connect('c-b');
  m.connect('c-c');
  const fences: FenceEvent[] = [];
  fence.on('fence', (e) => fences.push(e));
  timers.advanceSync(0);
  t.notOk(fence.status().writesFenced);
  fences.length = 0;
  // Proven every interval for a while: reached throughout.
  for (let i = 0; i < 10; i++) {
    timers.advanceSync(HC.intervalMs);
    m.prove('c-b');
    m.prove('c-c');
    t.ok(allowed(fence));
  }
  // Then the path goes silent: the links stay open, nothing proves them any more.
  const lastProofMs = timers.now;
  timers.advanceSync(WINDOW_MS - 1);
  t.same(fence.reachable(), CONTROLLERS, 'still reached just inside the window');
  t.same(fences, [], 'no fence event yet');
  timers.advanceSync(2);
  t.equal(fences.length, 1, 'the window ran out: fenced by the timer, no write or status call');
  t.match(fences[0], { fenced: true, reason: 'NO_QUORUM', reachable: ['c-a'] });
  t.ok(fences[0]!.atMs - lastProofMs >= WINDOW_MS, `not before the window ran out (${fences[0]!.atMs - lastProofMs} ms after the last proof)`);
  t.notOk(allowed(fence));
});

t.test('relayed heartbeats never keep a controller reached: only proofs of the direct link do', async (t) => {
  // The fake peer table says every member was heard from this very instant (as heartbeats relayed by
  // a third member would keep it); the direct links are open but proved nothing since they opened.
  const { timers, m, fence } = setup(t);
  m.connect('c-b');
  m.connect('c-c');
  timers.advanceSync(WINDOW_MS);
  t.same(fence.reachable(), ['c-a'], 'open but unproven for the window: not reached');
  t.notOk(allowed(fence));
  m.prove('c-b');
  timers.advanceSync(1); // past the refusal just decided, reused for a millisecond
  t.same(fence.reachable(), ['c-a', 'c-b'], 'a proof of the direct link counts');
  t.ok(allowed(fence));
});

t.test('proofs count from when the link proved alive, however late they are read', async (t) => {
  const { timers, m, fence } = setup(t);
  m.connect('c-b');
  timers.advanceSync(300);
  m.prove('c-b'); // proven at 300 ms after connecting, read by nothing yet
  timers.advanceSync(WINDOW_MS - 1);
  t.same(fence.reachable(), ['c-a', 'c-b'], 'proof read now, counted from when it happened');
  timers.advanceSync(1);
  t.same(fence.reachable(), ['c-a'], 'and not one millisecond longer');
});

// Seed 402288 of the simulation: the message completing an authentication had been sent 345 ms
// before it arrived, and its sender paused right after; counting the authentication as contact kept
// the paused peer reached for a whole window from the arrival.
t.test('an authentication is no contact; the clock probe it triggers is, from its sending', async (t) => {
  const { timers, m, fence } = setup(t);
  m.connect('c-b', { probe: false });
  timers.advanceSync(0);
  t.same(fence.reachable(), ['c-a'], 'authenticated, nothing answered yet: not reached');
  t.notOk(allowed(fence), 'writes fenced');
  m.probed('c-b'); // sent 1 ms ago, answered now
  t.same(fence.reachable(), ['c-a', 'c-b'], 'reached on the answer, without waiting for a tick');
  t.ok(allowed(fence), 'writes accepted');
  t.same(fence.reachable(timers.now - 1 + WINDOW_MS - 1), ['c-a', 'c-b']);
  t.same(fence.reachable(timers.now - 1 + WINDOW_MS), ['c-a'], 'for one contact window from the probe\'s sending');
  m.disconnect('c-b');
  timers.advanceSync(WINDOW_MS);
  m.connect('c-b', { probe: false });
  t.same(fence.reachable(), ['c-a'], 'a re-authentication alone does not reach it again');
  m.prove('c-b');
  timers.advanceSync(DECISION_REUSE_MS); // pings are not events: read at the next decision
  t.same(fence.reachable(), ['c-a', 'c-b'], 'a liveness ping answered over the new link does');
});

t.test('a controller connected before the fence existed counts from the fence\'s start', async (t) => {
  const timers = new ManualTimers(1_000);
  const m = fakeMembership(timers);
  m.connected.add('c-b');
  m.probed('c-b'); // its clock measured before the fence existed too
  const fence = new WriteFence(m.node, resolveSplitBrain(m.node, CONTROLLERS, {}), undefined, { timers, wallClock: () => WALL_AT_ZERO_MS + timers.now });
  t.teardown(() => fence.stop());
  t.ok(allowed(fence));
  timers.advanceSync(WINDOW_MS);
  t.notOk(allowed(fence), 'one window later with no proof: fenced');
});

// Seed 100106 of the simulation: a restarted controller counted a peer whose clock it had not measured
// (the link kept failing before the first probe answered) and accepted writes stamped 2.5 s apart.
t.test('a controller reached but not measured yet does not count until its first clock probe answers', async (t) => {
  const { timers, m, fence } = setup(t);
  m.connect('c-b', { probe: false });
  m.prove('c-b');
  timers.advanceSync(0);
  t.notOk(allowed(fence), 'c-b reached, its clock unknown: no quorum');
  t.match(fence.status(), { fenceReason: 'NO_QUORUM', writesFenced: true });
  t.match(errorOf(fence)?.message ?? '', /the clocks of c-b are not measured yet/);
  m.probed('c-b', 2_500);
  timers.advanceSync(0);
  t.notOk(allowed(fence), 'measured 2.5 s off: still not counted');
  t.match(fence.status(), { fenceReason: 'CLOCK_SKEW' });
  m.probed('c-b', 0);
  timers.advanceSync(0);
  t.ok(allowed(fence), 'measured and agreeing: counted');
});

t.test('Controllers mode: "Reachable Agents" counts the agents connected here (issue 19: it showed 0 next to two connected agents)', async (t) => {
  const { timers, m, fence } = setup(t);
  m.connect('c-b');
  m.connect('agent-x', { probe: false });
  m.connect('agent-y', { probe: false });
  timers.advanceSync(0);
  t.match(fence.status(), { quorumMode: 'Controllers', reachableAgents: 2, ourVotes: 2, writesFenced: false }, 'agents carry no vote, and do not count as controllers');
  m.disconnect('agent-y');
  t.equal(fence.status().reachableAgents, 1);
});

t.test('a burst of writes within the reuse window gathers the inputs once', async (t) => {
  const { timers, m, fence } = setup(t);
  m.connect('c-b');
  timers.advanceSync(0);
  m.reads.proofs = 0;
  for (let i = 0; i < 200; i++) {
    fence.check();
    fence.reachable(); // what a quorum write asks
  }
  t.ok(m.reads.proofs <= 1, `link proofs read ${m.reads.proofs} times for 200 writes in one instant (one open link)`);
  timers.advanceSync(1);
  fence.check();
  t.ok(m.reads.proofs <= 2, 'read again once the reused decision is a millisecond old');
});

t.test('a clock 8 s off from both peers fences with CLOCK_SKEW; it un-fences when it agrees again', async (t) => {
  for (const skew of [-8_000, 8_000]) {
    // This controller's physical clock, and its HLC's high-water mark (what its writes would be stamped with).
    const wall = { skewMs: skew };
    let hlcWallMs = 0;
    const { timers, m, fence } = setup(t, { skewMs: () => wall.skewMs, hlcWallMs: () => hlcWallMs });
    const realWallMs = (): number => WALL_AT_ZERO_MS + timers.now;
    for (const c of ['c-b', 'c-c']) {
      m.connect(c);
      m.probed(c);
    }
    timers.advanceSync(1);
    await t.rejects(async () => fence.check(), { code: 'FENCED', reason: 'CLOCK_SKEW', message: /clock skew.*\(500 ms\) from c-b, c-c/ });
    t.match(fence.status(), { writesFenced: true, fenceReason: 'CLOCK_SKEW', clockSkewedPeers: ['c-b', 'c-c'], reachablePeers: '2/2', ourVotes: 1 });
    const est = fence.clockOffsets().get('c-b')!;
    t.ok(Math.abs(est.offsetMs + skew) < 100, `c-b measured ${est.offsetMs.toFixed(0)} ms off`);
    t.same(fence.votingControllers(), ['c-a'], 'only itself counts');

    // The clock is set right, but the HLC already stamped up to where the clock was: still off while
    // its stamps are (a clock that was ahead), agreeing again once real time passes them.
    hlcWallMs = realWallMs() + Math.max(skew, 0);
    wall.skewMs = 0;
    timers.advanceSync(1);
    t.equal(allowed(fence), skew < 0, skew < 0 ? 'a clock that was behind agrees at once' : 'a clock that was ahead: its HLC is still ahead, still fenced');
    hlcWallMs = realWallMs();
    timers.advanceSync(1);
    t.ok(allowed(fence), 'stamps agree again: writes pass, with no new probe needed');
    t.match(fence.status(), { fenceReason: 'NONE', clockSkewedPeers: [] });
  }
});

// Seed 800670 of the simulation: a's clock was set 9.8 s ahead in the same instant as a write, right
// after a decision; the write reused it, was stamped 9.8 s ahead and acknowledged, and a write made
// 5.5 s later elsewhere lost last-writer-wins to it.
t.test('a step of the wall clock is not hidden by a reused decision: the next write decides afresh', async (t) => {
  for (const step of [9_780, -9_780]) {
    const wall = { skewMs: 0 };
    const { timers, m, fence } = setup(t, { skewMs: () => wall.skewMs });
    for (const c of ['c-b', 'c-c']) m.connect(c);
    timers.advanceSync(1);
    t.ok(allowed(fence), 'clocks agree: writes pass');
    // No monotonic time passes: only the wall clock steps.
    wall.skewMs = step;
    await t.rejects(async () => fence.check(), { code: 'FENCED', reason: 'CLOCK_SKEW' }, `a step of ${step} ms fences the very next write`);
    wall.skewMs = 0;
    t.ok(allowed(fence), 'stepped back before any stamp was issued: writes pass again at once');
  }
});

// Seed 500969 of the simulation: every controller's clock set back from 6 s ahead, their stamps
// standing still 0.46 s apart; they agreed height to height, and a later write lost to an earlier one.
t.test('stamps standing still above its own clock fence it (CLOCK_SKEW) whatever the peers say, until its clock passes them', async (t) => {
  let hlcWallMs = 0;
  const { timers, m, fence } = setup(t, { hlcWallMs: () => hlcWallMs });
  const realWallMs = (): number => WALL_AT_ZERO_MS + timers.now;
  hlcWallMs = realWallMs();
  for (const c of ['c-b', 'c-c']) {
    m.connect(c);
    m.probed(c);
  }
  timers.advanceSync(1);
  t.ok(allowed(fence), 'stamps at its clock: writes pass');
  // Its clock set back by 3 s: its HLC holds the height it reached. The peers' estimates are not
  // refreshed (no new probe): to them it still agrees.
  hlcWallMs = realWallMs() + 3_000;
  timers.advanceSync(1);
  await t.rejects(async () => fence.check(), { code: 'FENCED', reason: 'CLOCK_SKEW', message: /stamps stand 2999 ms above its own clock, more than maxClockOffset \(500 ms\)/ });
  t.match(fence.status(), { writesFenced: true, fenceReason: 'CLOCK_SKEW' });
  // Real time passes its stamps (within maxClockOffset of them): writes pass again. (Peers probed
  // afresh, their clocks at real time: a sample older than the contact window no longer counts.)
  const probeAll = (): void => { for (const c of ['c-b', 'c-c']) m.probed(c); };
  timers.advanceSync(2_400);
  probeAll();
  t.notOk(allowed(fence), '600 ms above: still fenced');
  timers.advanceSync(200);
  probeAll();
  t.ok(allowed(fence), '400 ms above, within maxClockOffset: writes pass');
  hlcWallMs = realWallMs() + 500;
  timers.advanceSync(1);
  probeAll();
  t.ok(allowed(fence), 'exactly maxClockOffset above (a record received from a peer that far ahead): not fenced');
});

t.test('say what happened: a cut is one fenced event and one log line, the heal one unfenced, with no write in between', async (t) => {
  const log = memoryLogger();
  const { timers, m, fence } = setup(t, { logger: log.logger });
  const fences: FenceEvent[] = [];
  const quorums: QuorumEvent[] = [];
  const phases: PhaseEvent[] = [];
  fence.on('fence', (e) => fences.push(e));
  fence.on('quorum', (e) => quorums.push(e));
  fence.on('phase', (e) => phases.push(e));
  t.equal(log.messages('writes fenced at start until quorum is reached').length, 1, 'the starting state is logged once');
  m.connect('c-b');
  m.connect('c-c');
  timers.advanceSync(0);
  t.equal(fences.length, 1, 'unfenced after the peers authenticate');
  t.match(fences[0], { fenced: false, previousReason: 'NO_QUORUM', votes: 3, threshold: 2 });
  fences.length = 0;
  quorums.length = 0;
  const linesBefore = log.lines.length;

  // The cut: both connections go away. Nothing writes, nothing asks for status.
  m.disconnect('c-b');
  m.disconnect('c-c');
  timers.advanceSync(0);
  t.same(fences.map((e) => ({ fenced: e.fenced, reason: e.reason, votes: e.votes, threshold: e.threshold, reachable: e.reachable })),
    [{ fenced: true, reason: 'NO_QUORUM', votes: 1, threshold: 2, reachable: ['c-a'] }], 'exactly one: fenced, with reason and votes');
  t.same(quorums.map((e) => e.haveQuorum), [false], 'one quorum-lost event');
  const fenced = log.messages('writes fenced');
  t.equal(fenced.length, 1, 'one "writes fenced" line');
  t.match(fenced[0], { level: 40, reason: 'NO_QUORUM', votes: 1, threshold: 2, reachable: ['c-a'] }, 'at warn, with reason, votes and reachable peers');
  t.equal(log.messages('quorum lost').length, 1);
  t.equal(fence.transitionCounters.fenced.NO_QUORUM, 1, 'counted');
  timers.advanceSync(1);
  t.notOk(allowed(fence));
  t.notOk(allowed(fence));
  t.equal(fences.length, 1, 'refused writes add no event');

  // The heal.
  m.connect('c-b');
  timers.advanceSync(0);
  t.same(fences.slice(1).map((e) => [e.fenced, e.previousReason, e.votes]), [[false, 'NO_QUORUM', 2]], 'exactly one unfenced event');
  t.equal(log.messages('writes unfenced').filter((l) => log.lines.indexOf(l) >= linesBefore).length, 1, 'one "writes unfenced" line');
  t.match(log.messages('writes unfenced').at(-1), { level: 30, previousReason: 'NO_QUORUM' });
  t.same(quorums.map((e) => e.haveQuorum), [false, true]);
  t.equal(fence.transitionCounters.unfenced.NO_QUORUM, 2, 'counted (at start and at the heal)');
  t.ok(phases.some((p) => p.to === 'Suspected'), 'phase changes are events too');
  t.equal(log.messages('partition phase changed').length, phases.length + 1, 'one line per phase change (and one at start)');
});

t.test('stop cancels every timer: nothing is evaluated afterwards', async (t) => {
  const { timers, m, fence } = setup(t);
  m.connect('c-b');
  const fences: FenceEvent[] = [];
  fence.on('fence', (e) => fences.push(e));
  fence.stop();
  m.reads.proofs = 0;
  timers.advanceSync(10 * WINDOW_MS);
  t.equal(m.reads.proofs, 0, 'no tick, no due timer');
  t.same(fences, []);
});

t.test('AgentAssisted: agents are clock witnesses; a controller whose clock disagrees with its agents\' does not count their leases (sim seed 300260)', async (t) => {
  // Two controllers (no third clock to say which one is off) and three registered agents, all leased
  // to this controller: 1 + 3 of 5 votes without c-b.
  const timers = new ManualTimers(1_000);
  const m = fakeMembership(timers);
  const agents = ['agent-1', 'agent-2', 'agent-3'];
  const leased = new Set<string>();
  const samples = new Emitter<{ s: (c: ClockSample) => void }>((err) => { throw err; });
  const source = {
    leasedAgents: () => [...leased],
    registeredAgents: () => new Set(agents),
    onClockSample: (l: (c: ClockSample) => void) => samples.on('s', l),
    leasedAgentsAtEpoch: () => [],
  };
  const wall = { skewMs: -4_000 };
  const fence = new WriteFence(m.node, resolveSplitBrain(m.node, ['c-a', 'c-b'], { mode: 'AgentAssisted', leaseMs: 1_500, driftMarginMs: 100 }), source, {
    timers, wallClock: () => WALL_AT_ZERO_MS + timers.now + wall.skewMs,
  });
  t.teardown(() => fence.stop());
  // An agent's grant: its clock (true time plus `offsetMs`), read within a 2 ms round trip.
  const grant = (agent: string, offsetMs = 0): void => {
    const clockMs = WALL_AT_ZERO_MS + timers.now + offsetMs;
    samples.emit('s', { member: agent, remote: { stampMs: clockMs, physicalMs: clockMs }, sentAtMs: timers.now - 2, receivedAtMs: timers.now });
    leased.add(agent);
  };
  m.connect('c-b'); // c-b's clock is right: 4 s ahead of this one's
  for (const a of agents) grant(a);
  timers.advanceSync(1);
  await t.rejects(async () => fence.check(), { code: 'FENCED', reason: 'CLOCK_SKEW', message: /from agent-1, agent-2, agent-3, c-b; 1\/2 controllers reached and 0\/3 agent leases agree/ },
    'this clock is 4 s behind its agents\' and c-b\'s: no lease counts, although all three are held');
  t.match(fence.status(), { writesFenced: true, fenceReason: 'CLOCK_SKEW', clockSkewedPeers: ['agent-1', 'agent-2', 'agent-3', 'c-b'] });
  t.same([...fence.clockOffsets().keys()], ['c-b'], 'clockOffsets (the metric) names controllers only');

  // Its clock is set right: the agents' next grants agree, and their leases count again.
  wall.skewMs = 0;
  for (const a of agents) grant(a);
  timers.advanceSync(1);
  t.ok(allowed(fence), 'clocks agree: self and three leases of five votes');
  t.match(fence.status(), { fenceReason: 'NONE', clockSkewedPeers: [] });

  // An agent whose clock is off does not count; one that sent no clock (a version-1 agent) neither.
  fence.stop();
  const fence2 = new WriteFence(m.node, resolveSplitBrain(m.node, ['c-a', 'c-b'], { mode: 'AgentAssisted', leaseMs: 1_500, driftMarginMs: 100 }), source, {
    timers, wallClock: () => WALL_AT_ZERO_MS + timers.now,
  });
  t.teardown(() => fence2.stop());
  m.disconnect('c-b');
  leased.clear();
  grant('agent-1');
  grant('agent-2', 9_000);
  leased.add('agent-3');
  timers.advanceSync(1);
  await t.rejects(async () => fence2.check(), { code: 'FENCED', reason: 'CLOCK_SKEW', message: /from agent-2.*not measured yet: agent-3/ },
    'self + agent-1 = 2 of 5: agent-2 (9 s ahead) and agent-3 (no clock) are left out');
  grant('agent-2');
  grant('agent-3');
  timers.advanceSync(1);
  t.ok(allowed(fence2), 'self + three agreeing leases: 4 of 5');
});

t.test('live membership: a peer counts only when its latest clock answer, within a probe cycle, is on this epoch or older; a learner refuses writes', async (t) => {
  const rtt = { rttIntervalMs: 1_000, rttTimeoutMs: 500 };
  const { timers, m, fence } = setup(t, { rtt });
  fence.setMembers({ epoch: 2, voters: CONTROLLERS });
  m.connect('c-b', { probe: false });
  m.connect('c-c', { probe: false });
  m.probed('c-b', 0, 2);
  m.probed('c-c', 0, 2);
  timers.advanceSync(1);
  t.ok(allowed(fence), 'both on epoch 2: three of three');
  m.probed('c-b', 0, 3);
  m.probed('c-c', 0, 3);
  timers.advanceSync(1);
  t.same(fence.reachable(), ['c-a'], 'peers that answered with a newer epoch do not count');
  t.notOk(allowed(fence));
  m.probed('c-b', 0, 1);
  timers.advanceSync(1);
  t.same(fence.reachable(), ['c-a', 'c-b'], 'an older epoch counts');
  t.ok(allowed(fence));
  // No answer for longer than a probe cycle: its epoch is unknown now, and it does not count.
  for (let i = 0; i < 4; i++) {
    timers.advanceSync(HC.intervalMs);
    m.prove('c-b');
  }
  t.same(fence.reachable(), ['c-a', 'c-b'], 'its answer is still within a probe cycle');
  timers.advanceSync(rtt.rttIntervalMs + rtt.rttTimeoutMs);
  m.prove('c-b');
  t.same(fence.reachable(), ['c-a'], 'a live link with an epoch answer older than a probe cycle does not count');

  // A peer whose probe cycle is shorter than ours gives its epoch a shorter validity: it counts for that long only.
  m.probed('c-b', 0, 2, 300);
  timers.advanceSync(1);
  t.same(fence.reachable(), ['c-a', 'c-b'], 'answered just now');
  timers.advanceSync(300);
  m.prove('c-b');
  t.same(fence.reachable(), ['c-a'], 'its epoch answer is older than the validity it gave');

  // The record makes this controller a learner: it refuses writes whatever it reaches.
  fence.setMembers({ epoch: 4, voters: ['c-b', 'c-c', 'c-d'] });
  m.probed('c-b', 0, 4);
  m.probed('c-c', 0, 4);
  timers.advanceSync(1);
  t.ok(fence.learner);
  await t.rejects(async () => fence.check(), { code: 'FENCED', message: /c-a is a learner at membership epoch 4/ });
  t.equal(fence.status().writesFenced, true);
  t.equal(fence.config.quorumSize, 2, 'a majority of the three voters');
  fence.setMembers({ epoch: 3, voters: CONTROLLERS });
  t.ok(fence.learner, 'an older record is ignored');
});
