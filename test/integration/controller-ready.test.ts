// ControllerNode.ready() (issue 19, §3): right after start a controller's peers are still being
// reached and a write is FENCED for a moment; ready() resolves once writes are accepted, so the first
// quorum write after it succeeds. It gives up with NOT_READY, saying why, at its deadline, when its
// signal aborts, and when the node stops.
import t from 'tap';
import { join } from 'node:path';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION } from '../../node/config/replication-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import { NotReadyError } from '../../node/index.ts';
import { makeFederation } from '../helpers/cert-fixtures.ts';
import { memberConfig, planMembers } from '../helpers/cluster.ts';

const NAMES = ['a', 'b', 'c'];
const route = (name: string) => ({ apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name, namespace: 'default' }, spec: { hostnames: [`${name}.example`] } });

type Test = import('tap').Test;

async function plan(t: Test) {
  const fed = await makeFederation('ready-fed');
  const members = await planMembers(fed, NAMES.map((name) => ({ name, role: 'controller' as const })));
  const dir = t.testdir();
  const started: ControllerNode[] = [];
  t.teardown(async () => { for (const n of started) await n.stop(); });
  const start = async (name: string): Promise<ControllerNode> => {
    const m = members.find((p) => p.name === name)!;
    const node = await ControllerNode.start({
      membership: memberConfig(fed, m, members.filter((p) => p !== m).map((p) => p.addr)),
      replication: { dataDir: join(dir, name), controllers: NAMES },
    }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION });
    started.push(node);
    return node;
  };
  return { start };
}

t.test('after ready(), the first quorum write on each controller is accepted', async (t) => {
  const { start } = await plan(t);
  const nodes = await Promise.all(NAMES.map(start));
  await Promise.all(nodes.map((n) => n.ready({ timeoutMs: 20_000 })));
  for (const [i, n] of nodes.entries()) {
    const w = await n.apply(route(`first-${i}`), { durability: 'quorum' });
    t.equal(w.changed, true, `${NAMES[i]}: quorum write accepted at once after ready()`);
  }
  t.equal(nodes[0]!.status().quorum.writesFenced, false);
});

t.test('ready() rejects with NOT_READY and the reason at its deadline, on abort, and when the node stops', async (t) => {
  const { start } = await plan(t);
  const alone = await start('a'); // b and c never start: a never holds quorum
  const late = await alone.ready({ timeoutMs: 200 }).then(() => undefined, (e: unknown) => e);
  t.ok(late instanceof NotReadyError, 'deadline: NotReadyError');
  t.equal((late as NotReadyError).code, 'NOT_READY');
  t.match((late as NotReadyError).message, /not accepting writes after 200 ms: writes fenced \(NO_QUORUM\): 1 of 3 votes reached, 2 needed/);

  const ac = new AbortController();
  const aborted = alone.ready({ signal: ac.signal }).then(() => undefined, (e: unknown) => e);
  ac.abort();
  t.match(await aborted, { code: 'NOT_READY', message: /aborted: writes fenced/ }, 'abort: NOT_READY at once');

  const pending = alone.ready().then(() => undefined, (e: unknown) => e);
  await alone.stop();
  t.match(await pending, { code: 'NOT_READY', reason: 'STOPPED' }, 'stop: NOT_READY, STOPPED');
  t.match(await alone.ready().then(() => undefined, (e: unknown) => e), { code: 'NOT_READY', reason: 'STOPPED' }, 'a stopped node is never ready');
});
