// The vote-lease exchange end to end on in-memory duplexes (it-pair), with a fake clock: controllers'
// VoteCollectors asking agents' VoteResponders. Checks grants, every refusal, failover with
// exclusivity (the new controller counts the vote only once the old lease expired, and the old one
// stops first), deadlines, mismatched answers and bounded concurrency.
import t from 'tap';
import { duplexPair } from 'it-pair/duplex';
import { MessageStream } from '../../node/wire/message-stream.ts';
import { VoteCollector, type VoteCollectorOptions } from '../../node/votes/vote-collector.ts';
import { VoteResponder } from '../../node/votes/vote-responder.ts';
import { voteStreamOptions } from '../../node/votes/vote-messages.ts';
import { REAL_RANDOM, type TimerComponents } from '../../node/components.ts';
import { TEST_TIMERS } from '../helpers/test-timers.ts';

const LEASE = 1500;
const DRIFT = 100;
const EPOCH_MS = 1_767_225_600_000;

// A little world: a fake clock, agents (responders) with a settable primary, and a way to build
// collectors whose streams reach them.
function world() {
  const clock = { now: 10_000 };
  // The fake clock reads the time; deadlines run on real timers.
  const timers: TimerComponents = { ...TEST_TIMERS, nowMs: () => clock.now };
  const primaries = new Map<string, string | undefined>();
  const responders = new Map<string, VoteResponder>();
  // Each agent's wall clock: epoch + the fake clock + its offset (ms).
  const offsets = new Map<string, number>();
  const agentClock = (name: string): { stampMs: number; physicalMs: number } => {
    const physicalMs = EPOCH_MS + clock.now + (offsets.get(name) ?? 0);
    return { stampMs: physicalMs, physicalMs };
  };
  const addAgent = (name: string, primary: string | undefined, startedAtMs = 0): VoteResponder => {
    primaries.set(name, primary);
    const r = new VoteResponder({ primary: () => primaries.get(name), readClock: () => agentClock(name), ioTimeoutMs: 1000, timers, startedAtMs });
    r.learnLeaseMs(LEASE);
    responders.set(name, r);
    return r;
  };
  const collector = (self: string, over: Partial<VoteCollectorOptions> = {}): VoteCollector => new VoteCollector({
    leaseMs: LEASE, driftMarginMs: DRIFT, incarnation: `${self}-1`, timers, random: REAL_RANDOM,
    agents: () => [...responders.keys()],
    open: async (agent) => {
      const [c, s] = duplexPair<any>();
      void responders.get(agent)!.serve(s, self).catch(() => undefined);
      return { duplex: c, close: async () => undefined };
    },
    ...over,
  });
  return { clock, timers, primaries, responders, offsets, addAgent, collector };
}

t.test('the primary gets the vote; others are refused not_primary', async (t) => {
  const w = world();
  w.addAgent('a1', 'c-a');
  const ca = w.collector('c-a');
  const cb = w.collector('c-b');
  t.equal(await ca.request('a1'), 'counted');
  t.equal(await cb.request('a1'), 'refused');
  t.equal(cb.lastRefusal('a1'), 'not_primary');
  t.same(ca.countedAgents(), ['a1']);
  t.same(cb.countedAgents(), []);
  t.equal(ca.table.validUntilMs('a1'), 10_000 + LEASE - DRIFT, 'anchored at the send, minus the drift margin');
  w.clock.now += LEASE - DRIFT;
  t.same(ca.countedAgents(), [], 'no longer counted at the anchored end');
  t.same(w.responders.get('a1')!.status(), { leaseMs: LEASE, holder: 'c-a', expiresAtMs: 10_000 + LEASE, knownEpoch: 0, granted: 1, refused: 1, errors: 0 },
    'the agent still holds it: the controller stopped first');
});

t.test('events: the agent reports each grant, the controller each counted interval, never beyond the grant', async (t) => {
  const w = world();
  const agent = w.addAgent('a1', 'c-a');
  const granted: Array<{ controller: string; grantedAtMs: number; expiresAtMs: number }> = [];
  const counted: Array<{ agent: string; fromMs: number; untilMs: number }> = [];
  agent.on('granted', (l) => granted.push({ ...l }));
  const ca = w.collector('c-a');
  ca.on('counted', (e) => counted.push(e));
  t.equal(await ca.request('a1'), 'counted');
  w.clock.now += 400;
  t.equal(await ca.request('a1'), 'counted', 'renewed');
  t.same(granted, [
    { controller: 'c-a', grantedAtMs: 10_000, expiresAtMs: 10_000 + LEASE },
    { controller: 'c-a', grantedAtMs: 10_400, expiresAtMs: 10_400 + LEASE },
  ]);
  t.same(counted, [
    { agent: 'a1', fromMs: 10_000, untilMs: 10_000 + LEASE - DRIFT },
    { agent: 'a1', fromMs: 10_400, untilMs: 10_400 + LEASE - DRIFT },
  ]);
  // A refusal is neither granted nor counted.
  const cb = w.collector('c-b');
  cb.on('counted', (e) => counted.push(e));
  t.equal(await cb.request('a1'), 'refused');
  t.equal(granted.length, 2);
  t.equal(counted.length, 2);
});

t.test('a starting agent, or one that does not know the lease yet, refuses', async (t) => {
  const w = world();
  w.addAgent('a1', 'c-a', w.clock.now);
  const ca = w.collector('c-a');
  t.equal(await ca.request('a1'), 'refused');
  t.equal(ca.lastRefusal('a1'), 'starting', 'grants nothing during the first lease after start');
  w.clock.now += LEASE;
  t.equal(await ca.request('a1'), 'counted');
  const fresh = new VoteResponder({ primary: () => 'c-a', readClock: () => ({ stampMs: 5, physicalMs: 5 }), ioTimeoutMs: 1000, timers: w.timers, startedAtMs: 0 });
  t.match(fresh.answer('c-a', { t: 'request', id: 'x/1', v: 1 }), { t: 'refused', reason: 'starting' }, 'no lease duration learned yet');
  fresh.learnLeaseMs(LEASE);
  fresh.learnLeaseMs(LEASE * 2);
  t.equal(fresh.status().leaseMs, LEASE, 'the first duration learned is kept');
  t.equal(fresh.counters.leaseMismatches, 1);
  t.match(fresh.answer('c-a', { t: 'request', id: 'x/3', v: 4 }), { t: 'refused', reason: 'unsupported_version' });
});

t.test('a grant carries the agent\'s clocks, read between the request and the answer: a clock sample before the grant counts', async (t) => {
  const w = world();
  w.addAgent('a1', 'c-a');
  w.offsets.set('a1', -4_000);
  const ca = w.collector('c-a');
  const seen: string[] = [];
  ca.on('clock-sample', (c) => {
    seen.push(`sample ${c.member}`);
    t.same(c.remote, { stampMs: EPOCH_MS + 10_000 - 4_000, physicalMs: EPOCH_MS + 10_000 - 4_000 }, 'the agent\'s own clock, 4 s behind');
    t.equal(c.sentAtMs, 10_000);
    t.equal(c.receivedAtMs, 10_000);
    t.same(ca.countedAgents(), [], 'emitted before the grant is counted (the fence judges the clock first)');
  });
  ca.on('counted', (e) => seen.push(`counted ${e.agent}`));
  t.equal(await ca.request('a1'), 'counted');
  t.same(seen, ['sample a1', 'counted a1']);
  // A version-1 request (an older controller) still gets its grant, without clocks.
  const a1 = w.responders.get('a1')!;
  t.same(a1.answer('c-a', { t: 'request', id: 'old/1', v: 1 }), { t: 'grant', id: 'old/1', durationMs: LEASE });
  t.match(a1.answer('c-a', { t: 'request', id: 'new/1', v: 2 }), { t: 'grant', clock: { physicalMs: EPOCH_MS + 10_000 - 4_000 } });
});

t.test('failover: the vote moves only after the old lease expired, and the old controller stops first', async (t) => {
  const w = world();
  const agent = w.addAgent('a1', 'c-b');
  const ca = w.collector('c-a');
  const cb = w.collector('c-b');
  t.equal(await cb.request('a1'), 'counted');
  w.clock.now += 400;
  t.equal(await cb.request('a1'), 'counted', 'renewed');
  const expiry = agent.held()!.expiresAtMs;
  w.primaries.set('a1', 'c-a'); // the agent failed over to c-a
  w.clock.now += 100;
  t.equal(await cb.request('a1'), 'refused', 'the old controller is no longer renewed');
  t.equal(cb.lastRefusal('a1'), 'not_primary');
  for (; w.clock.now < expiry + 200; w.clock.now += 50) {
    const r = await ca.request('a1');
    t.ok(!(ca.counts('a1') && cb.counts('a1')), `never counted by both (at ${w.clock.now})`);
    if (w.clock.now < expiry) t.equal(r, 'refused', `held_by_other before ${expiry}`);
  }
  t.ok(cb.table.validUntilMs('a1')! <= expiry, 'c-b stopped counting before the agent freed its vote');
  t.ok(ca.counts('a1'), 'c-a counts it once free');
  t.equal(ca.lastRefusal('a1'), undefined);
});

t.test('an agent that never answers: the exchange ends at its deadline and frees its slot', async (t) => {
  // Deadlines use AbortSignal.timeout, whose timer does not keep the process alive (in a node the
  // sockets do): keep this test's event loop alive while it waits.
  const keepAlive = setInterval(() => undefined, 1000);
  t.teardown(() => clearInterval(keepAlive));
  const w = world();
  w.addAgent('a1', 'c-a');
  const silent = w.collector('c-a', {
    requestTimeoutMs: 50,
    open: async () => ({ duplex: duplexPair<any>()[0], close: async () => undefined }),
  });
  t.equal(await silent.request('a1'), 'failed');
  t.same(silent.table.pendingRequests('a1'), [], 'the request was ended');
  t.equal(silent.counters.failures, 1);
});

t.test('an answer to another request is a protocol error, and counts nothing', async (t) => {
  const w = world();
  w.addAgent('a1', 'c-a');
  const liar = w.collector('c-a', {
    open: async () => {
      const [c, s] = duplexPair<any>();
      void (async () => {
        const ms = new MessageStream(s, voteStreamOptions(TEST_TIMERS, 1000));
        await ms.read();
        await ms.write({ t: 'grant', id: 'someone-else/1', durationMs: LEASE });
      })();
      return { duplex: c, close: async () => undefined };
    },
  });
  t.equal(await liar.request('a1'), 'failed');
  t.same(liar.countedAgents(), []);
});

t.test('a malformed request is refused by the agent without granting', async (t) => {
  const w = world();
  const agent = w.addAgent('a1', 'c-a');
  const [c, s] = duplexPair<any>();
  const served = agent.serve(s, 'c-a');
  await new MessageStream(c, voteStreamOptions(TEST_TIMERS, 1000)).write({ t: 'request', id: '', v: 1 });
  await t.rejects(served, { code: 'PROTOCOL' });
  t.equal(agent.held(), undefined);
  t.equal(agent.counters.errors, 1);
});

t.test('rounds ask every agent with bounded concurrency, one exchange per agent at a time', async (t) => {
  const w = world();
  for (let i = 0; i < 6; i++) w.addAgent(`a${i}`, 'c-a');
  let open = 0;
  let maxOpen = 0;
  const c = w.collector('c-a', {
    concurrencyMax: 2,
    open: async (agent, signal) => {
      open++;
      maxOpen = Math.max(maxOpen, open);
      await new Promise((r) => setTimeout(r, 10));
      const [d, s] = duplexPair<any>();
      void w.responders.get(agent)!.serve(s, 'c-a').catch(() => undefined);
      void signal;
      return { duplex: d, close: async () => { open--; } };
    },
  });
  await Promise.all([c.round(), c.round()]);
  t.equal(maxOpen, 2, 'at most two exchanges at once');
  t.equal(c.counters.requests, 6, 'each agent asked once although two rounds overlapped');
  t.same(c.countedAgents(), ['a0', 'a1', 'a2', 'a3', 'a4', 'a5']);
});

t.test('membership epochs: a grant repeats the epoch asked at, an agent refuses a controller behind it and saves the epoch first', async (t) => {
  const w = world();
  const saved: number[] = [];
  const r = new VoteResponder({
    primary: () => w.primaries.get('a1'), readClock: () => ({ stampMs: EPOCH_MS, physicalMs: EPOCH_MS }), ioTimeoutMs: 1000, timers: w.timers, startedAtMs: 0,
    knownEpoch: 2, saveEpoch: async (e) => { saved.push(e); },
  });
  r.learnLeaseMs(LEASE);
  w.primaries.set('a1', 'c-a');
  w.responders.set('a1', r);
  const epoch = { value: 1 };
  const ca = w.collector('c-a', { epoch: () => epoch.value });
  t.equal(await ca.request('a1'), 'refused', 'epoch 1 is behind the 2 it saved in an earlier life');
  t.equal(ca.lastRefusal('a1'), 'old_epoch');
  epoch.value = 3;
  t.equal(await ca.request('a1'), 'counted');
  t.same(saved, [3], 'the new epoch saved before the grant was answered');
  t.same(ca.table.countedAtEpoch(w.clock.now, 3), ['a1'], 'the controller knows a1 voted on its epoch');
  t.equal(r.status().knownEpoch, 3);
  t.equal(await ca.request('a1'), 'counted');
  t.same(saved, [3], 'a renewal on the same epoch saves nothing');
  // A save that fails grants nothing.
  const failing = new VoteResponder({
    primary: () => 'c-b', readClock: () => ({ stampMs: EPOCH_MS, physicalMs: EPOCH_MS }), ioTimeoutMs: 1000, timers: w.timers, startedAtMs: 0,
    saveEpoch: async () => { throw new Error('disk full'); },
  });
  failing.learnLeaseMs(LEASE);
  w.responders.set('a2', failing);
  const cb = w.collector('c-b', { epoch: () => 4 });
  t.equal(await cb.request('a2'), 'failed', 'no answer when the epoch could not be saved');
  t.same(cb.countedAgents(), []);
});

t.test('an agent that does not speak vote-lease 3 is asked in version 2: its vote counts, not as one on the epoch', async (t) => {
  const w = world();
  const ca = w.collector('c-a', {
    epoch: () => 5,
    // An older agent: refuses version 3, grants version 2 without an epoch.
    open: async () => {
      const [c, s] = duplexPair<any>();
      void (async () => {
        const stream = new MessageStream(s, voteStreamOptions(w.timers, 1000));
        const req = await stream.read() as { id: string; v: number };
        await stream.write(req.v >= 3
          ? { t: 'refused', id: req.id, reason: 'unsupported_version', message: 'vote-lease version 3 not supported (1, 2)' }
          : { t: 'grant', id: req.id, durationMs: LEASE, clock: { stampMs: EPOCH_MS, physicalMs: EPOCH_MS } });
      })().catch(() => undefined);
      return { duplex: c, close: async () => undefined };
    },
    agents: () => ['old'],
  });
  t.equal(await ca.request('old'), 'refused');
  t.equal(await ca.request('old'), 'counted', 'asked again in version 2');
  t.same(ca.countedAgents(), ['old']);
  t.same(ca.table.countedAtEpoch(w.clock.now, 5), [], 'not counted as an agent on epoch 5: it would not refuse a controller behind it');
});
