// Records from peers are validated exactly like local writes (issue 17 item 2): a rogue controller's
// records with values no local write could store, bad version vectors or a garbage system record
// are refused with their reason and leave the store as it was; every record shape local writes make
// (tombstones, Manual siblings, Merge fields with conflicts and removals, system records) still
// replicates; and an "unchanged" answer is only given for a state that is durable.
import t from 'tap';
import fc from 'fast-check';
import { ClassicLevel } from 'classic-level';
import { join } from 'node:path';
import { isMemberName } from '../../membership/member-name.ts';
import {
  canonicalJson, makeRecord, parseResource, REPLICATED_VV_COUNTER_MAX, Store,
  type Json, type StoredRecord, type StrategyName, type StoreOptions,
} from '../../storage/index.ts';
import { registryResource, SYSTEM_RECORD_SCHEMAS } from '../../node/votes/registry-record.ts';
import { goodRecords, hostileRecords, nested, recordOf, route } from '../helpers/hostile-records.ts';
import { runs, seed } from '../helpers/fc-run.ts';

type Test = import('tap').Test;

async function open(t: Test, member: string, strategy: StrategyName = 'LastWriterWins', extra: Partial<StoreOptions> = {}): Promise<Store> {
  const s = await Store.open({ path: join(t.testdir(), member), member, strategy, systemRecords: SYSTEM_RECORD_SCHEMAS, ...extra });
  t.teardown(() => s.close());
  return s;
}

async function dump(s: Store): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for await (const page of s.scanPages(100)) out.push(...page);
  return out;
}

t.test('each hostile record is refused with its reason and changes nothing; the key stays writable on its owner', async (t) => {
  const s = await open(t, 'c1');
  await s.apply(route('owned'));
  const before = { seq: s.seq, root: s.merkle.root(), size: s.size };
  for (const h of hostileRecords('rogue', 'c1')) {
    await t.rejects(s.applyRemote(h.record, { source: 'rogue' }), { code: 'INVALID_RECORD', problem: h.reason }, h.name);
    // As it arrives from the wire, too.
    await t.rejects(s.applyRemote(JSON.parse(JSON.stringify(h.record)), { source: 'rogue' }), { code: 'INVALID_RECORD', problem: h.reason }, `${h.name} (decoded)`);
  }
  t.same({ seq: s.seq, root: s.merkle.root(), size: s.size }, before, 'nothing stored');
  t.same((await s.get('ProxyRoute/default/owned'))!.value!.spec, { host: 'owned.example.com' }, 'the owner\'s version is untouched');
  const w = await s.apply(route('owned', { host: 'still-mine' }));
  t.ok(w.changed, 'the owner can still write the key whose counter the rogue tried to max out');
  t.equal(w.record.vv.c1, 2);
  for (const g of goodRecords('rogue')) t.ok((await s.applyRemote(g, { source: 'rogue' })).changed, 'a valid record from the same peer is stored');
});

t.test('more records no local write could make', async (t) => {
  const s = await open(t, 'c1');
  const cases: Array<[string, StoredRecord, string]> = [
    ['a key that is not Kind/namespace/name', recordOf('proxyroute/default/x', route('x'), 'rogue'), 'invalid_key'],
    ['a value without its namespace spelled out', recordOf('ProxyRoute/default/ns', { ...route('ns'), metadata: { name: 'ns' } }, 'rogue'), 'invalid_resource'],
    ['a value in another namespace', recordOf('ProxyRoute/default/x', { ...route('x'), metadata: { name: 'x', namespace: 'other' } }, 'rogue'), 'key_mismatch'],
    ['a member name with a dot', recordOf('ProxyRoute/default/x', route('x'), 'c1.example'), 'invalid_version_vector'],
    ['an upper-case member name', recordOf('ProxyRoute/default/x', route('x'), 'C1'), 'invalid_version_vector'],
    ['a counter just above the bound', recordOf('ProxyRoute/default/x', route('x'), 'rogue', { counter: REPLICATED_VV_COUNTER_MAX + 1 }), 'invalid_version_vector'],
    ['a field path under LastWriterWins', makeRecord('ProxyRoute/default/x', { rogue: 1 }, [{ counter: 1, hlc: { wallMs: Date.now(), logical: 0, member: 'rogue' }, path: '["spec"]', value: 1 }]), 'malformed'],
    ['a stamp past the logical bound', makeRecord('ProxyRoute/default/x', { rogue: 1 }, [{ counter: 1, hlc: { wallMs: Date.now(), logical: 1e9, member: 'rogue' }, value: route('x') }]), 'malformed'],
    ['a registry record under another name', recordOf('FederationAgentRegistry/novaedge-system/other', { ...registryResource({ registry: { version: 1, agents: new Set(['a1']) }, generation: 1, writtenBy: 'c1' }), metadata: { name: 'other', namespace: 'novaedge-system' } }, 'rogue'), 'invalid_system_record'],
    ['a tampered digest', { ...recordOf('ProxyRoute/default/x', route('x'), 'rogue'), digest: '0'.repeat(64) }, 'digest_mismatch'],
    ['not a record', { key: 'ProxyRoute/default/x' } as unknown as StoredRecord, 'malformed'],
  ];
  for (const [name, record, problem] of cases) await t.rejects(s.applyRemote(record), { code: 'INVALID_RECORD', problem }, name);
  t.equal(s.size, 0);
  // The counter bound itself is accepted: it leaves 2^53 - 2^48 increments.
  t.ok((await s.applyRemote(recordOf('ProxyRoute/default/x', route('x'), 'rogue', { counter: REPLICATED_VV_COUNTER_MAX }))).changed);
  t.ok((await s.apply(route('x', { host: 'after' }))).changed);
});

t.test('a store given no schema for a system kind refuses its records', async (t) => {
  const s = await open(t, 'c1', 'LastWriterWins', { systemRecords: {} });
  const registry = registryResource({ registry: { version: 1, agents: new Set(['a1']) }, generation: 1, writtenBy: 'c1' }) as unknown as Json;
  await t.rejects(s.applyRemote(recordOf('FederationAgentRegistry/novaedge-system/agents', registry, 'c2')), { code: 'INVALID_RECORD', problem: 'invalid_system_record' });
  await t.rejects(s.apply(registry, { system: true }), { code: 'INVALID_ARGUMENT' }, 'nor does a local system write get past it');
  const good = await open(t, 'c3');
  t.ok((await good.applyRemote(recordOf('FederationAgentRegistry/novaedge-system/agents', registry, 'c2'))).changed, 'with the schema it is stored');
});

for (const strategy of ['LastWriterWins', 'Manual', 'Merge'] as const) {
  t.test(`${strategy}: every record shape local writes make replicates (tombstones, siblings, fields, removals, system records)`, async (t) => {
    const a = await open(t, 'a', strategy);
    const b = await open(t, 'b', strategy);
    const deepest = nested(30);
    await a.apply(route('r1', { x: 1, y: { z: [1, 2] }, keep: 'k', deep: deepest }));
    await a.apply(route('r2'));
    await a.delete('ProxyRoute/default/r2');
    await a.apply(registryResource({ registry: { version: 1, agents: new Set(['edge-1']) }, generation: 1, writtenBy: 'a' }), { system: true });
    for (const r of await dump(a)) await b.applyRemote(r, { source: 'a' });
    // Concurrent edits: a changes and removes fields, b changes some of the same.
    await a.apply(route('r1', { x: 2, y: { z: [3] }, deep: deepest }));
    await b.apply(route('r1', { x: 3, y: { z: [1, 2] }, keep: 'k', added: {}, deep: deepest }));
    await b.delete('ProxyRoute/default/r2').catch(() => undefined);
    const fromA = await dump(a);
    const fromB = await dump(b);
    for (const r of fromB) await a.applyRemote(r, { source: 'b' });
    for (const r of fromA) await b.applyRemote(r, { source: 'a' });
    t.equal(a.merkle.root(), b.merkle.root(), 'converged');
    // A third replica takes every joined record as it is: siblings, conflicting fields, tombstones.
    const c = await open(t, 'c', strategy);
    for (const r of await dump(a)) await c.applyRemote(JSON.parse(JSON.stringify(r)), { source: 'a' });
    t.equal(c.merkle.root(), a.merkle.root(), 'a third replica accepts every joined record');
    if (strategy !== 'LastWriterWins') t.ok((await a.conflicts()).length > 0, 'the concurrent edits are a conflict');
  });
}

t.test('Merge: field entries a local write could not make are refused', async (t) => {
  const s = await open(t, 'm', 'Merge');
  const key = 'ProxyRoute/default/f';
  const hlc = (member: string, logical = 0): { wallMs: number; logical: number; member: string } => ({ wallMs: Date.now(), logical, member });
  // The entries a local write of route('f') makes, plus one more field entry.
  const fields = (extra: { path: string; value: Json } | undefined, drop?: string): StoredRecord => {
    const leaves: Array<[string, Json]> = [
      ['["apiVersion"]', 'novaedge.io/v1alpha1'], ['["kind"]', 'ProxyRoute'], ['["metadata","name"]', 'f'],
      ['["metadata","namespace"]', 'default'], ['["spec","host"]', 'f.example.com'],
    ];
    const entries = leaves.filter(([p]) => p !== drop).map(([path, value]) => ({ counter: 1, hlc: hlc('rogue'), path, value }));
    entries.push({ counter: 1, hlc: hlc('rogue'), path: '', value: true });
    if (extra !== undefined) entries.push({ counter: 1, hlc: hlc('other'), ...extra });
    return makeRecord(key, extra === undefined ? { rogue: 1 } : { other: 1, rogue: 1 }, entries);
  };
  const cases: Array<[string, StoredRecord, string]> = [
    ['a concurrent kind that is not the key\'s', fields({ path: '["kind"]', value: 'Secret' }), 'key_mismatch'],
    ['a concurrent name that is not the key\'s', fields({ path: '["metadata","name"]', value: 'g' }), 'key_mismatch'],
    ['metadata as a leaf', fields({ path: '["metadata"]', value: 5 }), 'invalid_resource'],
    ['a field 40 levels down', fields({ path: JSON.stringify(Array(40).fill('a')), value: 1 }), 'invalid_resource'],
    ['a field removal 40 levels down', fields({ path: JSON.stringify(Array(40).fill('a')), value: { $removed: true } }), 'invalid_resource'],
    ['a removal of the kind', fields({ path: '["kind"]', value: { $removed: true } }), 'key_mismatch'],
    ['a field value too deep for where it sits', fields({ path: '["spec","deep"]', value: nested(31) }), 'invalid_resource'],
    ['a 3.5 MB field', fields({ path: '["spec","blob"]', value: 'x'.repeat(3_500_000) }), 'too_large'],
    ['an existence flag that is not a boolean', fields({ path: '', value: 'yes' }), 'malformed'],
    ['a bad field path', fields({ path: 'spec.host', value: 1 }), 'malformed'],
    ['an entry without a path', makeRecord(key, { rogue: 1 }, [{ counter: 1, hlc: hlc('rogue'), value: route('f') }]), 'malformed'],
    ['a resource without a kind', fields(undefined, '["kind"]'), 'invalid_resource'],
  ];
  for (const [name, record, problem] of cases) await t.rejects(s.applyRemote(record), { code: 'INVALID_RECORD', problem }, name);
  t.equal(s.size, 0);
  t.ok((await s.applyRemote(fields(undefined))).changed, 'the plain local-write shape is stored');
});

t.test('"unchanged" is answered only for a durable state: not for one whose commit failed', async (t) => {
  const s = await open(t, 'd');
  const record = recordOf('ProxyRoute/default/x', route('x'), 'c2');
  // The disk fails the next synced batch (the record is pending, then its commit fails).
  const batch = ClassicLevel.prototype.batch;
  let failNext = true;
  ClassicLevel.prototype.batch = function (this: ClassicLevel<string, string>, ...args: unknown[]) {
    if (failNext && Array.isArray(args[0])) {
      failNext = false;
      return Promise.reject(new Error('disk gone'));
    }
    return (batch as (...a: unknown[]) => unknown).apply(this, args);
  } as typeof batch;
  t.teardown(() => { ClassicLevel.prototype.batch = batch; });
  await t.rejects(s.applyRemote(record, { source: 'c2' }), { code: 'STORE_FAILED' });
  // A pusher sends the same record again (its stream failed): it is not held durably here.
  await t.rejects(s.applyRemote(record, { source: 'c2' }), { code: 'STORE_FAILED' }, 'not "unchanged"');
  await t.rejects(s.apply(route('x')), { code: 'STORE_FAILED' }, 'nor is the same local write');
});

// Property: whatever a peer sends, a record applyRemote accepts holds only what local writes accept.
// Valid names first (the first four), then names no member has.
const MEMBERS = ['c1', 'c2', 'edge-1', 'constructor', '__proto__', 'toString', 'C1', 'c1.example', 'a'.repeat(64)];
const KINDS = ['ProxyRoute', 'Secret', 'FederationAgentRegistry', 'proxyroute'];
const NAMES = ['r1', 'r2', 'agents', 'Bad_Name'];
const NAMESPACES = ['default', 'novaedge-system', 'other'];

const member = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...MEMBERS.slice(0, 4)) }, { weight: 1, arbitrary: fc.constantFrom(...MEMBERS.slice(4)) });
const counter = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 5 }) },
  { weight: 1, arbitrary: fc.constantFrom(REPLICATED_VV_COUNTER_MAX, REPLICATED_VV_COUNTER_MAX + 1, Number.MAX_SAFE_INTEGER) },
);
const keyParts = fc.record({ kind: fc.constantFrom(...KINDS), namespace: fc.constantFrom(...NAMESPACES), name: fc.constantFrom(...NAMES) });
// Values: a resource for the key (most often), one for another key, one broken in one way, or any JSON.
const value = (k: { kind: string; namespace: string; name: string }): fc.Arbitrary<Json> => fc.oneof(
  { weight: 4, arbitrary: fc.constant(route(k.name, { host: 'h' }, k.kind)).map((r) => ({ ...r, metadata: { name: k.name, namespace: k.namespace } })) },
  { weight: 2, arbitrary: fc.tuple(keyParts, fc.jsonValue({ maxDepth: 3 })).map(([o, spec]) => ({ ...route(o.name, spec as Json, o.kind), metadata: { name: o.name, namespace: o.namespace } })) },
  { weight: 2, arbitrary: fc.constantFrom<Json>(
    { apiVersion: 'v1', kind: k.kind, metadata: { name: k.name } },
    { apiVersion: '', kind: k.kind, metadata: { name: k.name, namespace: k.namespace } },
    { kind: k.kind, metadata: { name: k.name, namespace: k.namespace } },
    { apiVersion: 'v1', kind: k.kind, metadata: { name: k.name, namespace: k.namespace }, spec: nested(40) },
    { apiVersion: 'v1', kind: k.kind, metadata: { name: k.name, namespace: k.namespace }, spec: { version: 1, agents: ['a'], generation: 1, writtenBy: 'c1' } },
    { apiVersion: 'novaedge.io/v1alpha1', kind: k.kind, metadata: { name: k.name, namespace: k.namespace }, spec: { version: 1, agents: ['edge-1'], generation: 1, writtenBy: 'c1' } },
  ) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json> },
  { weight: 1, arbitrary: fc.constant(null) },
);
const peerRecord = keyParts.chain((k) => fc.record({
  key: fc.constant(`${k.kind}/${k.namespace}/${k.name}`),
  vv: fc.dictionary(member, counter, { minKeys: 1, maxKeys: 3 }),
  writer: fc.nat(),
  value: value(k),
}));

t.test('property: a record applyRemote accepts would pass local-write validation', async (t) => {
  const s = await open(t, 'p');
  let accepted = 0;
  let n = 0;
  const property = fc.asyncProperty(peerRecord, async (p) => {
    // The key is made unique per run (a name suffix), so runs do not join with each other.
    const suffix = `-${n++}`;
    const key = p.key + suffix;
    const v = (p.value !== null && typeof p.value === 'object' && !Array.isArray(p.value) && typeof p.value.metadata === 'object' && p.value.metadata !== null && !Array.isArray(p.value.metadata))
      ? { ...p.value, metadata: { ...p.value.metadata, name: `${String(p.value.metadata.name)}${suffix}` } } : p.value;
    const members = Object.keys(p.vv);
    const writer = members[p.writer % members.length]!;
    const vv = Object.fromEntries(members.map((m) => [m, p.vv[m]!]));
    // Own properties, as JSON.parse makes them (a "__proto__" member included).
    const record = JSON.parse(JSON.stringify(makeRecord(key, JSON.parse(JSON.stringify(vv)), [
      { counter: vv[writer]!, hlc: { wallMs: Date.now(), logical: 0, member: writer }, value: v },
    ]))) as StoredRecord;
    let ok = true;
    try {
      await s.applyRemote(record, { source: 'rogue' });
    } catch (err) {
      if (!['INVALID_RECORD', 'INVALID_ARGUMENT'].includes((err as { code?: string }).code ?? '')) throw err;
      ok = false;
    }
    if (!ok) return;
    accepted++;
    // What local writes would accept: member names, counters with headroom, and a value that
    // parseResource takes as it is, under this very key (or a delete).
    for (const [m, c] of Object.entries(record.vv)) {
      if (!isMemberName(m) || c > REPLICATED_VV_COUNTER_MAX) throw new Error(`accepted vv ${m}:${c}`);
    }
    const stored = record.entries[0]!.value;
    if (stored === null) return;
    const parsed = parseResource(stored);
    if (parsed.key !== key) throw new Error(`accepted ${parsed.key} under ${key}`);
    if (parsed.canonical !== canonicalJson(stored)) throw new Error('accepted a value not in the form a local write stores');
    // And the key stays writable here (its counters leave room); system records only as the federation's.
    await s.apply(parsed.resource, { system: true });
  });
  try {
    await fc.assert(property, { seed, numRuns: runs(300) });
  } catch (err) {
    t.comment(`replay with FC_SEED=${seed}`);
    throw err;
  }
  t.pass(`${runs(300)} runs, seed ${seed}, ${accepted} accepted`);
  t.ok(accepted > 0, 'some records were accepted');
});
