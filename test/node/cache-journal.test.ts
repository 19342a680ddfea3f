// The journal beside the agent's file copy: entries replay onto their snapshot; a crash at any byte of
// the last append, or between a compaction's snapshot rename and its journal restart, leaves the old
// state or the new one, never a mix; damage before the last entry, reordered or spliced entries and
// another federation's journal are refused with their code; a journal left from an older snapshot is
// not replayed; the journal stays within its bound.
import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { dirname, basename, join } from 'node:path';
import { encodeRecord } from '../../storage/index.ts';
import {
  CacheFiles, JOURNAL_BYTES_MIN, journalBytesMax, journalPathOf, loadConfigCache, type CacheChange, type LoadedCopy,
} from '../../node/agent/cache-journal.ts';
import { ConfigCacheError } from '../../node/agent/config-cache.ts';
import { cacheKey, ModelReplica } from '../helpers/cache-records.ts';
import { mulberry32, testSeed } from '../helpers/seeded-random.ts';

const ID = { federationId: 'prod', member: 'edge-1' };

// A snapshot as written before the journal existed (format /1: no snapshot id).
function v1File(records: string[]): string {
  const body = `[${records.join(',')}]`;
  const sha256 = createHash('sha256').update(`prod\nedge-1\nLastWriterWins\n${records.length}\n`).update(body).digest('hex');
  const header = { format: 'novaedge-agent-cache/1', federationId: 'prod', member: 'edge-1', strategy: 'LastWriterWins', count: records.length, sha256 };
  return `${JSON.stringify(header)}\n${body}\n`;
}

const texts = (c: LoadedCopy): string[] => c.records.map(encodeRecord);
const codeOf = async (p: Promise<unknown>): Promise<string> => p.then(() => 'accepted', (e: unknown) => (e instanceof ConfigCacheError ? e.code : String(e)));

// A copy with a snapshot of 5 records and `entries` entries after it; the model's state after each
// durable write, and where each entry starts in the journal.
async function copyWithEntries(dir: string, entries: number): Promise<{ files: CacheFiles; model: ModelReplica; states: string[][]; starts: number[] }> {
  const model = new ModelReplica();
  for (let i = 0; i < 5; i++) model.put(cacheKey(i), { i });
  const files = new CacheFiles(join(dir, 'config.json'), ID, () => 'LastWriterWins');
  await files.compact(model.snapshot());
  const states = [model.snapshot()];
  const starts: number[] = [];
  for (let e = 0; e < entries; e++) {
    const changes: CacheChange[] = [];
    const touch = (key: string, text: string | undefined): void => { changes.push({ key, text }); };
    touch(cacheKey(e), model.put(cacheKey(e), { e }));
    touch(cacheKey(10 + e), model.put(cacheKey(10 + e), { new: e }));
    if (e % 2 === 1) touch(cacheKey(e + 1), model.delete(cacheKey(e + 1))!);
    if (e === 2) {
      model.forget(cacheKey(3));
      touch(cacheKey(3), undefined);
    }
    starts.push(files.journalBytes);
    if ((await files.append(changes)) === undefined) throw new Error('append declined');
    states.push(model.snapshot());
  }
  return { files, model, states, starts };
}

t.test('a snapshot and its journal read back as the last state, byte for byte', async (t) => {
  const dir = t.testdir();
  const { files, states } = await copyWithEntries(dir, 4);
  const back = await loadConfigCache(files.path, ID);
  t.same(texts(back), states.at(-1), 'puts, tombstones and removed keys replayed');
  t.same(back.journal, { entries: 4, tornEntries: 0, tornBytes: 0, stale: false });
  t.equal((await stat(files.journalPath)).size, files.journalBytes, 'journalBytes is the file size');
  t.equal((await stat(files.path)).size, files.snapshotBytes, 'snapshotBytes is the file size');
  t.equal(files.journalEntries, 4);
  const journal = await readFile(files.journalPath, 'utf8');
  t.match(JSON.parse(journal.slice(0, journal.indexOf('\n'))), { format: 'novaedge-agent-journal/1', federationId: 'prod', member: 'edge-1' });
});

t.test('a crash at every byte of the last append leaves the state before it, the torn entry counted', async (t) => {
  const dir = t.testdir();
  const { files, states, starts } = await copyWithEntries(dir, 3);
  const full = await readFile(files.journalPath);
  const start = starts.at(-1)!;
  for (let cut = start; cut < full.length; cut++) {
    await writeFile(files.journalPath, full.subarray(0, cut));
    const back = await loadConfigCache(files.path, ID).catch((e: unknown) => e as Error);
    if (back instanceof Error) {
      t.fail(`cut at ${cut}: ${back.message}`);
      return;
    }
    if (JSON.stringify(texts(back)) !== JSON.stringify(states[2]) || back.journal.entries !== 2 ||
      back.journal.tornEntries !== (cut > start ? 1 : 0) || back.journal.tornBytes !== cut - start) {
      t.fail(`cut at ${cut}: ${JSON.stringify(back.journal)}, ${back.records.length} records`);
      return;
    }
  }
  t.pass(`${full.length - start} cuts inside the last entry: the state of the entry before, torn entry dropped and counted`);
  await writeFile(files.journalPath, full);
  t.same(texts(await loadConfigCache(files.path, ID)), states[3], 'whole: the new state');
  // A last entry whose blocks were never written (a file extended before its data landed): dropped.
  const zeroed = Buffer.from(full);
  zeroed.fill(0x20, full.length - 20, full.length - 1);
  await writeFile(files.journalPath, zeroed);
  const back = await loadConfigCache(files.path, ID);
  t.same(texts(back), states[2]);
  t.equal(back.journal.tornEntries, 1);
});

t.test('damage before the last entry is refused with CACHE_JOURNAL_CORRUPT, at every byte', async (t) => {
  const dir = t.testdir();
  const { files, starts } = await copyWithEntries(dir, 3);
  const full = await readFile(files.journalPath);
  const seed = testSeed();
  const rand = mulberry32(seed);
  const headerEnd = full.indexOf(10) + 1;
  for (let at = 0; at < starts.at(-1)!; at++) {
    const bad = Buffer.from(full);
    bad[at] = bad[at]! ^ (1 + Math.floor(rand() * 254));
    await writeFile(files.journalPath, bad);
    const code = await codeOf(loadConfigCache(files.path, ID));
    // In the header, a changed federation ID reads as another federation's journal.
    const ok = at < headerEnd ? ['CACHE_JOURNAL_CORRUPT', 'CACHE_WRONG_FEDERATION'].includes(code) : code === 'CACHE_JOURNAL_CORRUPT';
    if (!ok) {
      t.fail(`byte ${at} changed (seed ${seed}): ${code}`);
      return;
    }
  }
  t.pass(`every byte before the last entry changed in turn: refused (seed ${seed})`);
});

t.test('reordered, dropped and spliced entries break the chain', async (t) => {
  const dir = t.testdir();
  const { files, starts } = await copyWithEntries(dir, 3);
  const full = await readFile(files.journalPath);
  const head = full.subarray(0, starts[0]);
  const [e1, e2, e3] = [full.subarray(starts[0], starts[1]), full.subarray(starts[1], starts[2]), full.subarray(starts[2])];
  await writeFile(files.journalPath, Buffer.concat([head, e2, e1, e3]));
  t.equal(await codeOf(loadConfigCache(files.path, ID)), 'CACHE_JOURNAL_CORRUPT', 'two entries swapped');
  await writeFile(files.journalPath, Buffer.concat([head, e1, e3]));
  t.equal(await codeOf(loadConfigCache(files.path, ID)), 'CACHE_JOURNAL_CORRUPT', 'a middle entry dropped');
  // The same changes journalled after another snapshot: entry 2 of that journal spliced into this one.
  await mkdir(join(dir, 'other'));
  const other = await copyWithEntries(join(dir, 'other'), 3);
  const o = await readFile(other.files.journalPath);
  await writeFile(files.journalPath, Buffer.concat([head, e1, o.subarray(other.starts[1], other.starts[2]), e3]));
  t.equal(await codeOf(loadConfigCache(files.path, ID)), 'CACHE_JOURNAL_CORRUPT', 'an entry from another journal spliced in');
  await writeFile(files.journalPath, full);
  t.equal(await codeOf(loadConfigCache(files.path, ID)), 'accepted');
});

t.test('a journal left from an older snapshot is not replayed', async (t) => {
  const dir = t.testdir();
  const { files, model } = await copyWithEntries(dir, 2);
  const old = await readFile(files.journalPath);
  model.put(cacheKey(50), { after: true });
  await files.compact(model.snapshot());
  await writeFile(files.journalPath, old);
  const back = await loadConfigCache(files.path, ID);
  t.same(texts(back), model.snapshot(), 'the new snapshot alone');
  t.same(back.journal, { entries: 0, tornEntries: 0, tornBytes: 0, stale: true });
  // A snapshot of the format before the journal (no id) takes no journal either.
  await writeFile(files.path, v1File(model.snapshot()));
  await writeFile(files.journalPath, old);
  const v1 = await loadConfigCache(files.path, ID);
  t.same(texts(v1), model.snapshot(), 'a format /1 snapshot is read');
  t.equal(v1.journal.stale, true, 'and no journal replayed onto it');
});

t.test('a crash between the snapshot rename and the journal restart leaves the new state; before the rename, the old', async (t) => {
  const dir = t.testdir();
  const { files, model, states } = await copyWithEntries(dir, 2);
  model.put(cacheKey(60), { compacted: true });
  // A directory where a temporary file goes makes that step fail, as a crash there would stop it.
  const tmpOf = (path: string): string => join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  await mkdir(tmpOf(files.path));
  await t.rejects(files.compact(model.snapshot()), 'the snapshot cannot be written');
  let back = await loadConfigCache(files.path, ID);
  t.same(texts(back), states.at(-1), 'before the snapshot rename: the old state, journal replayed');
  await rm(tmpOf(files.path), { recursive: true });
  await mkdir(tmpOf(files.journalPath));
  await t.rejects(files.compact(model.snapshot()), 'the journal cannot be restarted');
  back = await loadConfigCache(files.path, ID);
  t.same(texts(back), model.snapshot(), 'after the snapshot rename: the new state');
  t.equal(back.journal.stale, true, 'the old journal is not replayed onto it');
  // And the files go on from there: the next append declines until a compaction restarts the journal.
  t.equal(await files.append([{ key: cacheKey(61), text: model.put(cacheKey(61)) }]), undefined, 'no append after a failed compaction');
  await rm(tmpOf(files.journalPath), { recursive: true });
  await files.compact(model.snapshot());
  t.ok(await files.append([{ key: cacheKey(62), text: model.put(cacheKey(62)) }]));
  t.same(texts(await loadConfigCache(files.path, ID)), model.snapshot(), 'compacted, then one entry');
});

t.test('another federation\'s journal is refused; an oversized journal is refused unread', async (t) => {
  const dir = t.testdir();
  const { files } = await copyWithEntries(dir, 1);
  const good = await readFile(files.journalPath);
  const staging = new CacheFiles(join(dir, 'staging.json'), { ...ID, federationId: 'staging' }, () => 'LastWriterWins');
  await staging.compact([]);
  await writeFile(files.journalPath, await readFile(staging.journalPath));
  t.equal(await codeOf(loadConfigCache(files.path, ID)), 'CACHE_WRONG_FEDERATION');
  await writeFile(files.journalPath, Buffer.concat([good, Buffer.alloc(journalBytesMax(files.snapshotBytes) + 1 - good.length, 0x20)]));
  t.equal(await codeOf(loadConfigCache(files.path, ID)), 'CACHE_TOO_LARGE');
  await writeFile(files.journalPath, good);
  t.equal(await codeOf(loadConfigCache(files.path, ID)), 'accepted');
});

t.test('the journal stays within its bound: an append that would outgrow it declines, a compaction follows', async (t) => {
  const dir = t.testdir();
  const model = new ModelReplica();
  const files = new CacheFiles(join(dir, 'config.json'), ID, () => 'LastWriterWins');
  t.equal(await files.append([{ key: cacheKey(0), text: model.put(cacheKey(0)) }]), undefined, 'no append before the first snapshot');
  await files.compact(model.snapshot());
  let within = true;
  for (let i = 0; ; i++) {
    const n = await files.append([{ key: cacheKey(i % 10), text: model.put(cacheKey(i % 10), { i }, 10_000) }]);
    within &&= files.journalBytes <= journalBytesMax(files.snapshotBytes);
    if (n === undefined) break;
  }
  t.ok(within, 'within the bound after every append');
  t.ok(files.journalBytes > JOURNAL_BYTES_MIN - 20_000, `declined at ${files.journalBytes} bytes (bound ${JOURNAL_BYTES_MIN})`);
  t.equal((await stat(files.journalPath)).size, files.journalBytes, 'nothing written by the declined append');
  await files.compact(model.snapshot());
  t.same(texts(await loadConfigCache(files.path, ID)), model.snapshot());
  await truncate(files.journalPath, 0);
  t.equal(await codeOf(loadConfigCache(files.path, ID)), 'CACHE_JOURNAL_CORRUPT', 'an empty journal file has no header: refused');
});
