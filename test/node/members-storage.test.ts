// The membership state in the store's database (node/membership/members-storage.ts): a promise
// answered survives a crash, since it was saved with sync first; a save still in flight at the crash
// is lost whole; the state is one key under the sublevel's prefix, apart from the store's keys.
import t from 'tap';
import { SimLevel } from '../sim/sim-level.ts';
import { MembersAcceptor } from '../../node/membership/members-acceptor.ts';
import { levelSlotStorage } from '../../node/membership/members-storage.ts';
import { initialMembers } from '../../membership/federation-members.ts';
import { entry } from '../helpers/members-fixtures.ts';

const INITIAL = initialMembers([entry('a', 1), entry('b', 2), entry('c', 3)]);

// fsyncs complete when the test says so.
function disk() {
  const pending: Array<() => void> = [];
  const db = new SimLevel({ delay: (fn) => { pending.push(fn); } });
  const flush = (): void => { while (pending.length > 0) pending.shift()!(); };
  return { db, flush, pending };
}

const settle = async (flush: () => void): Promise<void> => {
  for (let i = 0; i < 20; i++) {
    flush();
    await new Promise<void>((r) => setImmediate(r));
  }
};

t.test('an answered promise survives a crash; an unanswered one is lost whole', async (t) => {
  const { db, flush } = disk();
  await db.open();
  const opening = new MembersAcceptor({ self: 'b', initial: INITIAL, storage: levelSlotStorage(db), nowMs: () => 0, settleMs: 0 });
  const opened = opening.open();
  await settle(flush);
  await opened;
  const answered = opening.answer({ t: 'prepare', epoch: 1, ballot: { round: 5, proposer: 'c' } });
  t.equal(await Promise.race([answered.then(() => 'answered'), new Promise((r) => setImmediate(() => r('waiting')))]), 'waiting', 'no answer before the fsync');
  await settle(flush);
  t.equal((await answered).t, 'promise');
  // One more promise, its fsync never completing: the crash drops it.
  void opening.answer({ t: 'prepare', epoch: 1, ballot: { round: 9, proposer: 'a' } });
  await new Promise<void>((r) => setImmediate(r));
  const d2 = db.crash(); // the restarted process's database: what was fsynced
  await d2.open();
  const keys = await d2.keys().all();
  t.same(keys, ['!members!state'], 'one key, in the members sublevel: none of the store\'s prefixes');
  const again = new MembersAcceptor({ self: 'b', initial: INITIAL, storage: levelSlotStorage(d2), nowMs: () => 0, settleMs: 0 });
  const reopening = again.open();
  await settle(flush);
  await reopening;
  t.same(again.acceptor.promised, { round: 5, proposer: 'c' }, 'the answered promise, not the lost one');
  const r = again.answer({ t: 'prepare', epoch: 1, ballot: { round: 4, proposer: 'a' } });
  await settle(flush);
  t.match(await r, { t: 'refused', why: 'LOWER_BALLOT' });
});
