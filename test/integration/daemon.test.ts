// `novaedge` end to end: three controllers and an agent in separate processes started from real
// YAML files with keys and certificates on disk; ready lines; a write through one admin socket read
// through another and seen in a third one's metrics; the agent connected to its primary (its
// metrics); SIGTERM stops each cleanly (exit 0, socket removed). Config
// mistakes stop the daemon before anything starts, naming the field, with exit code 2.
import t from 'tap';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { callAdmin } from '../../node/admin/admin-client.ts';
import { agentYaml, controllerYaml, writeControllerConfigs, type ControllerPlan } from '../helpers/daemon-config.ts';
import { spawnDaemon } from '../helpers/daemon-process.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { freePorts } from '../helpers/free-ports.ts';
import { writePki } from '../helpers/pki-files.ts';
import { scrape, valueOf } from '../helpers/prom-text.ts';
import { waitFor } from '../helpers/wait-for.ts';

const NAMES = ['us-west', 'eu-west', 'ap-east'];

t.test('three controller daemons and an agent daemon', async (t) => {
  const dir = t.testdir();
  const pki = await writePki(dir, 'daemon-fed', [...NAMES.map((name) => ({ name, role: 'controller' as const })), { name: 'edge-1', role: 'agent' as const }]);
  const ports = await freePorts(NAMES.length * 2 + 1);
  const plans: ControllerPlan[] = NAMES.map((name, i) => ({ name, port: ports[i]!, metricsPort: ports[NAMES.length + i]! }));
  const sockets = await tempDir(t, 'nvd-'); // short: Unix socket paths are limited to 107 bytes
  const configs = await writeControllerConfigs(pki, dir, sockets, plans);
  const agentConfig = join(dir, 'edge-1.yaml');
  await writeFile(agentConfig, agentYaml(pki, dir, sockets, 'edge-1', ports[NAMES.length * 2]!, plans[0]!, plans.slice(1)));
  const daemons = NAMES.map((n) => spawnDaemon(t, ['--config', configs.get(n)!]));
  const agent = spawnDaemon(t, ['--config', agentConfig]);
  const ready = await Promise.all(daemons.map((d) => d.waitForLog('novaedge ready', 30_000)));
  const agentReady = await agent.waitForLog('novaedge ready', 30_000);
  t.match(agentReady, { member: 'edge-1', role: 'agent', peerId: pki.members.get('edge-1')!.peerId, metricsUrl: `http://127.0.0.1:${ports[NAMES.length * 2]}/metrics` });

  for (const [i, r] of ready.entries()) {
    const name = NAMES[i]!;
    t.match(r, {
      member: name, role: 'controller', federationId: 'daemon-fed', peerId: pki.members.get(name)!.peerId,
      adminSocket: join(sockets, `${name}.sock`), metricsUrl: `http://127.0.0.1:${plans[i]!.metricsPort}/metrics`,
    }, `${name} ready line`);
    t.same(r.listen, [`/ip4/127.0.0.1/tcp/${plans[i]!.port}/p2p/${pki.members.get(name)!.peerId}`]);
    t.ok(existsSync(join(sockets, `${name}.sock`)), `${name} admin socket exists`);
  }
  const urls = ready.map((r) => r.metricsUrl as string);
  await waitFor('every controller sees the others healthy', async () => {
    for (const [i, url] of urls.entries()) {
      const p = await scrape(url);
      if (!NAMES.every((m) => m === NAMES[i] || valueOf(p, 'novaedge_federation_member_healthy', { member: m }) === 1)) return false;
    }
    return true;
  }, { timeoutMs: 20_000, intervalMs: 100 });

  const route = { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: 'test-route', namespace: 'default' }, spec: { hostnames: ['test.example.com'] } };
  const applied = await callAdmin<{ results: Array<{ key: string }> }>(join(sockets, 'us-west.sock'), 'resources.apply', { resources: [route] });
  t.equal(applied.results[0]?.key, 'ProxyRoute/default/test-route');
  const got = await waitFor('the route on eu-west', () => callAdmin<{ value: unknown }>(join(sockets, 'eu-west.sock'), 'resources.get', { key: 'ProxyRoute/default/test-route' }).catch(() => undefined), { timeoutMs: 10_000, intervalMs: 50 });
  t.same(got.value, route, 'identical on eu-west');
  await waitFor('ap-east holds it (metrics)', async () => valueOf(await scrape(urls[2]!), 'novaedge_federation_resources') === 1, { timeoutMs: 10_000, intervalMs: 50 });

  await waitFor('the agent follows us-west', async () => {
    const p = await scrape(agentReady.metricsUrl as string);
    return valueOf(p, 'novaedge_agent_controller_current', { controller: 'us-west' }) === 1 &&
      valueOf(p, 'novaedge_agent_controller_connection', { controller: 'us-west' }) === 1;
  }, { timeoutMs: 15_000, intervalMs: 100 });
  t.same(await agent.stop('SIGTERM'), { code: 0, signal: null }, 'agent: SIGTERM, exit 0');

  const exits = await Promise.all(daemons.map((d) => d.stop('SIGTERM')));
  t.same(exits, NAMES.map(() => ({ code: 0, signal: null })), 'SIGTERM: exit 0');
  for (const [i, name] of NAMES.entries()) {
    t.notOk(existsSync(join(sockets, `${name}.sock`)), `${name} admin socket removed`);
    t.ok(daemons[i]!.logs.some((l) => l.msg === 'stopped' && l.code === 0), `${name} logged its clean stop`);
    t.equal(daemons[i]!.stderr(), '', `${name}: nothing on stderr`);
  }
});

t.test('config mistakes: exit 2, the field path on stderr, nothing started', async (t) => {
  const dir = t.testdir();
  const pki = await writePki(dir, 'daemon-fed', NAMES.map((name) => ({ name, role: 'controller' as const })));
  const plans: ControllerPlan[] = NAMES.map((name, i) => ({ name, port: 1 + i, metricsPort: 101 + i }));
  const good = controllerYaml(pki, dir, dir, plans[0]!, plans);
  const cases: Array<[string, string, RegExp]> = [
    ['unknown field', good.replace('sync: { interval:', 'sync: { intervall:'), /^spec\.sync\.intervall: unknown field \(did you mean spec\.sync\.interval\?\)$/m],
    ['wrong type', good.replace('batchSize: 100, compression', 'batchSize: "lots", compression'), /^spec\.sync\.batchSize: must be an integer, got "lots"$/m],
    ['quorum larger than members', good.replace('mode: Controllers,', 'mode: Controllers, quorumSize: 4,'), /^spec\.splitBrain\.quorumSize: 4 is larger than the 3 configured controllers/m],
    ['missing certificate file', good.replace(/certificateFile: .*/, `certificateFile: ${join(dir, 'nope.cert')}`), /^node\.certificateFile: .*nope\.cert does not exist$/m],
  ];
  const runs = await Promise.all(cases.map(async ([name, yaml], i) => {
    const path = join(dir, `bad-${i}.yaml`);
    await writeFile(path, yaml);
    const d = spawnDaemon(t, ['--config', path]);
    return { name, d, exit: await d.exited };
  }));
  for (const [i, { name, d, exit }] of runs.entries()) {
    t.same(exit, { code: 2, signal: null }, `${name}: exit code 2`);
    t.match(d.stderr(), cases[i]![2], `${name}: field and problem on stderr`);
    t.same(d.logs, [], `${name}: nothing started`);
  }
  t.notOk(existsSync(join(dir, 'us-west.sock')), 'no admin socket left');
});
