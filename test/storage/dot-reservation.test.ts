// Counters a writer hands to peers before its own copy is durable (storage/logic/dot-reservation.ts):
// the pure rule, then the store over a crashable database, where a write a peer got early is lost
// in a crash and the restarted writer must not give its counter to another write of the key.
import t from 'tap';
import { DotReservation } from '../../storage/logic/dot-reservation.ts';
import { Store, type StoredRecord } from '../../storage/index.ts';
import { compareVv, vvCount } from '../../storage/logic/version-vector.ts';
import { SimLevel } from '../sim/sim-level.ts';

t.test('the rule: early only within the durable reservation; a reopen starts above it', (t) => {
  const d = new DotReservation(0, 100);
  d.assigned(1);
  t.notOk(d.mayShareEarly(1), 'nothing is reserved before a batch lands');
  const r = d.cut();
  t.equal(r, 101, 'a batch reserves the highest counter handed out plus the block');
  d.assigned(2);
  t.notOk(d.mayShareEarly(2), 'still nothing while that batch is in flight');
  d.landed(r);
  t.ok(d.mayShareEarly(2) && d.mayShareEarly(101), 'counters up to the landed reservation may go early');
  t.notOk(d.mayShareEarly(102), 'past it they wait for their own batch');
  d.landed(50);
  t.ok(d.mayShareEarly(101), 'a smaller reservation landing later never shrinks it');
  const reopened = new DotReservation(r, 100);
  t.equal(reopened.floor, 101, 'the reservation on disk is the floor of the next incarnation');
  t.throws(() => reopened.assigned(101), /floor/, 'a counter at the floor is refused');
  t.notOk(reopened.mayShareEarly(101));
  t.equal(reopened.cleanClose(), 101, 'a clean close keeps the floor: earlier crashes still stand');
  t.throws(() => new DotReservation(-1), RangeError);
  t.end();
});

const WALL_MS = 1_767_225_600_000;
const res = (v: number) => ({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: 'k', namespace: 'default' }, spec: { v } });
const KEY = 'ProxyRoute/default/k';

/** A store on `db` whose fsyncs complete when `fsyncs.run()` says (or at once when `auto`). */
function harness() {
  const waiting: Array<() => void> = [];
  const fsyncs = { auto: true, waiting, run: () => { for (const fn of waiting.splice(0)) fn(); } };
  const db = new SimLevel({ delay: (fn) => { if (fsyncs.auto) queueMicrotask(fn); else waiting.push(fn); } });
  const open = (d: SimLevel) => Store.open({ db: d, member: 'a', strategy: 'LastWriterWins', nowMs: () => WALL_MS, monoMs: () => 0, defer: queueMicrotask });
  // The store on the fresh database, and the records it hands to peers early.
  const start = async () => {
    const store = await open(db);
    const sent: StoredRecord[] = [];
    store.onSendable((r) => sent.push(r));
    return { store, sent };
  };
  return { fsyncs, db, open, start };
}
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('a write sent early and lost in a crash: the restarted writer never reuses its counter', async (t) => {
  const h = harness();
  const { store, sent } = await h.start();
  await store.apply(res(1));
  t.same(sent, [], 'the first write of a new store waits for its own batch: nothing was reserved');
  // The second write goes out early (the first batch reserved counters), then the writer crashes
  // before its own batch lands: a peer holds a write the writer does not.
  h.fsyncs.auto = false;
  const lost = store.apply(res(2));
  lost.catch(() => undefined);
  await turn();
  t.equal(sent.length, 1, 'the second write is handed to peers before it is durable');
  const early = sent[0]!;
  h.fsyncs.auto = true;
  const reopened = await h.open(h.db.crash());
  const held = await reopened.getRecord(KEY);
  t.equal(vvCount(held!.vv, 'a'), 1, 'the restarted writer holds only its first write');
  const next = await reopened.apply(res(3));
  t.ok(vvCount(next.record.vv, 'a') > vvCount(early.vv, 'a'), `its next counter (${vvCount(next.record.vv, 'a')}) is above the lost one's (${vvCount(early.vv, 'a')})`);
  t.equal(compareVv(next.record.vv, early.vv), 'after', 'so the new write supersedes the lost one everywhere, never "equal" with other contents');
  await reopened.close();
});

t.test('a clean close does not raise the counters; writes after a landed batch go early', async (t) => {
  const h = harness();
  const { store, sent } = await h.start();
  await store.apply(res(1));
  await store.apply(res(2));
  t.equal(sent.length, 1, 'the write after the first batch went early');
  await store.close();
  const reopened = await h.open(h.db);
  const w = await reopened.apply(res(3));
  t.equal(vvCount(w.record.vv, 'a'), 3, 'after a clean close the key counts on from where it was');
  await reopened.close();
});
