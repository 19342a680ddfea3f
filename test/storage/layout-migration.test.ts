// Stores written with key layout 1 (a separate i:<key> index entry, only the key in the change log)
// open under layout 2 with the same contents, also after a crash part-way through the conversion.
import t from 'tap';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { Store } from '../../storage/index.ts';
import { prefixEnd } from '../../storage/store/layout.ts';
import { spec } from './replica-sim.ts';

type Test = import('tap').Test;

interface Snapshot {
  seq: number;
  root: string;
  size: number;
  records: string[];
  changes: Array<[number, string, string]>;
}

// Everything a reader can see of a store: records, root, seq, and the change log a watch replays.
async function snapshot(s: Store): Promise<Snapshot> {
  const records = (await s.scanRecords(null, 10_000)).map((r) => `${r.key} ${r.digest}`);
  const changes: Array<[number, string, string]> = [];
  if (s.seq > 0) {
    const stop = new AbortController();
    for await (const e of s.watch({ fromSeq: 0, signal: stop.signal })) {
      changes.push([e.seq, e.record.key, e.record.digest]);
      if (e.seq >= s.seq) break;
    }
    stop.abort();
  }
  return { seq: s.seq, root: s.merkle.root(), size: s.size, records, changes };
}

// A store with overwrites, deletes (tombstones) and several kinds, in the current layout.
async function build(path: string): Promise<Snapshot> {
  const s = await Store.open({ path, member: 'a', strategy: 'LastWriterWins' });
  for (let i = 0; i < 300; i++) await s.apply(spec(i, { v: i }));
  for (let i = 0; i < 300; i += 7) await s.apply(spec(i, { v: -i }));
  for (let i = 0; i < 300; i += 11) await s.delete(`ProxyRoute/default/r${i}`);
  await s.apply({ ...spec(1000), kind: 'Backend' });
  const before = await snapshot(s);
  await s.close();
  return before;
}

// Rewrite a layout-2 store as layout 1 wrote it, for the keys `pick` selects (all by default):
// what an older version left on disk, or (with some keys) a conversion cut short by a crash.
async function toLayout1(path: string, pick: (i: number) => boolean = () => true): Promise<number> {
  const db = new ClassicLevel<string, string>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  const changes = await db.iterator({ gte: 'c:', lt: prefixEnd('c:') }).all();
  const ops: Array<{ type: 'put'; key: string; value: string } | { type: 'del'; key: string }> = [{ type: 'del', key: 'm:format' }];
  let n = 0;
  changes.forEach(([k, v], i) => {
    if (!pick(i)) return;
    const seq = parseInt(k.slice(2), 16);
    const digest = v.slice(0, 64);
    const key = v.slice(65);
    ops.push({ type: 'put', key: k, value: key }, { type: 'put', key: `i:${key}`, value: `${seq} ${digest}` });
    n++;
  });
  await db.batch(ops, { sync: true });
  await db.close();
  return n;
}

async function rawKeys(path: string, prefix: string): Promise<string[]> {
  const db = new ClassicLevel<string, string>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  const keys = await db.keys({ gte: prefix, lt: prefixEnd(prefix) }).all();
  const format = await db.get('m:format');
  await db.close();
  return [...keys, `format=${format}`];
}

async function check(t: Test, path: string, before: Snapshot, convertedKeys: number): Promise<void> {
  const converted = await Store.open({ path, member: 'a', strategy: 'LastWriterWins' });
  t.same(converted.migration, { fromVersion: 1, toVersion: 2, keys: convertedKeys }, 'the conversion is reported');
  t.same(await snapshot(converted), before, 'records, root, seq and change log as before');
  await converted.close();
  t.same(await rawKeys(path, 'i:'), ['format=2'], 'no index entries left; layout 2 marked');
  // The converted store takes writes and opens again.
  const s = await Store.open({ path, member: 'a', strategy: 'LastWriterWins' });
  await s.apply(spec(5000, { after: true }));
  const after = await snapshot(s);
  await s.close();
  const again = await Store.open({ path, member: 'a', strategy: 'LastWriterWins' });
  t.same(again.migration, { fromVersion: 2, toVersion: 2, keys: 0 }, 'nothing left to convert');
  t.same(await snapshot(again), after, 'reopened after a write');
  t.equal(after.changes.at(-1)![1], 'ProxyRoute/default/r5000');
  await again.close();
}

t.test('a layout-1 store opens with the same contents', async (t) => {
  const path = join(t.testdir(), 'a');
  const before = await build(path);
  t.equal(await toLayout1(path), before.size, 'every key rewritten as layout 1');
  t.equal((await rawKeys(path, 'i:')).length, before.size + 1, 'layout-1 index entries present');
  await check(t, path, before, before.size);
});

t.test('a conversion cut short by a crash is finished by the next open', async (t) => {
  const path = join(t.testdir(), 'a');
  const before = await build(path);
  // Every third key still in layout 1, the others converted; the format mark not yet written.
  const left = await toLayout1(path, (i) => i % 3 === 0);
  t.ok(left > 0 && left < before.size, `${left} of ${before.size} keys left unconverted`);
  await check(t, path, before, left);
});

t.test('an empty store is marked with the current layout', async (t) => {
  const path = join(t.testdir(), 'a');
  const s = await Store.open({ path, member: 'a', strategy: 'LastWriterWins' });
  // Issue 19 §3: a brand-new store converts nothing, so its node logs no "store converted fromVersion 1".
  t.same(s.migration, { fromVersion: 2, toVersion: 2, keys: 0 }, 'a new store reports no conversion');
  await s.close();
  t.same(await rawKeys(path, 'i:'), ['format=2']);
});

t.test('a layout this version does not know is refused, not read', async (t) => {
  const path = join(t.testdir(), 'a');
  const before = await build(path);
  for (const mark of ['3', 'x']) {
    const db = new ClassicLevel<string, string>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.open();
    await db.put('m:format', mark);
    await db.close();
    await t.rejects(Store.open({ path, member: 'a', strategy: 'LastWriterWins' }), /key layout "\w+" is not one this version reads/);
  }
  // Refusing closed the database and changed nothing: with the mark restored it opens as before.
  const db = new ClassicLevel<string, string>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
  await db.open();
  await db.put('m:format', '2');
  await db.close();
  const s = await Store.open({ path, member: 'a', strategy: 'LastWriterWins' });
  t.same(await snapshot(s), before);
  await s.close();
});

t.test('a corrupt change log is reported at open', async (t) => {
  const cases: Array<[string, (db: ClassicLevel<string, string>, k: string, v: string) => Promise<void>, RegExp]> = [
    ['entry without a digest', (db, k) => db.put(k, 'ProxyRoute/default/r1'), /corrupt change-log entry/],
    // Seq 1 is free: r1's first change, replaced by its second (the first entry now).
    ['key changed twice', (db, _k, v) => db.put('c:0000000000000001', v), /two change-log entries/],
    ['seq past the high-water mark', (db, k, v) => db.batch([{ type: 'del', key: k }, { type: 'put', key: 'c:0000000fffffffff', value: v }]), /past the seq high-water mark/],
  ];
  for (const [name, corrupt, error] of cases) {
    const path = join(t.testdir(), name.replaceAll(' ', '-'));
    const s = await Store.open({ path, member: 'a', strategy: 'LastWriterWins' });
    await s.apply(spec(1));
    await s.apply(spec(1, { x: 2 }));
    await s.apply(spec(2));
    await s.close();
    const db = new ClassicLevel<string, string>(path, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    await db.open();
    const [k, v] = (await db.iterator({ gte: 'c:', lt: prefixEnd('c:'), limit: 1 }).all())[0]!;
    await corrupt(db, k, v);
    await db.close();
    await t.rejects(Store.open({ path, member: 'a', strategy: 'LastWriterWins' }), error, name);
  }
});
