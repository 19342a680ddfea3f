// Membership changes decided by Paxos (node/membership/members-acceptor.ts, members-proposer.ts),
// controllers in one process over a transport that loses and delays exchanges: a change commits on
// every controller; a minority cannot commit; promises survive a restart; an acceptor refuses a record
// that is not one change on; and, over random concurrent proposals with random losses and
// interleavings, no epoch is ever committed with two different records, and each committed record is
// a valid successor of the one before.
import t from 'tap';
import fc from 'fast-check';
import { MembersAcceptor, decodeAcceptorState, type SlotStorage } from '../../node/membership/members-acceptor.ts';
import { completeSlot, proposeMemberChange, ProposeError, type MembersTransport } from '../../node/membership/members-proposer.ts';
import type { MembersReply, MembersRequest } from '../../node/membership/members-messages.ts';
import {
  applyMemberChange, initialMembers, isValidSuccessor, MemberChangeError, membersId, type FederationMembers, type MemberChange,
} from '../../membership/federation-members.ts';
import { checkAsync, runs } from '../helpers/fc-run.ts';
import { entry } from '../helpers/members-fixtures.ts';

// Voters never wait before a voter change here (settling is tested in members-settle.test.ts).
const NO_SETTLING = { nowMs: () => 0, sleep: async () => undefined };

const INITIAL = initialMembers([entry('a', 1), entry('b', 2), entry('c', 3)]);
const NEWCOMERS = [entry('d', 4), entry('e', 5)];

/** Durable text per controller; every save is logged (epoch → record ids committed anywhere). */
class World {
  readonly saved = new Map<string, string>();
  readonly committed = new Map<number, Set<string>>();
  readonly records = new Map<string, FederationMembers>();
  readonly acceptors = new Map<string, MembersAcceptor>();
  down = new Set<string>();

  storage(name: string): SlotStorage {
    return {
      load: async () => this.saved.get(name),
      save: async (text) => {
        this.saved.set(name, text);
        const c = decodeAcceptorState(text).committed;
        const id = membersId(c);
        this.records.set(id, c);
        const set = this.committed.get(c.epoch) ?? new Set<string>();
        set.add(id);
        this.committed.set(c.epoch, set);
      },
    };
  }

  async start(name: string): Promise<MembersAcceptor> {
    const a = new MembersAcceptor({ self: name, initial: INITIAL, storage: this.storage(name), nowMs: () => 0, settleMs: 0 });
    await a.open();
    this.acceptors.set(name, a);
    this.down.delete(name);
    return a;
  }

  /** A transport from `from`: exchanges with a down controller, or lost by `lose`, get no answer; `pause` interleaves. */
  transport(from: string, lose: () => boolean = () => false, pause: () => Promise<void> = async () => undefined): MembersTransport {
    return {
      ask: async (member: string, req: MembersRequest): Promise<MembersReply | undefined> => {
        await pause();
        const a = this.acceptors.get(member);
        if (a === undefined || this.down.has(member) || this.down.has(from) || lose()) return undefined;
        const r = await a.answer(JSON.parse(JSON.stringify(req)) as MembersRequest);
        await pause();
        return lose() ? undefined : (JSON.parse(JSON.stringify(r)) as MembersReply);
      },
    };
  }

  /** Agreement: one record per epoch; each a valid successor of the one before. */
  problems(): string[] {
    const out: string[] = [];
    const epochs = [...this.committed.keys()].sort((x, y) => x - y);
    for (const e of epochs) if (this.committed.get(e)!.size > 1) out.push(`epoch ${e} committed as ${this.committed.get(e)!.size} different records`);
    for (let i = 1; i < epochs.length; i++) {
      if (epochs[i] !== epochs[i - 1]! + 1) continue;
      const prev = this.records.get([...this.committed.get(epochs[i - 1]!)!][0]!)!;
      const next = this.records.get([...this.committed.get(epochs[i]!)!][0]!)!;
      if (!isValidSuccessor(prev, next)) out.push(`epoch ${epochs[i]} is not a valid successor of epoch ${epochs[i - 1]}`);
    }
    return out;
  }
}

async function world3(): Promise<World> {
  const w = new World();
  for (const n of ['a', 'b', 'c', 'd', 'e']) await w.start(n);
  return w;
}

const code = async (p: Promise<unknown>): Promise<string | undefined> => {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { code?: string }).code ?? (err as Error).message;
  }
};

t.test('a change commits on every controller, one epoch on', async (t) => {
  const w = await world3();
  const r = await proposeMemberChange({ self: 'a', acceptor: w.acceptors.get('a')!, transport: w.transport('a'), ...NO_SETTLING }, { op: 'add', controller: NEWCOMERS[0]! });
  t.same(r.record.learners, ['d']);
  t.same(r.finished, []);
  for (const n of ['a', 'b', 'c', 'd']) t.equal(w.acceptors.get(n)!.committed.epoch, 2, `${n} committed epoch 2 (told)`);
  const p = await proposeMemberChange({ self: 'b', acceptor: w.acceptors.get('b')!, transport: w.transport('b'), ...NO_SETTLING }, { op: 'promote', name: 'd' });
  t.same(p.record.voters, ['a', 'b', 'c', 'd']);
  t.same(w.problems(), []);
});

t.test('the check before a round is made again when a newer epoch was committed meanwhile (seed 1890261)', async (t) => {
  const w = await world3();
  const checked: number[] = [];
  // While a's check on epoch 1 waits, b commits a removal of c (epoch 2).
  const beforeRound = async (epoch: number): Promise<void> => {
    checked.push(epoch);
    if (checked.length === 1) await proposeMemberChange({ self: 'b', acceptor: w.acceptors.get('b')!, transport: w.transport('b'), ...NO_SETTLING }, { op: 'remove', name: 'c' });
  };
  const r = await proposeMemberChange({ self: 'a', acceptor: w.acceptors.get('a')!, transport: w.transport('a'), ...NO_SETTLING, beforeRound }, { op: 'add', controller: NEWCOMERS[0]! });
  t.same(checked, [1, 2], 'checked on epoch 1, then again on epoch 2 before proposing on it');
  t.equal(r.record.epoch, 3);
  t.same(w.problems(), []);
});

t.test('a minority cannot commit: NO_MAJORITY, and nothing changes', async (t) => {
  const w = await world3();
  w.down.add('b').add('c');
  t.equal(await code(proposeMemberChange({ self: 'a', acceptor: w.acceptors.get('a')!, transport: w.transport('a'), ...NO_SETTLING }, { op: 'remove', name: 'b' })), 'NO_MAJORITY');
  t.equal(w.acceptors.get('a')!.committed.epoch, 1);
  t.equal(await code(proposeMemberChange({ self: 'a', acceptor: w.acceptors.get('a')!, transport: w.transport('a'), ...NO_SETTLING }, { op: 'promote', name: 'a' })), 'NOT_A_LEARNER', 'a change that does not apply sends nothing');
});

t.test('a stale proposer fetches the newer record and proposes on top of it', async (t) => {
  const w = await world3();
  w.down.add('c');
  await proposeMemberChange({ self: 'a', acceptor: w.acceptors.get('a')!, transport: w.transport('a'), ...NO_SETTLING }, { op: 'add', controller: NEWCOMERS[0]! });
  w.down.delete('c');
  t.equal(w.acceptors.get('c')!.committed.epoch, 1, 'c missed the commit');
  const r = await proposeMemberChange({ self: 'c', acceptor: w.acceptors.get('c')!, transport: w.transport('c'), ...NO_SETTLING }, { op: 'add', controller: NEWCOMERS[1]! });
  t.equal(r.record.epoch, 3);
  t.same(r.record.learners, ['d', 'e']);
  t.same(w.problems(), []);
});

t.test('promises and acceptances survive a restart: a lower ballot is refused after it', async (t) => {
  const w = await world3();
  const b = w.acceptors.get('b')!;
  const promised = await b.answer({ t: 'prepare', epoch: 1, ballot: { round: 5, proposer: 'c' } });
  t.equal(promised.t, 'promise');
  const value = applyMemberChange(INITIAL, { op: 'add', controller: NEWCOMERS[0]! });
  t.same(await b.answer({ t: 'accept', epoch: 1, ballot: { round: 5, proposer: 'c' }, value }), { t: 'accepted', epoch: 1 });
  const again = await w.start('b'); // a restart: only what was saved
  const r = await again.answer({ t: 'prepare', epoch: 1, ballot: { round: 4, proposer: 'z' } });
  t.match(r, { t: 'refused', why: 'LOWER_BALLOT', promised: { round: 5, proposer: 'c' } });
  const higher = await again.answer({ t: 'prepare', epoch: 1, ballot: { round: 6, proposer: 'a' } });
  t.same(higher.t === 'promise' ? membersId(higher.accepted!.value) : undefined, membersId(value), 'the accepted value is reported to the next proposer');
});

t.test('an acceptor refuses a record that is not one change on, and answers nothing on another epoch', async (t) => {
  const w = await world3();
  const a = w.acceptors.get('a')!;
  const two = applyMemberChange(applyMemberChange(INITIAL, { op: 'add', controller: NEWCOMERS[0]! }), { op: 'add', controller: NEWCOMERS[1]! });
  const bad: FederationMembers = { ...two, epoch: 2 };
  t.match(await a.answer({ t: 'accept', epoch: 1, ballot: { round: 1, proposer: 'b' }, value: bad }), { t: 'refused', why: 'INVALID_SUCCESSOR' });
  t.match(await a.answer({ t: 'prepare', epoch: 2, ballot: { round: 1, proposer: 'b' } }), { t: 'refused', why: 'OTHER_EPOCH', epoch: 1 });
  t.match(await w.acceptors.get('d')!.answer({ t: 'prepare', epoch: 1, ballot: { round: 1, proposer: 'b' } }), { t: 'refused', why: 'NOT_A_VOTER' });
  t.match(await a.answer({ t: 'fetch', epoch: 2 }), { t: 'refused', why: 'NOT_FOUND' });
});

const changeArb = fc.oneof(
  fc.constantFrom(...NEWCOMERS).map((c): MemberChange => ({ op: 'add', controller: c })),
  fc.constantFrom('d', 'e').map((name): MemberChange => ({ op: 'promote', name })),
  fc.constantFrom('a', 'b', 'c', 'd', 'e').map((name): MemberChange => ({ op: 'remove', name })),
);

t.test('property: concurrent proposals over a lossy, reordering transport never commit two records for one epoch', async (t) => {
  await checkAsync(t, fc.asyncProperty(
    fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), changeArb), { minLength: 2, maxLength: 5 }),
    fc.double({ min: 0, max: 0.4, noNaN: true }), fc.integer({ min: 0, max: 2 ** 31 - 1 }),
    async (proposals, lossRate, seed) => {
      let x = seed || 1;
      const rand = (): number => {
        x ^= x << 13; x ^= x >>> 17; x ^= x << 5; // xorshift32: the interleaving follows the seed
        return (x >>> 0) / 2 ** 32;
      };
      const pause = async (): Promise<void> => {
        for (let i = Math.floor(rand() * 4); i > 0; i--) await new Promise<void>((r) => setImmediate(r));
      };
      const w = await world3();
      const outcomes = await Promise.all(proposals.map(async ([from, change]) => {
        try {
          await proposeMemberChange({ self: from, acceptor: w.acceptors.get(from)!, transport: w.transport(from, () => rand() < lossRate, pause), roundsMax: 4, ...NO_SETTLING }, change);
          return 'ok';
        } catch (err) {
          if (err instanceof ProposeError || err instanceof MemberChangeError) return err.code;
          throw err;
        }
      }));
      const problems = w.problems();
      if (problems.length > 0) throw new Error(`${problems.join('; ')} (outcomes ${outcomes.join(',')})`);
      return true;
    }), runs(150));
});

t.test('an acceptor that accepted its own removal knows it may be out, until it learns the outcome', async (t) => {
  const w = await world3();
  const a = w.acceptors.get('a')!;
  const other = applyMemberChange(INITIAL, { op: 'add', controller: NEWCOMERS[0]! });
  await a.answer({ t: 'prepare', epoch: 1, ballot: { round: 1, proposer: 'b' } });
  await a.answer({ t: 'accept', epoch: 1, ballot: { round: 1, proposer: 'b' }, value: other });
  t.notOk(a.acceptedOwnRemoval, 'a change that keeps it');
  const removal = applyMemberChange(INITIAL, { op: 'remove', name: 'a' });
  await a.answer({ t: 'prepare', epoch: 1, ballot: { round: 2, proposer: 'b' } });
  await a.answer({ t: 'accept', epoch: 1, ballot: { round: 2, proposer: 'b' }, value: removal });
  t.ok(a.acceptedOwnRemoval, 'its removal accepted, not known to be decided');
  await a.adopt(applyMemberChange(removal, { op: 'deny', peerId: NEWCOMERS[1]!.peerId, name: 'x', role: 'operator' }));
  t.notOk(a.acceptedOwnRemoval, 'a newer epoch committed: no longer in doubt (its record says what it is)');
});

t.test('completeSlot: a voter finishes a value left undecided by its proposer; with nothing accepted it changes nothing', async (t) => {
  const w = await world3();
  const a = w.acceptors.get('a')!;
  t.equal(await completeSlot({ self: 'a', acceptor: a, transport: w.transport('a'), ...NO_SETTLING }), undefined, 'nothing accepted anywhere');
  t.equal(a.committed.epoch, 1);
  // b proposed removing a; a and b accepted, then b's proposer stopped before c accepted: not decided.
  const removal = applyMemberChange(INITIAL, { op: 'remove', name: 'a' });
  for (const n of ['a', 'b']) {
    await w.acceptors.get(n)!.answer({ t: 'prepare', epoch: 1, ballot: { round: 1, proposer: 'b' } });
    await w.acceptors.get(n)!.answer({ t: 'accept', epoch: 1, ballot: { round: 1, proposer: 'b' }, value: removal });
  }
  t.ok(a.acceptedOwnRemoval);
  const decided = await completeSlot({ self: 'a', acceptor: a, transport: w.transport('a'), ...NO_SETTLING });
  t.same(decided && membersId(decided), membersId(removal), 'the accepted value is decided, not another');
  t.equal(a.committed.epoch, 2, 'a learnt its removal');
  t.notOk(a.acceptedOwnRemoval);
  t.equal(w.acceptors.get('c')!.committed.epoch, 2, 'and told c');
  t.equal(w.acceptors.get('b')!.committed.epoch, 2, 'and b');
  t.same(w.problems(), []);
});

t.test('AgentAssisted: an acceptor accepts only from a proposer counting by its agent registry version', async (t) => {
  const version = { a: 2 };
  const a = new MembersAcceptor({ self: 'a', initial: INITIAL, storage: new World().storage('a'), nowMs: () => 0, settleMs: 0, registryVersion: () => version.a });
  await a.open();
  const value = applyMemberChange(INITIAL, { op: 'add', controller: NEWCOMERS[0]! });
  const ballot = { round: 1, proposer: 'b' };
  await a.answer({ t: 'prepare', epoch: 1, ballot });
  t.match(await a.answer({ t: 'accept', epoch: 1, ballot, value }), { t: 'refused', why: 'REGISTRY' }, 'no version sent');
  t.match(await a.answer({ t: 'accept', epoch: 1, ballot, value, registry: 1 }), { t: 'refused', why: 'REGISTRY' }, 'another version');
  t.same(await a.answer({ t: 'accept', epoch: 1, ballot, value, registry: 2 }), { t: 'accepted', epoch: 1 }, 'the same version');
});
