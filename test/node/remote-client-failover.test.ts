// The client library's failover (node/client/client.ts) over real libp2p: two controllers serving the
// remote admin protocol with scripted answers. A write refused FENCED (nothing stored) goes to the
// next endpoint; one that failed QUORUM_TIMEOUT (maybe stored) is not sent again; a read goes on to
// the next endpoint when the first is gone; the endpoint that answered is kept for the next call.
import { join } from 'node:path';
import t from 'tap';
import { AdminCallError } from '../../node/admin/admin-client.ts';
import { AdminError } from '../../node/admin/admin-errors.ts';
import { defineMethod, Subscription, type MethodTable } from '../../node/admin/method-table.ts';
import { RemoteAdmin } from '../../node/admin/remote-admin.ts';
import { createClient } from '../../node/client/client.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { writeCaPublicFile } from '../../node/identity/ca.ts';
import { writeCertificateFile } from '../../node/identity/certificate.ts';
import { writeNewKeyFile } from '../../node/identity/key-file.ts';
import { makeClient, makeFederation } from '../helpers/cert-fixtures.ts';
import { planMembers, startMember } from '../helpers/cluster.ts';
import { tempDir } from '../helpers/temp-dir.ts';

t.test('client failover: FENCED writes move on, maybe-stored writes do not, reads skip a dead endpoint', async (t) => {
  const dir = await tempDir(t);
  const fed = await makeFederation('failover-fed');
  const planned = await planMembers(fed, [{ name: 'c1', role: 'controller' }, { name: 'c2', role: 'controller' }]);
  const calls: string[] = [];
  // c1 is "on the minority side": it refuses writes with FENCED, and times out on `resources.delete`.
  const table = (name: string): MethodTable => ({
    'resources.get': defineMethod({ params: (raw) => raw, handler: async () => { calls.push(`${name} get`); return { from: name }; } }),
    'resources.apply': defineMethod({
      access: 'write', params: (raw) => raw,
      handler: async () => {
        calls.push(`${name} apply`);
        if (name === 'c1') throw new AdminError('FENCED', 'writes fenced (NO_QUORUM): 1 of 2 votes');
        return { results: [{ index: 0, from: name }] };
      },
    }),
    'resources.delete': defineMethod({
      access: 'write', params: (raw) => raw,
      handler: async () => { calls.push(`${name} delete`); throw new AdminError('QUORUM_TIMEOUT', 'not acknowledged by a majority in time'); },
    }),
  });
  const remotes: RemoteAdmin[] = [];
  for (const m of planned) {
    const node = await startMember(t, fed, m, [], { remoteClients: {} });
    const r = new RemoteAdmin({ federationId: fed.id, auth: node.auth, clientConnectionsMax: 4, methods: table(m.name), timers: REAL_TIMERS });
    await r.start(node.libp2p);
    t.teardown(() => r.stop());
    remotes.push(r);
  }
  const op = await makeClient(fed, 'alice', 'operator');
  const files = { identityKeyFile: join(dir, 'alice.key'), certificateFile: join(dir, 'alice.cert'), caFiles: [join(dir, 'ca.pub')] };
  await writeNewKeyFile(files.identityKeyFile, 'novaedge/identity-key', op.privateKey);
  await writeCertificateFile(files.certificateFile, op.certificate);
  await writeCaPublicFile(files.caFiles[0]!, fed.controllerCa.public);
  const client = await createClient({ ...files, endpoints: planned.map((m) => m.listen), timeoutMs: 5_000, dialTimeoutMs: 2_000 });
  t.teardown(() => client.close());

  t.same(await client.get('ProxyRoute/default/x'), { from: 'c1' }, 'a read goes to the first endpoint');
  t.same(await client.apply([{ kind: 'ProxyRoute' }]), { results: [{ index: 0, from: 'c2' }] }, 'a write refused FENCED goes to the next');
  t.same(calls.splice(0), ['c1 get', 'c1 apply', 'c2 apply'], 'c1 refused it, c2 took it');
  t.same(await client.get('ProxyRoute/default/x'), { from: 'c2' }, 'the endpoint that answered last is tried first');
  const err = await client.delete('ProxyRoute/default/x').catch((e: unknown) => e);
  t.ok(err instanceof AdminCallError && err.code === 'QUORUM_TIMEOUT', `a write that may be stored is reported, not sent again (${String(err)})`);
  t.same(calls.splice(0), ['c2 get', 'c2 delete'], 'sent once');

  await remotes[1]!.stop(); // c2 stops serving: its admin streams close, new ones are refused
  t.same(await client.get('ProxyRoute/default/x'), { from: 'c1' }, 'a read goes on to the next endpoint when one is gone');
  const both = await client.apply([{ kind: 'ProxyRoute' }]).catch((e: unknown) => e);
  t.ok(both instanceof AdminCallError && both.code === 'FENCED' && /no controller could serve it/.test(both.message), `every endpoint tried: the last error, with what each said (${String(both)})`);
});

t.test('a remote watch: the response, each notification in order, and the end the controller sends', async (t) => {
  const dir = await tempDir(t);
  const fed = await makeFederation('watch-fed');
  const [c1] = await planMembers(fed, [{ name: 'c1', role: 'controller' }]);
  const node = await startMember(t, fed, c1!, [], { remoteClients: {} });
  const methods: MethodTable = {
    'resources.watch': defineMethod({
      stream: true, params: (raw) => raw,
      handler: async () => new Subscription({ seq: 7 }, async (sink) => {
        for (let seq = 8; seq <= 10; seq++) sink.notify('resources.event', { type: 'MODIFIED', seq, view: { key: `ProxyRoute/default/r${seq}` } });
      }),
    }),
  };
  const r = new RemoteAdmin({ federationId: fed.id, auth: node.auth, clientConnectionsMax: 4, methods, timers: REAL_TIMERS });
  await r.start(node.libp2p);
  t.teardown(() => r.stop());
  const op = await makeClient(fed, 'alice', 'viewer');
  const files = { identityKeyFile: join(dir, 'alice.key'), certificateFile: join(dir, 'alice.cert'), caFiles: [join(dir, 'ca.pub')] };
  await writeNewKeyFile(files.identityKeyFile, 'novaedge/identity-key', op.privateKey);
  await writeCertificateFile(files.certificateFile, op.certificate);
  await writeCaPublicFile(files.caFiles[0]!, fed.controllerCa.public);
  const client = await createClient({ ...files, endpoints: [c1!.listen] });
  t.teardown(() => client.close());
  const seen: number[] = [];
  let started: { seq: number; endpoint: string } | undefined;
  await client.watch({ fromSeq: 7 }, (e) => seen.push(e.seq), { onStart: (s) => { started = s; } });
  t.same(started, { seq: 7, endpoint: c1!.listen }, 'the response first, naming the endpoint');
  t.same(seen, [8, 9, 10], 'then every change once, in order, until the controller ended the watch');
});
