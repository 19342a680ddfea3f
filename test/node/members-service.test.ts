// MembersService on its own (members-service.ts): which records make this controller "removed" (its
// own peer ID denied, not merely unlisted), and that listeners hear of each newer record once.
import t from 'tap';
import { applyMemberChange, initialMembers, type FederationMembers } from '../../membership/federation-members.ts';
import type { SlotStorage } from '../../node/membership/members-acceptor.ts';
import { MembersService } from '../../node/membership/members-service.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { entry, peerId } from '../helpers/members-fixtures.ts';

function memoryStorage(): SlotStorage {
  let text: string | undefined;
  return { load: async () => text, save: async (s) => { text = s; } };
}

// A service whose peers answer a fetch with `served` (when it is newer than what was asked for).
function service(self: string, initial: FederationMembers, served: () => FederationMembers | undefined): MembersService {
  return new MembersService({
    self, initial, storage: memoryStorage(), timers: REAL_TIMERS, syncIntervalMs: 3_600_000, settleMs: 0, connected: () => ['peer'],
    transport: { ask: async (_m, req) => {
      const r = served();
      return req.t === 'fetch' && r !== undefined && r.epoch >= req.epoch ? { t: 'record', value: r } : { t: 'refused', why: 'NOT_FOUND', epoch: 1, message: 'none' };
    } },
  });
}

t.test('a controller the record does not list is not removed; one whose peer ID it denies is', async (t) => {
  // The others' record: a, b, c. d joined through its YAML, so its own first record lists it too.
  const theirs = initialMembers([entry('a', 1), entry('b', 2), entry('c', 3)]);
  const mine = initialMembers([entry('a', 1), entry('b', 2), entry('c', 3), entry('d', 4)]);
  let served: FederationMembers | undefined = applyMemberChange(theirs, { op: 'deny', peerId: peerId(9), name: 'alice', role: 'operator' });
  const d = service('d', mine, () => served);
  t.teardown(() => d.stop());
  const heard: number[] = [];
  d.onAdopted((r) => heard.push(r.epoch));
  await d.start();
  t.notOk(d.removed);
  await d.catchUp();
  t.equal(d.committed.epoch, 2, 'adopted the newer record');
  t.notOk(d.removed, 'not listed, not denied: still working by its configuration');
  t.ok(d.isRevoked(peerId(9)));

  // Then the others remove c: c adopts it, and c is removed.
  served = applyMemberChange(served, { op: 'remove', name: 'c' });
  const c = service('c', theirs, () => served);
  t.teardown(() => c.stop());
  await c.start();
  await c.catchUp();
  t.equal(c.committed.epoch, 3);
  t.ok(c.removed, 'its own peer ID is denied');
  await d.catchUp();
  await d.catchUp();
  t.same(heard, [2, 3], 'each newer record heard once');
});

t.test('refused as revoked by a majority of the OTHER voters: removed, even of two (it cannot fetch the record)', async (t) => {
  const two = service('a', initialMembers([entry('a', 1), entry('b', 2)]), () => undefined);
  t.teardown(() => two.stop());
  await two.start();
  two.noteRefusedBy(peerId(2), 'AUTH_NOT_MEMBER');
  t.notOk(two.removed, 'another refusal says nothing');
  two.noteRefusedBy(peerId(9), 'AUTH_REVOKED');
  t.notOk(two.removed, 'a refusal by a controller that is not a voter says nothing');
  two.noteRefusedBy(peerId(2), 'AUTH_REVOKED');
  t.ok(two.removed, 'b, the only other voter, refuses it as revoked');

  const four = service('a', initialMembers([entry('a', 1), entry('b', 2), entry('c', 3), entry('d', 4)]), () => undefined);
  t.teardown(() => four.stop());
  await four.start();
  four.noteRefusedBy(peerId(2), 'AUTH_REVOKED');
  t.notOk(four.removed, 'one of three others');
  four.noteRefusedBy(peerId(3), 'AUTH_REVOKED');
  t.ok(four.removed, 'two of the three others');
});
