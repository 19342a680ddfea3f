// Quorum-ack counting (quorum/ack-count.ts), the rule the replicator's quorum-durable writes use:
// table cases for each verdict, then properties over random acknowledgement sequences: only stored
// copies count, "held" is exactly a weighted majority of the controllers (every controller weighing
// the same), it never flips back, and the verdicts agree with a reference written from the design.

import t from 'tap';
import fc from 'fast-check';
import { QuorumAckCount, type AckVerdict } from '../../quorum/ack-count.ts';
import { isStrictMajority, weightedThreshold } from '../../quorum/threshold.ts';
import { check, runs } from '../helpers/fc-run.ts';

const C3 = ['c1', 'c2', 'c3'];
const C5 = ['c1', 'c2', 'c3', 'c4', 'c5'];

t.test('three controllers: one stored copy on top of the writer\'s is a majority, refusals never are', async (t) => {
  const a = new QuorumAckCount(C3, 'c1');
  t.equal(a.copiesNeeded, 2);
  t.equal(a.peersNeeded, 1);
  t.equal(a.verdict(['c2', 'c3']), 'waiting', 'nothing acknowledged yet, both peers reachable');
  t.ok(a.refused('c2', 'clock_skew'));
  t.equal(a.verdict(['c2', 'c3']), 'waiting', 'c3 may still store it');
  t.notOk(a.held());
  a.stored('c3');
  t.equal(a.verdict(['c2', 'c3']), 'held', 'the stored copy makes the quorum');
  t.equal(a.copies, 2);
  t.same(a.refusals(), [{ member: 'c2', reason: 'clock_skew' }], 'the refusal is reported, never counted');

  const b = new QuorumAckCount(C3, 'c1');
  b.refused('c2', 'clock_skew');
  b.refused('c3', 'invalid_resource');
  t.equal(b.verdict(['c2', 'c3']), 'refused', 'every peer refused: a majority can no longer hold it');
  t.equal(b.copies, 1, 'refused copies are not copies');
  t.same(b.refusals().map((r) => r.member), ['c2', 'c3']);
});

t.test('unreachable peers: unavailable, unless refusals are why it cannot be held', async (t) => {
  const a = new QuorumAckCount(C5, 'c1');
  t.equal(a.verdict([]), 'unavailable', 'nothing reachable');
  t.equal(a.verdict(['c2']), 'unavailable', 'two of five reachable');
  t.equal(a.verdict(['c2', 'c3']), 'waiting', 'three of five reachable');
  a.refused('c2', 'clock_skew');
  t.equal(a.verdict(['c2', 'c3']), 'refused', 'reachable enough but for a refusal');
  t.equal(a.verdict(['c3']), 'unavailable', 'too few reachable, refusal or not');
  a.refused('c3', 'clock_skew');
  a.refused('c4', 'clock_skew');
  t.equal(a.verdict([]), 'refused', 'three of four peers refused: too few left that could store it');
  t.equal(a.reachableCount(['c2', 'c2', 'zz', 'c1']), 2, 'the writer, plus each configured peer once');
});

t.test('which acknowledgements count', async (t) => {
  const a = new QuorumAckCount(C3, 'c1');
  a.stored('c1');
  a.stored('zz');
  t.equal(a.copies, 1, 'the writer\'s own ack and strangers\' are ignored');
  t.notOk(a.refused('zz', 'clock_skew'), 'a stranger\'s refusal is ignored');
  a.refused('c2', 'clock_skew');
  a.stored('c2');
  t.same(a.refusals(), [], 'a store after a refusal clears it');
  t.ok(a.held());
  t.notOk(a.refused('c2', 'clock_skew'), 'a refusal after a store changes nothing');
  t.equal(a.verdict([]), 'held', 'held stays held whatever is reachable');
  t.equal(new QuorumAckCount(['c1'], 'c1').verdict([]), 'held', 'one controller: the writer\'s copy is the quorum');
  t.throws(() => new QuorumAckCount(C3, 'c9'), RangeError);
});

// Random acknowledgement sequences: events from peers, the writer and a stranger.
const event = fc.record({
  member: fc.constantFrom(...C5, 'zz'),
  stored: fc.boolean(),
  reason: fc.constantFrom('clock_skew', 'invalid_resource'),
});
const scenario = fc.record({
  n: fc.integer({ min: 1, max: 5 }),
  events: fc.array(event, { maxLength: 12 }),
  reachable: fc.subarray([...C5, 'zz']),
  weight: fc.integer({ min: 1, max: 100 }),
});

// The design's rule stated over copies, independently of the implementation.
function reference(controllers: string[], events: Array<{ member: string; stored: boolean }>, reachable: string[]): AckVerdict {
  const peers = controllers.slice(1);
  const storedBy = new Set(events.filter((e) => e.stored && peers.includes(e.member)).map((e) => e.member));
  const refusedBy = new Set(events.filter((e) => !e.stored && peers.includes(e.member) && !storedBy.has(e.member)).map((e) => e.member));
  const n = controllers.length;
  if (isStrictMajority(1 + storedBy.size, n)) return 'held';
  const reach = peers.filter((p) => reachable.includes(p) && !storedBy.has(p));
  if (isStrictMajority(1 + storedBy.size + reach.filter((p) => !refusedBy.has(p)).length, n)) return 'waiting';
  const notRefused = peers.length - refusedBy.size;
  if (!isStrictMajority(1 + notRefused, n) || isStrictMajority(1 + storedBy.size + reach.length, n)) return 'refused';
  return 'unavailable';
}

t.test('properties over random acknowledgement sequences', async (t) => {
  check(t, fc.property(scenario, ({ n, events, reachable, weight }) => {
    const controllers = C5.slice(0, n);
    const a = new QuorumAckCount(controllers, 'c1');
    let wasHeld = a.held();
    for (const e of events) {
      if (e.stored) a.stored(e.member); else a.refused(e.member, e.reason);
      if (wasHeld && !a.held()) return false; // held never flips back
      wasHeld = a.held();
    }
    const storedPeers = new Set(events.filter((e) => e.stored && controllers.includes(e.member) && e.member !== 'c1').map((e) => e.member));
    // Only stored copies count, and held is exactly a weighted majority with equal weights.
    if (a.copies !== 1 + storedPeers.size) return false;
    if (a.held() !== (weight * a.copies >= weightedThreshold(weight * n))) return false;
    return a.verdict(reachable) === reference(controllers, events, reachable);
  }), runs(2_000));
  check(t, fc.property(scenario, ({ n, events, reachable }) => {
    // Refusals alone never hold a write on more than one controller.
    const a = new QuorumAckCount(C5.slice(0, n), 'c1');
    for (const e of events) a.refused(e.member, e.reason);
    return n === 1 ? a.verdict(reachable) === 'held' : a.verdict(reachable) !== 'held' && a.copies === 1;
  }), runs(500));
});
