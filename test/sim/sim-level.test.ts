// The simulation's crashable store database: writes are visible and durable only once their
// simulated fsync completes, in submission order; a crash drops what was not durable (a batch whole)
// and the restarted store opens exactly the durable state.
import t from 'tap';
import { Store, type StoreDbOptions } from '../../storage/store/store.ts';
import { RECORD, changeKey } from '../../storage/store/layout.ts';
import { SimLevel } from './sim-level.ts';
import { mulberry32, testSeed } from '../helpers/seeded-random.ts';
import { spec } from '../storage/replica-sim.ts';

/** The fsync completions the databases asked for, run when the test says (or at once, `auto`). */
class Fsyncs {
  readonly waiting: Array<() => void> = [];
  auto = true;
  readonly delay = (fn: () => void): void => {
    if (this.auto) queueMicrotask(fn);
    else this.waiting.push(fn);
  };

  completeNext(): void {
    const fn = this.waiting.shift();
    if (fn === undefined) throw new Error('no fsync in flight');
    fn();
  }
}

/** One turn of the host loop: SimLevel works in microtasks only, so they have all run after it. */
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Track a promise: `.settled` turns true when it does. */
function track<T>(p: Promise<T>): { settled: boolean } {
  const s = { settled: false };
  p.then(() => { s.settled = true; }, () => { s.settled = true; });
  return s;
}

const WALL_MS = 1_767_225_600_000;
function storeOpts(db: SimLevel): StoreDbOptions {
  return { db, member: 'a', strategy: 'LastWriterWins', nowMs: () => WALL_MS, monoMs: () => 0, defer: queueMicrotask };
}
const key = (i: number): string => `ProxyRoute/default/r${i}`;

t.test('a store over SimLevel keeps every acknowledged write across a crash and loses the in-flight batch whole', async (t) => {
  const fsyncs = new Fsyncs();
  const db = new SimLevel({ delay: fsyncs.delay });
  const store = await Store.open(storeOpts(db));
  for (let i = 1; i <= 20; i++) await store.apply(spec(i, { v: i }));
  t.equal(store.seq, 20);
  t.equal(db.unsyncedWrites, 0, 'every acknowledged write is durable');

  // A write whose fsync is in flight when the node crashes.
  fsyncs.auto = false;
  const late = track(store.apply(spec(21, { v: 21 })));
  while (db.unsyncedWrites === 0) await turn();
  t.equal(fsyncs.waiting.length, 1, 'its fsync started');
  const readBefore = await db.get(RECORD + key(21));
  t.equal(readBefore, undefined, 'not visible before its fsync completes');

  const restarted = db.crash();
  t.ok(db.crashed);
  t.equal(db.lostWrites, 1, 'the in-flight batch was dropped');
  fsyncs.completeNext(); // the old fsync finishing after the crash lands nothing
  fsyncs.auto = true;

  const again = await Store.open(storeOpts(restarted));
  t.teardown(() => again.close());
  t.equal(again.seq, 20, 'the seq high-water mark of the lost batch is gone with it');
  for (let i = 1; i <= 20; i++) t.same((await again.get(key(i)))?.value?.spec, { v: i }, `acknowledged write ${i} survived`);
  t.equal(await again.getRecord(key(21)), undefined, 'the record of the lost batch is absent');
  t.equal(await restarted.get(changeKey(21)), undefined, 'and so is its change-log entry');
  t.equal(again.merkle.root(), store.merkle.root(), 'the same tree as the acknowledged state');
  t.notOk(late.settled, 'the crashed write is never answered');

  const next = await again.apply(spec(21, { v: 'after' }));
  t.equal(next.view.seq, 21, 'the restarted store goes on from the durable seq');
});

t.test('writes become visible in submission order, one fsync at a time', async (t) => {
  const fsyncs = new Fsyncs();
  fsyncs.auto = false;
  const db = new SimLevel({ delay: fsyncs.delay });
  await db.open();
  const done: string[] = [];
  const w1 = db.put('k', '1').then(() => done.push('put k=1'));
  const w2 = db.batch([{ type: 'put', key: 'k', value: '2' }, { type: 'put', key: 'j', value: '2' }]).then(() => done.push('batch k=2 j=2'));
  const w3 = db.del('j').then(() => done.push('del j'));
  await turn();
  t.equal(fsyncs.waiting.length, 1, 'one fsync in flight: it holds the first write');
  t.equal(db.unsyncedWrites, 3);
  t.equal(await db.get('k'), undefined, 'nothing visible yet');

  fsyncs.completeNext();
  await w1;
  t.same(done, ['put k=1']);
  t.equal(await db.get('k'), '1', 'the first write landed alone');
  t.equal(await db.get('j'), undefined);
  t.equal(fsyncs.waiting.length, 1, 'the next fsync took the two writes queued behind it');

  fsyncs.completeNext();
  await Promise.all([w2, w3]);
  t.same(done, ['put k=1', 'batch k=2 j=2', 'del j'], 'answered in submission order');
  t.same(await db.getMany(['k', 'j']), ['2', undefined], 'applied in submission order');
  t.equal(db.fsyncs, 2);
  t.equal(db.unsyncedWrites, 0);
});

t.test('a crashed incarnation is dead; the new one sees exactly the durable data', async (t) => {
  const fsyncs = new Fsyncs();
  const db = new SimLevel({ delay: fsyncs.delay });
  await db.put('durable', 'yes');
  fsyncs.auto = false;
  const lostPut = track(db.put('lost', 'no'));
  const lostBatch = track(db.batch([{ type: 'put', key: 'lost-a', value: 'x' }, { type: 'del', key: 'durable' }]));
  await turn();
  const snapshot = db.snapshot();
  const it = db.iterator({ snapshot });
  const restarted = db.crash();
  const read = track(db.get('durable'));
  const iterated = track(it.all());
  const write = track(db.put('zombie', 'z'));
  fsyncs.auto = true;
  for (const fn of fsyncs.waiting.splice(0)) fn();

  await restarted.open();
  t.same(await restarted.iterator().all(), [['durable', 'yes']], 'only the completed write, none of the dropped batch');
  await restarted.put('after', 'restart');
  t.same(await restarted.getMany(['after', 'zombie']), ['restart', undefined], 'writes of the dead incarnation never land');
  await turn();
  t.same([lostPut, lostBatch, read, iterated, write].map((s) => s.settled), [false, false, false, false, false],
    'nothing on the dead incarnation settles');
  t.throws(() => db.crash(), { code: 'SIM_CRASHED' }, 'it cannot crash twice');
  await restarted.close();
  await restarted.open();
  t.equal(await restarted.get('after'), 'restart', 'a clean close and reopen keeps everything');
  await restarted.close();
});

t.test('seeded crash sweeps: the durable state after each crash is exactly the acknowledged writes', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (replay with SEED=${seed})`);
  const rand = mulberry32(seed);
  const fsyncs = new Fsyncs();
  fsyncs.auto = false;
  let db = new SimLevel({ delay: fsyncs.delay });
  await db.open();
  // What the acknowledged writes make, applied in the order they were answered.
  const acked = new Map<string, string>();
  let crashes = 0;
  let writes = 0;
  for (let step = 0; step < 400; step++) {
    const r = rand();
    if (r < 0.5) {
      const ops = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => {
        const k = `k${Math.floor(rand() * 8)}`;
        return rand() < 0.2 ? { type: 'del' as const, key: k } : { type: 'put' as const, key: k, value: `v${step}` };
      });
      writes++;
      void db.batch(ops).then(() => {
        for (const op of ops) {
          if (op.type === 'put') acked.set(op.key, op.value);
          else acked.delete(op.key);
        }
      });
    } else if (r < 0.9) {
      if (fsyncs.waiting.length > 0) fsyncs.completeNext();
    } else {
      db = db.crash();
      crashes++;
      fsyncs.waiting.splice(0); // the dead disk's fsyncs never complete
      await db.open();
      t.same(Object.fromEntries(await db.iterator().all()), Object.fromEntries([...acked].sort()), `durable = acknowledged after crash ${crashes}`);
    }
    await turn();
  }
  t.ok(crashes > 0 && writes > 0, `${writes} writes, ${crashes} crashes, ${db.lostWrites} writes lost`);
});
