// The Prometheus exporter over HTTP: two real controllers on loopback, scraped and parsed. Every
// metric the guide names is served with its type and labels, values follow the node (healthy peer,
// syncs, a partition confirmed, minority writes, a Manual conflict pending), counters never go
// down; the agent metrics through their narrow source; the server's bounds.
import t from 'tap';
import { request } from 'node:http';
import { join } from 'node:path';
import { Registry } from 'prom-client';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION } from '../../node/config/replication-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import { liveCounter, one } from '../../node/metrics/live-metrics.ts';
import { startMetricsServer } from '../../node/metrics/metrics-server.ts';
import { createNodeRegistry } from '../../node/metrics/node-registry.ts';
import type { AgentMetricsSource } from '../../node/metrics/agent-metrics.ts';
import { makeFederation } from '../helpers/cert-fixtures.ts';
import { memberConfig, planMembers } from '../helpers/cluster.ts';
import { parsePromText, samplesOf, scrape, valueOf, type PromText } from '../helpers/prom-text.ts';
import { waitFor } from '../helpers/wait-for.ts';

/** The guide's metrics: name, type, label names. */
const GUIDE_CONTROLLER_METRICS: Array<[string, string, string[]]> = [
  ['novaedge_federation_sync_lag_seconds', 'gauge', ['peer']],
  ['novaedge_federation_sync_total', 'counter', ['peer']],
  ['novaedge_federation_sync_failures_total', 'counter', ['peer']],
  ['novaedge_federation_conflicts_total', 'counter', []],
  ['novaedge_federation_conflicts_pending', 'gauge', []],
  ['novaedge_federation_member_healthy', 'gauge', ['member']],
  ['novaedge_federation_partition_state', 'gauge', ['state']],
];
const GUIDE_AGENT_METRICS: Array<[string, string, string[]]> = [
  ['novaedge_agent_failover_total', 'counter', []],
  ['novaedge_agent_controller_connection', 'gauge', ['controller']],
];

function checkFamilies(t: import('tap').Test, p: PromText, list: Array<[string, string, string[]]>): void {
  for (const [name, type, labels] of list) {
    t.equal(p.types.get(name), type, `${name} is a ${type}`);
    const samples = samplesOf(p, name);
    t.ok(samples.length > 0, `${name} has samples`);
    for (const s of samples) t.same(Object.keys(s.labels).sort(), [...labels].sort(), `${name} labels ${labels.join(',') || '(none)'}`);
  }
}

const res = (spec: object) => ({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name: 'api', namespace: 'default' }, spec });

t.test('a live controller: guide metrics, values, monotonic counters', async (t) => {
  const fed = await makeFederation('metrics-fed');
  const plan = await planMembers(fed, [{ name: 'a', role: 'controller' }, { name: 'b', role: 'controller' }]);
  const dir = t.testdir();
  const nodes = await Promise.all(plan.map((m) => ControllerNode.start({
    membership: memberConfig(fed, m, plan.filter((p) => p !== m).map((p) => p.addr)),
    replication: { dataDir: join(dir, m.name), controllers: ['a', 'b'], strategy: 'Manual' },
    // Fencing off: both sides of the cut below accept writes, which makes a Manual conflict.
    splitBrain: { fenceWrites: false, detectionDelayMs: 200 },
  }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION })));
  t.teardown(async () => { for (const n of nodes) await n.stop(); });
  const [a, b] = nodes as [ControllerNode, ControllerNode];
  const registry = createNodeRegistry({
    info: { federationId: fed.id, member: 'a', role: 'controller', peerId: a.membership.peerId.toString() },
    controller: a, controllerMetrics: { conflictCountTtlMs: 0 }, processMetrics: true,
  });
  const server = await startMetricsServer({ registry, port: 0 });
  t.teardown(() => server.close());
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);

  await waitFor('b healthy as seen by a', async () => valueOf(await scrape(server.url), 'novaedge_federation_member_healthy', { member: 'b' }) === 1, { timeoutMs: 10_000, intervalMs: 50 });
  const first = await scrape(server.url);
  t.match(first.contentType, /^text\/plain; version=0\.0\.4/);
  checkFamilies(t, first, GUIDE_CONTROLLER_METRICS);
  t.same(samplesOf(first, 'novaedge_federation_partition_state').map((s) => [s.labels.state, s.value]),
    [['healthy', 1], ['degraded', 0], ['suspected', 0], ['confirmed', 0], ['healing', 0]], 'partition state one-hot, healthy');
  t.equal(valueOf(first, 'novaedge_node_info', { member: 'a', role: 'controller' }), 1);
  t.equal(first.types.get('process_cpu_user_seconds_total'), 'counter', 'process metrics included');
  t.equal(first.types.get('nodejs_heap_size_used_bytes'), 'gauge');

  await a.apply(res({ v: 1 }));
  await waitFor('b has the write', async () => (await b.get('ProxyRoute/default/api')) !== undefined, { timeoutMs: 5_000 });
  const synced = await waitFor('a counts a sync with b', async () => {
    const p = await scrape(server.url);
    return (valueOf(p, 'novaedge_federation_sync_total', { peer: 'b' }) ?? 0) > (valueOf(first, 'novaedge_federation_sync_total', { peer: 'b' }) ?? 0) && p;
  }, { timeoutMs: 5_000, intervalMs: 50 });
  t.equal(valueOf(synced, 'novaedge_federation_resources'), 1);
  t.ok((valueOf(synced, 'novaedge_federation_sync_lag_seconds', { peer: 'b' }) ?? -1) >= 0, 'lag is a number of seconds');
  // Records refused from a peer, by peer and reason (what the replicator's paths count).
  a.replicator.rejections.refused('b', 'too_large', 'ProxyRoute/default/big', 'a 3.5 MB value');
  t.equal(valueOf(await scrape(server.url), 'novaedge_federation_records_rejected_total', { peer: 'b', reason: 'too_large' }), 1, 'refused records counted');

  // Cut the link both ways: b goes Unhealthy, the partition is confirmed after detectionDelay.
  await a.cutLink('b');
  await b.cutLink('a');
  const cut = await waitFor('partition confirmed and b unhealthy', async () => {
    const p = await scrape(server.url);
    return valueOf(p, 'novaedge_federation_partition_state', { state: 'confirmed' }) === 1 &&
      valueOf(p, 'novaedge_federation_member_healthy', { member: 'b' }) === 0 && p;
  }, { timeoutMs: 10_000, intervalMs: 50 });
  t.equal(samplesOf(cut, 'novaedge_federation_partition_state').reduce((n, s) => n + s.value, 0), 1, 'still one-hot');
  t.equal(valueOf(cut, 'novaedge_federation_have_quorum'), 0);

  // Concurrent writes on both sides (accepted without quorum, counted), then heal: a Manual conflict.
  await a.apply(res({ v: 'from-a' }));
  await b.apply(res({ v: 'from-b' }));
  a.restoreLink('b');
  b.restoreLink('a');
  const healed = await waitFor('conflict pending on a', async () => {
    const p = await scrape(server.url);
    return valueOf(p, 'novaedge_federation_conflicts_pending') === 1 && p;
  }, { timeoutMs: 15_000, intervalMs: 100 });
  // Detected where the two versions met: on a, or on b, which then sends a the merged record (that one
  // is no new conflict for a). The metric is a's count.
  t.ok(a.store.stats.concurrentDetected + b.store.stats.concurrentDetected >= 1, 'the conflict was detected on one side');
  t.equal(valueOf(healed, 'novaedge_federation_conflicts_total'), a.store.stats.concurrentDetected, 'conflicts_total is what a detected');
  t.ok((valueOf(healed, 'novaedge_federation_minority_writes_total') ?? 0) >= 1, 'minority write counted');

  // Counters never go down between scrapes.
  for (const [name, type] of GUIDE_CONTROLLER_METRICS) {
    if (type !== 'counter') continue;
    for (const s of samplesOf(first, name)) t.ok((valueOf(healed, name, s.labels) ?? -1) >= s.value, `${name} ${JSON.stringify(s.labels)} monotonic`);
  }
});

t.test('agent metrics through the narrow agent view', async (t) => {
  let status = { failovers: 0, controller: 'c1' as string | undefined, controllers: [{ name: 'c1', connected: true }, { name: undefined as string | undefined, endpoint: '/ip4/127.0.0.1/tcp/1/p2p/x', connected: false }] };
  const agent: AgentMetricsSource = { status: () => status, rejections: { counts: () => [{ peer: 'c1', reason: 'key_mismatch', count: 3 }] } };
  const registry = createNodeRegistry({ info: { federationId: 'f', member: 'edge-1', role: 'agent', peerId: 'p' }, agent });
  const p1 = parsePromText(await registry.metrics());
  checkFamilies(t, p1, GUIDE_AGENT_METRICS);
  t.equal(valueOf(p1, 'novaedge_agent_controller_connection', { controller: 'c1' }), 1);
  t.equal(valueOf(p1, 'novaedge_agent_controller_connection', { controller: '/ip4/127.0.0.1/tcp/1/p2p/x' }), 0, 'unnamed controller labelled by endpoint');
  t.equal(valueOf(p1, 'novaedge_agent_controller_current', { controller: 'c1' }), 1);
  t.equal(p1.types.get('process_cpu_user_seconds_total'), undefined, 'no process metrics unless asked');
  t.equal(valueOf(p1, 'novaedge_federation_records_rejected_total', { peer: 'c1', reason: 'key_mismatch' }), 3, 'records refused from its controller');
  status = { failovers: 2, controller: undefined, controllers: [{ name: 'c1', connected: false }] };
  const p2 = parsePromText(await registry.metrics());
  t.equal(valueOf(p2, 'novaedge_agent_failover_total'), 2);
  t.same(samplesOf(p2, 'novaedge_agent_controller_current'), [], 'no current controller while autonomous');
  t.equal(samplesOf(p2, 'novaedge_agent_controller_connection').length, 1, 'controllers no longer configured disappear');
});

t.test('live counters stay monotonic when a source restarts', async (t) => {
  const registry = new Registry();
  let total = 5;
  liveCounter({ name: 'x_total', help: 'x', labelNames: [], registry, read: () => one(total) });
  const read = async () => valueOf(parsePromText(await registry.metrics()), 'x_total');
  t.equal(await read(), 5);
  total = 8;
  t.equal(await read(), 8);
  total = 2; // the source restarted from zero and counted 2 since
  t.equal(await read(), 10);
});

t.test('metrics server: only GET /metrics, no body, closes', async (t) => {
  const registry = new Registry();
  const server = await startMetricsServer({ registry, port: 0 });
  const base = server.url.replace(/\/metrics$/, '');
  t.equal((await fetch(`${base}/`)).status, 404);
  t.equal((await fetch(`${base}/metrics/x`)).status, 404);
  const post = await fetch(server.url, { method: 'POST', body: 'x' });
  t.equal(post.status, 405);
  t.equal(post.headers.get('allow'), 'GET, HEAD');
  const withBody = await new Promise<number>((resolve, reject) => {
    const req = request(server.url, { method: 'GET', headers: { 'Content-Length': '3' } }, (r) => { r.resume(); resolve(r.statusCode ?? 0); });
    req.on('error', reject);
    req.end('abc');
  });
  t.equal(withBody, 413, 'a GET with a body is refused');
  t.equal((await fetch(server.url)).status, 200);
  t.same(server.counters(), { 200: 1, 404: 2, 405: 1, 413: 1 });
  await server.close();
  await server.close();
  await t.rejects(fetch(server.url), 'closed');
});
