// The operator's path end to end: three `novaedge` daemons in separate processes (Manual conflict
// strategy), driven only through the real `novactl`: the status table's columns and values, apply on
// one and get on another, and a Manual conflict — made the way one happens, writes on both sides of a
// partition with fencing overridden on the cut-off side — listed and described on every controller,
// resolved on one, and gone everywhere.
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

const NAMES = ['us-west', 'eu-west', 'ap-east'];
const KEY = 'ProxyRoute/default/test-route';
const route = (backend: string): string => JSON.stringify({
  apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: 'test-route', namespace: 'default' },
  spec: { hostnames: ['test.example.com'], backendRef: { name: backend } },
});

t.test('novactl against three daemons: status, apply/get, a Manual conflict resolved', async (t) => {
  t.setTimeout(300_000);
  const dir = t.testdir();
  const pki = await writePki(dir, 'e2e-fed', NAMES.map((name) => ({ name, role: 'controller' as const })));
  const ports = await freePorts(NAMES.length * 2);
  const plans: ControllerPlan[] = NAMES.map((name, i) => ({ name, port: ports[i]!, metricsPort: ports[NAMES.length + i]! }));
  const sockets = await tempDir(t, 'nve-'); // short: Unix socket paths are limited to 107 bytes
  const socket = (name: string): string => join(sockets, `${name}.sock`);
  const config = async (name: string, edit: (yaml: string) => string = (y) => y): Promise<string> => {
    const path = join(dir, `${name}-${Math.random().toString(36).slice(2, 8)}.yaml`);
    const yaml = controllerYaml(pki, dir, sockets, plans.find((p) => p.name === name)!, plans).replace('strategy: LastWriterWins', 'strategy: Manual');
    await writeFile(path, edit(yaml));
    return path;
  };
  const ctl = (name: string, args: string[], input?: string): Promise<NovactlRun> =>
    novactl(['--socket', socket(name), ...args], input === undefined ? {} : { input });
  const daemons = new Map<string, DaemonProcess>();
  const start = async (name: string, edit?: (yaml: string) => string): Promise<void> => {
    const d = spawnDaemon(t, ['--config', await config(name, edit)]);
    daemons.set(name, d);
    await d.waitForLog('novaedge ready', 30_000);
  };
  const stop = async (name: string): Promise<void> => {
    const exit = await daemons.get(name)!.stop();
    t.equal(exit.code, 0, `${name} stops cleanly`);
    daemons.delete(name);
  };

  await Promise.all(NAMES.map((n) => start(n)));
  const status = await waitFor('status shows both peers Healthy', async () => {
    const r = await ctl('us-west', ['federation', 'status']);
    return r.code === 0 && /eu-west +eu-west +Healthy/.test(r.stdout) && /ap-east +ap-east +Healthy/.test(r.stdout) ? r.stdout : undefined;
  }, { timeoutMs: 45_000, intervalMs: 200 });
  t.match(status, /^Federation: e2e-fed\nLocal Member: us-west\nPhase: Healthy\n/);
  t.match(status, /NAME +REGION +STATUS +SYNC LAG +LAST SYNC +AGENTS/);
  t.match(status, /us-west +us-west +Local +- +- +0/);
  t.match(status, /eu-west +eu-west +Healthy +\d+(ms|\.\ds) +(\d+s ago|never) +0/);

  t.equal((await ctl('us-west', ['apply', '-f', '-'], route('test-backend'))).code, 0, 'apply on us-west');
  const got = await waitFor('the route on eu-west', async () => {
    const r = await ctl('eu-west', ['get', 'proxyroute', 'test-route', '-o', 'json']);
    return r.code === 0 ? JSON.parse(r.stdout) : undefined;
  }, { timeoutMs: 20_000, intervalMs: 200 });
  t.same(got.spec.backendRef, { name: 'test-backend' }, 'identical on eu-west');

  // The partition: eu-west goes away, us-west (still a majority with ap-east) writes; then eu-west
  // alone, fencing overridden, writes too.
  await stop('eu-west');
  t.equal((await ctl('us-west', ['apply', '-f', '-'], route('backend-us'))).code, 0);
  await stop('us-west');
  await stop('ap-east');
  await start('eu-west', (y) => y.replace('fenceWrites: true', 'fenceWrites: false'));
  t.equal((await ctl('eu-west', ['apply', '-f', '-'], route('backend-eu'))).code, 0, 'minority write accepted with fencing off');
  await stop('eu-west');
  await Promise.all(NAMES.map((n) => start(n)));

  for (const name of NAMES) {
    const listed = await waitFor(`${name} lists the conflict`, async () => {
      const r = await ctl(name, ['federation', 'conflicts']);
      return r.stdout.includes(KEY) ? r.stdout : undefined;
    }, { timeoutMs: 30_000, intervalMs: 200 });
    t.match(listed, /RESOURCE +LOCAL VERSION +REMOTE VERSION +DETECTED/);
    t.match(listed, /ProxyRoute\/default\/test-route +v\d+ \((local|us-west|eu-west)\) +v\d+ \((us|eu)-west\) +\d+[smhd] ago/);
  }
  const described = await ctl('ap-east', ['federation', 'conflicts', 'describe', KEY, '-o', 'json']);
  const c = JSON.parse(described.stdout);
  t.same(new Set([c.local.value.spec.backendRef.name, c.remote[0].value.spec.backendRef.name]), new Set(['backend-us', 'backend-eu']), 'both versions described');
  const blocked = await ctl('us-west', ['apply', '-f', '-'], route('third'));
  t.equal(blocked.code, 1, 'a write to a key in conflict is refused');
  t.match(blocked.stderr, /CONFLICT/);
  const resolved = await ctl('us-west', ['federation', 'conflicts', 'resolve', KEY, '--keep', 'remote']);
  t.equal(resolved.code, 0, resolved.stderr);
  for (const name of NAMES) {
    await waitFor(`${name}: conflict gone, backend-eu kept`, async () => {
      const list = await ctl(name, ['federation', 'conflicts']);
      const r = await ctl(name, ['get', 'proxyroute', 'test-route', '-o', 'json']);
      return /No pending conflicts/.test(list.stdout) && r.code === 0 && JSON.parse(r.stdout).spec.backendRef.name === 'backend-eu';
    }, { timeoutMs: 30_000, intervalMs: 200 });
  }
  t.pass('resolved everywhere');
  const missing = await ctl('eu-west', ['get', 'proxyroute', 'nope']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /NOT_FOUND/);
});
