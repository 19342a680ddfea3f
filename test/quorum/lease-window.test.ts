// AgentAssisted: the controller contact window must fit in a counted lease (quorum/lease-window.ts).
// A lease that does not fit is reported with the figures of the refusal; without an explicit lease
// the shortest whole-second lease that fits is taken, never below the default.
import t from 'tap';
import fc from 'fast-check';
import { minDriftMarginMs } from '../../quorum/clock-drift.ts';
import { contactWindowMs } from '../../quorum/controller-contacts.ts';
import { defaultLeaseForWindow, LEASE_STEP_MS, leaseWindowMismatch } from '../../quorum/lease-window.ts';
import { QUORUM_DEFAULTS, quorumConfig } from '../../quorum/quorum-config.ts';
import { check, runs } from '../helpers/fc-run.ts';

const AA = { mode: 'AgentAssisted' as const };

t.test('leaseWindowMismatch: fits up to leaseMs − driftMarginMs; Controllers mode counts no lease', async (t) => {
  t.equal(leaseWindowMismatch({ ...AA, leaseMs: 36_000, driftMarginMs: 1_000 }, 35_000), undefined, 'exactly fits');
  t.same(leaseWindowMismatch({ ...AA, leaseMs: 10_000, driftMarginMs: 1_000 }, 35_000), { contactWindowMs: 35_000, leaseWindowMs: 9_000, minLeaseMs: 36_000 });
  t.equal(leaseWindowMismatch({ mode: 'Controllers', leaseMs: 10_000, driftMarginMs: 1_000 }, 35_000), undefined);
});

t.test('defaultLeaseForWindow: the default health check and a fast one', async (t) => {
  t.same(defaultLeaseForWindow(35_000), { leaseMs: 36_000, driftMarginMs: 1_000 }, '3 × 10 s + 5 s');
  t.same(defaultLeaseForWindow(700), { leaseMs: QUORUM_DEFAULTS.leaseMs, driftMarginMs: QUORUM_DEFAULTS.driftMarginMs }, 'never below the default');
  t.same(defaultLeaseForWindow(200_000), { leaseMs: 205_000, driftMarginMs: minDriftMarginMs(205_000) }, 'the margin grows with the lease');
  t.same(defaultLeaseForWindow(35_000, 4_000), { leaseMs: 39_000, driftMarginMs: 4_000 }, 'a given margin is kept');
});

t.test('property: the default lease fits its window, is a valid configuration, and is the shortest that does', async (t) => {
  check(t, fc.property(fc.integer({ min: 1, max: 3_600_000 }), fc.option(fc.integer({ min: 0, max: 60_000 }), { nil: undefined }), (windowMs, margin) => {
    const l = defaultLeaseForWindow(windowMs, margin);
    if (l.leaseMs % LEASE_STEP_MS !== 0 || l.leaseMs < QUORUM_DEFAULTS.leaseMs) throw new Error(`not a whole second above the default: ${l.leaseMs}`);
    if (leaseWindowMismatch({ ...AA, ...l }, windowMs) !== undefined) throw new Error(`${JSON.stringify(l)} does not fit ${windowMs}`);
    if (contactWindowMs(l) < windowMs) throw new Error('counted part shorter than the window');
    const shorter = l.leaseMs - LEASE_STEP_MS;
    const shorterMargin = margin ?? Math.max(QUORUM_DEFAULTS.driftMarginMs, minDriftMarginMs(shorter));
    if (shorter >= QUORUM_DEFAULTS.leaseMs && leaseWindowMismatch({ ...AA, leaseMs: shorter, driftMarginMs: shorterMargin }, windowMs) === undefined) {
      throw new Error(`${shorter} would fit ${windowMs} too`);
    }
    if (margin === undefined) quorumConfig({ ...AA, self: 'c1', controllers: ['c1', 'c2'], ...l }); // throws when invalid
    return true;
  }), runs(500));
});
