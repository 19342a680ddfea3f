// The gossip gate, on real certificates: who may put a heartbeat into the peer table.

import t from 'tap';
import type { Message, PeerId } from '@libp2p/interface';
import { TopicValidatorResult } from '@libp2p/interface';
import { DEFAULT_HEARTBEAT_LIMITS, type Heartbeat } from '../../membership/heartbeat.ts';
import { encodeHeartbeatMessage } from '../../node/membership/heartbeat-codec.ts';
import { HeartbeatGate } from '../../node/membership/heartbeat-gate.ts';
import { HOUR_MS, makeCa, makeFederation, makeMember, type TestMember } from '../helpers/cert-fixtures.ts';

const fed = await makeFederation('gate-fed');
const c1 = await makeMember(fed, 'c1', 'controller');
const c2 = await makeMember(fed, 'c2', 'controller');
const a1 = await makeMember(fed, 'a1', 'agent');
const stranger = await makeMember(fed, 'x1', 'controller', { ca: await makeCa('x') });
const authenticated = new Set([c1.peerId.toString(), a1.peerId.toString()]);

const gate = new HeartbeatGate({
  isAuthenticated: (p) => authenticated.has(p), trust: fed.store, federationId: fed.id, bytesMax: 8192,
  certificateClockSkewMs: 0, limits: DEFAULT_HEARTBEAT_LIMITS, wallClock: () => Date.now(),
});

function hbOf(m: TestMember, over: Partial<Heartbeat> = {}): Heartbeat {
  return {
    member: m.name, peerId: m.peerId.toString(), role: m.role, region: 'r', zone: '',
    hlc: { wallMs: Date.now(), logical: 0, member: over.member ?? m.name }, merkleRoot: '', reachable: [], agentCount: 0, ...over,
  };
}

// A gossipsub message as the validator receives it (gossipsub has already checked its signature).
function message(from: PeerId, data: Uint8Array, signed = true): Message {
  return signed
    ? { type: 'signed', from, topic: 't', data, sequenceNumber: 1n, signature: new Uint8Array(64), key: c1.privateKey.publicKey }
    : { type: 'unsigned', topic: 't', data };
}

t.test('verdicts', async (t) => {
  const cases: Array<[string, PeerId, Message, string]> = [
    ['own heartbeat, direct', c1.peerId, message(c1.peerId, encodeHeartbeatMessage(c1.certificate, hbOf(c1))), 'ok'],
    ['relayed by an authenticated peer, author known only by certificate', a1.peerId, message(c2.peerId, encodeHeartbeatMessage(c2.certificate, hbOf(c2))), 'ok'],
    ['unsigned', c1.peerId, message(c1.peerId, encodeHeartbeatMessage(c1.certificate, hbOf(c1)), false), 'unsigned'],
    ['forwarded by an unauthenticated peer', c2.peerId, message(c2.peerId, encodeHeartbeatMessage(c2.certificate, hbOf(c2))), 'unauthenticated_source'],
    ['not JSON', c1.peerId, message(c1.peerId, new TextEncoder().encode('{{')), 'malformed'],
    ['oversized', c1.peerId, message(c1.peerId, new Uint8Array(9000)), 'malformed'],
    ['an extra envelope field', c1.peerId, message(c1.peerId, new TextEncoder().encode('{"v":1,"certificate":{},"heartbeat":{},"x":1}')), 'malformed'],
    ['certificate of an unknown CA', c1.peerId, message(stranger.peerId, encodeHeartbeatMessage(stranger.certificate, hbOf(stranger))), 'bad_certificate'],
    ['someone else\'s certificate', c1.peerId, message(a1.peerId, encodeHeartbeatMessage(c1.certificate, hbOf(a1))), 'bad_certificate'],
    ['an invalid heartbeat', c1.peerId, message(c1.peerId, encodeHeartbeatMessage(c1.certificate, hbOf(c1, { agentCount: -5 }))), 'invalid_heartbeat'],
    ['an agent claiming a controller name', a1.peerId, message(a1.peerId, encodeHeartbeatMessage(a1.certificate, hbOf(a1, { member: 'c2' }))), 'identity_mismatch'],
    ['an agent claiming the controller role', a1.peerId, message(a1.peerId, encodeHeartbeatMessage(a1.certificate, hbOf(a1, { role: 'controller' }))), 'identity_mismatch'],
    ['a heartbeat naming another peer ID', c1.peerId, message(c1.peerId, encodeHeartbeatMessage(c1.certificate, hbOf(c1, { peerId: c2.peerId.toString() }))), 'identity_mismatch'],
  ];
  for (const [what, source, msg, expected] of cases) {
    const r = await gate.inspect(source, msg);
    t.equal(r.ok ? 'ok' : r.reason, expected, what);
    const verdict = await gate.validator(source, msg);
    t.equal(verdict, expected === 'ok' ? TopicValidatorResult.Accept : TopicValidatorResult.Reject, `${what}: validator verdict`);
  }
  const c = gate.counters();
  t.equal(c.accepted, 2);
  t.same(c.rejected, { unsigned: 1, unauthenticated_source: 1, malformed: 3, bad_certificate: 2, invalid_heartbeat: 1, identity_mismatch: 3 });
});

t.test('an expired certificate is refused even after it was cached as valid', async (t) => {
  let now = Date.now();
  const g = new HeartbeatGate({
    isAuthenticated: () => true, trust: fed.store, federationId: fed.id, bytesMax: 8192, certificateClockSkewMs: 0,
    limits: DEFAULT_HEARTBEAT_LIMITS, wallClock: () => now,
  });
  const short = await makeMember(fed, 'c3', 'controller', { untilMs: 1_000 });
  const msg = message(short.peerId, encodeHeartbeatMessage(short.certificate, hbOf(short)));
  t.ok((await g.inspect(short.peerId, msg)).ok, 'valid now (and cached)');
  now += HOUR_MS;
  const r = await g.inspect(short.peerId, msg);
  t.equal(r.ok ? 'ok' : r.reason, 'bad_certificate', 'refused an hour later');
});
