// The simulation records each running controller's metrics at the end of a run (what its Prometheus
// exporter would serve), and status-truth holds them to the truth: a healthy federation's exporters
// say healthy, and a metric that lied would be a violation.
import t from 'tap';
import { SimCluster } from './cluster.ts';
import { checkStatusTruth } from './check/status-truth.ts';

t.test('final metrics of a healthy federation are recorded and agree with the truth', async (t) => {
  const c = new SimCluster();
  await c.start({ controllers: ['a', 'b', 'c'], agents: [], seed: 11, strategy: 'LastWriterWins', quorumMode: 'Controllers', options: {} });
  t.teardown(() => c.stop());
  await c.tick(15_000);
  const h = await c.finish();
  for (const node of ['a', 'b', 'c']) {
    const m = h.finalStatus[node]!.metrics!;
    t.ok(m !== undefined, `${node}: metrics recorded`);
    t.equal(m['novaedge_federation_partition_state{state="healthy"}'], 1, `${node}: partition_state healthy`);
    t.equal(m['novaedge_federation_partition_state{state="confirmed"}'], 0);
    for (const peer of ['a', 'b', 'c'].filter((p) => p !== node)) {
      t.equal(m[`novaedge_federation_member_healthy{member="${peer}"}`], 1, `${node}: ${peer} healthy`);
      t.ok(m[`novaedge_federation_sync_lag_seconds{peer="${peer}"}`]! <= 1, `${node}: lag to ${peer} small`);
    }
  }
  const bounds = { settleMs: 5_000, syncLagMs: 2_000 };
  t.same(checkStatusTruth(h, bounds), [], 'status and metrics agree with the truth');
  // The same history with one exporter lying: the checker reads the recorded metrics.
  h.finalStatus['b']!.metrics!['novaedge_federation_member_healthy{member="a"}'] = 0;
  t.match(checkStatusTruth(h, bounds).map((v) => v.message), [/metric novaedge_federation_member_healthy\{member="a"\} is 0/]);
});
