// AgentNode.start takes what it runs on from options.components (issue 18): its store's database,
// and one monotonic clock and set of timers shared by every part — membership, the health checks,
// the follow machine (membership/agent-follow.ts), the sessions with its controller. The clock given
// here is a day ahead of the process's own: a part still reading performance.now() would compare
// times a day apart, and the agent would never see its controller healthy nor catch up with it.
import t from 'tap';
import { MemoryLevel } from 'memory-level';
import type { StoreDb, StoreDbFactory, TimerComponents } from '../../node/components.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { agentFederation, route } from '../helpers/agent-federation.ts';
import { waitFor } from '../helpers/wait-for.ts';

t.setTimeout(60_000);

const DAY_MS = 86_400_000;

t.test('an agent on injected components: one clock for every part, its replica in the injected database', async (t) => {
  const f = await agentFederation(t, { controllers: ['c1'], agents: ['a1'] });
  await f.controllers.get('c1')!.apply(route('r1'));
  let clockReads = 0;
  const timers: TimerComponents = {
    nowMs: () => { clockReads++; return REAL_TIMERS.nowMs() + DAY_MS; },
    setTimeout: REAL_TIMERS.setTimeout,
    clearTimeout: REAL_TIMERS.clearTimeout,
    setImmediate: REAL_TIMERS.setImmediate,
  };
  const db = new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8' });
  const asked: string[] = [];
  const openStoreDb: StoreDbFactory = async (dataDir) => {
    asked.push(dataDir);
    return db as unknown as StoreDb;
  };
  const agent = await f.startAgent('a1', ['c1'], {}, { components: { timers, openStoreDb } });
  t.equal(agent.components.timers, timers, 'the agent keeps the components it was given');
  t.equal(agent.membership.components.timers, timers, 'membership runs on the same timers');
  t.same(asked, [f.agentConfig('a1', ['c1']).dataDir], 'the database was asked for once, for the configured dataDir');

  await waitFor('Connected on the injected clock', () => agent.state === 'Connected', { timeoutMs: 15_000 });
  t.match(agent.status().controllers, [{ healthy: true, current: true }], 'its controller is healthy as the follow machine sees it');
  await waitFor('the record replicated', async () => (await agent.get('ProxyRoute/default/r1')) !== undefined, { timeoutMs: 10_000 });
  let keys = 0;
  for await (const _ of db.keys()) keys++;
  t.ok(keys > 0, `the replica is in the injected database (${keys} keys)`);
  t.ok(clockReads > 0, 'the injected clock was read');
});
