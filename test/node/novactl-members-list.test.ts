// `novactl federation members list` output: the table, and the voters before a voter change while
// AgentAssisted counts them too.
import t from 'tap';
import { formatMembers } from '../../cmd/novactl/members-commands.ts';
import { applyMemberChange, initialMembers, type ControllerEntry } from '../../membership/federation-members.ts';

const peer = (i: number): string => `12D3KooW${'ABCDEFGHJK'[i]!.repeat(6)}${'x'.repeat(38)}`;
const entry = (name: string, i: number): ControllerEntry => ({ name, peerId: peer(i), endpoints: [`/ip4/127.0.0.1/tcp/${9000 + i}`], region: `r${i}`, autoPromote: true });

t.test('the voters before a voter change are named until it is finished', async (t) => {
  const first = initialMembers([entry('dc-a', 1), entry('dc-b', 2)]);
  const added = applyMemberChange(first, { op: 'add', controller: entry('dc-c', 3) });
  const promoted = applyMemberChange(added, { op: 'promote', name: 'dc-c' });
  const out = formatMembers({ record: promoted, connected: ['dc-a'], sameRoot: [] });
  t.match(out, /^membership epoch 3: 3 voters, 0 learners\nvoters before the last change: dc-a, dc-b \(in AgentAssisted mode they count too until the change is finished\)\n/);
  t.match(out, /dc-c\s+voter/);
  const finished = formatMembers({ record: applyMemberChange(promoted, { op: 'finish' }), connected: [], sameRoot: [] });
  t.notMatch(finished, /voters before/);
  t.match(finished, /^membership epoch 4: 3 voters/);
});
