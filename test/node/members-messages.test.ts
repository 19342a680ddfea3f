// Membership protocol messages (node/membership/members-messages.ts): valid ones parse, anything else
// is a ProtocolError naming the field, and the largest record the bounds allow fits in one frame.
import t from 'tap';
import fc from 'fast-check';
import {
  MEMBERS_FRAME_BYTES_MAX, membersProtocol, parseMembersReply, parseMembersRequest,
} from '../../node/membership/members-messages.ts';
import {
  applyMemberChange, DENIED_MAX, ENDPOINT_CHARS_MAX, ENDPOINTS_MAX, initialMembers, type ControllerEntry, type FederationMembers,
} from '../../membership/federation-members.ts';
import { MAX_CONTROLLERS } from '../../quorum/limits.ts';
import { check, runs } from '../helpers/fc-run.ts';

const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
const peerId = (i: number, len = 52): string => `12D3KooW${[...String(i).padStart(8, '0')].map((d) => B58[Number(d) + 10]).join('')}`.padEnd(len, 'x');
const entry = (name: string, i: number, o: Partial<ControllerEntry> = {}): ControllerEntry =>
  ({ name, peerId: peerId(i), endpoints: [`/ip4/127.0.0.1/tcp/${9000 + i}`], region: '', autoPromote: true, ...o });
const m1 = initialMembers([entry('a', 1), entry('b', 2), entry('c', 3)]);
const m2 = applyMemberChange(m1, { op: 'add', controller: entry('d', 4) });
const ballot = { round: 3, proposer: 'a' };
const roundTrip = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

t.test('protocol id embeds the federation', async (t) => {
  t.equal(membersProtocol('fed-1'), '/novaedge/fed-1/members/1.0.0');
});

t.test('valid messages parse to what was sent', async (t) => {
  for (const m of [{ t: 'prepare', epoch: 1, ballot }, { t: 'accept', epoch: 1, ballot, value: m2 }, { t: 'accept', epoch: 1, ballot, value: m2, registry: 0 }, { t: 'accept', epoch: 1, ballot, value: m2, registry: 7 }, { t: 'fetch', epoch: 7 }, { t: 'commit', value: m2 }]) {
    t.same(parseMembersRequest(roundTrip(m)), m, m.t);
  }
  for (const m of [
    { t: 'promise', epoch: 1 }, { t: 'promise', epoch: 1, accepted: { ballot, value: m2 } }, { t: 'accepted', epoch: 1 }, { t: 'record', value: m2 },
    { t: 'refused', why: 'LOWER_BALLOT', epoch: 1, promised: { round: 9, proposer: 'c' }, message: 'promised 9c' },
    { t: 'refused', why: 'NOT_FOUND', epoch: 3, message: '' },
  ]) t.same(parseMembersReply(roundTrip(m)), m, m.t);
});

t.test('malformed messages are refused', async (t) => {
  const requests: unknown[] = [
    null, [], 'prepare', {}, { t: 'promise', epoch: 1 }, { t: 'prepare', epoch: 0, ballot }, { t: 'prepare', epoch: 1.5, ballot },
    { t: 'prepare', epoch: 1 }, { t: 'prepare', epoch: 1, ballot: { round: 0, proposer: 'a' } }, { t: 'prepare', epoch: 1, ballot: { round: 1, proposer: 'A' } },
    { t: 'prepare', epoch: 1, ballot: { round: 1, proposer: 'a', x: 1 } }, { t: 'prepare', epoch: 1, ballot: { round: 2 ** 32, proposer: 'a' } },
    { t: 'accept', epoch: 1, ballot }, { t: 'accept', epoch: 2, ballot, value: m2 }, { t: 'accept', epoch: 1, ballot, value: { ...m2, voters: [] } },
    { t: 'accept', epoch: 1, ballot, value: { ...m2, extra: true } }, { t: 'fetch', epoch: -1 }, { t: 'accept', epoch: 1, ballot, value: m2, registry: -1 }, { t: 'accept', epoch: 1, ballot, value: m2, registry: '2' }, { t: 'fetch', epoch: '1' },
    { t: 'commit' }, { t: 'commit', value: { ...m2, epoch: 0 } },
  ];
  for (const m of requests) t.throws(() => parseMembersRequest(roundTrip(m)), { code: 'PROTOCOL' }, JSON.stringify(m)?.slice(0, 120));
  const replies: unknown[] = [
    { t: 'prepare', epoch: 1, ballot }, { t: 'promise' }, { t: 'promise', epoch: 2, accepted: { ballot, value: m2 } },
    { t: 'promise', epoch: 1, accepted: { value: m2 } }, { t: 'promise', epoch: 1, accepted: null }, { t: 'record', value: {} },
    { t: 'refused', why: 'NOPE', epoch: 1, message: '' }, { t: 'refused', why: 'OTHER_EPOCH', epoch: 1 },
    { t: 'refused', why: 'OTHER_EPOCH', epoch: 1, message: 'm'.repeat(501) }, { t: 'refused', why: 'LOWER_BALLOT', epoch: 1, promised: 5, message: '' },
  ];
  for (const m of replies) t.throws(() => parseMembersReply(roundTrip(m)), { code: 'PROTOCOL' }, JSON.stringify(m)?.slice(0, 120));
});

t.test('property: anything at all is parsed or refused with a ProtocolError, never another error', async (t) => {
  const only = (f: () => unknown): boolean => {
    try {
      f();
      return true;
    } catch (err) {
      return (err as { code?: string }).code === 'PROTOCOL';
    }
  };
  check(t, fc.property(fc.anything(), (v) => only(() => parseMembersRequest(v)) && only(() => parseMembersReply(v))), runs(500));
});

t.test('the largest record the bounds allow fits in one frame', async (t) => {
  const long = (i: number): string[] => Array.from({ length: ENDPOINTS_MAX }, (_, k) => `/dns4/${'h'.repeat(ENDPOINT_CHARS_MAX - 20)}/tcp/${i}${k}`.slice(0, ENDPOINT_CHARS_MAX));
  const name = (i: number): string => `c${String(i).padStart(2, '0')}`.padEnd(63, 'x');
  let m: FederationMembers = initialMembers(Array.from({ length: MAX_CONTROLLERS }, (_, i) => entry(name(i), i, { peerId: peerId(i, 128), endpoints: long(i), region: 'r'.repeat(63) })));
  const denied = Array.from({ length: DENIED_MAX }, (_, i) => ({ peerId: peerId(100_000 + i, 128), name: 'n'.repeat(63), role: 'operator' as const, sinceEpoch: 1 }))
    .sort((a, b) => (a.peerId < b.peerId ? -1 : 1));
  m = { ...m, denied };
  const bytes = Buffer.byteLength(JSON.stringify({ t: 'promise', epoch: 1, accepted: { ballot, value: { ...m, epoch: 2 } } }));
  t.ok(bytes < MEMBERS_FRAME_BYTES_MAX, `${bytes} bytes < ${MEMBERS_FRAME_BYTES_MAX}`);
  t.same(parseMembersReply(roundTrip({ t: 'record', value: m })), { t: 'record', value: m }, 'and parses');
});
