// The guide's alerts (ops/prometheus/alerts.yml) against what real controllers' exporters serve, in
// each state a federation goes through (docs/metrics.md "Partition states"). Three controllers on
// loopback: all up; one stopped (the two others are Degraded: the member alert fires, the critical
// partition alert does not — issue 19: it fired on the healthy side); the stopped one back and caught
// up, the federation idle (sync lag back to 0: a stale lag kept FederationSyncLagHigh firing); two
// stopped (the last one has lost quorum: the partition alert fires). Each state's scrape becomes
// promtool input series held for 15 minutes, and promtool evaluates the shipped rules on them.
import t from 'tap';
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION } from '../../node/config/replication-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import { startMetricsServer, type MetricsServer } from '../../node/metrics/metrics-server.ts';
import { createNodeRegistry } from '../../node/metrics/node-registry.ts';
import { makeFederation } from '../helpers/cert-fixtures.ts';
import { memberConfig, planMembers, type PlannedMember } from '../helpers/cluster.ts';
import { samplesOf, scrape } from '../helpers/prom-text.ts';
import { waitFor } from '../helpers/wait-for.ts';

const RULES = fileURLToPath(new URL('../../ops/prometheus/alerts.yml', import.meta.url));
const ALERT_METRICS = [
  'novaedge_federation_member_healthy', 'novaedge_federation_sync_lag_seconds',
  'novaedge_federation_partition_state', 'novaedge_federation_conflicts_pending',
];
const NAMES = ['a', 'b', 'c'];
const res = (name: string, v: number) => ({ apiVersion: 'v1', kind: 'ProxyRoute', metadata: { name, namespace: 'default' }, spec: { v } });

/** An alert expected to fire: its labels beyond the rule's own (instance is the scraped controller). */
interface Firing { alertname: string; labels: Record<string, string>; summary: string }

const memberDown = (instance: string, member: string): Firing =>
  ({ alertname: 'FederationMemberUnhealthy', labels: { instance, member, severity: 'warning' }, summary: `Federation member ${member} is unhealthy` });
const partitioned = (instance: string): Firing =>
  ({ alertname: 'FederationPartitioned', labels: { instance, state: 'confirmed', severity: 'critical' }, summary: 'Federation is experiencing network partition' });

/** Runs promtool on the scraped series (held constant for 15m): exactly `firing` fire at 10m. */
async function checkAlerts(t: import('tap').Test, dir: string, name: string, scraped: Map<string, Awaited<ReturnType<typeof scrape>>>, firing: Firing[]): Promise<void> {
  const series: string[] = [];
  for (const [instance, p] of scraped) {
    for (const metric of ALERT_METRICS) {
      for (const s of samplesOf(p, metric)) {
        const labels = Object.entries({ ...s.labels, instance }).map(([k, v]) => `${k}="${v}"`).join(',');
        series.push(`      - series: '${metric}{${labels}}'\n        values: '${s.value}x15'`);
      }
    }
  }
  const tests = ['FederationMemberUnhealthy', 'FederationSyncLagHigh', 'FederationPartitioned', 'FederationConflictsPending'].map((alertname) => {
    const exp = firing.filter((f) => f.alertname === alertname);
    const body = exp.length === 0 ? '        exp_alerts: []' : `        exp_alerts:\n${exp.map((f) =>
      `          - exp_labels:\n${Object.entries(f.labels).map(([k, v]) => `              ${k}: ${JSON.stringify(v)}`).join('\n')}\n` +
      `            exp_annotations:\n              summary: ${JSON.stringify(f.summary)}`).join('\n')}`;
    return `      - eval_time: 10m\n        alertname: ${alertname}\n${body}`;
  });
  const file = join(dir, `${name}.test.yml`);
  await writeFile(file, `rule_files:\n  - ${JSON.stringify(RULES)}\nevaluation_interval: 1m\ntests:\n  - interval: 1m\n    input_series:\n${series.join('\n')}\n    alert_rule_test:\n${tests.join('\n')}\n`);
  const r = await promisify(execFile)('promtool', ['test', 'rules', file]).then(
    (o) => ({ ok: true, out: o.stdout + o.stderr }),
    (err: { stdout?: string; stderr?: string; code?: unknown }) => ({ ok: false, out: `${err.stdout ?? ''}${err.stderr ?? ''}${err.code === 'ENOENT' ? 'promtool not found (apt-get install prometheus)' : ''}` }),
  );
  t.ok(r.ok, `${name}: the guide's alerts fire exactly as expected\n${r.out}`);
}

t.test('the guide\'s alerts mean what docs/metrics.md says, in each state of a real federation', async (t) => {
  const fed = await makeFederation('alerts-fed');
  const plan = await planMembers(fed, NAMES.map((name) => ({ name, role: 'controller' as const })));
  const dir = t.testdir();
  const nodes = new Map<string, { node: ControllerNode; server: MetricsServer }>();
  const start = async (m: PlannedMember): Promise<void> => {
    const node = await ControllerNode.start({
      membership: memberConfig(fed, m, plan.filter((p) => p !== m).map((p) => p.addr)),
      replication: { dataDir: join(dir, m.name), controllers: NAMES, strategy: 'LastWriterWins' },
      splitBrain: { detectionDelayMs: 300 },
    }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION });
    const registry = createNodeRegistry({
      info: { federationId: fed.id, member: m.name, role: 'controller', peerId: node.membership.peerId.toString() },
      controller: node, controllerMetrics: { conflictCountTtlMs: 0 },
    });
    nodes.set(m.name, { node, server: await startMetricsServer({ registry, port: 0 }) });
  };
  const stop = async (name: string): Promise<void> => {
    const n = nodes.get(name)!;
    nodes.delete(name);
    await n.server.close();
    await n.node.stop();
  };
  t.teardown(async () => { for (const name of [...nodes.keys()]) await stop(name); });
  const scrapeAll = async () => new Map(await Promise.all([...nodes].map(async ([name, n]) => [name, await scrape(n.server.url)] as const)));
  const phaseOf = (name: string): string => nodes.get(name)!.node.status().quorum.phase;
  const lagTo = (from: string, to: string): number | undefined => nodes.get(from)!.node.status().members.find((m) => m.name === to)?.syncLagMs;
  const seesAllHealthy = (name: string): boolean => nodes.get(name)!.node.status().members.every((m) => m.status === 'Local' || m.status === 'Healthy');

  for (const m of plan) await start(m);
  await waitFor('every controller Healthy, seeing the others Healthy', async () => NAMES.every((n) => phaseOf(n) === 'Healthy' && seesAllHealthy(n)), { timeoutMs: 15_000, intervalMs: 50 });
  await nodes.get('a')!.node.apply(res('one', 1));
  await waitFor('replicated and acknowledged', async () => ['b', 'c'].every((p) => lagTo('a', p) === 0), { timeoutMs: 10_000, intervalMs: 50 });
  await checkAlerts(t, dir, 'healthy', await scrapeAll(), []);

  // One controller stopped: the two others hold quorum. Degraded; the member alert, not the partition one.
  await stop('c');
  await nodes.get('a')!.node.apply(res('two', 2)); // pending for c
  await waitFor('a and b Degraded, seeing c down', async () => ['a', 'b'].every((n) => phaseOf(n) === 'Degraded'
    && nodes.get(n)!.node.status().members.find((m) => m.name === 'c')?.status !== 'Healthy'), { timeoutMs: 15_000, intervalMs: 50 });
  const degraded = await scrapeAll();
  for (const [name, p] of degraded) {
    t.same(samplesOf(p, 'novaedge_federation_partition_state').filter((s) => s.value === 1).map((s) => s.labels.state), ['degraded'], `${name}: partition_state degraded`);
  }
  await checkAlerts(t, dir, 'one-stopped', degraded, [memberDown('a', 'c'), memberDown('b', 'c')]);

  // Back and caught up, then idle: the lag to c is 0 again, not the last value it had.
  await start(plan[2]!);
  await waitFor('every controller Healthy again, c caught up', async () => NAMES.every((n) => phaseOf(n) === 'Healthy' && seesAllHealthy(n))
    && NAMES.every((x) => NAMES.every((y) => x === y || lagTo(x, y) === 0)), { timeoutMs: 20_000, intervalMs: 50 });
  const idle = await scrapeAll();
  for (const [name, p] of idle) {
    t.same(samplesOf(p, 'novaedge_federation_sync_lag_seconds').map((s) => s.value), [0, 0], `${name}: sync lag 0 to both peers once caught up`);
  }
  await checkAlerts(t, dir, 'healed-idle', idle, []);

  // Two stopped: a alone has lost quorum; after detectionDelay it is Confirmed and the critical alert fires.
  await stop('b');
  await stop('c');
  await waitFor('a Partitioned', async () => phaseOf('a') === 'Partitioned', { timeoutMs: 15_000, intervalMs: 50 });
  await checkAlerts(t, dir, 'alone', await scrapeAll(), [memberDown('a', 'b'), memberDown('a', 'c'), partitioned('a')]);
});
