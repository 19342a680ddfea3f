// The link-liveness rule (membership/link-liveness.ts): a link unproven for the contact window is
// dead, never sooner; proofs, closes and the caller's pauses; the proof time the fence can read.
import t from 'tap';
import fc from 'fast-check';
import { healthContactWindowMs, LinkTable } from '../../membership/link-liveness.ts';
import { check, runs } from '../helpers/fc-run.ts';

t.test('the contact window is the failure detector bound: failureThreshold x interval + timeout', async (t) => {
  t.equal(healthContactWindowMs({ intervalMs: 10_000, timeoutMs: 5_000, failureThreshold: 3 }), 35_000);
  t.equal(healthContactWindowMs({ intervalMs: 200, timeoutMs: 100, failureThreshold: 3 }), 700);
});

t.test('a link is dead exactly one window after its last proof', async (t) => {
  const table = new LinkTable({ windowMs: 700, maxStepMs: 200 });
  let now = 1_000;
  table.opened('conn-1', 'peer-a', now);
  t.equal(table.nextDeadlineMs(), 1_700, 'opening counts as a proof');
  for (; now < 1_500; now += 100) t.same(table.takeDead(now), [], `alive at ${now}`);
  table.proven('conn-1', now); // 1500
  for (; now < 2_200; now += 100) t.same(table.takeDead(now), [], `alive at ${now} (proven at 1500)`);
  t.match(table.takeDead(2_200), [{ link: 'conn-1', peer: 'peer-a', silentMs: 700 }], 'dead at 1500 + 700');
  t.equal(table.has('conn-1'), false, 'a dead link is no longer watched');
  t.same(table.takeDead(3_000), [], 'reported once');
});

t.test('proofs per peer: the latest of its links; closed and unknown links', async (t) => {
  const table = new LinkTable({ windowMs: 1_000, maxStepMs: 500 });
  table.opened('x', 'constructor', 0); // member names such as "constructor" are plain keys here
  table.opened('y', 'constructor', 100);
  table.opened('z', '__proto__', 200);
  table.proven('y', 300);
  table.proven('x', 400);
  table.proven('z', 450, 420);
  t.equal(table.provenAtMs('constructor'), 400);
  t.equal(table.provenAtMs('__proto__'), 420);
  t.equal(table.provenAtMs('toString'), undefined);
  table.closed('x');
  t.equal(table.provenAtMs('constructor'), 300, 'the closed link no longer counts');
  table.proven('gone', 500); // closed meanwhile: ignored
  t.equal(table.has('gone'), false);
  table.opened('y', 'constructor', 600);
  t.equal(table.provenAtMs('constructor'), 300, 'opening a known link again proves nothing');
  t.same(table.takeDead(1_000), []);
  t.match(table.takeDead(1_300), [{ link: 'y' }]);
  t.match(table.takeDead(1_450), [{ link: 'z' }]);
  t.equal(table.size, 0);
});

t.test('a pause of the caller costs a link at most one step of its window', async (t) => {
  const table = new LinkTable({ windowMs: 700, maxStepMs: 200 });
  table.opened('l', 'p', 0);
  table.proven('l', 100);
  t.same(table.takeDead(60_100), [], 'a 60 s stall right after a proof does not condemn the link');
  table.proven('l', 60_110); // the reply queued during the stall is read
  let now = 60_110;
  for (; now < 60_810; now += 100) t.same(table.takeDead(now), [], `alive at ${now}`);
  t.match(table.takeDead(60_810), [{ link: 'l' }], 'silence after the stall still counts');
});

// Seed 89 of `npm run sim -- --seconds 60` (issue 18): b was paused before its link liveness first
// watched its links; on resume, watching them counted as a proof "now", and the replies that queued up
// during the pause were read as proofs now too, so the fence counted a and c reached for another
// whole contact window though b had been cut from both for 0.5 s: split-brain past the bound.
t.test('the proof the fence reads: an answered ping at its sending, never the opening', async (t) => {
  const table = new LinkTable({ windowMs: 700, maxStepMs: 200 });
  table.opened('l', 'p', 844); // authenticated at 17, first watched after a pause
  t.equal(table.provenAtMs('p'), undefined, 'watching a link proves nothing about when it last worked');
  t.equal(table.nextDeadlineMs(), 1_544, 'but it gets a whole window before it is called dead');
  table.proven('l', 845, 40); // a ping sent at 40, its answer read after the pause
  t.equal(table.provenAtMs('p'), 40, 'the answer proves the link no later than the ping was sent');
  table.proven('l', 1_000, 990);
  t.equal(table.provenAtMs('p'), 990);
  table.proven('l', 1_100, 500); // an older ping answered late: no step back
  t.equal(table.provenAtMs('p'), 990);
  table.proven('l', 1_200, 1_300); // a send after the answer is impossible: capped at the answer
  t.equal(table.provenAtMs('p'), 1_200);
});

t.test('property: dead iff unproven for the window (steps within maxStepMs)', async (t) => {
  const windowMs = 700;
  const maxStepMs = 200;
  const op = fc.oneof(
    fc.record({ kind: fc.constant('prove' as const), link: fc.integer({ min: 0, max: 3 }), stepMs: fc.integer({ min: 0, max: maxStepMs }) }),
    fc.record({ kind: fc.constant('tick' as const), link: fc.constant(0), stepMs: fc.integer({ min: 0, max: maxStepMs }) }),
    fc.record({ kind: fc.constant('close' as const), link: fc.integer({ min: 0, max: 3 }), stepMs: fc.integer({ min: 0, max: maxStepMs }) }),
  );
  check(t, fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
    const table = new LinkTable({ windowMs, maxStepMs });
    let now = 0;
    const last = new Map<string, number>(); // model: last proof of each watched link
    const answered = new Map<string, number>(); // model: last answered ping of each watched link (what the fence reads)
    for (let i = 0; i < 4; i++) {
      table.opened(`l${i}`, `p${i % 2}`, now);
      last.set(`l${i}`, now);
    }
    for (const o of ops) {
      now += o.stepMs;
      const id = `l${o.link}`;
      if (o.kind === 'prove') {
        table.proven(id, now);
        if (last.has(id)) {
          last.set(id, now);
          answered.set(id, now);
        }
      } else if (o.kind === 'close') {
        table.closed(id);
        last.delete(id);
        answered.delete(id);
      }
      const dead = table.takeDead(now).map((d) => d.link).sort();
      const expected = [...last].filter(([, at]) => now - at >= windowMs).map(([l]) => l).sort();
      if (JSON.stringify(dead) !== JSON.stringify(expected)) return false;
      for (const l of expected) {
        last.delete(l);
        answered.delete(l);
      }
      for (const p of ['p0', 'p1']) {
        const mine = [...answered].filter(([l]) => `p${Number(l.slice(1)) % 2}` === p).map(([, at]) => at);
        const want = mine.length === 0 ? undefined : Math.max(...mine);
        if (table.provenAtMs(p) !== want) return false;
      }
    }
    return true;
  }), runs(300));
});

t.test('a dead link says whether it ever answered a ping', async (t) => {
  const table = new LinkTable({ windowMs: 700, maxStepMs: 200 });
  table.opened('never', 'p', 0);
  table.opened('once', 'p', 0);
  table.proven('once', 100);
  const dead = [];
  for (let now = 100; now <= 800; now += 100) dead.push(...table.takeDead(now));
  t.match(dead, [{ link: 'never', answered: false }, { link: 'once', answered: true }]);
});
