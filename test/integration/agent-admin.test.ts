// An agent's admin socket: status, reads, and writes refused with READ_ONLY (not "unknown method"),
// so novactl pointed at an agent says what to do; and the controller's view of that agent (the RTT it
// reports).
import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { agentMethods } from '../../node/admin/agent-methods.ts';
import type { AgentsResult } from '../../node/admin/controller-api.ts';
import { controllerMethods } from '../../node/admin/controller-methods.ts';
import { callAdmin } from '../../node/admin/admin-client.ts';
import { startAdminServer } from '../../node/admin/admin-server.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import type { AgentStatus } from '../../node/agent/agent-node.ts';
import { agentFederation, route } from '../helpers/agent-federation.ts';
import { novactl } from '../helpers/novactl-run.ts';
import { waitFor } from '../helpers/wait-for.ts';

t.test('agent admin methods', async (t) => {
  const f = await agentFederation(t, { controllers: ['c1'], agents: ['a1'] });
  await f.controllers.get('c1')!.apply(route('api'));
  const agent = await f.startAgent('a1', ['c1']);
  await waitFor('agent holds the route', async () => (await agent.get('ProxyRoute/default/api')) !== undefined, { timeoutMs: 20_000 });
  const dir = mkdtempSync(join(tmpdir(), 'ne-agent-admin-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const server = await startAdminServer({ timers: REAL_TIMERS, socketPath: join(dir, 'a.sock'), methods: agentMethods(agent) });
  t.teardown(() => server.close());

  const st = await callAdmin<AgentStatus>(server.path, 'agent.status', {});
  t.match(st, { member: 'a1', state: 'Connected', controller: 'c1', records: 1 });
  const list = await novactl(['get', 'proxyroute', '-o', 'json'], { socket: server.path });
  t.equal(list.code, 0);
  t.match(list.stdout, /"api"/);
  const applied = await novactl(['apply', '-f', '-'], { socket: server.path, input: JSON.stringify(route('other')) });
  t.not(applied.code, 0, 'apply on an agent fails');
  t.match(applied.stderr, /READ_ONLY: a1 is an agent/);
  const status = await novactl(['agent', 'status'], { socket: server.path });
  t.match(status.stdout, /State: Connected\n/);
  t.match(status.stdout, /c1 +0 +Yes +Yes/);
  // The file copy: its snapshot written first, then each change appended to its journal.
  await waitFor('the file copy written', () => agent.status().cache.writes >= 1 && agent.status().cache.pending !== true, { timeoutMs: 20_000 });
  await f.controllers.get('c1')!.apply(route('third'));
  await waitFor('the change appended', () => (agent.status().cache.journal?.appends ?? 0) >= 1 && agent.status().cache.pending !== true, { timeoutMs: 20_000 });
  const withJournal = await novactl(['agent', 'status'], { socket: server.path });
  const j = agent.status().cache.journal!;
  t.match(withJournal.stdout, new RegExp(`File copy: .* \\(\\d+ writes, last \\d+s ago; journal ${j.entries} entr(y|ies) \\(\\d+ B\\) beside a \\d+(\\.\\d)? (B|KiB) snapshot, ${j.appends} appends, ${j.compactions} snapshots written\\)`),
    'agent status shows the journal beside the snapshot');

  // The controller's agents view shows the RTT the agent reported to it; the controller never pings it.
  const c1 = f.controllers.get('c1')!;
  await waitFor('a1 reports its RTT to c1', () => c1.membership.peer('a1')?.reportedRttMs?.c1 !== undefined, { timeoutMs: 20_000 });
  const view = await controllerMethods(c1)['agents.list']!.handler({}) as AgentsResult;
  const rttMs = view.agents.find((a) => a.name === 'a1')?.rttMs;
  t.ok(typeof rttMs === 'number' && rttMs >= 0 && Math.round(rttMs * 10) / 10 === rttMs, `a1's reported RTT, rounded to 0.1 ms (${rttMs})`);
  t.equal(c1.membership.peer('a1')?.rtt, undefined, 'c1 has no RTT of its own to a1: it does not ping agents');
});
