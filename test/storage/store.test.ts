import t from 'tap';
import { join } from 'node:path';
import { encodeRecord, Store, type ChangeEvent, type StoreOptions } from '../../storage/index.ts';
import { MerkleTree } from '../../storage/logic/merkle.ts';
import { waitFor } from '../helpers/wait-for.ts';
import { spec } from './replica-sim.ts';

type Test = import('tap').Test;
const dirs = new WeakMap<Test, string>();
// A fresh directory per store: tap's testdir once per test, one subdirectory per name.
function dir(t: Test, name: string): string {
  if (!dirs.has(t)) dirs.set(t, t.testdir());
  return join(dirs.get(t)!, name);
}

function opts(t: Test, extra: Partial<StoreOptions> = {}): StoreOptions {
  return { path: dir(t, extra.member ?? 'a'), member: 'a', strategy: 'LastWriterWins', ...extra };
}

async function collect(it: AsyncIterable<ChangeEvent>, n: number): Promise<ChangeEvent[]> {
  const out: ChangeEvent[] = [];
  for await (const e of it) {
    out.push(e);
    if (out.length >= n) break;
  }
  return out;
}

t.test('apply, get, list, delete', async (t) => {
  const s = await Store.open(opts(t));
  t.teardown(() => s.close());
  const r = await s.apply(spec(1, { x: 1 }));
  t.ok(r.changed);
  t.equal(r.view.key, 'ProxyRoute/default/r1');
  t.same((await s.get('ProxyRoute/default/r1'))!.value!.spec, { x: 1 });
  t.equal((await s.apply(spec(1, { x: 1 }))).changed, false, 'unchanged re-apply');
  await s.apply({ ...spec(2), metadata: { name: 'r2', namespace: 'other' } });
  await s.apply({ ...spec(3), kind: 'Backend' });
  t.same((await s.list({ kind: 'ProxyRoute' })).map((v) => v.key), ['ProxyRoute/default/r1', 'ProxyRoute/other/r2']);
  t.same((await s.list({ kind: 'ProxyRoute', namespace: 'other' })).map((v) => v.key), ['ProxyRoute/other/r2']);
  t.same((await s.list({ namespace: 'default' })).map((v) => v.key), ['Backend/default/r3', 'ProxyRoute/default/r1']);
  t.equal((await s.list({ limit: 2 })).length, 2);
  await s.delete('ProxyRoute/default/r1');
  t.equal(await s.get('ProxyRoute/default/r1'), undefined, 'deleted resources are not served');
  t.ok((await s.getRecord('ProxyRoute/default/r1')) !== undefined, 'the tombstone is kept for replication');
  t.equal((await s.list({ kind: 'ProxyRoute' })).length, 1);
  await t.rejects(s.delete('ProxyRoute/default/r1'), { code: 'NOT_FOUND' });
  await t.rejects(s.delete('ProxyRoute/default/never'), { code: 'NOT_FOUND' });
});

t.test('bad input is refused and leaves the store unchanged', async (t) => {
  const s = await Store.open(opts(t));
  t.teardown(() => s.close());
  await s.apply(spec(1, { x: 1 }));
  const before = { seq: s.seq, root: s.merkle.root(), size: s.size };
  const bad: unknown[] = [
    { apiVersion: 'v1', metadata: { name: 'x' } },
    { apiVersion: 'v1', kind: 'ProxyRoute', metadata: {} },
    'not json {',
    { ...spec(1), spec: { blob: 'x'.repeat(1024 * 1024 + 1) } },
    { ...spec(1), metadata: { name: 'Bad Name' } },
  ];
  for (const b of bad) await t.rejects(s.apply(b), { code: 'INVALID_ARGUMENT' });
  await t.rejects(s.delete('no-slashes'), { code: 'INVALID_ARGUMENT' });
  const rec = (await s.getRecord('ProxyRoute/default/r1'))!;
  // Digests this store does not hold, so each goes through full validation.
  const other = 'e'.repeat(64);
  const remoteBad: unknown[] = [
    null, 'x', { ...rec, digest: 'f'.repeat(64) }, { ...rec, entries: [], digest: other }, { ...rec, vv: { a: -1 }, digest: other },
    { ...rec, entries: [{ ...rec.entries[0], counter: 99 }], digest: other }, { ...rec, key: '../../etc' },
  ];
  for (const b of remoteBad) await t.rejects(s.applyRemote(b), /record|INVALID|key/i);
  // A record claiming exactly the digest held is a no-op, whatever else it carries.
  t.same(await s.applyRemote({ ...rec, entries: [] }), { changed: false });
  t.same({ seq: s.seq, root: s.merkle.root(), size: s.size }, before);
});

t.test('a remote record stamped too far in the future is refused', async (t) => {
  let now = 1_000_000;
  const a = await Store.open(opts(t, { nowMs: () => now + 60_000 }));
  const b = await Store.open(opts(t, { member: 'b', nowMs: () => now, maxClockOffsetMs: 1000 }));
  t.teardown(async () => { await a.close(); await b.close(); });
  const w = await a.apply(spec(1));
  await t.rejects(b.applyRemote(w.record), { code: 'CLOCK_SKEW' });
  t.equal(b.size, 0);
  now += 59_500;
  t.ok((await b.applyRemote(w.record)).changed, 'accepted once within the bound');
});

t.test('state survives a reopen: records, Merkle root, seq, and a clock that never goes back', async (t) => {
  const o = opts(t);
  let now = 5_000_000;
  const s = await Store.open({ ...o, nowMs: () => now });
  for (let i = 0; i < 50; i++) await s.apply(spec(i, { i }));
  await s.delete('ProxyRoute/default/r7');
  const last = (await s.apply(spec(1, { changed: true }))).view.hlc;
  const before = { root: s.merkle.root(), seq: s.seq, size: s.size };
  await s.close();
  now = 1_000; // the machine clock went far back across the restart
  const r = await Store.open({ ...o, nowMs: () => now });
  t.teardown(() => r.close());
  t.same({ root: r.merkle.root(), seq: r.seq, size: r.size }, before);
  const next = (await r.apply(spec(2, { after: 'restart' }))).view.hlc;
  t.ok(next.wallMs > last.wallMs || (next.wallMs === last.wallMs && next.logical > last.logical), 'stamp after restart is higher');
  t.equal(r.seq, before.seq + 1);
});

t.test('group commit: 64 concurrent writers share synced batches', async (t) => {
  const s = await Store.open(opts(t));
  t.teardown(() => s.close());
  const before = s.batches;
  await Promise.all(Array.from({ length: 64 }, (_, i) => s.apply(spec(i, { i }))));
  const used = s.batches - before;
  t.ok(used < 16, `64 writes used ${used} batches`);
  t.equal(s.size, 64);
  // Concurrent writes to one key keep their order.
  await Promise.all(Array.from({ length: 20 }, (_, i) => s.apply(spec(999, { n: i }))));
  t.same((await s.get('ProxyRoute/default/r999'))!.value!.spec, { n: 19 });
});

t.test('written leaves are hashed in the background, without a read of the root', async (t) => {
  const s = await Store.open(opts(t));
  t.teardown(() => s.close());
  s.merkle.root();
  // More changed leaves than one slice hashes: the hasher has to come back for the rest.
  await Promise.all(Array.from({ length: 600 }, (_, i) => s.apply(spec(i, { i }))));
  await waitFor('leaves hashed', () => s.merkle.dirtyLeaves === 0, { timeoutMs: 5_000 }, () => ({ dirtyLeaves: s.merkle.dirtyLeaves }));
  const plain = new MerkleTree();
  for (const r of await s.list({ includeSystem: true, includeDeleted: true })) plain.update(r.key, (await s.getRecord(r.key))!.digest);
  t.equal(s.merkle.root(), plain.root(), 'the same root as hashing everything on read');
});

t.test('watch: catch-up from a seq, then live, each change once in seq order', async (t) => {
  const s = await Store.open(opts(t));
  t.teardown(() => s.close());
  for (let i = 0; i < 10; i++) await s.apply(spec(i, { v: 1 }));
  const mid = s.seq;
  await s.apply(spec(3, { v: 2 }));
  await s.delete('ProxyRoute/default/r4');
  const w = s.watch({ fromSeq: mid });
  const live = (async () => {
    for (let i = 20; i < 25; i++) await s.apply(spec(i));
  })();
  const got = await collect(w, 7);
  await live;
  t.same(got.map((e) => [e.type, e.view.key]), [
    ['PUT', 'ProxyRoute/default/r3'], ['DELETE', 'ProxyRoute/default/r4'],
    ...[20, 21, 22, 23, 24].map((i) => ['PUT', `ProxyRoute/default/r${i}`]),
  ]);
  const seqs = got.map((e) => e.seq);
  t.same(seqs, [...seqs].sort((a, b) => a - b), 'in seq order');
  t.equal(new Set(seqs).size, seqs.length, 'no duplicates');
  const all = await collect(s.watch({ fromSeq: 0 }), 14);
  t.equal(all.length, 14, 'from 0: the latest state of every key once (10 + 4 new keys)');
  t.equal(new Set(all.map((e) => e.view.key)).size, 14);
});

t.test('watch under concurrent writes during catch-up: no gap, no duplicate', async (t) => {
  const s = await Store.open(opts(t));
  t.teardown(() => s.close());
  for (let i = 0; i < 200; i++) await s.apply(spec(i, { v: 0 }));
  const writes = Promise.all(Array.from({ length: 200 }, (_, i) => s.apply(spec(1000 + i))));
  const got = await collect(s.watch({ fromSeq: 0 }), 400);
  await writes;
  t.equal(new Set(got.map((e) => e.view.key)).size, 400, 'every key exactly once');
  t.ok(got.every((e, i) => i === 0 || e.seq > got[i - 1]!.seq), 'seq strictly increasing');
});

t.test('tombstones are collected after the grace period; older watches are told to relist', async (t) => {
  let now = 10_000_000;
  const s = await Store.open(opts(t, { nowMs: () => now, tombstoneGraceMs: 60_000 }));
  t.teardown(() => s.close());
  await s.apply(spec(1));
  await s.apply(spec(2));
  await s.delete('ProxyRoute/default/r1');
  const seqBefore = s.seq;
  t.equal(await s.collectTombstones(), 0, 'nothing before the grace period');
  now += 61_000;
  t.equal(await s.collectTombstones(), 1);
  t.equal(s.size, 1);
  t.equal(await s.getRecord('ProxyRoute/default/r1'), undefined);
  await t.rejects(collect(s.watch({ fromSeq: 0 }), 1), { code: 'COMPACTED' });
  await s.apply(spec(3));
  const after = await collect(s.watch({ fromSeq: seqBefore }), 1);
  t.equal(after[0]!.view.key, 'ProxyRoute/default/r3', 'watching from after the collected change still works');
});

t.test('LevelDB stores fed the same records in different orders hold identical bytes', async (t) => {
  for (const strategy of ['LastWriterWins', 'Merge', 'Manual'] as const) {
    const a = await Store.open({ path: dir(t, `${strategy}-a`), member: 'a', strategy });
    const b = await Store.open({ path: dir(t, `${strategy}-b`), member: 'b', strategy });
    const records = [];
    for (let i = 0; i < 5; i++) {
      records.push((await a.apply(spec(i, { side: 'a', i }))).record);
      records.push((await b.apply(spec(i, { side: 'b', i }))).record);
    }
    const r1 = await Store.open({ path: dir(t, `${strategy}-r1`), member: 'r1', strategy });
    const r2 = await Store.open({ path: dir(t, `${strategy}-r2`), member: 'r2', strategy });
    for (const r of records) await r1.applyRemote(r);
    for (const r of [...records].reverse().concat(records.slice(0, 3))) await r2.applyRemote(r);
    for (const r of records) { await a.applyRemote(r); await b.applyRemote(r); }
    const dump = async (s: Store) => JSON.stringify(await s.getRecords([0, 1, 2, 3, 4].map((i) => `ProxyRoute/default/r${i}`)));
    const want = await dump(r1);
    for (const s of [r2, a, b]) t.equal(await dump(s), want, `${strategy}: ${s.member} identical`);
    t.equal(new Set([a, b, r1, r2].map((s) => s.merkle.root())).size, 1, `${strategy}: one Merkle root`);
    if (strategy === 'Manual') {
      t.equal((await a.conflicts()).length, 5, 'Manual: every key is listed as a conflict on a');
      t.same((await a.get('ProxyRoute/default/r0'))!.value!.spec, { side: 'a', i: 0 }, 'a serves its own side');
      const res = await b.resolve('ProxyRoute/default/r0', 'local');
      await a.applyRemote(res.record);
      t.same((await a.get('ProxyRoute/default/r0'))!.value!.spec, { side: 'b', i: 0 }, 'resolution reaches a');
      t.equal((await a.conflicts()).length, 4);
      await t.rejects(a.apply(spec(1, { x: 1 })), { code: 'CONFLICT' });
    }
    for (const s of [a, b, r1, r2]) await s.close();
  }
});

t.test('closed store refuses calls', async (t) => {
  const s = await Store.open(opts(t));
  await s.close();
  await t.rejects(s.apply(spec(1)), { code: 'CLOSED' });
  await t.rejects(Store.open(opts(t, { member: 'Bad Member' })), /DNS-1123/);
});

t.test('scanRecordTexts pages the stored encodings, equal to encoding what scanRecords decodes', async (t) => {
  const s = await Store.open(opts(t));
  t.teardown(() => s.close());
  for (let i = 0; i < 25; i++) await s.apply({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: `r${String(i).padStart(2, '0')}` }, spec: spec(i) });
  await s.delete('ProxyRoute/default/r03');
  const texts: string[] = [];
  for (let after: string | null = null; ;) {
    const page = await s.scanRecordTexts(after, 7);
    if (page.length === 0) break;
    t.ok(page.length <= 7, 'limit respected');
    texts.push(...page.map((e) => e.text));
    after = page.at(-1)!.key;
  }
  const records = (await s.scanRecords(null, 100)).map(encodeRecord);
  t.equal(texts.length, 25, 'tombstone included');
  t.same(texts, records);
});

// Issue 19 §3: during an unresolved Manual conflict each member serves its own side, and the view
// (what `get -o yaml` prints and what the list's ORIGIN column names) describes that side: its
// writer and stamp, the same as `conflicts` calls LOCAL. It named the newest writer while showing the
// other side's value.
t.test('Manual: a view names the writer of the side it serves', async (t) => {
  const a = await Store.open({ path: dir(t, 'served-a'), member: 'a', strategy: 'Manual' });
  const b = await Store.open({ path: dir(t, 'served-b'), member: 'b', strategy: 'Manual' });
  const c = await Store.open({ path: dir(t, 'served-c'), member: 'c', strategy: 'Manual' });
  t.teardown(async () => { for (const s of [a, b, c]) await s.close(); });
  const fromA = (await a.apply(spec(1, { side: 'a' }))).record;
  const fromB = (await b.apply(spec(1, { side: 'b' }))).record; // written after a's: the newest stamp
  for (const s of [a, b, c]) for (const r of [fromA, fromB]) await s.applyRemote(r);
  for (const s of [a, b, c]) {
    const v = (await s.get('ProxyRoute/default/r1'))!;
    const [listed] = await s.list({ kind: 'ProxyRoute' });
    const [conflict] = await s.conflicts();
    t.equal(v.origin, (v.value!.spec as { side: string }).side, `${s.member}: get names the writer of the value it shows`);
    t.equal(listed!.origin, v.origin, `${s.member}: the list row names the same origin`);
    t.equal(conflict!.local.origin, v.origin, `${s.member}: conflicts calls that side LOCAL`);
    t.same(v.hlc, conflict!.local.hlc, `${s.member}: and the view's stamp is that side's`);
  }
  t.equal((await a.get('ProxyRoute/default/r1'))!.origin, 'a', 'a serves its own side, named a');
  t.equal((await c.get('ProxyRoute/default/r1'))!.origin, 'b', 'c (no side of its own) serves the newest, named b');
});
