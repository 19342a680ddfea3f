// The write fence decides from membership at the moment of the write: a closed or silent link to
// the other controllers fences the next write once the decision it reuses (at most
// DECISION_REUSE_MS old) has expired; restored links let writes through again.
import t from 'tap';
import type { MembershipNode } from '../../node/membership/membership-node.ts';
import { DECISION_REUSE_MS, resolveSplitBrain, WriteFence } from '../../node/controller/write-fence.ts';
import { monotonicMs } from '../../node/util/clock.ts';

const HC = { intervalMs: 200, timeoutMs: 100, failureThreshold: 3, successThreshold: 1 };
const CONTROLLERS = ['c-a', 'c-b', 'c-c'];

// Just what the fence reads: the authenticated connections and when each peer was last heard.
function fakeMembership(): { node: MembershipNode; connected: Set<string>; heardAtMs: Map<string, number> } {
  const connected = new Set<string>();
  const heardAtMs = new Map<string, number>();
  const node = {
    memberName: 'c-a',
    config: { healthCheck: HC },
    authenticatedPeers: () => [...connected].map((member) => ({ member, role: 'controller', peerId: `peer-${member}` })),
    peer: (member: string) => (heardAtMs.has(member) ? { lastHeardAtMs: heardAtMs.get(member)! } : undefined),
  } as unknown as MembershipNode;
  return { node, connected, heardAtMs };
}

// Waiting for the monotonic clock itself (not a sleep): until a reused decision has expired.
function pastReuse(): void {
  const from = monotonicMs();
  while (monotonicMs() - from < DECISION_REUSE_MS);
}

function allowed(fence: WriteFence): boolean {
  try {
    fence.check();
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'FENCED') return false;
    throw err;
  }
}

t.test('a fenced minority refuses writes from the first decision after the cut', async (t) => {
  const m = fakeMembership();
  const fence = new WriteFence(m.node, resolveSplitBrain(m.node, CONTROLLERS, {}));
  t.teardown(() => fence.stop());
  for (const c of ['c-b', 'c-c']) {
    m.connected.add(c);
    m.heardAtMs.set(c, monotonicMs());
  }
  t.ok(allowed(fence), 'all three reached: writes pass');
  t.same(fence.reachable(), CONTROLLERS);

  m.connected.clear();
  pastReuse();
  t.notOk(allowed(fence), 'both links closed: refused');
  t.notOk(allowed(fence), 'and refused again');
  t.equal(fence.counters.fenced, 2, 'every refused write is counted');
  await t.rejects(async () => fence.check(), { code: 'FENCED', message: /1 of 3 votes, threshold 2/ });

  m.connected.add('c-b');
  pastReuse();
  t.ok(allowed(fence), 'one peer back: a majority again');
  t.same(fence.reachable(), ['c-a', 'c-b']);
});

t.test('a silent peer stops counting once the contact window passes', async (t) => {
  const m = fakeMembership();
  const fence = new WriteFence(m.node, resolveSplitBrain(m.node, CONTROLLERS, {}));
  t.teardown(() => fence.stop());
  m.connected.add('c-b');
  const windowMs = HC.failureThreshold * HC.intervalMs + HC.timeoutMs;
  // Heard from just inside the window, then just outside it.
  m.heardAtMs.set('c-b', monotonicMs() - windowMs + 100);
  t.ok(allowed(fence), 'connected and heard within the window: allowed');
  m.heardAtMs.set('c-b', monotonicMs() - windowMs - 1);
  pastReuse();
  t.notOk(allowed(fence), 'connected but silent beyond the window: refused');
});

t.test('a burst of writes within the reuse window gathers the inputs once', async (t) => {
  const m = fakeMembership();
  let gathered = 0;
  const authenticatedPeers = m.node.authenticatedPeers.bind(m.node);
  (m.node as { authenticatedPeers: () => unknown[] }).authenticatedPeers = () => {
    gathered++;
    return authenticatedPeers();
  };
  m.connected.add('c-b');
  m.heardAtMs.set('c-b', monotonicMs());
  const fence = new WriteFence(m.node, resolveSplitBrain(m.node, CONTROLLERS, {}));
  t.teardown(() => fence.stop());
  // However slow the machine, the inputs are gathered at most once per reuse window the burst spans.
  const from = monotonicMs();
  for (let i = 0; i < 200; i++) fence.check();
  const windows = Math.ceil((monotonicMs() - from) / DECISION_REUSE_MS) + 1;
  t.ok(gathered <= windows, `membership read ${gathered} times for 200 writes over ${windows} reuse windows`);
});
