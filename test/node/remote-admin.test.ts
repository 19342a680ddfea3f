// The remote admin protocol over real libp2p on loopback: a controller serving it, clients with
// operator, viewer, agent, foreign-CA and expired certificates, and what each gets.
import { join } from 'node:path';
import t from 'tap';
import { AdminCallError } from '../../node/admin/admin-client.ts';
import { defineMethod, type MethodTable } from '../../node/admin/method-table.ts';
import { RemoteAdmin } from '../../node/admin/remote-admin.ts';
import { loadClientCredentials } from '../../node/client/client-credentials.ts';
import { RemoteDialer } from '../../node/client/remote-dialer.ts';
import { writeCaPublicFile } from '../../node/identity/ca.ts';
import { writeCertificateFile, type MemberCertificate } from '../../node/identity/certificate.ts';
import { writeNewKeyFile } from '../../node/identity/key-file.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import type { Ed25519PrivateKey } from '@libp2p/interface';
import { makeCa, makeClient, makeFederation, makeMember, type TestFederation } from '../helpers/cert-fixtures.ts';
import { memberConfig, planMembers, startMember } from '../helpers/cluster.ts';
import { startMembershipNode } from '../../node/membership/membership-node.ts';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { tempDir, type Teardownable } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

const writes: string[] = [];
const METHODS: MethodTable = {
  'test.read': defineMethod({ params: (raw) => raw, handler: async (p) => ({ read: p }) }),
  'test.write': defineMethod({ access: 'write', params: (raw) => String((raw as { key: unknown }).key), handler: async (p) => { writes.push(p); return { wrote: p }; } }),
};

async function clientFiles(dir: string, fed: TestFederation, name: string, c: { privateKey: Ed25519PrivateKey; certificate: MemberCertificate }): Promise<{ identityKeyFile: string; certificateFile: string; caFiles: string[] }> {
  const identityKeyFile = join(dir, `${name}.key`);
  const certificateFile = join(dir, `${name}.cert`);
  const caFile = join(dir, 'ca.pub');
  await writeNewKeyFile(identityKeyFile, 'novaedge/identity-key', c.privateKey);
  await writeCertificateFile(certificateFile, c.certificate);
  await writeCaPublicFile(caFile, fed.controllerCa.public);
  return { identityKeyFile, certificateFile, caFiles: [caFile] };
}

async function dialerFor(t: Teardownable, dir: string, fed: TestFederation, name: string, c: { privateKey: Ed25519PrivateKey; certificate: MemberCertificate }): Promise<RemoteDialer> {
  const creds = await loadClientCredentials(await clientFiles(dir, fed, name, c), Date.now());
  const d = await RemoteDialer.start(creds, { dialTimeoutMs: 3_000 });
  t.teardown(() => d.stop());
  return d;
}

t.test('remote admin: operators read and write, viewers read, everyone else is refused', async (t) => {
  const dir = await tempDir(t);
  const fed = await makeFederation('remote-fed');
  const [c1] = await planMembers(fed, [{ name: 'c1', role: 'controller' }]);
  const node = await startMember(t, fed, c1!, [], { remoteClients: { connectionsMax: 4 } });
  const remote = new RemoteAdmin({ federationId: fed.id, auth: node.auth, clientConnectionsMax: 4, methods: METHODS, timers: REAL_TIMERS });
  await remote.start(node.libp2p);
  t.teardown(() => remote.stop());

  const operator = await dialerFor(t, dir, fed, 'alice', await makeClient(fed, 'alice', 'operator'));
  const a = await operator.connect(c1!.listen);
  t.same(await a.call('test.read', { x: 1 }), { read: { x: 1 } }, 'an operator reads');
  t.same(await a.call('test.write', { key: 'k1' }), { wrote: 'k1' }, 'an operator writes');
  // Pipelined: many calls in flight on one stream, answered by id.
  const many = await Promise.all(Array.from({ length: 50 }, (_, i) => a.call('test.read', [i])));
  t.same(many.map((r) => (r as { read: number[] }).read[0]), Array.from({ length: 50 }, (_, i) => i), '50 pipelined calls answered, each its own');
  a.close();

  const viewer = await dialerFor(t, dir, fed, 'victor', await makeClient(fed, 'victor', 'viewer'));
  const v = await viewer.connect(`/ip4/127.0.0.1/tcp/${c1!.port}/p2p/${c1!.peerId.toString()}`);
  t.same(await v.call('test.read', ['y']), { read: ['y'] }, 'a viewer reads');
  const forbidden = await v.call('test.write', { key: 'k2' }).catch((e: unknown) => e);
  t.ok(forbidden instanceof AdminCallError && forbidden.code === 'FORBIDDEN', `a viewer's write is FORBIDDEN (${String(forbidden)})`);
  t.same(writes, ['k1'], 'the viewer wrote nothing');
  v.close();

  const counters = remote.counters();
  t.equal(counters.remoteCalls['operator test.write'], 1, 'calls counted per role and method');
  t.equal(counters.remoteCalls['viewer test.write'], 1);
  t.equal(counters.errors.FORBIDDEN, 1, 'FORBIDDEN counted');

  // An agent's certificate, a certificate from a CA nobody trusts for clients, an expired one.
  const refusedWith = async (name: string, c: { privateKey: Ed25519PrivateKey; certificate: MemberCertificate }, expected: RegExp): Promise<void> => {
    const creds = { ...(await loadClientCredentials(await clientFiles(dir, fed, `${name}-ok`, await makeClient(fed, name, 'operator')), Date.now())), privateKey: c.privateKey, certificate: c.certificate };
    const d = await RemoteDialer.start(creds, { dialTimeoutMs: 3_000 });
    t.teardown(() => d.stop());
    const err = await d.connect(c1!.listen).then(() => undefined, (e: unknown) => e);
    t.ok(err instanceof AdminCallError && err.code === 'AUTH_REFUSED' && expected.test(err.message), `${name}: refused (${String(err)})`);
  };
  // An agent is a member: it authenticates, but the admin protocol is not served to members.
  const agent = await makeMember(fed, 'agent-1', 'agent');
  const agentCreds = { ...(await loadClientCredentials(await clientFiles(dir, fed, 'agent-ok', await makeClient(fed, 'x', 'operator')), Date.now())), privateKey: agent.privateKey, certificate: agent.certificate };
  const asAgent = await RemoteDialer.start(agentCreds, { dialTimeoutMs: 3_000 });
  t.teardown(() => asAgent.stop());
  const guardBefore = node.auth.counters().guardRefused;
  const ac = await asAgent.connect(c1!.listen);
  const agentCall = await ac.call('test.read', []).then(() => undefined, (e: unknown) => e);
  t.ok(agentCall instanceof AdminCallError && agentCall.code === 'CONNECTION_CLOSED', `an agent's admin stream is reset (${String(agentCall)})`);
  t.equal(node.auth.counters().guardRefused, guardBefore + 1, 'and counted as a guard refusal');
  await asAgent.stop();
  const rogueCa = await makeCa('rogue');
  await refusedWith('rogue-ca', await makeClient(fed, 'mallory', 'operator', { ca: rogueCa }), /CERT_UNTRUSTED_ISSUER/);
  await refusedWith('expired', await makeClient(fed, 'old', 'operator', { fromMs: -7_200_000, untilMs: -3_600_000 }), /CERT_EXPIRED/);
  t.equal(node.auth.counters().clients, 2, 'the operator and the viewer hold a client connection each; no refused one counts');
  await operator.stop();
  await viewer.stop();
  await waitFor('client connections gone', () => node.auth.counters().clients === 0, { timeoutMs: 5_000, intervalMs: 10 });
  t.equal(node.auth.counters().clientsAuthenticated, 2, 'two clients authenticated in all');
});

t.test('a controller without remoteClients refuses client certificates with AUTH_CLIENT_REFUSED', async (t) => {
  const dir = await tempDir(t);
  const fed = await makeFederation('closed-fed');
  const [c1] = await planMembers(fed, [{ name: 'c1', role: 'controller' }]);
  const node = await startMember(t, fed, c1!, []);
  const op = await dialerFor(t, dir, fed, 'alice', await makeClient(fed, 'alice', 'operator'));
  const err = await op.connect(c1!.listen).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof AdminCallError && err.code === 'AUTH_REFUSED' && /AUTH_CLIENT_REFUSED/.test(err.message), `refused (${String(err)})`);
  t.equal(node.auth.counters().refused.AUTH_CLIENT_REFUSED, 1, 'counted');
});

t.test('client credentials: a member certificate, a wrong key or no CA is named before any dial', async (t) => {
  const dir = await tempDir(t);
  const fed = await makeFederation('creds-fed');
  const ctl = await makeMember(fed, 'c1', 'controller');
  const files = await clientFiles(dir, fed, 'c1', ctl);
  await t.rejects(loadClientCredentials(files, Date.now()), { code: 'CLIENT_CREDENTIALS', message: /controller certificate; a remote client needs an operator or viewer/ });
  const alice = await makeClient(fed, 'alice', 'operator');
  const bob = await makeClient(fed, 'bob', 'operator');
  const mixed = { ...(await clientFiles(dir, fed, 'alice', alice)), identityKeyFile: (await clientFiles(dir, fed, 'bob', bob)).identityKeyFile };
  await t.rejects(loadClientCredentials(mixed, Date.now()), { code: 'CLIENT_CREDENTIALS', message: /CERT_WRONG_PEER/ });
  await t.rejects(loadClientCredentials({ ...mixed, caFiles: [] }, Date.now()), { code: 'CLIENT_CREDENTIALS', message: /caFiles/ });
});

t.test('an operator whose peer ID is revoked (the federation deny list) is dropped and refused', async (t) => {
  const dir = await tempDir(t);
  const fed = await makeFederation('revoke-fed');
  const [c1] = await planMembers(fed, [{ name: 'c1', role: 'controller' }]);
  const revoked = new Set<string>();
  const node = await startMembershipNode(memberConfig(fed, c1!, [], { remoteClients: { connectionsMax: 4 } }), { profile: FAST_PROFILE, revoked: (p) => revoked.has(p) });
  t.teardown(() => node.stop());
  const remote = new RemoteAdmin({ federationId: fed.id, auth: node.auth, clientConnectionsMax: 4, methods: METHODS, timers: REAL_TIMERS });
  await remote.start(node.libp2p);
  t.teardown(() => remote.stop());
  const alice = await makeClient(fed, 'alice', 'operator');
  const operator = await dialerFor(t, dir, fed, 'alice', alice);
  const a = await operator.connect(c1!.listen);
  t.same(await a.call('test.read', [1]), { read: [1] }, 'an operator reads');

  revoked.add(peerIdFromPrivateKey(alice.privateKey).toString());
  t.equal(node.auth.dropRevoked(), 1, 'its connection is closed');
  await waitFor('client connection gone', () => node.auth.counters().clients === 0, { timeoutMs: 5_000, intervalMs: 10 });
  const refusedBefore = node.auth.counters().denied + node.auth.counters().refused.AUTH_REVOKED;
  const again = await operator.connect(c1!.listen).then(() => undefined, (e: unknown) => e);
  t.ok(again instanceof Error, `it cannot connect again (${String(again)})`);
  t.ok(node.auth.counters().denied + node.auth.counters().refused.AUTH_REVOKED > refusedBefore, 'the refusal is counted');

  // Another operator is not affected.
  const bob = await dialerFor(t, dir, fed, 'bob', await makeClient(fed, 'bob', 'operator'));
  const b = await bob.connect(c1!.listen);
  t.same(await b.call('test.read', [2]), { read: [2] });
  b.close();
});
