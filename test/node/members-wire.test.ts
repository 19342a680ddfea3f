// The membership protocol over streams (node/membership/members-wire.ts): a change proposed over real
// framed streams commits everywhere; a ballot in another controller's name, a malformed frame and an
// unanswered exchange are refused without touching the acceptor's state.
import t from 'tap';
import { duplexPair } from 'it-pair/duplex';
import { MembersAcceptor, type SlotStorage } from '../../node/membership/members-acceptor.ts';
import { proposeMemberChange } from '../../node/membership/members-proposer.ts';
import { serveMembersExchange, streamMembersTransport, type OpenMembersStream } from '../../node/membership/members-wire.ts';
import { MessageStream } from '../../node/wire/message-stream.ts';
import { membersStreamOptions } from '../../node/membership/members-messages.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { initialMembers } from '../../membership/federation-members.ts';
import { entry } from '../helpers/members-fixtures.ts';

// Voters never wait before a voter change here (settling is tested in members-settle.test.ts).
const NO_SETTLING = { nowMs: () => 0, sleep: async () => undefined };

const INITIAL = initialMembers([entry('a', 1), entry('b', 2), entry('c', 3)]);

// The deadlines' timers do not hold the process open (REAL_TIMERS unrefs them); this does, while tests wait on them.
const keepAlive = setInterval(() => undefined, 60_000);
t.teardown(() => clearInterval(keepAlive));

const memory = (): SlotStorage & { text?: string } => {
  const s: SlotStorage & { text?: string } = { load: async () => s.text, save: async (x) => { s.text = x; } };
  return s;
};

async function cluster(): Promise<Map<string, MembersAcceptor>> {
  const m = new Map<string, MembersAcceptor>();
  for (const n of ['a', 'b', 'c', 'd']) {
    const a = new MembersAcceptor({ self: n, initial: INITIAL, storage: memory(), nowMs: () => 0, settleMs: 0 });
    await a.open();
    m.set(n, a);
  }
  return m;
}

// Streams from `self` to the others, each served by the target's acceptor as coming from `self` (or `claimed`).
const opener = (acceptors: Map<string, MembersAcceptor>, self: string, served: Error[], claimed = self): OpenMembersStream => async (member) => {
  const [c, s] = duplexPair<any>();
  void serveMembersExchange(s, claimed, acceptors.get(member)!, REAL_TIMERS, 1_000).catch((err: Error) => { served.push(err); });
  return { duplex: c, close: async () => undefined };
};

t.test('a change proposed over framed streams commits on every controller', async (t) => {
  const acceptors = await cluster();
  const errors: Error[] = [];
  const r = await proposeMemberChange({ self: 'a', acceptor: acceptors.get('a')!, transport: streamMembersTransport(opener(acceptors, 'a', errors), REAL_TIMERS, 1_000), ...NO_SETTLING }, { op: 'add', controller: entry('d', 4) });
  t.equal(r.record.epoch, 2);
  for (const n of ['a', 'b', 'c', 'd']) t.equal(acceptors.get(n)!.committed.epoch, 2, n);
  t.same(errors, []);
});

t.test('a ballot in another controller\'s name is refused, and changes nothing', async (t) => {
  const acceptors = await cluster();
  const errors: Error[] = [];
  // b's streams claim to come from c, while b's ballots carry b's name.
  const transport = streamMembersTransport(opener(acceptors, 'b', errors, 'c'), REAL_TIMERS, 200);
  await t.rejects(transport.ask('a', { t: 'prepare', epoch: 1, ballot: { round: 1, proposer: 'b' } }));
  t.match(errors[0]?.message ?? '', /ballot of b sent by c/);
  t.equal(acceptors.get('a')!.acceptor.promised, undefined, 'nothing promised');
});

t.test('a malformed frame is a ProtocolError; nothing is answered', async (t) => {
  const acceptors = await cluster();
  const [c, s] = duplexPair<any>();
  const served = serveMembersExchange(s, 'b', acceptors.get('a')!, REAL_TIMERS, 500);
  const client = new MessageStream(c, membersStreamOptions(REAL_TIMERS, 500));
  await client.write({ t: 'prepare', epoch: 1, ballot: { round: -1, proposer: 'b' } });
  await t.rejects(served, { code: 'PROTOCOL' });
  t.equal(acceptors.get('a')!.acceptor.promised, undefined);
});

t.test('an exchange nobody answers ends at its deadline', async (t) => {
  const silent: OpenMembersStream = async () => ({ duplex: duplexPair<any>()[0], close: async () => undefined });
  const started = performance.now();
  await t.rejects(streamMembersTransport(silent, REAL_TIMERS, 100).ask('a', { t: 'fetch', epoch: 1 }));
  t.ok(performance.now() - started < 5_000, 'bounded by the deadlines');
});
