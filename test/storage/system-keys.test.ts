// System keys (the federation's own records) are joined with LastWriterWins whatever the configured
// strategy: concurrent writes converge to one value with no conflict, user keys keep their strategy,
// users cannot write them, and user-facing listings and watches leave them out unless asked.
import t from 'tap';
import { join } from 'node:path';
import { isSystemKey, Store, type ChangeEvent, type StrategyName, type SystemRecordSchemas } from '../../storage/index.ts';
import { spec } from './replica-sim.ts';

const SYS = 'FederationAgentRegistry/novaedge-system/agents';
const sysResource = (agents: string[]): object => ({
  apiVersion: 'novaedge.io/v1alpha1', kind: 'FederationAgentRegistry',
  metadata: { name: 'agents', namespace: 'novaedge-system' }, spec: { agents },
});

// The stores are given a schema for the kind, as the federation gives them its formats.
const systemRecords: SystemRecordSchemas = {
  FederationAgentRegistry: (v) => { if (!Array.isArray((v.spec as { agents?: unknown }).agents)) throw new Error('spec.agents is not a list'); },
};

async function pair(t: import('tap').Test, strategy: StrategyName): Promise<[Store, Store]> {
  const dir = t.testdir();
  const a = await Store.open({ path: join(dir, 'a'), member: 'a', strategy, systemRecords });
  const b = await Store.open({ path: join(dir, 'b'), member: 'b', strategy, systemRecords });
  t.teardown(async () => { await a.close(); await b.close(); });
  return [a, b];
}

async function exchange(a: Store, b: Store, key: string): Promise<void> {
  const ra = (await a.getRecord(key))!;
  const rb = (await b.getRecord(key))!;
  await a.applyRemote(rb, { source: 'b' });
  await b.applyRemote(ra, { source: 'a' });
}

t.test('isSystemKey: reserved kind in the system namespace only', async (t) => {
  t.ok(isSystemKey(SYS));
  t.notOk(isSystemKey('FederationAgentRegistry/default/agents'), 'another namespace is a user key');
  t.notOk(isSystemKey('ProxyRoute/novaedge-system/agents'), 'another kind is a user key');
  t.notOk(isSystemKey('FederationAgentRegistryX/novaedge-system/agents'));
  t.notOk(isSystemKey('nonsense'));
});

for (const strategy of ['Manual', 'Merge'] as const) {
  t.test(`${strategy}: concurrent writes of a system key converge with no conflict; a user key still conflicts`, async (t) => {
    const [a, b] = await pair(t, strategy);
    t.equal(a.ruleFor(SYS).name, 'LastWriterWins');
    t.equal(a.ruleFor('ProxyRoute/default/r1').name, strategy);
    await a.apply(sysResource(['x']), { system: true });
    await b.apply(sysResource(['y']), { system: true });
    await a.apply(spec(1, { x: 1, y: 0 }));
    await b.apply(spec(1, { x: 2, y: 0 }));
    await exchange(a, b, SYS);
    await exchange(a, b, 'ProxyRoute/default/r1');
    const ra = (await a.getRecord(SYS))!;
    const rb = (await b.getRecord(SYS))!;
    t.equal(ra.digest, rb.digest, 'same bytes on both replicas');
    t.equal(ra.entries.length, 1, 'one version kept, no siblings or fields');
    t.same((await a.get(SYS))!.value!.spec, { agents: ['y'] }, 'the later write wins everywhere');
    t.same((await b.get(SYS))!.value!.spec, { agents: ['y'] });
    t.equal((await a.get(SYS))!.conflict, false);
    const conflicts = await a.conflicts();
    t.same(conflicts.map((c) => c.key), ['ProxyRoute/default/r1'], 'only the user key is a conflict');
    t.equal(a.merkle.root(), b.merkle.root(), 'replicas equal');
    // The federation can keep writing the key: nothing to resolve first (Manual would refuse a user key).
    await t.resolves(b.apply(sysResource(['z']), { system: true }));
    if (strategy === 'Manual') await t.rejects(b.apply(spec(1, { x: 3 })), { code: 'CONFLICT' });
  });
}

t.test('users cannot write system keys; listings and watches hide them unless asked', async (t) => {
  const [a] = await pair(t, 'LastWriterWins');
  await a.apply(spec(1));
  const before = { seq: a.seq, root: a.merkle.root() };
  await t.rejects(a.apply(sysResource(['x'])), { code: 'RESERVED_KEY' });
  await t.rejects(a.delete(SYS), { code: 'RESERVED_KEY' });
  t.same({ seq: a.seq, root: a.merkle.root() }, before, 'nothing stored');
  const seen: ChangeEvent[] = [];
  const ac = new AbortController();
  const watching = (async () => { for await (const e of a.watch({ hideSystem: true, signal: ac.signal })) seen.push(e); })();
  const all: ChangeEvent[] = [];
  const watchingAll = (async () => { for await (const e of a.watch({ signal: ac.signal })) all.push(e); })();
  await a.apply(sysResource(['x']), { system: true });
  await a.apply(spec(2));
  while (all.length < 2) await new Promise((r) => setTimeout(r, 5));
  while (seen.length < 1) await new Promise((r) => setTimeout(r, 5));
  ac.abort();
  await watching;
  await watchingAll;
  t.same(seen.map((e) => e.view.key), ['ProxyRoute/default/r2'], 'a user watch skips the system record');
  t.same(all.map((e) => e.view.key), [SYS, 'ProxyRoute/default/r2'], 'replication sees everything');
  t.same((await a.list()).map((v) => v.key), ['ProxyRoute/default/r1', 'ProxyRoute/default/r2'], 'hidden from a plain list');
  t.same((await a.list({ namespace: 'novaedge-system' })).length, 0, 'hidden from a namespace list');
  t.same((await a.list({ kind: 'FederationAgentRegistry' })).map((v) => v.key), [SYS], 'shown when its kind is asked for');
  t.equal((await a.list({ includeSystem: true })).length, 3);
  t.ok(await a.get(SYS), 'get by key serves it');
  await t.resolves(a.delete(SYS, { system: true }), 'the federation may delete it');
});
