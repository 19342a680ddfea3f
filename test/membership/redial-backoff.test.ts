// Redial backoff (membership/redial-backoff.ts): controllers redial controllers within a short cap,
// agents keep the long one; jitter spreads delays and never exceeds the cap.
import t from 'tap';
import fc from 'fast-check';
import {
  CONTROLLER_CONNECT_TIMEOUT_MS, redialBackoffFor, redialBaseDelayMs, redialJitteredDelayMs, redialWaitMs, REDIAL_JITTER_FRACTION,
} from '../../membership/redial-backoff.ts';
import { check, runs } from '../helpers/fc-run.ts';

const SETTINGS = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2, controllerMaxDelayMs: 1_000 };

t.test('the cap depends on who dials whom', async (t) => {
  const connectTimeoutMs = CONTROLLER_CONNECT_TIMEOUT_MS;
  t.same(redialBackoffFor('controller', SETTINGS), { initialDelayMs: 500, maxDelayMs: 1_000, factor: 2, connectTimeoutMs });
  t.same(redialBackoffFor('agent', SETTINGS), { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2 }, 'agents: long cap, no connect deadline');
  t.same(redialBackoffFor('controller', { ...SETTINGS, controllerMaxDelayMs: 200 }), { initialDelayMs: 200, maxDelayMs: 200, factor: 2, connectTimeoutMs },
    'a first delay above the cap is brought down to it');
  t.same(redialBackoffFor('controller', { ...SETTINGS, maxDelayMs: 800 }), { initialDelayMs: 500, maxDelayMs: 800, factor: 2, connectTimeoutMs },
    'the general ceiling still applies');
});

t.test('exponential growth up to the cap', async (t) => {
  const b = redialBackoffFor('agent', SETTINGS);
  t.same([0, 1, 2, 3, 4, 5, 6, 7, 1_000].map((f) => redialBaseDelayMs(f, b)), [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  const c = redialBackoffFor('controller', SETTINGS);
  t.same([0, 1, 2, 50].map((f) => redialBaseDelayMs(f, c)), [500, 1_000, 1_000, 1_000]);
});

t.test('delays run from dial start to dial start', async (t) => {
  t.equal(redialWaitMs(1_000, 3), 997, 'a refused dial: nearly the whole delay');
  t.equal(redialWaitMs(1_000, CONTROLLER_CONNECT_TIMEOUT_MS), 0, 'a dial that waited out its connect deadline: the next one at once');
  t.equal(redialWaitMs(800, 5_000), 0);
  t.equal(redialWaitMs(800, -5), 800, 'a clock going backwards waits the whole delay');
});

t.test('property: a jittered delay is within +-20 % of its base and never above the cap', async (t) => {
  check(t, fc.property(
    fc.integer({ min: 10, max: 60_000 }), fc.integer({ min: 10, max: 3_600_000 }), fc.double({ min: 1, max: 10, noNaN: true }),
    fc.integer({ min: 0, max: 200 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), fc.constantFrom('controller' as const, 'agent' as const),
    fc.integer({ min: 10, max: 60_000 }),
    (initialDelayMs, maxDelayMs, factor, failures, random, role, controllerMaxDelayMs) => {
      const b = redialBackoffFor(role, { initialDelayMs, maxDelayMs, factor, controllerMaxDelayMs });
      const base = redialBaseDelayMs(failures, b);
      const d = redialJitteredDelayMs(base, b, random);
      const capMs = role === 'controller' ? Math.min(maxDelayMs, controllerMaxDelayMs) : maxDelayMs;
      return Number.isFinite(d) && d <= capMs && d >= Math.floor(base * (1 - REDIAL_JITTER_FRACTION)) && d <= Math.ceil(base * (1 + REDIAL_JITTER_FRACTION));
    },
  ), runs(1_000));
});
