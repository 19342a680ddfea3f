// novactl run remotely (--endpoint) against three real `novaedge` daemons serving the remote admin
// protocol, with certificates issued by novactl itself: an operator applies and reads, a viewer reads
// and is refused writes, an agent's certificate is refused as a client, and with the first endpoint
// stopped the calls go to the next one.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { controllerYaml, type ControllerPlan } from '../helpers/daemon-config.ts';
import { spawnDaemon, type DaemonProcess } from '../helpers/daemon-process.ts';
import { freePorts } from '../helpers/free-ports.ts';
import { novactl, type NovactlRun } from '../helpers/novactl-run.ts';
import { writePki } from '../helpers/pki-files.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { writeNewKeyFile } from '../../node/identity/key-file.ts';

const NAMES = ['us-west', 'eu-west', 'ap-east'];
const route = (backend: string): string => JSON.stringify({
  apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: 'remote-route', namespace: 'default' },
  spec: { hostnames: ['remote.example.com'], backendRef: { name: backend } },
});

t.test('novactl --endpoint against three daemons: operator, viewer and agent certificates; failover', async (t) => {
  t.setTimeout(240_000);
  const dir = t.testdir();
  const pki = await writePki(dir, 'remote-fed', [...NAMES.map((name) => ({ name, role: 'controller' as const })), { name: 'edge-1', role: 'agent' as const }]);
  const caKey = join(dir, 'ca.key');
  await writeNewKeyFile(caKey, 'novaedge/ca-key', pki.fed.controllerCa.privateKey);
  const ports = await freePorts(NAMES.length * 2);
  const plans: ControllerPlan[] = NAMES.map((name, i) => ({ name, port: ports[i]!, metricsPort: ports[NAMES.length + i]! }));
  const sockets = await tempDir(t, 'nvr-');
  const daemons = new Map<string, DaemonProcess>();
  await Promise.all(plans.map(async (p) => {
    const path = join(dir, `${p.name}.yaml`);
    // The remote admin protocol, client certificates from the controller CA (the default).
    await writeFile(path, controllerYaml(pki, dir, sockets, p, plans).replace('  metricsAddress:', '  remoteAdmin: { enabled: true }\n  metricsAddress:'));
    const d = spawnDaemon(t, ['--config', path]);
    daemons.set(p.name, d);
    await d.waitForLog('novaedge ready', 30_000);
  }));

  // Client identities and certificates, made the way an operator makes them.
  const client = async (name: string, role: string): Promise<{ key: string; cert: string }> => {
    const key = join(dir, `${name}.key`);
    const cert = join(dir, `${name}.cert`);
    t.equal((await novactl(['keygen', '--out', key])).code, 0, `keygen ${name}`);
    const issued = await novactl(['ca', 'issue', '--ca', caKey, '--member', name, '--role', role, '--federation', 'remote-fed', '--key', key, '--out', cert]);
    t.equal(issued.code, 0, `ca issue --role ${role}: ${issued.stderr}`);
    t.match(issued.stdout, new RegExp(`certificate for ${name} \\(${role}\\)`));
    return { key, cert };
  };
  const alice = await client('alice', 'operator');
  const victor = await client('victor', 'viewer');
  const endpoints = plans.map((p) => `/ip4/127.0.0.1/tcp/${p.port}`).join(',');
  const remote = (who: { key: string; cert: string }, args: string[], input?: string, eps = endpoints): Promise<NovactlRun> =>
    novactl(['--endpoint', eps, '--identity', who.key, '--cert', who.cert, '--ca-file', pki.controllerCaFile, '--timeout', '10s', ...args], input === undefined ? {} : { input });

  const status = await waitFor('remote federation status shows both peers Healthy', async () => {
    const r = await remote(alice, ['federation', 'status']);
    return r.code === 0 && /eu-west +eu-west +Healthy/.test(r.stdout) && /ap-east +ap-east +Healthy/.test(r.stdout) ? r.stdout : undefined;
  }, { timeoutMs: 45_000, intervalMs: 300 });
  t.match(status, /^Federation: remote-fed\nLocal Member: us-west\n/, 'answered by the first endpoint');

  const applied = await remote(alice, ['apply', '-f', '-', '--durability', 'quorum'], route('backend-a'));
  t.equal(applied.code, 0, `the operator applies with quorum durability: ${applied.stderr}`);
  const got = await remote(victor, ['get', 'proxyroute', 'remote-route', '-o', 'json'], undefined, `/ip4/127.0.0.1/tcp/${plans[1]!.port}`);
  t.equal(got.code, 0, `the viewer reads on eu-west: ${got.stderr}`);
  t.same(JSON.parse(got.stdout).spec.backendRef, { name: 'backend-a' }, 'the quorum write is on eu-west already');

  const refused = await remote(victor, ['apply', '-f', '-'], route('backend-v'));
  t.equal(refused.code, 1, 'a viewer\'s write fails');
  t.match(refused.stderr, /^error: FORBIDDEN: resources\.apply changes the federation/m);

  const agent = pki.members.get('edge-1')!;
  const asAgent = await remote({ key: agent.keyFile, cert: agent.certificateFile }, ['federation', 'status']);
  t.equal(asAgent.code, 2, 'an agent certificate is not a client certificate');
  t.match(asAgent.stderr, /CLIENT_CREDENTIALS: .*agent certificate; a remote client needs an operator or viewer certificate/);

  const partial = await novactl(['--endpoint', endpoints, 'federation', 'status']);
  t.equal(partial.code, 2, '--endpoint without credentials is a usage error');
  t.match(partial.stderr, /--endpoint also needs --identity/);

  // Audit: the operator's write is logged on the controller that served it, with the operator's name.
  const audit = daemons.get('us-west')!.logs.find((l) => l.msg === 'remote admin write' && l.client === 'alice');
  t.ok(audit !== undefined && audit.method === 'resources.apply' && audit.outcome === 'ok', 'the remote write is audited with the operator\'s name');

  const metrics = await (await fetch(`http://127.0.0.1:${plans[0]!.metricsPort}/metrics`)).text();
  t.match(metrics, /novaedge_admin_remote_calls_total\{role="operator",method="resources.apply"\} 1\b/, 'the operator\'s apply is counted');
  t.match(metrics, /novaedge_admin_remote_calls_total\{role="viewer",method="resources.apply"\} 1\b/, 'so is the viewer\'s refused one');
  t.match(metrics, /novaedge_admin_remote_forbidden_total 1\b/, 'as FORBIDDEN');

  // The first endpoint goes away: reads and writes go to the next one.
  const exit = await daemons.get('us-west')!.stop();
  t.equal(exit.code, 0, 'us-west stops');
  const after = await remote(alice, ['apply', '-f', '-'], route('backend-b'));
  t.equal(after.code, 0, `with us-west down the write goes to eu-west: ${after.stderr}`);
  const read = await remote(victor, ['get', 'proxyroute', 'remote-route', '-o', 'json']);
  t.equal(read.code, 0, 'and so does the read');
  t.same(JSON.parse(read.stdout).spec.backendRef, { name: 'backend-b' });
  const none = await remote(alice, ['federation', 'status'], undefined, `/ip4/127.0.0.1/tcp/${plans[0]!.port}`);
  t.equal(none.code, 3, 'with its only endpoint down, novactl reports the controller unreachable');
  t.match(none.stderr, /NO_SERVER/);
});
