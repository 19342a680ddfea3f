// Issue 19 §2: `kind: FooBar` was stored and replicated. A controller stores NovaEdge's kinds and
// those its config adds (replication.resourceKinds / spec.resourceKinds); a write of another kind is
// refused at the admin API with a did-you-mean, and a peer's record of one is refused and counted
// (records_rejected reason unknown_kind) like every other invalid replicated record.
import t from 'tap';
import { join } from 'node:path';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION, resolveReplicationConfig, type ReplicationConfig } from '../../node/config/replication-config.ts';
import type { ConfigError } from '../../node/errors.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import { startAdminServer, controllerMethods, callAdmin, AdminCallError } from '../../node/admin/index.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { makeFederation } from '../helpers/cert-fixtures.ts';
import { memberConfig, planMembers } from '../helpers/cluster.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

const NAMES = ['a', 'b'];
const res = (kind: string, name: string) => ({ apiVersion: 'novaedge.io/v1alpha1', kind, metadata: { name }, spec: { x: 1 } });

async function pair(t: import('tap').Test, over: Record<string, Partial<ReplicationConfig>>): Promise<Map<string, ControllerNode>> {
  const fed = await makeFederation('kinds-fed');
  const plan = await planMembers(fed, NAMES.map((name) => ({ name, role: 'controller' as const })));
  const dir = t.testdir();
  const nodes = new Map<string, ControllerNode>();
  t.teardown(async () => { for (const n of nodes.values()) await n.stop(); });
  for (const m of plan) {
    nodes.set(m.name, await ControllerNode.start({
      membership: memberConfig(fed, m, plan.filter((p) => p !== m).map((p) => p.addr)),
      replication: { dataDir: join(dir, m.name), controllers: NAMES, ...over[m.name] },
      splitBrain: { fenceWrites: false },
    }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION }));
  }
  await waitFor('controllers connected', () => [...nodes.values()].every((n) => n.replicator.status().every((s) => s.connected)), { timeoutMs: 10_000 });
  return nodes;
}

t.test('the admin API refuses an unknown kind with a did-you-mean; nothing is stored', async (t) => {
  const nodes = await pair(t, {});
  const a = nodes.get('a')!;
  const socketPath = join(await tempDir(t), 'a.sock');
  const admin = await startAdminServer({ timers: REAL_TIMERS, socketPath, methods: controllerMethods(a) });
  t.teardown(() => admin.close());
  const err = await callAdmin(socketPath, 'resources.apply', { resources: [res('ProxyRoute', 'ok'), res('ProxyRute', 'typo')] }).catch((e: unknown) => e) as AdminCallError;
  t.ok(err instanceof AdminCallError, 'refused');
  t.equal(err.code, 'INVALID_ARGUMENT');
  t.match(err.data, { cause: 'UNKNOWN_KIND', index: 1, field: 'params.resources[1].kind' });
  t.match(err.message, /unknown resource kind "ProxyRute" \(did you mean ProxyRoute\?\)/);
  await t.rejects(a.apply(res('FooBar', 'x')), { code: 'UNKNOWN_KIND' });
  t.same((await a.list()).map((v) => v.key), ['ProxyRoute/default/ok'], 'only the known kind is stored');
});

t.test('a record of a kind this controller does not store, sent by a peer that does, is refused and counted', async (t) => {
  const nodes = await pair(t, { a: { resourceKinds: ['FooBar'] } });
  const a = nodes.get('a')!;
  const b = nodes.get('b')!;
  const foo = await a.apply(res('FooBar', 'x'));
  const route = await a.apply(res('ProxyRoute', 'after'));
  await waitFor('the route reached b', async () => (await b.get(route.view.key)) !== undefined, { timeoutMs: 10_000 });
  await waitFor('the FooBar record counted on b', () => b.replicator.rejections.count('a', 'unknown_kind') >= 1, { timeoutMs: 10_000 });
  t.equal(await b.get(foo.view.key), undefined, 'not stored on b');
  t.equal(b.replicator.rejections.count('a'), b.replicator.rejections.count('a', 'unknown_kind'), 'counted as unknown_kind only');
});

t.test('resourceKinds is checked', async (t) => {
  let issues: ReadonlyArray<{ field: string; problem: string }> = [];
  try {
    resolveReplicationConfig({ dataDir: '/x', controllers: ['a'], resourceKinds: ['fooBar', 'ProxyRoute', 'FederationAgentRegistry', 'Foo', 'Foo'] }, 'a');
  } catch (err) {
    issues = (err as ConfigError).issues;
  }
  t.same(issues.map((i) => i.field), ['resourceKinds[0]', 'resourceKinds[1]', 'resourceKinds[2]', 'resourceKinds[4]']);
  t.match(issues.map((i) => i.problem), [/CamelCase/, /NovaEdge's own/, /federation's own/, /twice/]);
});
