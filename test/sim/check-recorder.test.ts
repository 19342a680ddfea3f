// The history recorder, writeAckFrom on real records, and checkHistory over a recorded run.
import t from 'tap';
import { makeRecord } from '../../storage/logic/record.ts';
import { lastWriterWins } from '../../storage/logic/rules/last-writer-wins.ts';
import { incrementVv, vvCount } from '../../storage/logic/version-vector.ts';
import { CHECKER_NAMES, checkHistory, formatViolation, type CheckBounds } from './check/index.ts';
import { writeAckFrom } from './check/history.ts';
import { resource, runConfig, split } from './check/history-builder.ts';
import { errorCode, finalState, HistoryRecorder } from './check/recorder.ts';

const K = 'ProxyRoute/default/k';
const bounds: CheckBounds = { splitBrainMs: 3000, convergeMs: 5000, unfenceMs: 3000, failoverMs: 5000, syncLagMs: 1000, skewFenceMs: 3000 };

// A local write as the store makes it, under LastWriterWins.
function localWrite(member: string, wallMs: number, current: ReturnType<typeof makeRecord> | undefined, spec: number) {
  const entries = lastWriterWins.write(current, resource(K, { v: spec }) as never, { self: member, hlc: { logical: 0, member, wallMs }, counter: vvCount(current?.vv ?? {}, member) + 1 })!;
  const rec = makeRecord(K, incrementVv(current?.vv ?? {}, member), entries);
  return { changed: true, record: rec };
}

t.test('writeAckFrom names the write by its dot and stamp', async (t) => {
  const r1 = localWrite('a', 1000, undefined, 1);
  t.same(writeAckFrom('a', r1), { hlc: { logical: 0, member: 'a', wallMs: 1000 }, counter: 1, vv: { a: 1 }, changed: true });
  const r2 = localWrite('b', 2000, r1.record, 2);
  t.same(writeAckFrom('b', r2), { hlc: { logical: 0, member: 'b', wallMs: 2000 }, counter: 1, vv: { a: 1, b: 1 }, changed: true });
  t.equal(writeAckFrom('b', { changed: false, record: r2.record }).changed, false);
  t.equal(errorCode(Object.assign(new Error('x'), { code: 'FENCED' })), 'FENCED');
  t.equal(errorCode(new Error('x')), 'ERROR');
});

t.test('a recorded run: network states deduplicated, ops timed, roots sampled on change', async (t) => {
  let now = 0;
  const rec = new HistoryRecorder({ config: runConfig(), controllers: ['a', 'b', 'c'], agents: ['x'], now: () => now });
  now = 1000;
  rec.network('partition a | b c', { down: [], paused: [], cuts: split(['a'], ['b', 'c']) });
  rec.network('partition a | b c again', { down: [], paused: [], cuts: split(['b', 'c'], ['a']) });
  t.equal(rec.history.network.length, 2, 'the same cuts in another order are no change');
  const op = rec.beginWrite({ kind: 'apply', node: 'b', key: K, durability: 'quorum', value: resource(K, { v: 1 }) });
  now = 1010;
  const res = localWrite('b', 1_000_000, undefined, 1);
  rec.endWrite(op, { status: 'ok', ack: writeAckFrom('b', res) });
  t.same([op.id, op.startMs, op.endMs], [1, 1000, 1010]);
  const read = rec.beginRead('x', K);
  rec.endRead(read, { status: 'ok', found: false });
  t.equal(read.id, 2);
  rec.sampleRoots({ b: 'r1', a: 'r0', c: 'r1' });
  now = 1500;
  rec.sampleRoots({ a: 'r0', b: 'r1', c: 'r1' });
  t.equal(rec.history.rootSamples.length, 1, 'unchanged roots are not sampled again');
  rec.follow('x', 'b', 'Connected');
  rec.follow('x', 'b', 'Connected');
  t.equal(rec.history.follows.length, 1);
  now = 4000;
  rec.network('heal', { down: [], paused: [], cuts: [] });
  rec.sampleRoots({ a: 'r1', b: 'r1', c: 'r1' });
  now = 20_000;
  const records = [res.record];
  const h = rec.finish(['a', 'b', 'c'].map((n) => finalState(n, 'controller', 'r1', records)), []);
  t.equal(h.endMs, 20_000);
  t.same(checkHistory(h, bounds), [], 'a clean run passes every checker');
  // The same run where c lost the write: quorum-writes says so.
  const lossy = rec.finish([finalState('a', 'controller', 'r1', records), finalState('b', 'controller', 'r1', records), finalState('c', 'controller', 'r1', [])], []);
  const vs = checkHistory(lossy, bounds);
  t.same(vs.map(formatViolation), [`[quorum-writes] 1.010s b ${K}: quorum write #1 apply on b (b:1, stamp 1000000+0) acknowledged at 1.010s is lost: c holds no record of the key`]);
  t.equal(CHECKER_NAMES.length, 12);
});
