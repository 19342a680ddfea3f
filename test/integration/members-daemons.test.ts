// Live membership over real daemons, driven by novactl as an operator would: the record every
// controller starts from, an operator's certificate withdrawn federation-wide, a region removed while
// it is down (only with --force), and that region, started again, learning of its removal from the
// others' refusals and saying so in its own status; `novaedge --check` then names the YAML entry of
// the removed region.
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

t.test('novactl federation members: list, deny an operator, remove a region that is down', async (t) => {
  t.setTimeout(240_000);
  const dir = t.testdir();
  const pki = await writePki(dir, 'members-fed', NAMES.map((name) => ({ name, role: 'controller' as const })));
  const caKey = join(dir, 'ca.key');
  await writeNewKeyFile(caKey, 'novaedge/ca-key', pki.fed.controllerCa.privateKey);
  const ports = await freePorts(NAMES.length * 2);
  const plans: ControllerPlan[] = NAMES.map((name, i) => ({ name, port: ports[i]!, metricsPort: ports[NAMES.length + i]! }));
  const sockets = await tempDir(t, 'nvm-');
  const configs = new Map<string, string>();
  const daemons = new Map<string, DaemonProcess>();
  const start = async (name: string): Promise<void> => {
    const d = spawnDaemon(t, ['--config', configs.get(name)!]);
    daemons.set(name, d);
    await d.waitForLog('novaedge ready', 30_000);
  };
  for (const p of plans) {
    const path = join(dir, `${p.name}.yaml`);
    await writeFile(path, controllerYaml(pki, dir, sockets, p, plans).replace('  metricsAddress:', '  remoteAdmin: { enabled: true }\n  metricsAddress:'));
    configs.set(p.name, path);
  }
  await Promise.all(NAMES.map(start));
  const local = (name: string, args: string[], input?: string): Promise<NovactlRun> =>
    novactl(['--socket', join(sockets, `${name}.sock`), '--timeout', '10s', ...args], input === undefined ? {} : { input });

  const client = async (name: string): Promise<{ key: string; cert: string; peerId: string }> => {
    const key = join(dir, `${name}.key`);
    const cert = join(dir, `${name}.cert`);
    const made = await novactl(['keygen', '--out', key]);
    t.equal(made.code, 0, `keygen ${name}`);
    const peerId = /12D3KooW\w+/.exec(made.stdout)?.[0];
    if (peerId === undefined) throw new Error(`keygen printed no peer ID: ${made.stdout}`);
    t.equal((await novactl(['ca', 'issue', '--ca', caKey, '--member', name, '--role', 'operator', '--federation', 'members-fed', '--key', key, '--out', cert])).code, 0);
    return { key, cert, peerId };
  };
  const alice = await client('alice');
  const mallory = await client('mallory');
  const endpoints = plans.map((p) => `/ip4/127.0.0.1/tcp/${p.port}`).join(',');
  const remote = (who: { key: string; cert: string }, args: string[]): Promise<NovactlRun> =>
    novactl(['--endpoint', endpoints, '--identity', who.key, '--cert', who.cert, '--ca-file', pki.controllerCaFile, '--timeout', '10s', ...args]);

  const first = await local('us-west', ['federation', 'members']);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /^membership epoch 1: 3 voters, 0 learners\n/);
  for (const n of NAMES) t.match(first.stdout, new RegExp(`^${n} +voter +12D3KooW\\w+ +\\(configured\\)`, 'm'), `${n} is a voter`);
  await waitFor('mallory reaches the federation', async () => (await remote(mallory, ['federation', 'status'])).code === 0, { timeoutMs: 45_000, intervalMs: 300 });

  // Withdraw mallory's certificate, through alice's remote session.
  const denied = await remote(alice, ['federation', 'members', 'deny', mallory.peerId, '--name', 'mallory', '--role', 'operator']);
  t.equal(denied.code, 0, denied.stderr);
  t.match(denied.stdout, new RegExp(`^denied operator mallory \\(${mallory.peerId}\\) from membership epoch 2 on`));
  const refused = await remote(mallory, ['federation', 'status']);
  t.not(refused.code, 0, 'mallory is refused on every endpoint');
  t.match(refused.stderr, /AUTH_REVOKED/);
  t.equal((await remote(alice, ['federation', 'status'])).code, 0, 'alice still works');

  // Remove ap-east while it is down: only with --force.
  await daemons.get('ap-east')!.stop('SIGKILL');
  await waitFor('ap-east is gone for eu-west', async () => !/^ap-east +voter .* yes +(yes|no|-)$/m.test((await local('eu-west', ['federation', 'members'])).stdout), { timeoutMs: 20_000, intervalMs: 200 });
  const unforced = await local('eu-west', ['federation', 'members', 'remove', 'ap-east']);
  t.equal(unforced.code, 1);
  t.match(unforced.stderr, /UNAVAILABLE: ap-east is not connected/);
  const removed = await local('eu-west', ['federation', 'members', 'remove', 'ap-east', '--force']);
  t.equal(removed.code, 0, removed.stderr);
  t.match(removed.stdout, /^removed ap-east \(12D3KooW\w+\) at membership epoch 3, without draining it \(not connected\); voters now eu-west, us-west/);
  const after = await local('us-west', ['federation', 'members']);
  t.match(after.stdout, /^membership epoch 3: 2 voters, 0 learners\n/);
  t.match(after.stdout, /^12D3KooW\w+ +ap-east +controller +3$/m, 'ap-east is denied');
  t.match(after.stdout, /^12D3KooW\w+ +mallory +operator +2$/m, 'and so is mallory');

  // Started again, ap-east cannot fetch the record (everyone refuses it) and learns from the refusals.
  await start('ap-east');
  const status = await waitFor('ap-east says it was removed', async () => {
    const r = await local('ap-east', ['federation', 'status']);
    return /^Removed: Yes/m.test(r.stdout) ? r.stdout : undefined;
  }, { timeoutMs: 30_000, intervalMs: 300 });
  t.match(status, /^Removed: Yes \(membership epoch 2\): this controller was removed from the federation and refuses every connection; stop it$/m);
  // The two left write with quorum durability.
  const route = JSON.stringify({ apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: 'after', namespace: 'default' }, spec: { hostnames: ['after.example.com'] } });
  const written = await local('us-west', ['apply', '-f', '-', '--durability', 'quorum'], route);
  t.equal(written.code, 0, `a quorum write on the two left: ${written.stderr}`);

  // us-west's YAML still lists ap-east: --check says so once the controller is stopped.
  const inUse = spawnDaemon(t, ['--config', configs.get('us-west')!, '--check']);
  t.equal((await inUse.exited).code, 0);
  t.match(inUse.otherOutput.join('\n'), /note: the data directory .* is in use or unreadable/, 'not compared while the controller runs');
  await daemons.get('us-west')!.stop('SIGTERM');
  const check = spawnDaemon(t, ['--config', configs.get('us-west')!, '--check']);
  t.equal((await check.exited).code, 0, check.stderr());
  const out = check.otherOutput.join('\n');
  t.match(out, /valid controller configuration for us-west/);
  t.match(out, /note: membership record: epoch 3, voters eu-west, us-west \(the federation's record wins over spec\.members\)/);
  t.match(out, /note: spec\.members\[\d\] \(ap-east\): removed from the federation at membership epoch 3, its peer ID refused everywhere; remove it from this file/);
});
