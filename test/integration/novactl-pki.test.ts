// novactl keygen, ca init and ca issue make files that real nodes start and authenticate with; a
// controller that holds no quorum refuses writes through novactl with FENCED and exit code 1.
import t from 'tap';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { startAdminServer } from '../../node/admin/admin-server.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { controllerMethods } from '../../node/admin/controller-methods.ts';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION } from '../../node/config/replication-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import { freePorts } from '../helpers/free-ports.ts';
import { novactl } from '../helpers/novactl-run.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

const CONTROLLERS = ['solo', 'ghost-1', 'ghost-2'];
// The CLI runs as a child process many times: allow for a slow, shared machine.
t.setTimeout(300_000);

t.test('keys, CA and certificates from novactl start a federation; no quorum means FENCED', async (t) => {
  const dir = await tempDir(t, 'nvpki-');
  const f = (name: string): string => join(dir, name);
  const run = async (args: string[]): Promise<string> => {
    const r = await novactl(args);
    t.equal(r.code, 0, `novactl ${args.slice(0, 2).join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const [soloId, ghostId] = await Promise.all([run(['keygen', '--out', f('solo.key')]), run(['keygen', '--out', f('ghost-1.key')])]);
  t.match(soloId, /^12D3KooW\w+\n$/, 'keygen prints the peer ID');
  t.equal(statSync(f('solo.key')).mode & 0o777, 0o600, 'identity key is owner-only');
  t.match(await run(['ca', 'init', '--out', f('controllers-ca.key'), '--name', 'controllers-ca']), /CA public: .*controllers-ca\.pub/);
  t.equal(statSync(f('controllers-ca.key')).mode & 0o777, 0o600, 'CA key is owner-only');
  t.equal(JSON.parse(readFileSync(f('controllers-ca.pub'), 'utf8')).name, 'controllers-ca');
  const common = ['--ca', f('controllers-ca.key'), '--role', 'controller', '--federation', 'pki-fed', '--days', '30'];
  await Promise.all([
    run(['ca', 'issue', ...common, '--member', 'solo', '--key', f('solo.key'), '--out', f('solo.cert')]),
    run(['ca', 'issue', ...common, '--member', 'ghost-1', '--peer-id', ghostId.trim(), '--out', f('ghost-1.cert')]),
  ]);
  const cert = JSON.parse(readFileSync(f('solo.cert'), 'utf8'));
  t.equal(cert.peerId, soloId.trim());
  t.ok(Date.parse(cert.notAfter) - Date.now() > 29 * 86_400_000, '--days sets the validity');

  const ports = await freePorts(2);
  const start = (name: string, port: number, bootstrap: string[]) => ControllerNode.start({
    membership: {
      federationId: 'pki-fed', memberName: name, role: 'controller', region: 'r1', listen: [`/ip4/127.0.0.1/tcp/${port}`], bootstrap,
      keyFile: f(`${name}.key`), certificateFile: f(`${name}.cert`), controllerCaFiles: [f('controllers-ca.pub')],
    },
    replication: { dataDir: f(`data-${name}`), controllers: CONTROLLERS },
  }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION });
  const solo = await start('solo', ports[0]!, []);
  t.teardown(() => solo.stop());
  t.equal(solo.membership.peerId.toString(), soloId.trim(), 'the node runs with the generated identity');
  const socket = f('solo.sock');
  const admin = await startAdminServer({ timers: REAL_TIMERS, socketPath: socket, methods: controllerMethods(solo) });
  t.teardown(() => admin.close());

  // Alone: 1 of 3 votes, so writes are fenced.
  const v = await novactl(['federation', 'status', '--verbose'], { socket });
  t.equal(v.code, 0, v.stderr);
  for (const line of ['Reachable Peers: 0/2', 'Writes Fenced: Yes', 'Reads Allowed: Yes', 'Our Votes: 1 / 3 total', 'Quorum Threshold: 2', 'Have Quorum: No']) {
    t.ok(v.stdout.split('\n').includes(line), line);
  }
  const resource = YAML.stringify({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: 'api' }, spec: {} });
  const fenced = await novactl(['apply', '-f', '-'], { socket, input: resource });
  t.equal(fenced.code, 1);
  t.match(fenced.stderr, /^error: FENCED: /);
  t.equal(await solo.get('ProxyRoute/default/api'), undefined, 'nothing stored');

  // A second controller with a certificate issued by --peer-id: it authenticates, quorum is held.
  const ghost = await start('ghost-1', ports[1]!, [`/ip4/127.0.0.1/tcp/${ports[0]}/p2p/${soloId.trim()}`]);
  t.teardown(() => ghost.stop());
  await waitFor('quorum', () => solo.fence.tally().haveQuorum, { timeoutMs: 20_000 });
  const ok = await novactl(['apply', '-f', '-'], { socket, input: resource });
  t.equal(ok.code, 0, ok.stderr);
  await waitFor('replicated to ghost-1', async () => (await ghost.get('ProxyRoute/default/api')) !== undefined, { timeoutMs: 20_000 });

  // Refusals.
  const [again, wrongKind, badFed] = await Promise.all([
    novactl(['keygen', '--out', f('solo.key')]),
    novactl(['ca', 'issue', ...common.map((a) => (a === f('controllers-ca.key') ? f('solo.key') : a)), '--member', 'x', '--peer-id', ghostId.trim(), '--out', f('x.cert')]),
    novactl(['ca', 'issue', '--ca', f('controllers-ca.key'), '--role', 'agent', '--federation', 'Bad_Fed', '--member', 'x', '--peer-id', ghostId.trim(), '--out', f('y.cert')]),
  ]);
  t.equal(again.code, 1);
  t.match(again.stderr, /^error: KEY_FILE_UNUSABLE: .*already exists/);
  t.equal(wrongKind.code, 1);
  t.match(wrongKind.stderr, /^error: KEY_FILE_WRONG_KIND: /);
  t.equal(badFed.code, 1);
  t.match(badFed.stderr, /^error: CERT_MALFORMED: federationId/);
});
