// A controller joining from a bootstrap list (node/membership/members-join.ts): it starts from a
// record saved by an earlier run; else it asks the controllers it is connected to until one serves a
// record that lists it under its name and peer ID (a member added it), logging the command that adds
// it meanwhile; a record that lists another key under its name is not its own; a stop ends the wait.
import t from 'tap';
import { addCommand, joinRecord } from '../../node/membership/members-join.ts';
import { encodeAcceptorState, type SlotStorage } from '../../node/membership/members-acceptor.ts';
import type { MembersReply, MembersRequest } from '../../node/membership/members-messages.ts';
import { applyMemberChange, initialMembers, type FederationMembers } from '../../membership/federation-members.ts';
import { freshAcceptor } from '../../quorum/voter-slot.ts';
import { ManualTimers } from '../helpers/manual-timers.ts';
import { entry, peerId } from '../helpers/members-fixtures.ts';

const FIRST = initialMembers([entry('a', 1), entry('b', 2), entry('c', 3)]);
const ME = { ...entry('d', 4), endpoints: ['/ip4/10.0.0.4/tcp/9090'] };
const ADDED = applyMemberChange(FIRST, { op: 'add', controller: ME });

function storage(saved?: FederationMembers): SlotStorage {
  let text = saved === undefined ? undefined : encodeAcceptorState({ committed: saved, acceptor: freshAcceptor(saved.epoch) });
  return { load: async () => text, save: async (s) => { text = s; } };
}

// Peers that serve `served()` to a fetch.
function transport(served: () => FederationMembers) {
  const asked: string[] = [];
  return {
    asked,
    ask: async (member: string, req: MembersRequest): Promise<MembersReply | undefined> => {
      asked.push(member);
      const r = served();
      return req.t === 'fetch' && r.epoch >= req.epoch ? { t: 'record', value: r } : { t: 'refused', why: 'NOT_FOUND', epoch: r.epoch, message: 'none' };
    },
  };
}

// Runs the manual clock until `p` settles (each step fires the retry timers).
async function settle<T>(timers: ManualTimers, p: Promise<T>, steps = 100): Promise<T> {
  let done = false;
  void p.then(() => { done = true; }, () => { done = true; });
  for (let i = 0; i < steps && !done; i++) {
    await new Promise((r) => setImmediate(r));
    timers.advanceSync(100);
  }
  return p;
}

t.test('a saved record is used as it is, without asking anyone', async (t) => {
  const timers = new ManualTimers(0);
  const tr = transport(() => FIRST);
  const r = await joinRecord({ self: 'd', selfPeerId: ME.peerId, listenAddrs: () => [], connected: () => ['a'], transport: tr, storage: storage(ADDED), timers });
  t.equal(r.epoch, 2);
  t.same(tr.asked, [], 'nobody asked');
});

t.test('it waits until a record lists it under its name and peer ID, and logs the command that adds it', async (t) => {
  const timers = new ManualTimers(0);
  let served = FIRST;
  const tr = transport(() => served);
  const warnings: string[] = [];
  const logger = { warn: (o: { command: string }) => { warnings.push(o.command); }, info: () => undefined } as never;
  const p = joinRecord({ self: 'd', selfPeerId: ME.peerId, listenAddrs: () => ['/ip4/0.0.0.0/tcp/9090', '/ip4/10.0.0.4/tcp/9090'], connected: () => ['a'], transport: tr, storage: storage(), timers, logger });
  let result: FederationMembers | undefined;
  void p.then((r) => { result = r; });
  for (let i = 0; i < 5; i++) { await new Promise((r) => setImmediate(r)); timers.advanceSync(600); }
  t.equal(result, undefined, 'not listed: still waiting');
  t.match(warnings[0], `novactl federation members add d --peer-id ${ME.peerId} --endpoint /ip4/10.0.0.4/tcp/9090`, 'the command, with an address the others can dial');
  // A record that lists another key under its name is not its own.
  served = applyMemberChange(FIRST, { op: 'add', controller: { ...ME, peerId: peerId(99) } });
  for (let i = 0; i < 3; i++) { await new Promise((r) => setImmediate(r)); timers.advanceSync(600); }
  t.equal(result, undefined, 'd under another peer ID: not this controller');
  served = ADDED;
  const r = await settle(timers, p);
  t.equal(r.epoch, 2);
  t.ok(r.learners.includes('d'));
});

t.test('a stop ends the wait', async (t) => {
  const timers = new ManualTimers(0);
  const ac = new AbortController();
  const p = joinRecord({ self: 'd', selfPeerId: ME.peerId, listenAddrs: () => [], connected: () => [], transport: transport(() => FIRST), storage: storage(), timers, signal: ac.signal });
  ac.abort(new Error('stopping'));
  await t.rejects(settle(timers, p), { message: 'stopping' });
  t.equal(addCommand('d', ME.peerId, []), `novactl federation members add d --peer-id ${ME.peerId} --endpoint /ip4/<address>/tcp/<port>`);
});
