// The agent's file copy: a round trip keeps every record byte for byte; every truncation point and
// every single-byte corruption is refused with a coded error (never half-served); a file of another
// federation is refused; a write leaves no temporary file behind.
import t from 'tap';
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { encodeRecord, HybridClock, localOp, conflictRule, type StoredRecord } from '../../storage/index.ts';
import { ConfigCacheError, readConfigCache, writeConfigCache } from '../../node/agent/config-cache.ts';
import { mulberry32, testSeed } from '../helpers/seeded-random.ts';

const ID = { federationId: 'prod', member: 'edge-1' };

function records(n: number): StoredRecord[] {
  const rule = conflictRule('LastWriterWins');
  const clock = new HybridClock('c1', { maxClockOffsetMs: 5_000 });
  return Array.from({ length: n }, (_, i) => localOp(rule, clock, 1_000 + i, `ProxyRoute/default/r${i}`, undefined, {
    op: 'put', value: { apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: `r${i}`, namespace: 'default' }, spec: { i } },
  }).record!);
}

t.test('round trip', async (t) => {
  const path = join(t.testdir(), 'config.json');
  const rs = records(25);
  const bytes = await writeConfigCache(path, ID, 'Merge', rs.map(encodeRecord));
  t.ok(bytes > 0);
  const back = await readConfigCache(path, ID);
  t.equal(back.strategy, 'Merge');
  t.same(back.records.map(encodeRecord), rs.map(encodeRecord));
  t.same((await readdir(join(path, '..'))).filter((f) => f.includes('.tmp')), [], 'no temporary file left');
  await writeConfigCache(path, ID, 'Merge', []);
  t.same((await readConfigCache(path, ID)).records, [], 'an empty configuration is a valid copy');
});

t.test('the file is the header line and the records line, multi-byte text included', async (t) => {
  const path = join(t.testdir(), 'config.json');
  const rule = conflictRule('LastWriterWins');
  const clock = new HybridClock('c1', { maxClockOffsetMs: 5_000 });
  const rs = ['é', '日本語', 'emoji \u{1F680}', 'plain'].map((text, i) => localOp(rule, clock, 1_000 + i, `ProxyRoute/default/u${i}`, undefined, {
    op: 'put', value: { apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: `u${i}`, namespace: 'default' }, spec: { text } },
  }).record!);
  const texts = rs.map(encodeRecord);
  const bytes = await writeConfigCache(path, ID, 'LastWriterWins', texts);
  const file = await readFile(path, 'utf8');
  t.equal(bytes, Buffer.byteLength(file), 'the byte count returned is the file size');
  const nl = file.indexOf('\n');
  t.equal(file.slice(nl + 1), `[${texts.join(',')}]\n`, 'line 2 is the records array as stored, then a newline');
  t.match(JSON.parse(file.slice(0, nl)), { format: 'novaedge-agent-cache/2', federationId: 'prod', member: 'edge-1', count: 4, snapshot: /^[0-9a-f]{32}$/ });
  t.same((await readConfigCache(path, ID)).records.map(encodeRecord), texts, 'read back byte for byte');
});

t.test('a file of format /1 (before the journal: no snapshot id) still reads; its checksum covers no id', async (t) => {
  const path = join(t.testdir(), 'config.json');
  const texts = records(3).map(encodeRecord);
  const body = `[${texts.join(',')}]`;
  const sha256 = createHash('sha256').update(`prod\nedge-1\nMerge\n3\n`).update(body).digest('hex');
  const header = { format: 'novaedge-agent-cache/1', federationId: 'prod', member: 'edge-1', strategy: 'Merge', count: 3, sha256 };
  await writeFile(path, `${JSON.stringify(header)}\n${body}\n`);
  const back = await readConfigCache(path, ID);
  t.same(back.records.map(encodeRecord), texts);
  t.equal(back.snapshotId, undefined, 'no id: no journal can name it');
  await writeFile(path, `${JSON.stringify({ ...header, snapshot: 'a'.repeat(32) })}\n${body}\n`);
  await t.rejects(readConfigCache(path, ID), { code: 'CACHE_CORRUPT' }, 'a /1 header with an id is malformed');
  await writeConfigCache(path, ID, 'Merge', texts, 'b'.repeat(32));
  await writeFile(path, (await readFile(path, 'utf8')).replace('"snapshot":"bbbb', '"snapshot":"cbbb'));
  await t.rejects(readConfigCache(path, ID), { code: 'CACHE_CORRUPT' }, 'the checksum of /2 covers the snapshot id');
});

t.test('missing, truncated, corrupted and foreign files are refused with their code', async (t) => {
  const dir = t.testdir();
  const path = join(dir, 'config.json');
  await t.rejects(readConfigCache(path, ID), { code: 'CACHE_MISSING' });
  await writeConfigCache(path, ID, 'LastWriterWins', records(5).map(encodeRecord));
  const good = await readFile(path, 'utf8');
  for (let cut = 0; cut < good.length; cut += Math.max(1, Math.floor(good.length / 97))) {
    await writeFile(path, good.slice(0, cut));
    const err = await readConfigCache(path, ID).then(() => undefined, (e: unknown) => e);
    if (!(err instanceof ConfigCacheError) || !['CACHE_TRUNCATED', 'CACHE_CORRUPT'].includes(err.code)) {
      t.fail(`cut at ${cut}: ${String(err)}`);
      return;
    }
  }
  t.pass('every truncation refused');
  const seed = testSeed();
  const rand = mulberry32(seed);
  for (let i = 0; i < 200; i++) {
    const at = Math.floor(rand() * (good.length - 1));
    const flipped = good.slice(0, at) + String.fromCharCode(good.charCodeAt(at) ^ (1 + Math.floor(rand() * 30))) + good.slice(at + 1);
    if (flipped === good) continue;
    await writeFile(path, flipped);
    const err = await readConfigCache(path, ID).then(() => undefined, (e: unknown) => e);
    if (!(err instanceof ConfigCacheError)) {
      t.fail(`corruption at ${at} (seed ${seed}) was accepted`);
      return;
    }
  }
  t.pass(`200 single-byte corruptions refused (seed ${seed})`);
  await writeFile(path, good);
  await t.rejects(readConfigCache(path, { ...ID, federationId: 'staging' }), { code: 'CACHE_WRONG_FEDERATION' });
});
