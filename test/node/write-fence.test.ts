// The write fence decides from membership at the moment of the write: a closed or silent link to
// the other controllers fences the next write once the decision it reuses (at most
// DECISION_REUSE_MS old) has expired; restored links let writes through again. A completed
// authentication is contact (a reconnected controller counts before its first heartbeat). Clocks
// (measured by clock probes) that differ from a quorum fence with reason CLOCK_SKEW. Every change of the fence, of quorum and of
// the phase is one event and one log line, detected without any write or status call.
import t from 'tap';
import { pino } from 'pino';
import type { MembershipNode } from '../../node/membership/membership-node.ts';
import type { ClockSample } from '../../node/membership/membership-service.ts';
import { DECISION_REUSE_MS, resolveSplitBrain, WriteFence } from '../../node/controller/write-fence.ts';
import type { FenceEvent, PhaseEvent, QuorumEvent } from '../../node/controller/fence-transitions.ts';
import { Emitter } from '../../node/util/emitter.ts';
import { monotonicMs } from '../../node/util/clock.ts';
import { waitFor } from '../helpers/wait-for.ts';

const HC = { intervalMs: 200, timeoutMs: 100, failureThreshold: 3, successThreshold: 1 };
const CONTROLLERS = ['c-a', 'c-b', 'c-c'];

interface AuthPeer { member: string; role: string; peerId: string }
type FakeEvents = { event: (e: { type: string; member: string }) => void; 'clock-sample': (e: ClockSample) => void };
type FakeAuthEvents = { authenticated: (p: AuthPeer) => void; deauthenticated: (p: AuthPeer) => void };

// Just what the fence reads: the authenticated connections, when each peer was last heard, and the
// membership and auth events it listens to.
function fakeMembership() {
  const connected = new Set<string>();
  const heardAtMs = new Map<string, number>();
  const events = new Emitter<FakeEvents>((err) => { throw err; });
  const authEvents = new Emitter<FakeAuthEvents>((err) => { throw err; });
  const peer = (member: string): AuthPeer => ({ member, role: 'controller', peerId: `peer-${member}` });
  const node = {
    memberName: 'c-a',
    config: { healthCheck: HC, maxClockOffsetMs: 500 },
    authenticatedPeers: () => [...connected].map(peer),
    peer: (member: string) => (heardAtMs.has(member) ? { lastHeardAtMs: heardAtMs.get(member)! } : undefined),
    on: (e: keyof FakeEvents, l: never) => events.on(e, l),
    auth: { on: (e: keyof FakeAuthEvents, l: never) => authEvents.on(e, l) },
  } as unknown as MembershipNode;
  return {
    node, connected, heardAtMs, events,
    /** A peer authenticates (no heartbeat heard yet). */
    connect(member: string): void {
      connected.add(member);
      authEvents.emit('authenticated', peer(member));
    },
    /** Its connection goes away. */
    disconnect(member: string): void {
      connected.delete(member);
      authEvents.emit('deauthenticated', peer(member));
    },
    /** A heartbeat of `member` arrives now. */
    heartbeat(member: string): void {
      heardAtMs.set(member, monotonicMs());
    },
    /** A clock probe of `member`, whose clock reads `offsetMs` more than the real time, is answered now (1 ms round trip). */
    probed(member: string, offsetMs = 0): void {
      const now = monotonicMs();
      events.emit('clock-sample', { member, remoteMs: Date.now() + offsetMs, sentAtMs: now - 1, receivedAtMs: now });
    },
  };
}

// A logger that keeps every record.
function memoryLogger() {
  const lines: Array<{ level: number; msg: string; [k: string]: unknown }> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => { lines.push(JSON.parse(s)); } });
  return { logger, lines, messages: (msg: string) => lines.filter((l) => l.msg === msg) };
}

// Waiting for the monotonic clock itself (not a sleep): until a reused decision has expired.
function pastReuse(): void {
  const from = monotonicMs();
  while (monotonicMs() - from < DECISION_REUSE_MS);
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

function newFence(t: import('tap').Test, m: ReturnType<typeof fakeMembership>, logger?: import('pino').Logger): WriteFence {
  const fence = new WriteFence(m.node, resolveSplitBrain(m.node, CONTROLLERS, {}), undefined, logger === undefined ? {} : { logger });
  t.teardown(() => fence.stop());
  return fence;
}

t.test('a fenced minority refuses writes from the first decision after the cut', async (t) => {
  const m = fakeMembership();
  const fence = newFence(t, m);
  for (const c of ['c-b', 'c-c']) {
    m.connect(c);
    m.heartbeat(c);
  }
  pastReuse();
  t.ok(allowed(fence), 'all three reached: writes pass');
  t.same(fence.reachable(), CONTROLLERS);

  m.connected.clear();
  pastReuse();
  t.notOk(allowed(fence), 'both links closed: refused');
  t.notOk(allowed(fence), 'and refused again');
  t.equal(fence.counters.fenced, 2, 'every refused write is counted');
  await t.rejects(async () => fence.check(), { code: 'FENCED', reason: 'NO_QUORUM', message: /1 of 3 votes, threshold 2/ });

  m.connected.add('c-b');
  pastReuse();
  t.ok(allowed(fence), 'one peer back: a majority again');
  t.same(fence.reachable(), ['c-a', 'c-b']);
});

t.test('a silent peer stops counting once the contact window passes', async (t) => {
  const m = fakeMembership();
  const fence = newFence(t, m);
  m.connected.add('c-b'); // connected before the fence existed: counted from the fence's start
  const windowMs = HC.failureThreshold * HC.intervalMs + HC.timeoutMs;
  // Heard from just inside the window, then just outside it.
  m.heardAtMs.set('c-b', monotonicMs() - windowMs + 100);
  pastReuse();
  t.ok(allowed(fence), 'connected and in contact within the window: allowed');
  t.same(fence.reachable(monotonicMs() + windowMs), ['c-a'], 'connected but silent beyond the window: not reached');
});

t.test('a fresh authentication is contact: a reconnected controller counts before its first heartbeat', async (t) => {
  const m = fakeMembership();
  const fence = newFence(t, m);
  pastReuse();
  t.notOk(allowed(fence), 'alone: fenced');
  m.connect('c-b'); // authenticated; its peer table entry is old or absent
  pastReuse();
  t.same(fence.reachable(), ['c-a', 'c-b'], 'reached at once');
  t.ok(allowed(fence), 'writes accepted with no heartbeat heard');
  const windowMs = HC.failureThreshold * HC.intervalMs + HC.timeoutMs;
  t.same(fence.reachable(monotonicMs() + windowMs), ['c-a'], 'but only for one contact window without a heartbeat');
  m.disconnect('c-b');
  m.connect('c-b');
  t.same(fence.reachable(), ['c-a', 'c-b'], 'a re-authentication starts a new window');
});

t.test('a burst of writes within the reuse window gathers the inputs once', async (t) => {
  const m = fakeMembership();
  let gathered = 0;
  const authenticatedPeers = m.node.authenticatedPeers.bind(m.node);
  (m.node as { authenticatedPeers: () => unknown[] }).authenticatedPeers = () => {
    gathered++;
    return authenticatedPeers();
  };
  m.connected.add('c-b');
  m.heardAtMs.set('c-b', monotonicMs());
  const fence = newFence(t, m);
  gathered = 0;
  // However slow the machine, the inputs are gathered at most once per reuse window the burst spans
  // (twice per evaluation: the tally's reach and the timer's next deadline).
  const from = monotonicMs();
  for (let i = 0; i < 200; i++) fence.check();
  const windows = Math.ceil((monotonicMs() - from) / DECISION_REUSE_MS) + 1;
  t.ok(gathered <= 2 * windows, `membership read ${gathered} times for 200 writes over ${windows} reuse windows`);
});

t.test('a clock 8 s off from both peers fences with CLOCK_SKEW; it un-fences when it agrees again', async (t) => {
  for (const skewMs of [-8_000, 8_000]) {
    const m = fakeMembership();
    // This controller's physical clock, and its HLC's high-water mark (what its writes would be stamped with).
    const wall = { skewMs };
    let hlcWallMs = 0;
    const fence = new WriteFence(m.node, resolveSplitBrain(m.node, CONTROLLERS, {}), undefined, {
      wallClock: () => Date.now() + wall.skewMs,
      hlc: { highWater: () => ({ wallMs: hlcWallMs, logical: 0, member: 'c-a' }) },
    });
    t.teardown(() => fence.stop());
    for (const c of ['c-b', 'c-c']) {
      m.connect(c);
      m.probed(c);
    }
    pastReuse();
    await t.rejects(async () => fence.check(), { code: 'FENCED', reason: 'CLOCK_SKEW', message: /clock skew.*\(500 ms\) from c-b, c-c/ });
    t.match(fence.status(), { writesFenced: true, fenceReason: 'CLOCK_SKEW', clockSkewedPeers: ['c-b', 'c-c'], reachablePeers: '2/2', ourVotes: 1 });
    const est = fence.clockOffsets().get('c-b')!;
    t.ok(Math.abs(est.offsetMs + skewMs) < 100, `c-b measured ${est.offsetMs.toFixed(0)} ms off`);
    t.same(fence.votingControllers(), ['c-a'], 'only itself counts');

    // The clock is set right, but the HLC already stamped up to where the clock was: still off while
    // its stamps are (a clock that was ahead), agreeing again once real time passes them.
    hlcWallMs = Date.now() + Math.max(skewMs, 0);
    wall.skewMs = 0;
    pastReuse();
    t.equal(allowed(fence), skewMs < 0, skewMs < 0 ? 'a clock that was behind agrees at once' : 'a clock that was ahead: its HLC is still ahead, still fenced');
    hlcWallMs = Date.now();
    pastReuse();
    t.ok(allowed(fence), 'stamps agree again: writes pass, with no new heartbeat needed');
    t.match(fence.status(), { fenceReason: 'NONE', clockSkewedPeers: [] });
  }
});

t.test('say what happened: a cut is one fenced event and one log line, the heal one unfenced, with no write in between', async (t) => {
  const m = fakeMembership();
  const log = memoryLogger();
  const fence = newFence(t, m, log.logger);
  const fences: FenceEvent[] = [];
  const quorums: QuorumEvent[] = [];
  const phases: PhaseEvent[] = [];
  fence.on('fence', (e) => fences.push(e));
  fence.on('quorum', (e) => quorums.push(e));
  fence.on('phase', (e) => phases.push(e));
  t.equal(log.messages('writes fenced at start until quorum is reached').length, 1, 'the starting state is logged once');
  for (const c of ['c-b', 'c-c']) {
    m.connect(c);
    m.heartbeat(c);
  }
  await waitFor('unfenced after the peers authenticate', () => fences.length === 1, { timeoutMs: 5_000 });
  t.match(fences[0], { fenced: false, previousReason: 'NO_QUORUM', votes: 3, threshold: 2 });
  fences.length = 0;
  quorums.length = 0;
  const linesBefore = log.lines.length;

  // The cut: both connections go away. Nothing writes, nothing asks for status.
  m.disconnect('c-b');
  m.disconnect('c-c');
  await waitFor('the fence event', () => fences.length > 0, { timeoutMs: 5_000 });
  t.same(fences.map((e) => ({ fenced: e.fenced, reason: e.reason, votes: e.votes, threshold: e.threshold, reachable: e.reachable })),
    [{ fenced: true, reason: 'NO_QUORUM', votes: 1, threshold: 2, reachable: ['c-a'] }], 'exactly one: fenced, with reason and votes');
  t.same(quorums.map((e) => e.haveQuorum), [false], 'one quorum-lost event');
  const fenced = log.messages('writes fenced');
  t.equal(fenced.length, 1, 'one "writes fenced" line');
  t.match(fenced[0], { level: 40, reason: 'NO_QUORUM', votes: 1, threshold: 2, reachable: ['c-a'] }, 'at warn, with reason, votes and reachable peers');
  t.equal(log.messages('quorum lost').length, 1);
  t.equal(fence.transitionCounters.fenced.NO_QUORUM, 1, 'counted');
  pastReuse();
  t.notOk(allowed(fence));
  t.notOk(allowed(fence));
  t.equal(fences.length, 1, 'refused writes add no event');

  // The heal.
  m.connect('c-b');
  await waitFor('the unfence event', () => fences.length > 1, { timeoutMs: 5_000 });
  t.same(fences.slice(1).map((e) => [e.fenced, e.previousReason, e.votes]), [[false, 'NO_QUORUM', 2]], 'exactly one unfenced event');
  t.equal(log.messages('writes unfenced').filter((l) => log.lines.indexOf(l) >= linesBefore).length, 1, 'one "writes unfenced" line');
  t.match(log.messages('writes unfenced').at(-1), { level: 30, previousReason: 'NO_QUORUM' });
  t.same(quorums.map((e) => e.haveQuorum), [false, true]);
  t.equal(fence.transitionCounters.unfenced.NO_QUORUM, 2, 'counted (at start and at the heal)');
  t.ok(phases.some((p) => p.to === 'Suspected'), 'phase changes are events too');
  t.equal(log.messages('partition phase changed').length, phases.length + 1, 'one line per phase change (and one at start)');
});

t.test('a silent cut is reported when the contact window runs out, without a write', async (t) => {
  const m = fakeMembership();
  const fence = newFence(t, m);
  for (const c of ['c-b', 'c-c']) {
    m.connect(c);
    m.heartbeat(c);
  }
  const lastContactMs = monotonicMs(); // the links stay open; nothing is heard any more
  const fences: FenceEvent[] = [];
  fence.on('fence', (e) => fences.push(e));
  await waitFor('unfenced', () => !fence.status().writesFenced, { timeoutMs: 5_000 });
  fences.length = 0;
  const e = await waitFor('fenced by the window', () => fences.find((x) => x.fenced), { timeoutMs: 5_000 });
  const windowMs = HC.failureThreshold * HC.intervalMs + HC.timeoutMs;
  t.ok(e.atMs - lastContactMs >= windowMs - 5, `not before the window ran out (${(e.atMs - lastContactMs).toFixed(0)} ms after the last contact)`);
  t.match(e, { reason: 'NO_QUORUM', reachable: ['c-a'] });
});
