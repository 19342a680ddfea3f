// Adding a controller to a running federation over real daemons, driven by novactl as an operator
// would: three controllers run from YAML; a fourth gets a key and a certificate from `novactl keygen`
// and `novactl ca issue`, and a YAML file with spec.bootstrap alone (us-west's address). Started, it
// waits and logs the command that adds it; that command, run on eu-west (not the bootstrap member),
// adds it as a learner; it catches up, is promoted to voter, takes a quorum write that another
// controller then serves, and as a voter removes one of the original three, leaving three voters.
import t from 'tap';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeControllerConfigs, type ControllerPlan } from '../helpers/daemon-config.ts';
import { printLogTailsOnFailure } from '../helpers/daemon-logs.ts';
import { spawnDaemon, type DaemonProcess } from '../helpers/daemon-process.ts';
import { freePorts } from '../helpers/free-ports.ts';
import { bootstrapAddress, joinerYaml } from '../helpers/joiner-config.ts';
import { novactl, type NovactlRun } from '../helpers/novactl-run.ts';
import { writePki } from '../helpers/pki-files.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { writeNewKeyFile } from '../../node/identity/key-file.ts';

const FEDERATION = 'join-fed';
const NAMES = ['us-west', 'eu-west', 'ap-east'];
const JOINER = 'sa-east';
const WAITING = 'waiting to be added to the federation: run this on one of its controllers';

t.test('novactl federation members add: a controller started with spec.bootstrap alone joins, becomes a voter, takes quorum writes', async (t) => {
  t.setTimeout(120_000);
  const dir = t.testdir();
  const pki = await writePki(dir, FEDERATION, NAMES.map((name) => ({ name, role: 'controller' as const })));
  const caKey = join(dir, 'ca.key');
  await writeNewKeyFile(caKey, 'novaedge/ca-key', pki.fed.controllerCa.privateKey);
  const ports = await freePorts(8);
  const plans: ControllerPlan[] = [...NAMES, JOINER].map((name, i) => ({ name, port: ports[i]!, metricsPort: ports[4 + i]! }));
  const [usWest, , , saEast] = plans as [ControllerPlan, ControllerPlan, ControllerPlan, ControllerPlan];
  const sockets = await tempDir(t, 'nvj-');
  const daemons = new Map<string, DaemonProcess>();
  printLogTailsOnFailure(t, daemons);
  const configs = await writeControllerConfigs(pki, dir, sockets, plans.slice(0, 3));
  const ctl = (name: string, args: string[], o: { timeout?: string; input?: string } = {}): Promise<NovactlRun> =>
    novactl(['--socket', join(sockets, `${name}.sock`), '--timeout', o.timeout ?? '10s', ...args], o.input === undefined ? {} : { input: o.input });
  const ok = (r: NovactlRun, what: string): NovactlRun => {
    t.equal(r.code, 0, `${what}${r.code === 0 ? '' : `: ${r.stderr}${r.stdout}`}`);
    return r;
  };

  // The three controllers start while the fourth's identity is made, as an operator makes it.
  const keyFile = join(dir, `${JOINER}.key`);
  const certificateFile = join(dir, `${JOINER}.cert`);
  const [, peerId] = await Promise.all([
    Promise.all(NAMES.map(async (name) => {
      const d = spawnDaemon(t, ['--config', configs.get(name)!]);
      daemons.set(name, d);
      await d.waitForLog('novaedge ready', 30_000);
    })),
    (async () => {
      const made = ok(await novactl(['keygen', '--out', keyFile]), 'novactl keygen');
      const id = /12D3KooW\w+/.exec(made.stdout)?.[0];
      if (id === undefined) throw new Error(`keygen printed no peer ID: ${made.stdout}`);
      ok(await novactl(['ca', 'issue', '--ca', caKey, '--member', JOINER, '--role', 'controller', '--federation', FEDERATION, '--key', keyFile, '--out', certificateFile]), 'novactl ca issue');
      return id;
    })(),
  ]);
  pki.members.set(JOINER, { name: JOINER, role: 'controller', peerId, keyFile, certificateFile });

  // Its YAML names us-west alone, by address and peer ID, and no spec.members.
  const joinerConfig = join(dir, `${JOINER}.yaml`);
  const yaml = joinerYaml(pki, dir, sockets, saEast, [bootstrapAddress(pki, usWest)]);
  t.notMatch(yaml, /^ {2}members:/m, 'no spec.members');
  await writeFile(joinerConfig, yaml);
  const joiner = spawnDaemon(t, ['--config', joinerConfig]);
  daemons.set(JOINER, joiner);
  const waiting = await joiner.waitForLog(WAITING, 30_000);
  const command = `novactl federation members add ${JOINER} --peer-id ${peerId} --endpoint /ip4/127.0.0.1/tcp/${saEast.port}`;
  t.equal(waiting.command, command, 'the joiner logs the command that adds it');
  t.notOk(joiner.logs.some((l) => l.msg === 'novaedge ready'), 'and waits: it is not ready before it is added');

  // A formed federation (every voter Healthy, writes accepted), then the logged command on eu-west.
  ok(await ctl('eu-west', ['wait', 'formed'], { timeout: '30s' }), 'eu-west formed');
  const added = ok(await ctl('eu-west', command.split(' ').slice(1), { timeout: '30s' }), 'members add on eu-west');
  t.match(added.stdout, new RegExp(`^added ${JOINER} \\(${peerId}\\) as a learner at membership epoch 2; it is promoted to voter once caught up; voters ap-east, eu-west, us-west`));
  await joiner.waitForLog('novaedge ready', 30_000);

  // Caught up, it is promoted: its own list shows four voters, itself one of them.
  let last = '';
  const list = await waitFor(`${JOINER} lists itself a voter among 4`, async () => {
    const r = await ctl(JOINER, ['federation', 'members', 'list']);
    last = r.stdout + r.stderr;
    return r.code === 0 && /^membership epoch \d+: 4 voters, 0 learners$/m.test(r.stdout) && new RegExp(`^${JOINER} +voter +${peerId} `, 'm').test(r.stdout) ? r.stdout : undefined;
  }, { timeoutMs: 30_000, intervalMs: 200 }, () => last);
  for (const n of NAMES) t.match(list, new RegExp(`^${n} +voter +12D3KooW\\w+ `, 'm'), `${n} is a voter`);
  t.match(list, /^NAME +ROLE +PEER ID +ENDPOINTS +REGION +CONNECTED +SAME ROOT$/m, 'the table says whether each holds the same Merkle root');
  t.match(list, new RegExp(`^${JOINER} +voter +${peerId} +/ip4/127\\.0\\.0\\.1/tcp/${saEast.port}/p2p/${peerId} `, 'm'), 'at the endpoint it was added with');

  // A quorum write through the new voter, served by another controller.
  ok(await ctl(JOINER, ['wait', 'formed'], { timeout: '30s' }), `${JOINER} formed`);
  const route = JSON.stringify({ apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: 'joined', namespace: 'default' }, spec: { hostnames: ['joined.example.com'] } });
  const written = ok(await ctl(JOINER, ['apply', '-f', '-', '--durability', 'quorum'], { input: route }), `a quorum write on ${JOINER}`);
  const storedOn = /^ProxyRoute\/default\/joined applied \(stored on (.+)\)$/m.exec(written.stdout)?.[1]?.split(', ') ?? [];
  t.ok(storedOn.length >= 3 && storedOn.includes(JOINER), `stored on three of the four voters, ${JOINER} one of them: ${written.stdout}`);
  const got = await waitFor('us-west serves the route', async () => {
    const r = await ctl('us-west', ['get', 'proxyroute', 'joined', '-o', 'json']);
    return r.code === 0 ? r.stdout : undefined;
  }, { timeoutMs: 15_000, intervalMs: 200 });
  t.match(JSON.parse(got), { kind: 'ProxyRoute', metadata: { name: 'joined' }, spec: { hostnames: ['joined.example.com'] } });

  // The new voter removes ap-east (connected: drained first); three voters are left, everywhere.
  const removed = ok(await ctl(JOINER, ['federation', 'members', 'remove', 'ap-east'], { timeout: '30s' }), `members remove on ${JOINER}`);
  t.match(removed.stdout, new RegExp(`^removed ap-east \\(${pki.members.get('ap-east')!.peerId}\\) at membership epoch \\d+, after draining it; voters now eu-west, ${JOINER}, us-west`));
  for (const name of ['us-west', JOINER]) {
    const after = await waitFor(`${name} lists 3 voters`, async () => {
      const r = await ctl(name, ['federation', 'members', 'list']);
      last = r.stdout + r.stderr;
      return /^membership epoch \d+: 3 voters, 0 learners$/m.test(r.stdout) ? r.stdout : undefined;
    }, { timeoutMs: 15_000, intervalMs: 200 }, () => last);
    t.notMatch(after, /^ap-east +voter/m, `${name}: ap-east is no voter`);
    t.match(after, new RegExp(`^${pki.members.get('ap-east')!.peerId} +ap-east +controller +\\d+$`, 'm'), `${name}: ap-east is denied`);
  }
});
