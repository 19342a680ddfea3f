// A write burst larger than the push queue: the overflow starts anti-entropy with the peer at once,
// so replicas converge without waiting for the periodic run (set to an hour here); the overflow is
// counted, logged at warn at most once a minute per peer, and its records count in the sync lag.
import t from 'tap';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { registerControllerMetrics } from '../../node/metrics/controller-metrics.ts';
import type { ControllerNode } from '../../node/controller/controller-node.ts';
import { TestNet } from './net-harness.ts';
import { waitFor } from '../helpers/wait-for.ts';

const C = ['a', 'b', 'c'];
const res = (i: number) => ({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: `burst-${i}` }, spec: { i, pad: 'x'.repeat(100) } });
const WRITES = 2_000;

t.test('a burst that overflows the push queue reaches every controller without the periodic anti-entropy', async (t) => {
  const warns: Array<{ peer?: string; msg: string }> = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => { warns.push(JSON.parse(line)); } });
  const n = new TestNet(t.testdir());
  t.teardown(() => n.close());
  const hourly = { antiEntropyEnabled: true, antiEntropyIntervalMs: 3_600_000 };
  // A small queue and one small batch in flight: the burst overflows it many times over.
  await n.add('a', C, 'LastWriterWins', { ...hourly, pushQueueMax: 20, pushWindowMax: 1, batchSize: 5, logger });
  for (const name of ['b', 'c']) await n.add(name, C, 'LastWriterWins', hourly);
  n.connectAll();
  const a = n.nodes.get('a')!;
  await waitFor('push streams up and first anti-entropy done', () => a.replicator.status().every((s) => s.connected && s.antiEntropyRuns >= 1), { timeoutMs: 5_000 });
  const runs0 = new Map(a.replicator.status().map((s) => [s.member, s.antiEntropyRuns]));
  await Promise.all(Array.from({ length: WRITES }, (_, i) => a.store.apply(res(i))));
  // (failures counts overflows and stream failures; none of the streams fails here)
  await waitFor('the queues overflowed', () => a.replicator.status().every((s) => s.failures >= 1), { timeoutMs: 10_000 });
  const roots = (): string[] => [...n.nodes.values()].map((x) => x.store.merkle.root());
  await waitFor('replicas equal', () => new Set(roots()).size === 1 && [...n.nodes.values()].every((x) => x.store.size === WRITES), { timeoutMs: 20_000 },
    () => [...n.nodes.values()].map((x) => `${x.name} ${x.store.size}`));
  // The runs the overflows started (the periodic one is an hour away) complete and clear the flag.
  await waitFor('anti-entropy started by the overflows done', () => a.replicator.status().every((s) => s.antiEntropyRuns > runs0.get(s.member)! && !s.needsRepair),
    { timeoutMs: 20_000 }, () => a.replicator.status().map((s) => [s.member, s.antiEntropyRuns, s.needsRepair]));
  t.pass('anti-entropy ran with each peer on overflow');
  t.ok(a.replicator.status().every((s) => s.overflows >= 1 && s.overflows === s.failures), 'counted as overflows');
  // The metric reads the same counter (only the replicator is needed for this one family).
  const registry = new Registry();
  registerControllerMetrics(registry, { replicator: a.replicator } as unknown as ControllerNode);
  const text = await registry.getSingleMetricAsString('novaedge_federation_push_overflows_total');
  for (const s of a.replicator.status()) t.match(text, new RegExp(`novaedge_federation_push_overflows_total\\{peer="${s.member}"\\} ${s.overflows}$`, 'm'), `metric for ${s.member}`);
  for (const peer of ['b', 'c']) {
    const lines = warns.filter((w) => w.peer === peer && /push queue overflowed/.test(w.msg));
    t.equal(lines.length, 1, `one warning for ${peer} (rate-limited), though it overflowed ${a.replicator.status().find((s) => s.member === peer)!.overflows} times`);
  }
});
