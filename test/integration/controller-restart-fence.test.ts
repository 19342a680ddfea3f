// A restarted controller is un-fenced one round trip after it is authenticated to a majority (issue
// 16, item 5): the clock probe it sends to each peer on authenticating is contact once answered, so it
// need not wait for its peers' first heartbeats. Shown
// with heartbeats rare (interval 20 s, and early heartbeats 3 s after a peer connects): the restarted
// controller accepts a write while it has heard no heartbeat of either peer.
import t from 'tap';
import { join } from 'node:path';
import { FAST_PROFILE, type MembershipConfig } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION } from '../../node/config/replication-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import { makeFederation } from '../helpers/cert-fixtures.ts';
import { memberConfig, planMembers } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/wait-for.ts';

const NAMES = ['a', 'b', 'c'];
const SLOW: Partial<MembershipConfig> = {
  healthCheck: { intervalMs: 20_000, timeoutMs: 5_000, failureThreshold: 3, successThreshold: 1 },
  gossipHeartbeatMs: 3_000,
};
const res = (name: string) => ({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name }, spec: { n: 1 } });

t.test('a restarted controller accepts writes once authenticated to a majority, before any heartbeat', async (t) => {
  const fed = await makeFederation('restart-fed');
  const plan = await planMembers(fed, NAMES.map((name) => ({ name, role: 'controller' as const })));
  const dir = t.testdir();
  const nodes = new Map<string, ControllerNode>();
  t.teardown(async () => { for (const n of nodes.values()) await n.stop(); });
  const start = async (name: string): Promise<ControllerNode> => {
    const m = plan.find((p) => p.name === name)!;
    const node = await ControllerNode.start({
      membership: memberConfig(fed, m, plan.filter((p) => p !== m).map((p) => p.addr), SLOW),
      replication: { dataDir: join(dir, name), controllers: NAMES },
    }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION });
    nodes.set(name, node);
    return node;
  };
  for (const n of NAMES) await start(n);
  const controllersAuthenticated = (n: ControllerNode): boolean => n.membership.authenticatedPeers().filter((p) => p.role === 'controller').length >= 2;
  await waitFor('controllers connected', () => [...nodes.values()].every(controllersAuthenticated), { timeoutMs: 15_000 });

  await nodes.get('c')!.stop();
  nodes.delete('c');
  const c = await start('c');
  await waitFor('c authenticated to a and b', () => controllersAuthenticated(c), { timeoutMs: 15_000 });
  const authedAt = performance.now();
  // Every attempt notes what c had heard when it was made.
  const outcome = await waitFor('c accepts a write', async () => {
    const heard = ['a', 'b'].map((m) => c.membership.peer(m)?.heartbeats ?? 0);
    try {
      await c.apply(res('after-restart'));
      return { heard };
    } catch (err) {
      if ((err as { code?: string }).code === 'FENCED') return undefined;
      throw err;
    }
  }, { timeoutMs: 15_000, intervalMs: 20 }, () => ({ quorum: c.status().quorum, heard: ['a', 'b'].map((m) => c.membership.peer(m)?.heartbeats ?? 0) }));
  t.comment(`accepted ${(performance.now() - authedAt).toFixed(0)} ms after it was authenticated to both peers`);
  t.same(outcome.heard, [0, 0], 'accepted before any heartbeat of a or b arrived: the probes answered on authentication are contact');
  // The write needed one peer's probe answered; the other's follows (on a loaded machine, a moment later).
  await waitFor('c reaches both peers', () => c.status().quorum.reachablePeers === '2/2', { timeoutMs: 10_000 }, () => c.status().quorum);
  t.match(c.status().quorum, { writesFenced: false, reachablePeers: '2/2' });
});
