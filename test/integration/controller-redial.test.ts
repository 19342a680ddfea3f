// Issue 16 item 4: healing un-fences within about one capped redial, whatever the cut's length.
// Three in-process controllers with a fast health check but the production reconnect backoff
// (500 ms doubling, 30 s ceiling); cuts refuse every dial at the connection gater.
//  - A minority cut off for 8 s is redialed and accepts writes soon after the heal: controller
//    redials never wait longer than reconnect.controllerMaxDelayMs (default 1 s).
//  - A controller heard through a relayed heartbeat but not connected is dialed at once, even when
//    its backoff has grown long (here with a 30 s controller cap).
import t from 'tap';
import { join } from 'node:path';
import { FAST_PROFILE, MEMBERSHIP_DEFAULTS, type ReconnectConfig } from '../../node/config/membership-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import { FencedError } from '../../node/controller/write-fence.ts';
import { makeFederation } from '../helpers/cert-fixtures.ts';
import { memberConfig, planMembers } from '../helpers/cluster.ts';
import { waitFor } from '../helpers/wait-for.ts';

const NAMES = ['a', 'b', 'c'];
const PRODUCTION_BACKOFF = { initialDelayMs: 500, maxDelayMs: 30_000, factor: 2 };

async function startControllers(t: { testdir(): string; teardown(fn: () => unknown): void }, fedId: string, reconnect: Partial<ReconnectConfig>): Promise<ControllerNode[]> {
  const fed = await makeFederation(fedId);
  const plan = await planMembers(fed, NAMES.map((name) => ({ name, role: 'controller' as const })));
  const dir = t.testdir();
  const nodes = await Promise.all(plan.map((m) => ControllerNode.start({
    membership: memberConfig(fed, m, plan.filter((p) => p !== m).map((p) => p.addr), { reconnect }),
    replication: { dataDir: join(dir, m.name), controllers: NAMES },
  }, { membershipProfile: FAST_PROFILE })));
  t.teardown(() => Promise.all(nodes.map((n) => n.stop())));
  await waitFor('every controller reaches the others', () => nodes.every((n) => n.fence.reachable().length === 3), { timeoutMs: 15_000 });
  return nodes;
}

const route = (name: string): unknown => ({ apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name, namespace: 'default' }, spec: { hostnames: [`${name}.example.com`] } });

async function accepts(node: ControllerNode, name: string): Promise<boolean> {
  try {
    await node.apply(route(name));
    return true;
  } catch (err) {
    if (err instanceof FencedError) return false;
    throw err;
  }
}

t.test('a minority cut off for 8 s is redialed within the controller cap and writes again', async (t) => {
  const [a, b, c] = await startControllers(t, 'redial-fed', PRODUCTION_BACKOFF) as [ControllerNode, ControllerNode, ControllerNode];
  const capMs = MEMBERSHIP_DEFAULTS.reconnect.controllerMaxDelayMs;
  await Promise.all([c.cutLink('a'), c.cutLink('b'), a.cutLink('c'), b.cutLink('c')]);
  await waitFor('c fenced', async () => !(await accepts(c, 'during-cut')), { timeoutMs: 10_000 });
  const t0 = performance.now();
  // 8 s: the uncapped backoff (500 ms doubling) waits 4 s by then, four times the cap.
  await waitFor('8 s of cut', () => performance.now() - t0 >= 8_000, { timeoutMs: 13_000, intervalMs: 100 });
  const failed = c.membership.reconnectStatus().map((s) => s.failures);
  t.ok(failed.every((f) => f >= 3), `c's dials kept failing during the cut (${failed.join(', ')} failures)`);

  for (const [x, y] of [[c, 'a'], [c, 'b'], [a, 'c'], [b, 'c']] as const) x.restoreLink(y);
  // One capped redial, a dial and handshake, then the first heartbeat: well under 4 s, while the
  // uncapped backoff reached 4-8 s waits by now.
  const healDeadlineMs = capMs + 3_000;
  let n = 0;
  const ok = await waitFor('c accepts writes again', async () => accepts(c, `after-heal-${n++}`), { timeoutMs: healDeadlineMs, intervalMs: 20 })
    .then(() => true, () => false);
  t.ok(ok, `c accepts writes again within ${healDeadlineMs} ms of the heal`);
  for (const node of [a, b, c]) {
    for (const s of node.membership.reconnectStatus()) {
      t.ok((s.longestDelayMs ?? Infinity) <= capMs, `${node.membership.memberName} -> ${s.addr.split('/p2p/')[0]}: longest redial wait ${s.longestDelayMs} ms <= cap ${capMs} ms`);
    }
  }
});

t.test('a controller heard through a relay is dialed at once, whatever its backoff', async (t) => {
  // Long controller cap: only the relayed heartbeat can bring the dial forward.
  const [a, , c] = await startControllers(t, 'relay-redial-fed', { ...PRODUCTION_BACKOFF, controllerMaxDelayMs: 30_000 }) as [ControllerNode, ControllerNode, ControllerNode];
  await Promise.all([a.cutLink('c'), c.cutLink('a')]);
  const target = (from: ControllerNode, to: ControllerNode): ReturnType<ControllerNode['membership']['reconnectStatus']>[number] =>
    from.membership.reconnectStatus().find((s) => s.peerId === to.membership.peerId.toString())!;
  const toC = (): ReturnType<typeof target> => target(a, c);
  // Six failed dials each way: the next backoff waits are 13-19 s (500 ms doubling), so neither
  // side's backoff dials within seconds of the heal.
  await waitFor('a and c have failed 6 dials to each other', () => toC().failures >= 6 && target(c, a).failures >= 6, { timeoutMs: 60_000, intervalMs: 50 });
  t.equal(a.membership.peer('c')?.state, 'Healthy', 'a still hears c, relayed by b');
  a.restoreLink('c');
  c.restoreLink('a');
  const connected = await waitFor('a and c connected again', () => a.fence.reachable().includes('c') && c.fence.reachable().includes('a'), { timeoutMs: 3_000 })
    .then(() => true, () => false);
  t.ok(connected, 'a and c connected again within 3 s of the heal, long before the backoff would dial');
  t.ok((toC().dialsNow ?? 0) > 0, `dials brought forward by relayed heartbeats: ${toC().dialsNow}`);
});
