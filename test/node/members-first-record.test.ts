// The first membership record from a controller's configuration (members-service.ts
// firstMembersRecord): every controller builds the same one from the same names and peer IDs, and
// none is built when a peer ID is missing.
import t from 'tap';
import { membersId } from '../../membership/federation-members.ts';
import { firstMembersRecord } from '../../node/membership/members-service.ts';
import { peerId } from '../helpers/members-fixtures.ts';

const names = ['us-west', 'eu-west', 'ap-east'];
const pinsOf = (self: string) => names.filter((n) => n !== self).map((name) => ({ name, peerId: peerId(names.indexOf(name)) }));

t.test('each controller builds the same first record from its own configuration', async (t) => {
  const records = names.map((self, i) => firstMembersRecord(self, peerId(i), names, pinsOf(self)));
  t.ok(records.every((r) => r !== undefined));
  t.equal(new Set(records.map((r) => membersId(r!))).size, 1, 'one record');
  t.same(records[0]!.voters, ['ap-east', 'eu-west', 'us-west']);
  t.same(records[0]!.learners, []);
  t.equal(records[0]!.epoch, 1);
});

t.test('no live membership without every controller\'s peer ID', async (t) => {
  t.equal(firstMembersRecord('us-west', peerId(0), names, [{ name: 'eu-west', peerId: peerId(1) }, { name: 'ap-east' }]), undefined);
  t.equal(firstMembersRecord('us-west', peerId(0), names, [{ peerId: peerId(1) }, { peerId: peerId(2) }]), undefined, 'peer IDs without names do not say whose they are');
});
