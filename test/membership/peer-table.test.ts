// Peer table behaviour besides the detector rule: identity, staleness, bounds, leave and rejoin,
// Merkle-root and RTT bookkeeping, and randomized invariants of the detector.

import t from 'tap';
import fc from 'fast-check';
import { PeerTable } from '../../membership/peer-table.ts';
import { FakeClockTable, PEER_IDS, heartbeat } from '../helpers/heartbeats.ts';

const hc = { intervalMs: 100, timeoutMs: 40, failureThreshold: 3, successThreshold: 1 };

t.test('a heartbeat claiming the local member is refused as self', async (t) => {
  const f = new FakeClockTable(hc, 0, 'local');
  t.equal(f.send('local').rejected?.reason, 'self');
  t.equal(f.table.stats().rejected.self, 1);
  t.equal(f.table.stats().members, 0);
});

t.test('replayed and reordered heartbeats are refused as stale', async (t) => {
  const table = new PeerTable({ self: 'local', healthCheck: hc });
  const h2 = heartbeat('c1', 2000);
  t.same(table.heartbeat(h2, 0).rejected, undefined);
  t.equal(table.heartbeat(h2, 10).rejected?.reason, 'stale', 'same stamp: a replay');
  t.equal(table.heartbeat(heartbeat('c1', 1999), 20).rejected?.reason, 'stale', 'older stamp: reordered');
  t.same(table.heartbeat({ ...h2, hlc: { ...h2.hlc, logical: 1 } }, 30).rejected, undefined, 'logical tick is newer');
  t.equal(table.get('c1')?.heartbeats, 2);
  t.equal(table.stats().rejected.stale, 2);
});

t.test('another peer ID claiming a live member is refused; a dead member may come back with a new key', async (t) => {
  const f = new FakeClockTable(hc);
  f.send('c1', { peerId: PEER_IDS[0] });
  const clash = f.send('c1', { peerId: PEER_IDS[1] });
  t.equal(clash.rejected?.reason, 'member_conflict', 'refused while Healthy');
  t.equal(f.table.get('c1')?.peerId, PEER_IDS[0], 'the live identity is kept');
  f.runUntil(f.nowMs + 3 * 100 + 40, 50);
  t.equal(f.state('c1'), 'Unhealthy');
  const back = f.send('c1', { peerId: PEER_IDS[1], hlc: { wallMs: 5, logical: 0, member: 'c1' } });
  t.equal(back.rejected, undefined, 'accepted once the old identity is dead, even with a lower HLC');
  t.match(back.events, [
    { type: 'identity-changed', member: 'c1', fromPeerId: PEER_IDS[0], toPeerId: PEER_IDS[1] },
    { type: 'state-changed', member: 'c1', from: 'Unhealthy', to: 'Healthy' },
  ]);
  t.equal(f.table.get('c1')?.peerId, PEER_IDS[1]);
});

t.test('leave: by notice or by a leaving heartbeat; rejoin needs a newer heartbeat', async (t) => {
  const f = new FakeClockTable(hc);
  f.send('c1');
  f.send('c2');
  t.match(f.leave('c1').events, [{ type: 'state-changed', member: 'c1', from: 'Healthy', to: 'Left' }]);
  t.equal(f.leave('nobody').rejected?.reason, 'unknown_member');
  const bye = f.send('c2', { leaving: true });
  t.match(bye.events, [{ type: 'state-changed', member: 'c2', to: 'Left' }]);
  f.runUntil(f.nowMs + 2000, 50);
  t.equal(f.state('c1'), 'Left', 'no failure detection for members that left');
  t.equal(f.state('c2'), 'Left');
  t.same(f.changes('c1'), ['Healthy>Left']);
  const old = f.table.heartbeat(heartbeat('c2', 1), f.nowMs);
  t.equal(old.rejected?.reason, 'stale', 'a delayed pre-leave heartbeat does not resurrect it');
  const rejoin = f.send('c2');
  t.match(rejoin.events, [{ type: 'state-changed', member: 'c2', from: 'Left', to: 'Healthy' }], 'a newer one does');
  t.same(f.send('ghost', { leaving: true }).events, [], 'a stranger saying goodbye changes nothing');
  t.equal(f.table.get('ghost'), undefined);
});

t.test('the table is bounded: departed members make room, live or failed ones never do', async (t) => {
  const table = new PeerTable({ self: 'local', healthCheck: hc, membersMax: 3 });
  let now = 0;
  for (const m of ['m1', 'm2', 'm3']) table.heartbeat(heartbeat(m, ++now), now);
  const full = table.heartbeat(heartbeat('m4', ++now), now);
  t.equal(full.rejected?.reason, 'table_full');
  table.leave('m2', now);
  const room = table.heartbeat(heartbeat('m4', ++now), now);
  t.match(room.events, [{ type: 'removed', member: 'm2' }, { type: 'joined', member: 'm4' }]);
  t.same(table.peers().map((p) => p.member), ['m1', 'm3', 'm4']);
  for (let k = 0; k < 10; k++) table.tick((now += 100)); // everyone fails
  t.equal(table.heartbeat(heartbeat('m5', ++now), now).rejected?.reason, 'table_full', 'Unhealthy members are kept');
  t.equal(table.stats().rejected.table_full, 2);
});

t.test('Merkle-root changes are reported; fields of the last heartbeat are exposed', async (t) => {
  const f = new FakeClockTable(hc);
  f.send('c1', { merkleRoot: 'aa', reachable: ['c2'], agentCount: 2 });
  t.same(f.send('c1', { merkleRoot: 'aa' }).events, [], 'same root: no event');
  t.match(f.send('c1', { merkleRoot: 'bb', quorum: { haveQuorum: false, votes: 1, threshold: 2 } }).events,
    [{ type: 'merkle-root-changed', member: 'c1', from: 'aa', to: 'bb' }]);
  t.match(f.table.get('c1'), { merkleRoot: 'bb', agentCount: 0, reachable: [], quorum: { haveQuorum: false, votes: 1, threshold: 2 }, heartbeats: 3 });
});

t.test('reported RTTs come from the last heartbeat only, and views do not share them', async (t) => {
  const f = new FakeClockTable(hc);
  f.send('a1', { role: 'agent', rttMs: { c1: 1.5, c2: 30 } });
  const v = f.table.get('a1')!;
  t.same({ ...v.reportedRttMs }, { c1: 1.5, c2: 30 });
  t.equal(v.reportedRttMs?.constructor, undefined, 'no prototype: absent names read as undefined');
  t.not(f.table.get('a1')!.reportedRttMs, v.reportedRttMs, 'each view has its own copy');
  f.send('a1', { role: 'agent', rttMs: { c2: 28 } });
  t.same({ ...f.table.get('a1')!.reportedRttMs }, { c2: 28 }, 'replaced, not merged');
  f.send('a1', { role: 'agent' });
  t.equal(f.table.get('a1')!.reportedRttMs, undefined, 'a heartbeat without a report clears it');
});

t.test('times in views are caller-clock times of the events, even across clamped stalls', async (t) => {
  const f = new FakeClockTable({ ...hc, successThreshold: 2 });
  f.send('c1');
  f.tickAt(f.nowMs + 100);
  f.send('c1');
  f.runUntil(f.nowMs + 3 * 100 + 40, 50);
  const downAt = f.nowMs;
  t.equal(f.state('c1'), 'Unhealthy');
  t.equal(f.table.get('c1')?.stateSinceMs, downAt, 'stateSinceMs is when it went Unhealthy');
  t.equal(f.table.get('c1')?.passingSinceMs, undefined, 'no run of passes while failing');
  const backAt = f.nowMs + 50;
  f.tickAt(backAt);
  f.send('c1');
  t.equal(f.table.get('c1')?.passingSinceMs, backAt, 'the run of passes starts at the first heartbeat back');
  f.tickAt(f.nowMs + 5_000); // a stall: clamped, 4 900 ms not counted as silence
  t.equal(f.table.stats().clockLostMs, 5_000 - 100);
  f.send('c1');
  t.equal(f.state('c1'), 'Healthy', 'proven by its second heartbeat');
  t.equal(f.table.get('c1')?.passingSinceMs, backAt, 'still the caller time of the first one');
  t.equal(f.table.get('c1')?.stateSinceMs, f.nowMs);
});

t.test('RTT samples are smoothed and bounded', async (t) => {
  const table = new PeerTable({ self: 'local', healthCheck: hc });
  table.heartbeat(heartbeat('c1', 1), 0);
  t.equal(table.rtt('c9', 1, 0).rejected?.reason, 'unknown_member');
  for (const bad of [-1, Number.NaN, Infinity, 60_001]) t.equal(table.rtt('c1', bad, 0).rejected?.reason, 'bad_rtt', `refuses ${bad}`);
  t.equal(table.get('c1')?.rtt, undefined, 'bad samples left no trace');
  table.rtt('c1', 8, 1);
  t.same(table.get('c1')?.rtt, { smoothedMs: 8, lastMs: 8, minMs: 8, samples: 1 });
  table.rtt('c1', 16, 2);
  t.same(table.get('c1')?.rtt, { smoothedMs: 9, lastMs: 16, minMs: 8, samples: 2 });
  t.equal(table.stats().rejected.bad_rtt, 4);
});

t.test('options are validated', async (t) => {
  t.throws(() => new PeerTable({ self: 'Local!', healthCheck: hc }), /not a member name/);
  t.throws(() => new PeerTable({ self: 'l', healthCheck: { ...hc, timeoutMs: 100 } }), /healthCheck.timeoutMs must be less than intervalMs/);
  t.throws(() => new PeerTable({ self: 'l', healthCheck: { ...hc, failureThreshold: 0 } }), /failureThreshold/);
  t.throws(() => new PeerTable({ self: 'l', healthCheck: hc, membersMax: 0 }), /membersMax/);
});

// Randomized: gaps between heartbeats and tick cadence are random (fast-check prints the seed and
// the shrunk counterexample on failure).
t.test('property: a member whose heartbeats are never more than timeoutMs late is never suspected', async () => {
  fc.assert(fc.property(
    fc.record({ intervalMs: fc.integer({ min: 20, max: 1000 }), f: fc.integer({ min: 1, max: 5 }), s: fc.integer({ min: 1, max: 3 }) })
      .chain(({ intervalMs, f, s }) => fc.record({
        intervalMs: fc.constant(intervalMs), f: fc.constant(f), s: fc.constant(s),
        timeoutMs: fc.integer({ min: 1, max: intervalMs - 1 }),
      }))
      .chain((h) => fc.record({
        h: fc.constant(h),
        gaps: fc.array(fc.integer({ min: 1, max: h.intervalMs + h.timeoutMs - 1 }), { minLength: 1, maxLength: 60 }),
        tickStep: fc.integer({ min: 1, max: h.intervalMs }),
      })),
    ({ h, gaps, tickStep }) => {
      const f = new FakeClockTable({ intervalMs: h.intervalMs, timeoutMs: h.timeoutMs, failureThreshold: h.f, successThreshold: 1 });
      f.send('c1');
      for (const gap of gaps) {
        f.runUntil(f.nowMs + gap, tickStep);
        f.send('c1');
        if (f.state('c1') !== 'Healthy') return false;
      }
      return f.changes('c1').length === 0;
    },
  ));
});

t.test('property: a member that stops is Unhealthy exactly at L + F*I + T, whatever the tick cadence', async () => {
  fc.assert(fc.property(
    fc.integer({ min: 20, max: 1000 }).chain((intervalMs) => fc.record({
      intervalMs: fc.constant(intervalMs),
      timeoutMs: fc.integer({ min: 1, max: intervalMs - 1 }),
      f: fc.integer({ min: 1, max: 6 }),
      tickStep: fc.integer({ min: 1, max: intervalMs }),
      warmup: fc.integer({ min: 0, max: 20 }),
    })),
    ({ intervalMs, timeoutMs, f: F, tickStep, warmup }) => {
      const f = new FakeClockTable({ intervalMs, timeoutMs, failureThreshold: F, successThreshold: 1 });
      f.send('c1');
      for (let k = 0; k < warmup; k++) { f.runUntil(f.nowMs + intervalMs, tickStep); f.send('c1'); }
      const L = f.nowMs;
      const bound = L + F * intervalMs + timeoutMs;
      f.runUntil(bound - 1, tickStep);
      if (f.state('c1') === 'Unhealthy') return false;
      f.tickAt(bound);
      return f.state('c1') === 'Unhealthy' && bound - L < (F + 1) * intervalMs;
    },
  ));
});
