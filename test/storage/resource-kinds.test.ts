// The resource-kinds registry (issue 19 §2): NovaEdge's kinds by default, extendable; an unknown kind
// is refused with a did-you-mean, on a local write and on a record from a peer (counted as
// unknown_kind, the mechanism every other invalid replicated record goes through).
import t from 'tap';
import { closestKind, editDistance, NOVAEDGE_RESOURCE_KINDS, ResourceKinds, UnknownKindError } from '../../storage/logic/resource-kinds.ts';
import { checkReplicatedRecord } from '../../storage/logic/replicated-record.ts';
import { InvalidRecordError, DEFAULT_RECORD_LIMITS } from '../../storage/logic/record.ts';
import { DEFAULT_RESOURCE_LIMITS } from '../../storage/logic/resource.ts';
import { lastWriterWins } from '../../storage/logic/rules/last-writer-wins.ts';
import { Store } from '../../storage/index.ts';
import { recordOf, route } from '../helpers/hostile-records.ts';

t.test('edit distance', async (t) => {
  t.equal(editDistance('kitten', 'sitting'), 3);
  t.equal(editDistance('', 'abc'), 3);
  t.equal(editDistance('proxyroute', 'proxyroute'), 0);
  t.ok(editDistance('a'.repeat(50), 'b'.repeat(50), 3) >= 3, 'stops once the bound is reached');
});

t.test('did-you-mean', async (t) => {
  t.equal(closestKind('ProxyRute', NOVAEDGE_RESOURCE_KINDS), 'ProxyRoute');
  t.equal(closestKind('proxyroute', NOVAEDGE_RESOURCE_KINDS), 'ProxyRoute', 'case');
  t.equal(closestKind('Backend', NOVAEDGE_RESOURCE_KINDS), 'ProxyBackend', 'the kind without its prefix');
  t.equal(closestKind('ProxyGatway', NOVAEDGE_RESOURCE_KINDS), 'ProxyGateway');
  t.equal(closestKind('FooBar', NOVAEDGE_RESOURCE_KINDS), undefined, 'nothing close');
});

t.test('the default registry holds NovaEdge\'s kinds and the system kinds; a config adds more', async (t) => {
  const kinds = new ResourceKinds();
  for (const k of ['ProxyRoute', 'ProxyBackend', 'ProxyGateway', 'ProxyPolicy', 'ProxyVIP', 'FederationAgentRegistry']) t.ok(kinds.has(k), k);
  t.notOk(kinds.has('FooBar'));
  t.match(kinds.problem('ProxyRute'), /^unknown resource kind "ProxyRute" \(did you mean ProxyRoute\?\); known kinds: ProxyBackend, .*spec\.resourceKinds/);
  t.notMatch(kinds.problem('ProxyRute')!, /\n/, 'one line');
  t.ok(new ResourceKinds(['FooBar']).has('FooBar'));
  const err = t.throws(() => kinds.check('FooBar')) as UnknownKindError;
  t.ok(err instanceof UnknownKindError);
  t.equal(err.code, 'UNKNOWN_KIND');
  t.equal(err.field, 'kind');
});

t.test('a store with a registry refuses writes and deletes of other kinds, and nothing is stored', async (t) => {
  const s = await Store.open({ path: t.testdir(), member: 'a', strategy: 'LastWriterWins', resourceKinds: new ResourceKinds() });
  t.teardown(() => s.close());
  await t.rejects(s.apply(route('x', {}, 'FooBar')), { code: 'UNKNOWN_KIND', field: 'kind', message: /unknown resource kind "FooBar"/ });
  await t.rejects(s.apply(route('x', {}, 'ProxyRute')), { message: /did you mean ProxyRoute\?/ });
  await t.rejects(s.delete('FooBar/default/x'), { code: 'UNKNOWN_KIND', field: 'key.kind' });
  t.equal(s.size, 0, 'nothing stored');
  await s.apply(route('x'));
  t.equal(s.size, 1, 'a known kind is stored');
});

t.test('a peer\'s record of an unknown kind is refused as unknown_kind', async (t) => {
  const policy = { rule: lastWriterWins, resourceLimits: DEFAULT_RESOURCE_LIMITS, recordLimits: DEFAULT_RECORD_LIMITS, systemRecords: {} };
  const foo = recordOf('FooBar/default/x', route('x', {}, 'FooBar'), 'b');
  const err = t.throws(() => checkReplicatedRecord(foo, { ...policy, kinds: new ResourceKinds() })) as InvalidRecordError;
  t.ok(err instanceof InvalidRecordError);
  t.equal(err.problem, 'unknown_kind');
  t.match(err.message, /unknown resource kind "FooBar"/);
  t.doesNotThrow(() => checkReplicatedRecord(foo, { ...policy, kinds: new ResourceKinds(['FooBar']) }), 'a kind the replica added');
  t.doesNotThrow(() => checkReplicatedRecord(recordOf('ProxyRoute/default/x', route('x'), 'b'), { ...policy, kinds: new ResourceKinds() }));

  const s = await Store.open({ path: t.testdir(), member: 'a', strategy: 'LastWriterWins', resourceKinds: new ResourceKinds() });
  t.teardown(() => s.close());
  await t.rejects(s.applyRemote(foo), { code: 'INVALID_RECORD', problem: 'unknown_kind' });
  t.equal(s.size, 0, 'not stored');
});
