// Security on loopback: peers with a certificate from an unknown CA, for another federation,
// expired, not yet valid, for another peer ID, or with none — and peers that never speak the auth
// protocol — are disconnected within the bound and never appear in any peer table; their gossip is
// dropped; garbage on the auth protocol closes the stream without harming the node.

import t from 'tap';
import type { Connection, Stream } from '@libp2p/interface';
import { multiaddr } from '@multiformats/multiaddr';
import * as lp from 'it-length-prefixed';
import { authProtocol } from '../../node/protocols.ts';
import type { MembershipNode } from '../../node/membership/membership-node.ts';
import type { AuthRefusal } from '../../node/auth/auth-service.ts';
import { HOUR_MS, makeCa, makeFederation, makeMember, type TestFederation } from '../helpers/cert-fixtures.ts';
import { allSee, planMembers, startMember, stateMatrix } from '../helpers/cluster.ts';
import { startRogue } from '../helpers/rogue-node.ts';
import { mulberry32, randomBytesFrom, testSeed } from '../helpers/seeded-random.ts';
import { waitFor } from '../helpers/wait-for.ts';

const AUTH_TIMEOUT_MS = 1_000;
const SLACK_MS = 500;
const BOUND_MS = AUTH_TIMEOUT_MS + SLACK_MS;

const fed = await makeFederation('secure-fed');
const plan = await planMembers(fed, [{ name: 'c1', role: 'controller' }, { name: 'c2', role: 'controller' }]);
const addrs = plan.map((p) => p.addr);
const nodes: MembershipNode[] = await Promise.all(plan.map((p) => startMember(t, fed, p, addrs, { authTimeoutMs: AUTH_TIMEOUT_MS })));
const [c1, c2] = nodes as [MembershipNode, MembershipNode];
await waitFor('c1 and c2 Healthy', () => allSee(nodes, ['c1', 'c2']), { timeoutMs: 10_000 }, () => stateMatrix(nodes));
const strangers: string[] = [];
// a9 is a legitimate agent started by the guard test; everyone else must stay out.
for (const n of nodes) n.on('joined', (e) => { if (!['c1', 'c2', 'a9'].includes(e.member)) strangers.push(`${n.memberName} saw ${e.member}`); });

/** Wait until `conn` is closed; resolves to how long that took after `fromMs`. */
async function closedWithin(conn: Connection, fromMs: number, what: string): Promise<number> {
  await waitFor(`${what}: connection closed`, () => conn.status === 'closed', { timeoutMs: BOUND_MS + 2_000 });
  return performance.now() - fromMs;
}

const refused = (n: MembershipNode, code: AuthRefusal): number => n.counters().auth.refused[code];

/** Whether `s` ends without an answer (reset or closed by the remote) rather than being served. */
async function refusedStream(s: Stream): Promise<boolean> {
  s.sink((async function* () { yield new TextEncoder().encode('hello?'); })()).catch(() => undefined);
  try {
    for await (const chunk of s.source) if (chunk.byteLength > 0) return false;
    return true;
  } catch {
    return true;
  }
}

const GOSSIPSUB_PROTOCOL = '/meshsub/1.1.0';

async function dialAndExpectRefusal(t: Checks, what: string, member: Parameters<typeof startRogue>[2], code: AuthRefusal): Promise<void> {
  const rogue = await startRogue(t, fed, member);
  const stopSpam = rogue.spam(30);
  t.teardown(stopSpam);
  const before = refused(c1, code);
  const conn = await rogue.libp2p.dial(multiaddr(plan[0]!.addr));
  const openedAt = performance.now();
  const ms = await closedWithin(conn, openedAt, what);
  t.comment(`${what}: closed ${ms.toFixed(0)} ms after the connection opened (bound ${BOUND_MS})`);
  t.ok(ms <= BOUND_MS, `${what}: disconnected within ${BOUND_MS} ms`);
  await waitFor(`${what}: counted as ${code}`, () => refused(c1, code) > before, { timeoutMs: 2_000 }, () => c1.counters().auth.refused);
  t.notOk(c1.auth.isAuthenticated(rogue.libp2p.peerId), `${what}: never authenticated`);
}

/** The assertions dialAndExpectRefusal needs from a tap test. */
interface Checks {
  teardown(fn: () => unknown): void;
  comment(...args: unknown[]): void;
  ok(v: unknown, message: string): unknown;
  notOk(v: unknown, message: string): unknown;
}

t.test('certificates that must be refused, presented by a dialer', async (t) => {
  const stranger = await makeCa('stranger-ca');
  const victim = await makeMember(fed, 'c2', 'controller'); // a real, valid certificate of someone else
  const cases: Array<[string, () => Promise<Parameters<typeof startRogue>[2]>, AuthRefusal]> = [
    ['unknown CA', async () => ({ member: await makeMember(fed, 'r1', 'controller', { ca: stranger }) }), 'CERT_UNTRUSTED_ISSUER'],
    ['agent CA issuing a controller', async () => ({ member: await makeMember(fed, 'r2', 'controller', { ca: fed.agentCa }) }), 'CERT_UNTRUSTED_ISSUER'],
    ['another federation', async () => ({ member: await makeMember(fed, 'r3', 'controller', { federationId: 'other-fed' }) }), 'CERT_WRONG_FEDERATION'],
    ['expired', async () => ({ member: await makeMember(fed, 'r4', 'agent', { fromMs: -2 * HOUR_MS, untilMs: -HOUR_MS }) }), 'CERT_EXPIRED'],
    ['not yet valid', async () => ({ member: await makeMember(fed, 'r5', 'agent', { fromMs: HOUR_MS, untilMs: 2 * HOUR_MS }) }), 'CERT_NOT_YET_VALID'],
    ['issued for another peer ID', async () => ({ member: await makeMember(fed, 'r6', 'controller', { peerId: victim.peerId.toString() }) }), 'CERT_WRONG_PEER'],
    ['a stolen valid certificate', async () => ({ member: await makeMember(fed, 'r7', 'controller'), certificate: victim.certificate }), 'CERT_WRONG_PEER'],
    ['no certificate', async () => ({ member: await makeMember(fed, 'r8', 'controller'), certificate: null }), 'CERT_MISSING'],
  ];
  for (const [what, make, code] of cases) await dialAndExpectRefusal(t, what, await make(), code);
});

t.test('a peer that never speaks the auth protocol is closed at the deadline; it can neither identify nor gossip', async (t) => {
  const rogue = await startRogue(t, fed, { member: await makeMember(fed, 'silent', 'controller'), speaksAuth: false });
  t.teardown(rogue.spam(20));
  const gateBefore = c1.counters().gate;
  const conn = await rogue.libp2p.dial(multiaddr(plan[0]!.addr));
  const openedAt = performance.now();
  await t.rejects(rogue.libp2p.services.identify.identify(conn), 'identify is not answered before auth');
  const gossip = await conn.newStream(GOSSIPSUB_PROTOCOL, { runOnLimitedConnection: true });
  t.ok(await refusedStream(gossip), 'its gossipsub stream is refused');
  const ms = await closedWithin(conn, openedAt, 'silent peer');
  t.comment(`silent peer: closed ${ms.toFixed(0)} ms after opening (authTimeoutMs ${AUTH_TIMEOUT_MS}, bound ${BOUND_MS}); it published ${rogue.published()} heartbeats`);
  t.ok(ms >= AUTH_TIMEOUT_MS - 50, 'not before the deadline');
  t.ok(ms <= BOUND_MS, 'within the bound');
  t.ok(refused(c1, 'AUTH_TIMEOUT') >= 1, 'counted as AUTH_TIMEOUT');
  t.same(c1.counters().gate.rejected, gateBefore.rejected, 'none of its gossip reached the heartbeat gate');
});

t.test('when the honest node dials, it refuses a bad listener the same way', async (t) => {
  const rogue = await startRogue(t, fed, { member: await makeMember(fed, 'listener', 'controller', { ca: await makeCa('x-ca') }) });
  const before = refused(c1, 'CERT_UNTRUSTED_ISSUER');
  const conn = await c1.libp2p.dial(multiaddr(rogue.addr));
  const ms = await closedWithin(conn, performance.now(), 'bad listener');
  t.ok(ms <= BOUND_MS, `closed in ${ms.toFixed(0)} ms`);
  t.ok(refused(c1, 'CERT_UNTRUSTED_ISSUER') > before, 'counted on the dialing side');
});

t.test('a refused peer is denied reconnection for authDenyMs', async (t) => {
  const rogue = await startRogue(t, fed, { member: await makeMember(fed, 'pest', 'controller', { ca: await makeCa('pest-ca') }) });
  const conn = await rogue.libp2p.dial(multiaddr(plan[0]!.addr));
  await closedWithin(conn, performance.now(), 'first attempt');
  const deniedBefore = c1.counters().auth.denied;
  const second = await rogue.libp2p.dial(multiaddr(plan[0]!.addr)).then((c) => c, (e: unknown) => e);
  if (second instanceof Error) t.pass(`second dial failed: ${second.message}`);
  else await closedWithin(second as Connection, performance.now(), 'second attempt');
  t.ok(c1.counters().auth.denied > deniedBefore, 'refused by the connection gater');
});

t.test('garbage on the auth protocol closes the stream and the connection, never the node', async (t) => {
  const seed = testSeed();
  t.comment(`seed ${seed} (replay with SEED=${seed})`);
  const rand = mulberry32(seed);
  const proto = authProtocol(fed.id);
  const varint = (n: number): Uint8Array => lp.encode.single(new Uint8Array(n)).subarray(0, lp.encode.single(new Uint8Array(n)).byteLength - n);
  const te = new TextEncoder();
  const payloads: Array<[string, Uint8Array, boolean, AuthRefusal]> = [
    ...Array.from({ length: 4 }, (_, i): [string, Uint8Array, boolean, AuthRefusal] =>
      [`random bytes #${i}`, randomBytesFrom(rand, 1 + Math.floor(rand() * 3000)), true, 'AUTH_PROTOCOL']),
    ['a truncated frame', Uint8Array.from([...varint(200), ...randomBytesFrom(rand, 20)]), true, 'AUTH_PROTOCOL'],
    ['an oversized frame', Uint8Array.from([...varint(1 << 20), ...randomBytesFrom(rand, 100)]), true, 'AUTH_PROTOCOL'],
    ['an empty stream', new Uint8Array(0), true, 'AUTH_PROTOCOL'],
    ['a frame of another version', lp.encode.single(te.encode('{"v":2}')).subarray(), true, 'AUTH_PROTOCOL'],
    ['a malformed certificate', lp.encode.single(te.encode('{"v":1,"certificate":{"kind":"x"}}')).subarray(), true, 'CERT_MALFORMED'],
    ['half a frame, then silence', Uint8Array.from([...varint(200), ...randomBytesFrom(rand, 20)]), false, 'AUTH_TIMEOUT'],
  ];
  for (const [what, bytes, closeWrite, code] of payloads) {
    const rogue = await startRogue(t, fed, { member: await makeMember(fed, 'fuzz', 'controller'), speaksAuth: false });
    const before = refused(c1, code);
    const conn = await rogue.libp2p.dial(multiaddr(plan[0]!.addr));
    const openedAt = performance.now();
    const stream = await conn.newStream(proto);
    let release: () => void = () => undefined;
    const hold = new Promise<void>((r) => { release = r; });
    t.teardown(release);
    void stream.sink((async function* () {
      yield bytes;
      if (!closeWrite) await hold; // keep the writing side open: a stalled peer
    })()).catch(() => undefined);
    const ended = (async () => { try { for await (const _ of stream.source) { /* drain */ } } catch { /* reset */ } })();
    await ended;
    const ms = await closedWithin(conn, openedAt, what);
    release();
    t.comment(`${what} (${bytes.byteLength} bytes): stream ended and connection closed in ${ms.toFixed(0)} ms`);
    t.ok(ms <= BOUND_MS, `${what}: closed within the bound`);
    await waitFor(`${what}: counted as ${code}`, () => refused(c1, code) > before, { timeoutMs: 2_000 }, () => c1.counters().auth.refused);
  }
  t.equal(c1.counters().internalErrors, 0, 'no internal errors on c1');
  await waitFor('c1 and c2 still Healthy', () => allSee(nodes, ['c1', 'c2']), { timeoutMs: 3_000 }, () => stateMatrix(nodes));
});

t.test('the guard: other protocols refuse unauthenticated peers and wrong roles', async (t) => {
  const proto = `/novaedge/${fed.id}/test-guarded/1.0.0`;
  const served: string[] = [];
  await c1.libp2p.handle(proto, c1.guard(async ({ stream }, peer) => {
    served.push(peer.member);
    await stream.close();
  }, { roles: ['controller'] }));
  t.teardown(() => c1.libp2p.unhandle(proto));

  // Before auth the connection refuses the stream itself (node/host/pre-auth-limits.ts).
  const silent = await startRogue(t, fed, { member: await makeMember(fed, 'sneaky', 'controller'), speaksAuth: false });
  const conn = await silent.libp2p.dial(multiaddr(plan[0]!.addr));
  const s: Stream | Error = await conn.newStream(proto, { runOnLimitedConnection: true }).catch((e: unknown) => (e instanceof Error ? e : new Error(String(e))));
  if (!(s instanceof Error)) t.ok(await refusedStream(s), 'stream of an unauthenticated peer refused');

  // An authenticated agent on a controller-only protocol.
  const agentPlan = (await planMembers(fed, [{ name: 'a9', role: 'agent' }]))[0]!;
  const agent = await startMember(t, fed, agentPlan, [plan[0]!.addr], { authTimeoutMs: AUTH_TIMEOUT_MS });
  await waitFor('a9 authenticated to c1', () => c1.auth.isAuthenticated(agent.peerId), { timeoutMs: 5_000 });
  const before2 = c1.counters().auth.guardRefused;
  const s2 = await agent.libp2p.dialProtocol(c1.peerId, proto);
  const reset2 = await (async () => { try { for await (const _ of s2.source) { /* drain */ } return false; } catch { return true; } })();
  t.ok(reset2, 'agent stream reset');
  t.ok(c1.counters().auth.guardRefused > before2, 'wrong role refused');
  const s3 = await c2.libp2p.dialProtocol(c1.peerId, proto);
  for await (const _ of s3.source) { /* until closed */ }
  t.same(served, ['c2'], 'only the authenticated controller was served');
  await agent.stop();
});

t.test('before auth: streams refused at once, identify silent', async (t) => {
  // A victim with a long auth deadline: nothing may wait for it.
  const [vp] = await planMembers(fed, [{ name: 'v1', role: 'controller' }]);
  const v = await startMember(t, fed, vp!, [], { authTimeoutMs: 10_000 });
  const proto = `/novaedge/${fed.id}/test-preauth/1.0.0`;
  const served: string[] = [];
  await v.libp2p.handle(proto, v.guard(async ({ stream }, peer) => { served.push(peer.member); await stream.close(); }));
  const silent = await startRogue(t, fed, { member: await makeMember(fed, 'early', 'controller'), speaksAuth: false });
  const conn = await silent.libp2p.dial(multiaddr(vp!.addr));
  await silent.libp2p.services.identify.identify(conn).catch(() => undefined);
  let verdict: boolean | undefined;
  const s = await conn.newStream(proto, { runOnLimitedConnection: true });
  void refusedStream(s).then((r) => { verdict = r; });
  await waitFor('the stream is refused well before the auth deadline', () => verdict !== undefined, { timeoutMs: 3_000 });
  t.equal(verdict, true, 'refused, not served');
  t.equal(conn.status, 'open', 'while the connection still waits for auth');
  // What the rogue knows of the victim's protocols, besides the two it tried itself: identify's answer.
  const known = ((await silent.libp2p.peerStore.get(v.peerId).catch(() => undefined))?.protocols ?? [])
    .filter((p) => p !== proto && p !== '/ipfs/id/1.0.0');
  t.same(known, [], 'identify listed no protocol to the unauthenticated peer');
  t.same(served, [], 'nothing was served');
});

t.test('before auth: at most unauthenticatedConnectionsMax wait, the others are closed at once', async (t) => {
  const [vp] = await planMembers(fed, [{ name: 'v2', role: 'controller' }]);
  const v = await startMember(t, fed, vp!, [], { authTimeoutMs: 10_000, unauthenticatedConnectionsMax: 4 });
  const rogues = await Promise.all(Array.from({ length: 7 }, async (_, i) =>
    startRogue(t, fed, { member: await makeMember(fed, `waiting-${i}`, 'controller'), speaksAuth: false })));
  const conns = await Promise.all(rogues.map((r) => r.libp2p.dial(multiaddr(vp!.addr)).catch(() => undefined)));
  await waitFor('the extra connections refused as AUTH_BUSY', () => refused(v, 'AUTH_BUSY') >= 3, { timeoutMs: 5_000 }, () => v.counters().auth);
  t.ok(v.counters().auth.unauthenticatedInbound <= 4, `at most 4 wait (${v.counters().auth.unauthenticatedInbound})`);
  await waitFor('the refused connections closed', () => conns.filter((c) => c?.status === 'open').length <= 4, { timeoutMs: 5_000 },
    () => conns.map((c) => c?.status));
  // A legitimate member still gets in once the waiting ones are gone.
  for (const c of conns) await c?.close().catch(() => undefined);
  const [mp] = await planMembers(fed, [{ name: 'v2-peer', role: 'agent' }]);
  const m = await startMember(t, fed, mp!, [vp!.addr], { authTimeoutMs: 10_000 });
  await waitFor('a real member authenticates', () => v.auth.isAuthenticated(m.peerId), { timeoutMs: 10_000 });
});

t.test('no stranger ever entered a peer table', async (t) => {
  t.same(strangers, [], 'no joined event for anyone but c1, c2 and the legitimate agent a9');
  for (const n of nodes) t.same(n.peers().map((p) => p.member).filter((m) => m !== 'a9'), [n.memberName === 'c1' ? 'c2' : 'c1'], `${n.memberName}'s table`);
});

t.test('a certificate that expires while connected closes the connection', async (t) => {
  const f2: TestFederation = await makeFederation('expiry-fed');
  const [p1, p2] = await planMembers(f2, [{ name: 'e1', role: 'controller' }, { name: 'e2', role: 'controller' }]);
  const short = await makeMember(f2, 'e2', 'controller', { privateKey: p2!.privateKey, untilMs: 2_500 });
  const e1 = await startMember(t, f2, p1!, [], { certificateClockSkewMs: 0 });
  const e2 = await startMember(t, f2, { ...p2!, certificate: short.certificate }, [p1!.addr], { certificateClockSkewMs: 0 });
  await waitFor('e1 sees e2 Healthy', () => e1.peer('e2')?.state === 'Healthy', { timeoutMs: 5_000 });
  await waitFor('e2 expired and was disconnected', () => e1.counters().auth.expired > 0 && !e1.auth.isAuthenticated(e2.peerId), { timeoutMs: 6_000 }, () => e1.counters().auth);
  await waitFor('e2 Unhealthy on e1', () => e1.peer('e2')?.state === 'Unhealthy', { timeoutMs: 5_000 });
  t.pass('expired certificate: disconnected, then Unhealthy');
});
