// The RTT prober's targets: authenticated controllers only, each once; agents and peers that are not
// (or no longer) authenticated are never pinged.
import t from 'tap';
import { peerIdFromString } from '@libp2p/peer-id';
import type { PeerId } from '@libp2p/interface';
import type { MemberRole } from '../../membership/member-name.ts';
import { controllerRttTargets } from '../../node/membership/rtt-targets.ts';
import { PEER_IDS } from '../helpers/heartbeats.ts';

const [c1, c2, a1, stranger] = PEER_IDS.map((s) => peerIdFromString(s)) as [PeerId, PeerId, PeerId, PeerId];
const roles = new Map<string, MemberRole>([[c1.toString(), 'controller'], [c2.toString(), 'controller'], [a1.toString(), 'agent']]);
const lookup = (p: PeerId): { role: MemberRole } | undefined => {
  const role = roles.get(p.toString());
  return role === undefined ? undefined : { role };
};
const conns = (...peers: PeerId[]): Array<{ remotePeer: PeerId }> => peers.map((remotePeer) => ({ remotePeer }));
const ids = (peers: PeerId[]): string[] => peers.map((p) => p.toString());

t.test('only authenticated controllers are targets, once each, in connection order', async (t) => {
  const cases: Array<[string, Array<{ remotePeer: PeerId }>, PeerId[]]> = [
    ['no connections', conns(), []],
    ['controllers only', conns(c2, c1), [c2, c1]],
    ['an agent is left out', conns(a1, c1), [c1]],
    ['only agents', conns(a1, a1), []],
    ['an unauthenticated peer is left out', conns(stranger, c2), [c2]],
    ['several connections to one controller', conns(c1, a1, c1, c2, c1), [c1, c2]],
  ];
  for (const [what, connections, want] of cases) t.same(ids(controllerRttTargets(connections, lookup)), ids(want), what);
});

t.test('one role lookup per distinct peer, however many connections it has', async (t) => {
  const asked: string[] = [];
  const targets = controllerRttTargets(conns(c1, a1, c1), (p) => {
    asked.push(p.toString());
    return lookup(p);
  });
  t.same(ids(targets), ids([c1]));
  t.same(asked, ids([c1, a1]), 'one lookup per distinct peer');
});
