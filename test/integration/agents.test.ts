// Agents over real libp2p on loopback: catch-up and live changes from the primary, failover to a
// secondary when the primary dies, failback only after recoveryDelay, latency-aware choice, the file
// copy served at start when every controller is down, a watch that spans a failover, and what an
// agent may not do.
import t from 'tap';
import { join } from 'node:path';
import { writeFile, readFile } from 'node:fs/promises';
import { lpStream } from 'it-length-prefixed-stream';
import { compareVv, encodeRecord } from '../../storage/index.ts';
import { journalPathOf, loadConfigCache } from '../../node/agent/cache-journal.ts';
import { FAST_AGENT } from '../../node/agent/agent-config.ts';
import { replicationProtocol } from '../../node/replication/protocol-ids.ts';
import { encodeMessage } from '../../node/wire/codec.ts';
import type { ChangeEvent } from '../../storage/index.ts';
import { agentFederation, route } from '../helpers/agent-federation.ts';
import { waitFor } from '../helpers/wait-for.ts';

const C3 = ['c1', 'c2', 'c3'];
const F = FAST_AGENT.failover!;
// The bound: failureThreshold × interval + one interval.
const FAILOVER_BOUND_MS = F.failureThreshold! * F.healthCheckIntervalMs! + F.healthCheckIntervalMs!;

t.test('an agent catches up from its primary, follows live changes, and reports what it reaches', async (t) => {
  const f = await agentFederation(t, { controllers: C3, agents: ['a1'] });
  const c1 = f.controllers.get('c1')!;
  for (let i = 0; i < 20; i++) await c1.apply(route(`r${i}`));
  const agent = await f.startAgent('a1', C3);
  await waitFor('connected to the primary', () => agent.state === 'Connected' && agent.status().controller === 'c1', { timeoutMs: 20_000 });
  // What c1 held is here once Connected. (The last catch-up's count is 20 only when the first session
  // lasted: on a loaded machine a session may time out and a second catch-up pull nothing new.)
  t.ok(agent.status().lastCatchUp !== undefined, 'a catch-up ran before Connected');
  const held = [];
  for (let i = 0; i < 20; i++) if (await agent.get(`ProxyRoute/default/r${i}`) !== undefined) held.push(i);
  t.equal(held.length, 20, 'the catch-up pulled what c1 held');
  await c1.apply(route('live'));
  await waitFor('live change', async () => (await agent.get('ProxyRoute/default/live')) !== undefined, { timeoutMs: 20_000 });
  t.equal(agent.store.merkle.root(), c1.store.merkle.root(), 'identical replica');
  await waitFor('c1 counts its agent', () => c1.status().members[0]!.agents === 1, { timeoutMs: 20_000 });
  await waitFor('c2 sees a1 reaching every controller, with the RTT it measured to each', () => {
    const p = f.controllers.get('c2')!.membership.peer('a1');
    return p !== undefined && C3.every((c) => p.reachable.includes(c) && p.reportedRttMs?.[c] !== undefined);
  }, { timeoutMs: 20_000 });
  t.same(agent.membership.peers(), [], 'agents only publish health: no other member\'s heartbeats reach them');
  await t.rejects(agent.apply(route('nope')), { code: 'READ_ONLY' }, 'agents refuse writes');
  await t.rejects(agent.delete('ProxyRoute/default/live'), { code: 'READ_ONLY' });
});

t.test('primary killed: a secondary serves within the bound; failback only after recoveryDelay', async (t) => {
  const f = await agentFederation(t, { controllers: C3, agents: ['a1'] });
  const agent = await f.startAgent('a1', C3);
  await waitFor('connected to c1', () => agent.state === 'Connected' && agent.status().controller === 'c1', { timeoutMs: 20_000 });
  const killedAt = performance.now();
  await f.stopController('c1');
  await waitFor('served by a secondary', () => agent.state === 'Connected' && agent.status().controller !== 'c1',
    { timeoutMs: FAILOVER_BOUND_MS + 2_000 });
  const failoverMs = performance.now() - killedAt;
  t.comment(`failover in ${failoverMs.toFixed(0)} ms (bound ${FAILOVER_BOUND_MS} ms)`);
  t.ok(agent.status().failovers >= 1, 'failover counted');
  const now = agent.status().controller!;
  await f.controllers.get(now)!.apply(route('after-failover'));
  await waitFor('sees writes made on the secondary', async () => (await agent.get('ProxyRoute/default/after-failover')) !== undefined, { timeoutMs: 20_000 });

  await f.startController('c1');
  // Poll the agent and bracket the two moments: the last time c1 was still unhealthy to it, and the
  // first time it follows c1 again. Failback may not come sooner than recoveryDelay after c1 turned
  // healthy, so the bracket is at least that wide however late the polls run on a loaded machine.
  let lastUnhealthyAt = performance.now();
  const failedBackAt = await waitFor('failback to c1', () => {
    const st = agent.status();
    if (st.controllers.find((c) => c.name === 'c1')?.healthy !== true) lastUnhealthyAt = performance.now();
    return st.controller === 'c1' && agent.state === 'Connected' && performance.now();
  }, { timeoutMs: 20_000, intervalMs: 5 }, () => ({ controllers: agent.status().controllers, dials: agent.membership.reconnectStatus() }));
  const waitedMs = failedBackAt - lastUnhealthyAt;
  t.ok(waitedMs >= F.recoveryDelayMs!, `failed back ${waitedMs.toFixed(0)} ms after c1 was last seen unhealthy (recoveryDelay ${F.recoveryDelayMs} ms)`);
  t.ok(agent.status().failbacks >= 1, 'failback counted');
  await waitFor('identical to c1', () => agent.store.merkle.root() === f.controllers.get('c1')!.store.merkle.root(), { timeoutMs: 20_000 });
});

t.test('latencyAware: among equal-priority secondaries the lower-RTT one is chosen', async (t) => {
  for (const slow of ['c2', 'c3']) {
    await t.test(`${slow} slow`, async (t) => {
      const f = await agentFederation(t, { controllers: C3, agents: ['a1'] });
      const slowId = f.plan.find((p) => p.name === slow)!.peerId.toString();
      const agent = await f.startAgent('a1', C3, {}, { extraRttMs: (peerId) => (peerId === slowId ? 500 : 0) });
      await waitFor('connected to c1', () => agent.state === 'Connected' && agent.status().controller === 'c1', { timeoutMs: 20_000 });
      await waitFor('both secondaries measured', () => agent.status().controllers.every((c) => c.rttMs !== undefined && c.healthy), { timeoutMs: 20_000 });
      await f.stopController('c1');
      await waitFor('failed over', () => agent.state === 'Connected' && agent.status().controller !== 'c1', { timeoutMs: 20_000 });
      t.not(agent.status().controller, slow, `chose the faster secondary (${agent.status().controller})`);
    });
  }
});

t.test('restarted with every controller down, the agent serves its file copy at once, identical', async (t) => {
  const f = await agentFederation(t, { controllers: C3, agents: ['a1'], replication: { strategy: 'Merge' } });
  const c1 = f.controllers.get('c1')!;
  for (let i = 0; i < 30; i++) await c1.apply(route(`r${i}`, { weight: i }));
  await c1.delete('ProxyRoute/default/r3');
  const configPath = join(f.dir, 'a1-config.json');
  const agent = await f.startAgent('a1', C3, { autonomousMode: { configPath } });
  await waitFor('caught up', () => agent.state === 'Connected' && agent.store.merkle.root() === c1.store.merkle.root(), { timeoutMs: 20_000 });
  const before = await agent.list();
  await agent.stop();
  f.agents.delete('a1');
  for (const c of C3) await f.stopController(c);

  // A fresh data directory: only the file copy can supply the configuration.
  const started = performance.now();
  const again = await f.startAgent('a1', C3, { dataDir: join(f.dir, 'a1-fresh'), autonomousMode: { configPath } });
  t.comment(`serving ${again.store.size} records ${(performance.now() - started).toFixed(0)} ms after start`);
  t.equal(again.state, 'Autonomous');
  t.equal(again.store.rule.name, 'Merge', 'the strategy comes with the file');
  const after = await again.list();
  t.same(after.map((v) => [v.key, v.digest, v.value]), before.map((v) => [v.key, v.digest, v.value]), 'identical resources');
  t.equal(after.length, 29);
  t.equal(again.status().cache.loadError, undefined);
});

t.test('the file copy costs the change, not the configuration, and a restart serves its last state', async (t) => {
  const f = await agentFederation(t, { controllers: ['c1'], agents: ['a1'] });
  const c1 = f.controllers.get('c1')!;
  const n = 400;
  for (let i = 0; i < n; i++) await c1.apply(route(`r${i}`, { weight: i }));
  const configPath = join(f.dir, 'a1-config.json');
  const agent = await f.startAgent('a1', ['c1'], { autonomousMode: { configPath, writeCoalesceMs: 50 } });
  const onDisk = async (): Promise<Map<string, string>> => {
    const c = await loadConfigCache(configPath, { federationId: f.fed.id, member: 'a1' }).catch(() => undefined);
    return new Map(c?.records.map((r) => [r.key, r.digest]) ?? []);
  };
  // The copy on disk holds what c1 holds, and no write is due (the writer may append a key again
  // that a snapshot already held).
  const matches = async (): Promise<boolean> => {
    if (agent.status().cache.pending === true) return false;
    const disk = await onDisk();
    const held = await c1.store.scanRecords(null, 10_000);
    return held.length === disk.size && held.every((r) => disk.get(r.key) === r.digest);
  };
  await waitFor('the copy on disk holds what c1 holds', matches, { timeoutMs: 20_000 });
  const before = agent.status().cache;
  const k = 5;
  for (let i = 0; i < k; i++) await c1.apply(route(`r${i}`, { weight: 1_000 + i }));
  await c1.delete(`ProxyRoute/default/r${k}`);
  await waitFor('the changes on disk', matches, { timeoutMs: 20_000 });
  const after = agent.status().cache;
  const bytes = after.bytes - before.bytes;
  const recordBytes = Buffer.byteLength(encodeRecord((await c1.store.getRecord('ProxyRoute/default/r0'))!));
  t.comment(`${k + 1} changes with ${n} resources held: ${after.writes - before.writes} writes, ${bytes} bytes (one record: ${recordBytes} bytes)`);
  t.ok(bytes <= (k + 1) * (recordBytes + 200), `${bytes} bytes written for ${k + 1} changed records: about their size, not the ${n} held`);
  t.ok(after.writes > before.writes);

  await agent.stop();
  f.agents.delete('a1');
  const expected = (await c1.list()).map((v) => [v.key, v.digest]);
  await f.stopController('c1');
  const again = await f.startAgent('a1', ['c1'], { dataDir: join(f.dir, 'a1-fresh'), autonomousMode: { configPath } });
  t.equal(again.status().cache.loadError, undefined);
  t.same((await again.list()).map((v) => [v.key, v.digest]), expected, 'the snapshot and its journal: the last state, served');
});

t.test('a watch across a failover: every change once, in order, never backwards', async (t) => {
  const f = await agentFederation(t, { controllers: C3, agents: ['a1'] });
  const agent = await f.startAgent('a1', C3);
  await waitFor('connected', () => agent.state === 'Connected', { timeoutMs: 20_000 });
  const events: ChangeEvent[] = [];
  const ac = new AbortController();
  const watching = (async () => { for await (const e of agent.watch({ fromSeq: 0, signal: ac.signal })) events.push(e); })();
  t.teardown(() => ac.abort());

  let n = 0;
  let writing = true;
  // Writes go to whichever controller is up (c2 takes over when c1 dies); each writes a new key and
  // bumps one shared key, so versions of that key must only move forward.
  const writer = (async () => {
    while (writing) {
      const c = f.controllers.get('c1') ?? f.controllers.get('c2')!;
      const i = n++;
      await c.apply(route(`w${i}`)).catch(() => { n--; });
      await c.apply(route('shared', { i })).catch(() => undefined);
      await new Promise((r) => setImmediate(r));
    }
  })();
  await waitFor('some writes', () => n >= 30, { timeoutMs: 20_000 });
  await f.stopController('c1');
  await waitFor('failed over', () => agent.state === 'Connected' && agent.status().controller !== 'c1', { timeoutMs: 20_000 });
  const at = n;
  await waitFor('more writes after', () => n >= at + 30, { timeoutMs: 20_000 });
  writing = false;
  await writer;
  const c2 = f.controllers.get('c2')!;
  await waitFor('agent identical to c2', () => agent.store.merkle.root() === c2.store.merkle.root(), { timeoutMs: 20_000 }, () => ({
    agent: { state: agent.state, controller: agent.status().controller, size: agent.store.size, root: agent.store.merkle.root() },
    controllers: [...f.controllers].map(([name, c]) => ({ name, size: c.store.size, root: c.store.merkle.root() })),
  }));
  await waitFor('watch drained', () => events.at(-1)?.seq === agent.store.seq, { timeoutMs: 20_000 });
  ac.abort();
  await watching;

  const seqs = events.map((e) => e.seq);
  t.ok(seqs.every((s, i) => i === 0 || s > seqs[i - 1]!), 'seqs strictly increase');
  const keys = (await c2.list()).map((v) => v.key).filter((k) => k.includes('/w'));
  const delivered = events.filter((e) => e.view.key.includes('/w')).map((e) => e.view.key);
  t.equal(new Set(delivered).size, delivered.length, 'no key delivered twice');
  t.same(new Set(delivered), new Set(keys), `every one of the ${keys.length} written keys delivered`);
  const shared = events.filter((e) => e.view.key === 'ProxyRoute/default/shared');
  t.ok(shared.length > 0);
  t.ok(shared.every((e, i) => i === 0 || compareVv(e.record.vv, shared[i - 1]!.record.vv) === 'after'), 'shared versions only move forward');
  const seen = new Set<string>();
  t.ok(events.every((e) => !seen.has(e.record.digest) && seen.add(e.record.digest)), 'no version delivered twice');
});

// `text` with the character at `at` replaced by another.
const flipAt = (text: string, at: number): string => `${text.slice(0, at)}${text[at] === 'a' ? 'b' : 'a'}${text.slice(at + 1)}`;

t.test('a damaged or foreign file copy is reported and never served', async (t) => {
  const f = await agentFederation(t, { controllers: ['c1'], agents: ['a1'] });
  const c1 = f.controllers.get('c1')!;
  for (let i = 0; i < 5; i++) await c1.apply(route(`r${i}`));
  const configPath = join(f.dir, 'cache.json');
  const agent = await f.startAgent('a1', ['c1'], { autonomousMode: { configPath, writeCoalesceMs: 0 } });
  await waitFor('file written with 5 records', () => agent.status().cache.writes > 0 && agent.store.size === 5 && agent.status().cache.lastWriteMs > 0, { timeoutMs: 20_000 });
  await agent.stop();
  f.agents.delete('a1');
  await f.stopController('c1');
  const good = await readFile(configPath, 'utf8');
  const journalPath = journalPathOf(configPath);
  const goodJournal = await readFile(journalPath, 'utf8');
  const nl = goodJournal.indexOf('\n');
  // [what, snapshot, journal, code]
  const cases: Array<[string, string, string, string]> = [
    ['truncated', good.slice(0, Math.floor(good.length / 2)), goodJournal, 'CACHE_TRUNCATED'],
    ['corrupted', flipAt(good, good.indexOf('\n') + Math.floor((good.length - good.indexOf('\n')) / 2)), goodJournal, 'CACHE_CORRUPT'],
    ['not a cache', '{"hello": "world"}\n[]\n', goodJournal, 'CACHE_CORRUPT'],
    ['another federation', good.replace('"federationId":"agent-fed"', '"federationId":"other-fed"'), goodJournal, 'CACHE_WRONG_FEDERATION'],
    // A character of the header's chain seed (the header line ends `..."}`).
    ['journal damaged', good, flipAt(goodJournal, nl - 3), 'CACHE_JOURNAL_CORRUPT'],
    ['journal of another federation', good, goodJournal.replace('"federationId":"agent-fed"', '"federationId":"other-fed"'), 'CACHE_WRONG_FEDERATION'],
  ];
  for (const [what, text, journal, code] of cases) {
    await writeFile(configPath, text);
    await writeFile(journalPath, journal);
    const a = await f.startAgent('a1', ['c1'], { dataDir: join(f.dir, `fresh-${code}-${what.length}`), autonomousMode: { configPath } });
    t.equal(a.status().cache.loadError?.code, code, `${what}: ${a.status().cache.loadError?.message}`);
    t.equal((await a.list()).length, 0, `${what}: nothing served`);
    t.equal(a.state, 'Autonomous');
    await a.stop();
    f.agents.delete('a1');
  }
});

t.test('an agent cannot push records or run controller-only protocols', async (t) => {
  const f = await agentFederation(t, { controllers: ['c1'], agents: ['a1'] });
  const c1 = f.controllers.get('c1')!;
  const agent = await f.startAgent('a1', ['c1']);
  await waitFor('connected', () => agent.state === 'Connected', { timeoutMs: 20_000 });
  const c1Id = f.plan.find((p) => p.name === 'c1')!.peerId;
  const stream = await agent.membership.libp2p.dialProtocol(c1Id, replicationProtocol(f.fed.id, 'push'));
  const lp = lpStream(stream);
  await lp.write(encodeMessage({ t: 'hello', v: 1 }, false)).catch(() => undefined);
  await t.rejects(lp.read({ signal: AbortSignal.timeout(5_000) }), 'the push stream is closed without a reply');
  t.equal(c1.store.size, 0, 'nothing stored');
  // The anti-entropy protocol is open to agents, read-only: a put is refused.
  const ae = await agent.membership.libp2p.dialProtocol(c1Id, replicationProtocol(f.fed.id, 'anti-entropy'));
  const lae = lpStream(ae);
  await lae.write(encodeMessage({ t: 'hello', v: 1, depth: c1.store.merkle.depth }, false));
  await lae.read({ signal: AbortSignal.timeout(5_000) });
  await lae.write(encodeMessage({ t: 'put', records: [] }, false));
  await t.rejects(lae.read({ signal: AbortSignal.timeout(5_000) }), 'a put from an agent closes the session');
  t.equal(c1.store.size, 0);
  await waitFor('counted as protocol errors', () => c1.replicator.counters.protocolErrors >= 1, { timeoutMs: 20_000 });
});
