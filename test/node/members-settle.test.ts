// Settling (node/membership/members-acceptor.ts): a voter accepts a record that changes the voters
// only settleMs after it committed its epoch (or opened), since the others count it by the epoch of
// a clock answer up to one probe cycle old; records that keep the voters are accepted at once. The
// proposer waits for settling voters instead of failing, for a bounded time.
import t from 'tap';
import { MembersAcceptor, type SlotStorage } from '../../node/membership/members-acceptor.ts';
import { proposeMemberChange, type MembersTransport } from '../../node/membership/members-proposer.ts';
import { settleMsFor, SETTLE_MARGIN_MS } from '../../node/membership/members-settle.ts';
import { applyMemberChange, initialMembers } from '../../membership/federation-members.ts';
import { entry } from '../helpers/members-fixtures.ts';

const SETTLE_MS = 1_000;
const ballot = (round: number) => ({ round, proposer: 'a' });

function memoryStorage(): SlotStorage {
  let text: string | undefined;
  return { load: async () => text, save: async (s) => { text = s; } };
}

// Three voters and a learner d, on a clock the test moves.
async function world() {
  const clock = { now: 0 };
  const added = applyMemberChange(initialMembers([entry('a', 1), entry('b', 2), entry('c', 3)]), { op: 'add', controller: { ...entry('d', 4), endpoints: ['/ip4/10.0.0.4/tcp/9090'] } });
  const acceptors = new Map<string, MembersAcceptor>();
  for (const name of ['a', 'b', 'c', 'd']) {
    const a = new MembersAcceptor({ self: name, initial: added, storage: memoryStorage(), nowMs: () => clock.now, settleMs: SETTLE_MS });
    await a.open();
    acceptors.set(name, a);
  }
  const transport: MembersTransport = { ask: async (member, req) => acceptors.get(member)!.answer(req) };
  return { clock, added, acceptors, transport };
}

t.test('a voter change is refused SETTLING until settleMs after the epoch was committed; a learner add is not', async (t) => {
  const { clock, added, acceptors } = await world();
  const b = acceptors.get('b')!;
  const promote = applyMemberChange(added, { op: 'promote', name: 'd' });
  const addE = applyMemberChange(added, { op: 'add', controller: { ...entry('e', 5), endpoints: ['/ip4/10.0.0.5/tcp/9090'] } });
  t.match(await b.answer({ t: 'prepare', epoch: added.epoch, ballot: ballot(1) }), { t: 'promise' }, 'a promise is no acceptance: given at once');
  t.match(await b.answer({ t: 'accept', epoch: added.epoch, ballot: ballot(1), value: promote }), { t: 'refused', why: 'SETTLING' }, 'a promotion right after opening');
  t.match(await b.answer({ t: 'accept', epoch: added.epoch, ballot: ballot(1), value: addE }), { t: 'accepted' }, 'another learner: the voters stay');
  clock.now = SETTLE_MS - 1;
  t.equal(b.settlingMs(), 1);
  t.match(await b.answer({ t: 'accept', epoch: added.epoch, ballot: ballot(2), value: promote }), { t: 'refused', why: 'SETTLING' });
  clock.now = SETTLE_MS;
  t.match(await b.answer({ t: 'accept', epoch: added.epoch, ballot: ballot(2), value: promote }), { t: 'accepted' }, 'once settled');
  // Committing the next epoch starts the wait again.
  await b.adopt(promote);
  const remove = applyMemberChange(promote, { op: 'remove', name: 'a' });
  t.match(await b.answer({ t: 'accept', epoch: promote.epoch, ballot: ballot(1), value: remove }), { t: 'refused', why: 'SETTLING' }, 'a new epoch: settling again');
  clock.now += SETTLE_MS;
  t.match(await b.answer({ t: 'accept', epoch: promote.epoch, ballot: ballot(1), value: remove }), { t: 'accepted' });
});

t.test('the proposer waits for settling voters, and gives up with SETTLING after settleWaitMaxMs', async (t) => {
  const { clock, acceptors, transport } = await world();
  const sleeps: number[] = [];
  const sleep = async (ms: number): Promise<void> => { sleeps.push(ms); clock.now += ms; };
  const r = await proposeMemberChange({ self: 'a', acceptor: acceptors.get('a')!, transport, nowMs: () => clock.now, sleep, settleWaitMaxMs: 5_000 }, { op: 'promote', name: 'd' });
  t.same(r.record.voters, ['a', 'b', 'c', 'd'], 'committed once the voters settled');
  t.ok(clock.now >= SETTLE_MS, `not before settleMs (${clock.now} ms)`);
  t.ok(sleeps.length >= 1 && clock.now < SETTLE_MS + 500, 'waited in short steps, without running out of rounds');
  // Right after that commit, a removal waits again; with a short limit it gives up.
  await t.rejects(proposeMemberChange({ self: 'a', acceptor: acceptors.get('a')!, transport, nowMs: () => clock.now, sleep, settleWaitMaxMs: 300 }, { op: 'remove', name: 'b' }),
    { code: 'SETTLING' });
});

t.test('settleMs is longer than the clock-probe cycle, stretched by the drift bound', async (t) => {
  t.ok(settleMsFor({ rttIntervalMs: 1_000, rttTimeoutMs: 1_000 }) >= 2_000 + SETTLE_MARGIN_MS);
  t.ok(settleMsFor({ rttIntervalMs: 5_000, rttTimeoutMs: 2_000 }) > 7_000);
});
