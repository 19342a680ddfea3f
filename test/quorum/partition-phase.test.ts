// Partition phases on a fake clock: detectionDelay edges, recovery before confirmation, flapping,
// the majority side of a partition (Degraded, never Confirmed: issue 19, the critical alert fired on
// the healthy side), healing (caughtUp and hold time), re-partition while healing, several
// transitions in one tick; plus a property over random tick sequences.

import t from 'tap';
import fc from 'fast-check';
import {
  initialPhaseState, quorumLost, withQuorum, PartitionPhaseMachine, partitionStateOf, stepPhase,
  type Phase, type PhaseOptions, type PhaseState, type PhaseTally,
} from '../../quorum/partition-phase.ts';
import { check, runs } from '../helpers/fc-run.ts';

const OK: PhaseTally = { haveQuorum: true, reachableControllers: 3, configuredControllers: 3 };
const LOST: PhaseTally = { haveQuorum: false, reachableControllers: 1, configuredControllers: 3 };
const PEER_DOWN: PhaseTally = { haveQuorum: true, reachableControllers: 2, configuredControllers: 3 }; // majority side

type Row = [nowMs: number, tally: PhaseTally, caughtUp: boolean, phase: Phase];

function run(t: { equal: (a: unknown, b: unknown, m: string) => unknown; same: (a: unknown, b: unknown, m: string) => unknown }, name: string, options: PhaseOptions, rows: Row[], transitions?: string[]): void {
  const m = new PartitionPhaseMachine(options, 0);
  const seen: string[] = [];
  for (const [now, tally, caughtUp, phase] of rows) {
    for (const tr of m.tick(now, tally, caughtUp)) seen.push(`${tr.from}>${tr.to}@${tr.atMs}`);
    t.equal(m.phase, phase, `${name}: at ${now} ${tally === OK ? 'ok' : tally === LOST ? 'lost' : 'peer down'}${caughtUp ? '' : ' (not caught up)'} → ${phase}`);
  }
  if (transitions !== undefined) t.same(seen, transitions, `${name}: transitions`);
}

const D = { detectionDelayMs: 100, healingHoldMs: 0 };

t.test('a partition is quorum lost; a controller not reached with quorum held is Degraded', async (t) => {
  t.same([OK, LOST, PEER_DOWN].map(quorumLost), [false, true, false]);
  t.same([OK, PEER_DOWN].map(withQuorum), ['Healthy', 'Degraded']);
  t.same((['Healthy', 'Degraded', 'Suspected', 'Partitioned', 'Healing'] as Phase[]).map(partitionStateOf), ['None', 'None', 'Suspected', 'Confirmed', 'None']);
});

t.test('phase tables', async (t) => {
  run(t, 'confirmation exactly detectionDelayMs after suspicion', D, [
    [0, OK, true, 'Healthy'], [1000, LOST, true, 'Suspected'], [1099, LOST, true, 'Suspected'], [1100, LOST, true, 'Partitioned'], [5000, LOST, true, 'Partitioned'],
  ], ['Healthy>Suspected@1000', 'Suspected>Partitioned@1100']);
  run(t, 'recovered before the delay: back to Healthy, and the next suspicion starts a new timer', D, [
    [1000, LOST, true, 'Suspected'], [1099, OK, true, 'Healthy'], [1150, LOST, true, 'Suspected'], [1249, LOST, true, 'Suspected'], [1250, LOST, true, 'Partitioned'],
  ], ['Healthy>Suspected@1000', 'Suspected>Healthy@1099', 'Healthy>Suspected@1150', 'Suspected>Partitioned@1250']);
  run(t, 'the majority side of a partition (a member down) is Degraded, never Suspected or Confirmed', D, [
    [10, PEER_DOWN, true, 'Degraded'], [110, PEER_DOWN, true, 'Degraded'], [10_000, PEER_DOWN, true, 'Degraded'], [10_100, OK, true, 'Healthy'],
  ], ['Healthy>Degraded@10', 'Degraded>Healthy@10100']);
  run(t, 'losing quorum from Degraded is a suspicion; quorum back with a member still missing is Degraded', D, [
    [0, PEER_DOWN, true, 'Degraded'], [50, LOST, true, 'Suspected'], [149, LOST, true, 'Suspected'], [150, LOST, true, 'Partitioned'],
    [200, PEER_DOWN, false, 'Healing'], [300, PEER_DOWN, true, 'Degraded'],
  ], ['Healthy>Degraded@0', 'Degraded>Suspected@50', 'Suspected>Partitioned@150', 'Partitioned>Healing@200', 'Healing>Degraded@300']);
  run(t, 'healing waits until caught up', D, [
    [0, LOST, true, 'Suspected'], [100, LOST, true, 'Partitioned'], [300, OK, false, 'Healing'], [900, OK, false, 'Healing'], [901, OK, true, 'Healthy'],
  ], ['Healthy>Suspected@0', 'Suspected>Partitioned@100', 'Partitioned>Healing@300', 'Healing>Healthy@901']);
  run(t, 'healing hold time: caught up at once, Healthy only after healingHoldMs', { detectionDelayMs: 100, healingHoldMs: 50 }, [
    [0, LOST, true, 'Suspected'], [100, LOST, true, 'Partitioned'], [200, OK, true, 'Healing'], [249, OK, true, 'Healing'], [250, OK, true, 'Healthy'],
  ]);
  run(t, 'partition again while healing: straight back to Partitioned, no new delay', { detectionDelayMs: 100, healingHoldMs: 50 }, [
    [0, LOST, true, 'Suspected'], [100, LOST, true, 'Partitioned'], [200, OK, false, 'Healing'], [210, LOST, false, 'Partitioned'], [220, OK, true, 'Healing'], [270, OK, true, 'Healthy'],
  ], ['Healthy>Suspected@0', 'Suspected>Partitioned@100', 'Partitioned>Healing@200', 'Healing>Partitioned@210', 'Partitioned>Healing@220', 'Healing>Healthy@270']);
  run(t, 'detectionDelayMs 0: Healthy → Suspected → Partitioned in one tick', { detectionDelayMs: 0, healingHoldMs: 0 }, [
    [5, LOST, true, 'Partitioned'], [6, OK, true, 'Healthy'],
  ], ['Healthy>Suspected@5', 'Suspected>Partitioned@5', 'Partitioned>Healing@6', 'Healing>Healthy@6']);
});

t.test('flapping faster than the detection delay is never confirmed', async (t) => {
  const m = new PartitionPhaseMachine(D, 0);
  const phases = new Set<Phase>();
  for (let now = 0; now < 10_000; now += 10) {
    m.tick(now, Math.floor(now / 60) % 2 === 0 ? LOST : OK); // 60 ms down, 60 ms up
    phases.add(m.phase);
  }
  t.same([...phases].sort(), ['Healthy', 'Suspected']);
});

t.test('time never goes backwards; same instant twice is fine', async (t) => {
  const s0 = initialPhaseState(100);
  const s1 = stepPhase(s0, { nowMs: 100, tally: LOST, caughtUp: true }, D).state;
  t.equal(s1.phase, 'Suspected');
  t.equal(stepPhase(s1, { nowMs: 100, tally: LOST, caughtUp: true }, D).state.phase, 'Suspected');
  t.throws(() => stepPhase(s1, { nowMs: 99, tally: LOST, caughtUp: true }, D), /clock went backwards/);
  t.same(s0, { phase: 'Healthy', sinceMs: 100, lastTickMs: 100 }, 'stepPhase is pure: the old state is unchanged');
});

t.test('property: phase rules hold on random tick sequences', async (t) => {
  const step = fc.record({ dt: fc.nat({ max: 120 }), degraded: fc.boolean(), peerDown: fc.boolean(), caughtUp: fc.boolean() });
  const arb = fc.record({ delay: fc.nat({ max: 200 }), hold: fc.nat({ max: 100 }), steps: fc.array(step, { minLength: 1, maxLength: 80 }) });
  check(t, fc.property(arb, ({ delay, hold, steps }) => {
    const options = { detectionDelayMs: delay, healingHoldMs: hold };
    let s: PhaseState = initialPhaseState(0);
    let now = 0;
    let degradedSince: number | undefined; // start of the current run of degraded ticks
    let everPartitioned = false;
    for (const x of steps) {
      now += x.dt;
      const prev = s;
      const tally = x.degraded ? LOST : x.peerDown ? PEER_DOWN : OK;
      s = stepPhase(s, { nowMs: now, tally, caughtUp: x.caughtUp }, options).state;
      degradedSince = x.degraded ? (degradedSince ?? now) : undefined;
      // Quorum lost ⇔ Suspected or Partitioned (what the critical alert reads); held ⇒ Healthy, Degraded or Healing.
      if (x.degraded !== (s.phase === 'Suspected' || s.phase === 'Partitioned')) throw new Error(`quorum lost=${x.degraded} but ${s.phase}`);
      // Healthy and Degraded say whether every controller is reached.
      if ((s.phase === 'Healthy' || s.phase === 'Degraded') && s.phase !== withQuorum(tally)) throw new Error(`${s.phase} with ${JSON.stringify(tally)}`);
      // Partitioned only after detectionDelayMs of continuous degradation, or when a partition re-forms while healing.
      if (s.phase === 'Partitioned' && prev.phase !== 'Partitioned' && prev.phase !== 'Healing' && now - degradedSince! < delay) {
        throw new Error(`confirmed after ${now - degradedSince!} < ${delay} ms`);
      }
      if (s.phase === 'Partitioned') everPartitioned = true;
      // Healing only after a confirmed partition; Healthy from Healing only when caught up and held.
      if (s.phase === 'Healing' && !everPartitioned) throw new Error('Healing without a partition');
      const healed = s.phase === 'Healthy' || s.phase === 'Degraded';
      if (prev.phase === 'Healing' && healed && (!x.caughtUp || now - prev.sinceMs < hold)) throw new Error('healed too early');
      if (prev.phase === 'Partitioned' && healed && (!x.caughtUp || hold > 0)) throw new Error('skipped healing');
      // Suspected never outlives the delay.
      if (s.phase === 'Suspected' && now - s.sinceMs >= delay) throw new Error('Suspected past the delay');
    }
  }), runs(500));
});
