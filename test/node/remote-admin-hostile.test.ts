// The remote admin protocol attacked the way the peer protocols are: more clients than allowed, more
// streams per connection than allowed, an oversized request, a certificate that expires while
// connected. Each is refused with its code, counted, and the controller keeps serving the others.
// (No certificate, a wrong one, a member's or a foreign CA's: test/node/remote-admin.test.ts and the
// auth tests.)
import { join } from 'node:path';
import t from 'tap';
import type { Ed25519PrivateKey } from '@libp2p/interface';
import { AdminCallError, type AdminConnection } from '../../node/admin/admin-client.ts';
import { defineMethod, type MethodTable } from '../../node/admin/method-table.ts';
import { RemoteAdmin, REMOTE_ADMIN_STREAMS_PER_CONNECTION_MAX } from '../../node/admin/remote-admin.ts';
import { loadClientCredentials } from '../../node/client/client-credentials.ts';
import { RemoteDialer } from '../../node/client/remote-dialer.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { writeCaPublicFile } from '../../node/identity/ca.ts';
import { writeCertificateFile, type MemberCertificate } from '../../node/identity/certificate.ts';
import { writeNewKeyFile } from '../../node/identity/key-file.ts';
import { makeClient, makeFederation, type TestFederation } from '../helpers/cert-fixtures.ts';
import { planMembers, startMember } from '../helpers/cluster.ts';
import { tempDir, type Teardownable } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

const METHODS: MethodTable = { 'test.echo': defineMethod({ params: (raw) => raw, handler: async (p) => p }) };

async function dialer(t: Teardownable, dir: string, fed: TestFederation, name: string, c?: { privateKey: Ed25519PrivateKey; certificate: MemberCertificate }): Promise<RemoteDialer> {
  const who = c ?? await makeClient(fed, name, 'operator');
  const files = { identityKeyFile: join(dir, `${name}.key`), certificateFile: join(dir, `${name}.cert`), caFiles: [join(dir, 'ca.pub')] };
  await writeNewKeyFile(files.identityKeyFile, 'novaedge/identity-key', who.privateKey);
  await writeCertificateFile(files.certificateFile, who.certificate);
  await writeCaPublicFile(files.caFiles[0]!, fed.controllerCa.public);
  const d = await RemoteDialer.start(await loadClientCredentials(files, Date.now()), { dialTimeoutMs: 3_000 });
  t.teardown(() => d.stop());
  return d;
}

async function serve(t: Teardownable, fed: TestFederation, clients: number, over: Record<string, unknown> = {}) {
  const [c1] = await planMembers(fed, [{ name: 'c1', role: 'controller' }]);
  const node = await startMember(t, fed, c1!, [], { remoteClients: { connectionsMax: clients }, certificateClockSkewMs: 0, ...over });
  const remote = new RemoteAdmin({ federationId: fed.id, auth: node.auth, clientConnectionsMax: clients, methods: METHODS, timers: REAL_TIMERS, requestBytesMax: 4096 });
  await remote.start(node.libp2p);
  t.teardown(() => remote.stop());
  return { node, remote, endpoint: c1!.listen };
}

t.test('more clients than connectionsMax: the next is refused AUTH_BUSY, the others keep working', async (t) => {
  const dir = await tempDir(t);
  const fed = await makeFederation('busy-fed');
  const { node, endpoint } = await serve(t, fed, 2);
  const a = await (await dialer(t, dir, fed, 'a')).connect(endpoint);
  const b = await (await dialer(t, dir, fed, 'b')).connect(endpoint);
  const err = await (await dialer(t, dir, fed, 'c')).connect(endpoint).then(() => undefined, (e: unknown) => e);
  t.ok(err instanceof AdminCallError && err.code === 'AUTH_REFUSED' && /AUTH_BUSY/.test(err.message), `the third is refused (${String(err)})`);
  t.equal(node.auth.counters().refused.AUTH_BUSY, 1, 'counted');
  t.same(await a.call('test.echo', [1]), [1], 'the first still served');
  t.same(await b.call('test.echo', [2]), [2], 'and the second');
});

t.test(`at most ${REMOTE_ADMIN_STREAMS_PER_CONNECTION_MAX} admin streams per client connection`, async (t) => {
  const dir = await tempDir(t);
  const fed = await makeFederation('streams-fed');
  const { endpoint } = await serve(t, fed, 4);
  const d = await dialer(t, dir, fed, 'a');
  const open: AdminConnection[] = [];
  for (let i = 0; i < REMOTE_ADMIN_STREAMS_PER_CONNECTION_MAX; i++) {
    const c = await d.connect(endpoint);
    t.same(await c.call('test.echo', [i]), [i]);
    open.push(c);
  }
  const extra = await d.connect(endpoint).then(async (c) => c.call('test.echo', ['x']), (e: unknown) => e).catch((e: unknown) => e);
  t.ok(extra instanceof AdminCallError, `one more stream is refused (${String(extra)})`);
  t.same(await open[0]!.call('test.echo', ['still']), ['still'], 'the open ones are not affected');
});

t.test('an oversized request is answered INVALID_REQUEST and its stream closed; a new stream works', async (t) => {
  const dir = await tempDir(t);
  const fed = await makeFederation('big-fed');
  const { remote, endpoint } = await serve(t, fed, 4);
  const d = await dialer(t, dir, fed, 'a');
  const c = await d.connect(endpoint);
  const err = await c.call('test.echo', ['x'.repeat(10_000)]).catch((e: unknown) => e);
  t.ok(err instanceof AdminCallError && (err.code === 'INVALID_REQUEST' || err.code === 'CONNECTION_CLOSED'), `refused (${String(err)})`);
  t.equal(remote.counters().oversized, 1, 'counted as oversized');
  t.same(await (await d.connect(endpoint)).call('test.echo', ['ok']), ['ok'], 'the client can go on with a new stream');
});

t.test('a client whose certificate expires while connected is disconnected', async (t) => {
  const dir = await tempDir(t);
  const fed = await makeFederation('expiry-fed');
  const { node, endpoint } = await serve(t, fed, 4);
  const shortLived = await makeClient(fed, 'brief', 'operator', { untilMs: 2_500 });
  const c = await (await dialer(t, dir, fed, 'brief', shortLived)).connect(endpoint);
  t.same(await c.call('test.echo', ['before']), ['before'], 'served while valid');
  await waitFor('the expired client disconnected', () => node.auth.counters().clients === 0, { timeoutMs: 8_000, intervalMs: 50 });
  t.ok(node.auth.counters().expired >= 1, 'counted as expired');
  const after = await c.call('test.echo', ['after']).catch((e: unknown) => e);
  t.ok(after instanceof AdminCallError, `no call after expiry (${String(after)})`);
});
