// The store takes its database and its environment (wall clock, monotonic clock, deferral) from its
// options: any abstract-level database of utf8 strings, so the simulation can run many stores in one
// process on virtual time. Opened by path it is LevelDB in exactly that directory on the real clocks.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MemoryLevel } from 'memory-level';
import { Store } from '../../storage/store/store.ts';
import { openDiskDb } from '../../storage/store/disk-db.ts';
import { spec } from './replica-sim.ts';

t.test('a store over an injected database runs on the injected clocks and deferral', async (t) => {
  const db = new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8', storeEncoding: 'utf8' });
  const wallMs = 1_767_225_600_000;
  let monoMs = 1_000;
  let deferred = 0;
  const store = await Store.open({
    db, member: 'a', strategy: 'LastWriterWins',
    nowMs: () => wallMs,
    // Each reading is 7 ms after the last: a batch measures 7 ms whatever the host does.
    monoMs: () => (monoMs += 7),
    defer: (fn) => { deferred++; queueMicrotask(fn); },
  });
  const r = await store.apply(spec(1, { x: 1 }));
  t.equal(r.view.hlc.wallMs, wallMs, 'the local write is stamped from the injected wall clock');
  t.equal(store.batchMs, 7 * store.batches, 'synced batches are timed on the injected monotonic clock');
  t.ok(deferred > 0, 'background Merkle hashing runs through the injected deferral');
  t.same((await store.get(r.view.key))?.value?.spec, { x: 1 });
  await store.close();
  t.equal(db.status, 'closed', 'closing the store closes its database');

  const again = await Store.open({ db, member: 'a', strategy: 'LastWriterWins', nowMs: () => wallMs + 1, monoMs: () => 0 });
  t.teardown(() => again.close());
  t.equal(again.seq, 1, 'the same database opens again with its data');
  t.same((await again.get(r.view.key))?.value?.spec, { x: 1 });
});

t.test('by path: LevelDB in exactly that directory; a data directory keeps it in store/', async (t) => {
  const dir = t.testdir();
  const store = await Store.open({ path: join(dir, 'exact'), member: 'a', strategy: 'LastWriterWins' });
  await store.apply(spec(1));
  await store.close();
  t.ok(existsSync(join(dir, 'exact', 'CURRENT')), 'the LevelDB is the given directory');

  const db = await openDiskDb(join(dir, 'node'));
  const onDisk = await Store.open({ db, member: 'a', strategy: 'LastWriterWins', nowMs: () => Date.now(), monoMs: () => performance.now() });
  await onDisk.apply(spec(2));
  await onDisk.close();
  t.ok(existsSync(join(dir, 'node', 'store', 'CURRENT')), 'openDiskDb opens <dataDir>/store');
});

t.test('the database keeps the strategy the store was last opened under', async (t) => {
  const db = new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8', storeEncoding: 'utf8' });
  const env = { nowMs: () => 1_767_225_600_000, monoMs: () => 0 };
  t.equal(await Store.storedStrategy(db), undefined, 'a new database: none');
  await (await Store.open({ db, member: 'a', strategy: 'Merge', ...env })).close();
  t.equal(await Store.storedStrategy(db), 'Merge');
  await (await Store.open({ db, member: 'a', strategy: 'Manual', ...env })).close();
  t.equal(await Store.storedStrategy(db), 'Manual', 'reopened under another strategy: that one');
  await db.close();
});
