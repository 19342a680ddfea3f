// Faults with real processes: an agent daemon following three controller daemons. Its primary is
// killed with SIGKILL (the OS closes its connections), then the controller it moved to is frozen with
// SIGSTOP (connections stay open: only missed health checks tell). Each time the agent is served by
// the next controller and sees the writes made there; the frozen one comes back with SIGCONT.
import t from 'tap';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { callAdmin } from '../../node/admin/admin-client.ts';
import type { AgentStatus } from '../../node/agent/agent-node.ts';
import { agentYaml, writeControllerConfigs, type ControllerPlan } from '../helpers/daemon-config.ts';
import { spawnDaemon, type DaemonProcess } from '../helpers/daemon-process.ts';
import { freePorts } from '../helpers/free-ports.ts';
import { writePki } from '../helpers/pki-files.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

const NAMES = ['us-west', 'eu-west', 'ap-east'];

t.test('agent daemon: primary killed, then its successor frozen', async (t) => {
  t.setTimeout(240_000);
  const dir = t.testdir();
  const pki = await writePki(dir, 'fault-fed', [...NAMES.map((name) => ({ name, role: 'controller' as const })), { name: 'edge-1', role: 'agent' as const }]);
  const ports = await freePorts(NAMES.length * 2 + 1);
  const plans: ControllerPlan[] = NAMES.map((name, i) => ({ name, port: ports[i]!, metricsPort: ports[NAMES.length + i]! }));
  const sockets = await tempDir(t, 'nvf-'); // short: Unix socket paths are limited to 107 bytes
  const configs = await writeControllerConfigs(pki, dir, sockets, plans);
  // The agents' file copy and fencing are not under test: writes go to whichever controllers are up.
  for (const path of configs.values()) {
    await writeFile(path, (await readFile(path, 'utf8')).replace('fenceWrites: true', 'fenceWrites: false'));
  }
  const agentConfig = join(dir, 'edge-1.yaml');
  await writeFile(agentConfig, agentYaml(pki, dir, sockets, 'edge-1', ports[NAMES.length * 2]!, plans[0]!, plans.slice(1)));
  const controllers = new Map<string, DaemonProcess>(NAMES.map((n) => [n, spawnDaemon(t, ['--config', configs.get(n)!])]));
  await Promise.all([...controllers.values()].map((d) => d.waitForLog('novaedge ready', 30_000)));
  const agent = spawnDaemon(t, ['--config', agentConfig]);
  await agent.waitForLog('novaedge ready', 30_000);
  t.teardown(() => { for (const d of controllers.values()) d.child.kill('SIGCONT'); });

  const status = (): Promise<AgentStatus> => callAdmin<AgentStatus>(join(sockets, 'edge-1.sock'), 'agent.status', {}, { timeoutMs: 5_000 });
  const apply = (on: string, name: string): Promise<unknown> => callAdmin(join(sockets, `${on}.sock`), 'resources.apply', {
    resources: [{ apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name, namespace: 'default' }, spec: { by: on } }],
  });
  const sees = (name: string) => async (): Promise<boolean> =>
    callAdmin(join(sockets, 'edge-1.sock'), 'resources.get', { key: `ProxyRoute/default/${name}` }).then(() => true, () => false);
  await waitFor('agent follows us-west', async () => {
    const s = await status();
    return s.state === 'Connected' && s.controller === 'us-west';
  }, { timeoutMs: 30_000, intervalMs: 50 });

  const killedAt = performance.now();
  controllers.get('us-west')!.child.kill('SIGKILL');
  const second = await waitFor('served by a secondary after the kill', async () => {
    const s = await status();
    return s.state === 'Connected' && s.controller !== 'us-west' ? s.controller : undefined;
  }, { timeoutMs: 30_000, intervalMs: 20 });
  t.comment(`killed: served by ${second} after ${(performance.now() - killedAt).toFixed(0)} ms`);
  await apply(second!, 'after-kill');
  await waitFor('sees the write made on the secondary', sees('after-kill'), { timeoutMs: 20_000, intervalMs: 50 });

  const frozenAt = performance.now();
  controllers.get(second!)!.child.kill('SIGSTOP');
  const third = await waitFor('served by the third after the freeze', async () => {
    const s = await status();
    return s.state === 'Connected' && s.controller !== second ? s.controller : undefined;
  }, { timeoutMs: 30_000, intervalMs: 20 });
  t.comment(`frozen: served by ${third} after ${(performance.now() - frozenAt).toFixed(0)} ms (bound 3 x 200 + 200 = 800 ms)`);
  t.not(third, 'us-west', 'not the dead primary');
  await apply(third!, 'after-freeze');
  await waitFor('sees the write made on the third', sees('after-freeze'), { timeoutMs: 20_000, intervalMs: 50 });
  const s = await status();
  t.ok(s.failovers >= 2, `two failovers counted (${s.failovers})`);
  t.equal(s.controllers.find((c) => c.name === 'us-west')?.healthy, false, 'the killed primary is reported unhealthy');

  controllers.get(second!)!.child.kill('SIGCONT');
  await waitFor(`${second} healthy again to the agent`, async () => (await status()).controllers.find((c) => c.name === second)?.healthy === true,
    { timeoutMs: 30_000, intervalMs: 50 });
  t.equal((await agent.stop()).code, 0, 'the agent daemon stops cleanly');
});
