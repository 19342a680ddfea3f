// End to end through the real novactl CLI (a child process) against three controllers on loopback,
// each serving its admin socket: apply on one and get on another, the status table, a Manual
// conflict listed, described and resolved everywhere, sync and reconcile, agents, delete, and
// non-zero exits with the error code on stderr.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { startAdminServer } from '../../node/admin/admin-server.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { controllerMethods } from '../../node/admin/controller-methods.ts';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION } from '../../node/config/replication-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import { startMembershipNode } from '../../node/membership/membership-node.ts';
import { makeFederation } from '../helpers/cert-fixtures.ts';
import { memberConfig, planMembers } from '../helpers/cluster.ts';
import { novactl, type NovactlRun } from '../helpers/novactl-run.ts';
import { tempDir } from '../helpers/temp-dir.ts';
import { waitFor } from '../helpers/wait-for.ts';

// The CLI runs as a child process, dozens of times: allow for a slow, shared machine.
t.setTimeout(300_000);

const NAMES = ['a', 'b', 'c'];
const WAIT = { timeoutMs: 20_000 };

const fed = await makeFederation('nctl-fed');
const plan = await planMembers(fed, [...NAMES.map((name) => ({ name, role: 'controller' as const })), { name: 'edge-1', role: 'agent' as const }]);
const dir = await tempDir(t, 'nvctl-');
const nodes = new Map<string, ControllerNode>();
const sockets = new Map<string, string>();
t.teardown(async () => { for (const n of nodes.values()) await n.stop(); });
for (const name of NAMES) {
  const m = plan.find((p) => p.name === name)!;
  const node = await ControllerNode.start({
    membership: memberConfig(fed, m, plan.filter((p) => p !== m && p.role === 'controller').map((p) => p.addr), { region: `region-${name}` }),
    replication: { dataDir: join(dir, name), controllers: NAMES, strategy: 'Manual' },
    // The conflict test writes on a controller cut off from both others: a minority write.
    splitBrain: { fenceWrites: false },
  }, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION });
  nodes.set(name, node);
  const socket = join(dir, `${name}.sock`);
  const admin = await startAdminServer({ timers: REAL_TIMERS, socketPath: socket, methods: controllerMethods(node) });
  t.teardown(() => admin.close());
  sockets.set(name, socket);
}
const node = (name: string): ControllerNode => nodes.get(name)!;
const sock = (name: string): string => sockets.get(name)!;
await waitFor('controllers connected', () => [...nodes.values()].every((n) =>
  n.fence.reachable().length === NAMES.length && n.replicator.status().every((s) => s.connected) &&
  n.status().members.every((m) => m.status === 'Local' || m.status === 'Healthy')), WAIT);

// Run novactl against a controller until it succeeds and its output passes `ok` (with a deadline).
const until = (name: string, args: string[], ok: (out: string) => boolean) => {
  let last: NovactlRun | undefined;
  return waitFor(`novactl ${args.join(' ')} on ${name}`, async () => {
    last = await novactl(args, { socket: sock(name) });
    return last.code === 0 && ok(last.stdout) ? last : false;
  }, { timeoutMs: 45_000 }, () => last);
};

const route = (name: string, spec: object) => ({ apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name, namespace: 'default' }, spec });
const ROUTE_SPEC = { parentRefs: [{ name: 'default-gateway' }], hostnames: ['test.example.com'], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRef: { name: 'test-backend' } }] };

t.test('apply on one controller, get on another', async (t) => {
  const file = join(dir, 'routes.yaml');
  writeFileSync(file, `${YAML.stringify(route('test-route', ROUTE_SPEC))}---\n${YAML.stringify({ apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyBackend', metadata: { name: 'test-backend' }, spec: { port: 8080 } })}---\n`);
  const applied = await novactl(['apply', '-f', file], { socket: sock('a') });
  t.equal(applied.code, 0, applied.stderr);
  t.equal(applied.stdout, 'ProxyRoute/default/test-route applied\nProxyBackend/default/test-backend applied\n');
  await waitFor('replicated to b', async () => (await node('b').get('ProxyRoute/default/test-route')) !== undefined, WAIT);
  const [got, yaml, again, stdin] = await Promise.all([
    novactl(['get', 'proxyroute', 'test-route', '-o', 'json'], { socket: sock('b') }),
    novactl(['--socket', sock('b'), 'get', 'ProxyRoute/test-route', '-o', 'yaml']),
    novactl(['apply', '-f', file], { socket: sock('a') }),
    novactl(['apply', '-f', '-', '-o', 'json'], { socket: sock('c'), input: JSON.stringify([route('from-stdin', { hostnames: ['s.example.com'] })]) }),
  ]);
  t.equal(got.code, 0, got.stderr);
  t.same(JSON.parse(got.stdout), route('test-route', ROUTE_SPEC), 'identical on b');
  t.same(YAML.parse(yaml.stdout), route('test-route', ROUTE_SPEC), 'KIND/NAME form, YAML');
  t.match(again.stdout, /ProxyRoute\/default\/test-route unchanged/);
  t.equal(stdin.code, 0, stdin.stderr);
  t.same(JSON.parse(stdin.stdout).results.map((r: { key: string; changed: boolean }) => [r.key, r.changed]), [['ProxyRoute/default/from-stdin', true]]);
  await waitFor('replicated to c', async () => (await node('c').list({ kind: 'ProxyRoute' })).length === 2 && (await node('c').list({ kind: 'ProxyBackend' })).length === 1, WAIT);
  const [list, asList, none] = await Promise.all([
    novactl(['get', 'proxyroutes'], { socket: sock('c') }),
    novactl(['get', 'ProxyRoute', '-A', '-o', 'yaml'], { socket: sock('c') }),
    novactl(['get', 'Gateway', '-n', 'other'], { socket: sock('c') }),
  ]);
  t.equal(list.code, 0, list.stderr);
  const lines = list.stdout.trimEnd().split('\n');
  t.match(lines[0], /^NAME\s+KIND\s+ORIGIN\s+SEQ\s+CONFLICT\s+UPDATED$/);
  t.match(lines[1], /^from-stdin\s+ProxyRoute\s+c\s+\d+\s+No\s+\d+s ago$/);
  t.match(lines[2], /^test-route\s+ProxyRoute\s+a\s+\d+\s+No\s+\d+s ago$/);
  t.same(YAML.parse(asList.stdout).items.map((r: { metadata: { name: string } }) => r.metadata.name), ['from-stdin', 'test-route']);
  t.equal(none.code, 0);
  t.equal(none.stdout, '');
  t.match(none.stderr, /No resources found in other namespace/);
});

t.test('federation status: the guide\'s table, and the partition fields with --verbose', async (t) => {
  await waitFor('a has synced with both peers', () => node('a').status().members.every((m) => m.status === 'Local' || (m.lastSyncMs ?? 0) > 0), WAIT);
  // A loaded machine can delay a heartbeat and make a peer Suspect for a moment: ask again until
  // every member shows healthy (with a deadline).
  const healthy = (ok: (out: string) => boolean) => (out: string) => out.includes('Phase: Healthy') && ok(out);
  const [r, v] = await Promise.all([
    until('a', ['federation', 'status'], healthy((o) => (o.match(/ Healthy /g) ?? []).length === 2)),
    until('b', ['federation', 'status', '--verbose'], healthy((o) => o.split('\n').includes('Have Quorum: Yes'))),
  ]);
  const lines = r.stdout.trimEnd().split('\n');
  t.same(lines.slice(0, 5), ['Federation: nctl-fed', 'Local Member: a', 'Phase: Healthy', '', 'Members:']);
  t.match(lines[5], /^ {2}NAME\s+REGION\s+STATUS\s+SYNC LAG\s+LAST SYNC\s+AGENTS$/);
  t.match(lines[6], /^ {2}a\s+region-a\s+Local\s+-\s+-\s+0$/);
  t.match(lines[7], /^ {2}b\s+region-b\s+Healthy\s+\d+(ms|\.\ds)\s+\d+s ago\s+\d+$/);
  t.match(lines[8], /^ {2}c\s+region-c\s+Healthy\s+\d+(ms|\.\ds)\s+\d+s ago\s+\d+$/);
  t.equal(lines.length, 9);
  const columns = ['NAME', 'REGION', 'STATUS', 'SYNC LAG', 'LAST SYNC', 'AGENTS'].map((h) => lines[5]!.indexOf(h));
  t.same([...columns].sort((x, y) => x - y), columns, 'columns in the guide\'s order');
  for (const row of lines.slice(6)) t.equal(row.indexOf(row.trim().split(/\s+/)[1]!), columns[1], 'REGION column aligned');
  for (const line of ['Phase: Healthy', 'Partition State: None', 'Reachable Peers: 2/2', 'Writes Fenced: No', 'Reads Allowed: Yes',
    'Quorum Mode: Controllers', 'Our Votes: 3 / 3 total', 'Quorum Threshold: 2', 'Have Quorum: Yes', 'Reachable Agents: 0']) {
    t.ok(v.stdout.split('\n').includes(line), line);
  }
  const [j, y] = await Promise.all([
    novactl(['federation', 'status', '-o', 'json'], { socket: sock('c') }),
    novactl(['federation', 'status', '-o', 'yaml'], { socket: sock('c') }),
  ]);
  const json = JSON.parse(j.stdout);
  t.equal(json.localMember, 'c');
  t.same(json.members.map((m: { name: string }) => m.name), ['a', 'b', 'c']);
  t.equal(json.members[2].status, 'Local');
  t.equal(json.node.peerId, node('c').membership.peerId.toString());
  t.same(Object.keys(json.quorum).sort(), ['clockSkewedPeers', 'fenceReason', 'haveQuorum', 'partitionState', 'phase', 'quorumMode', 'reachableAgents', 'reachablePeers', 'readsAllowed', 'ourVotes', 'threshold', 'totalVotes', 'writesFenced'].sort());
  const yaml = YAML.parse(y.stdout);
  t.equal(yaml.localMember, 'c');
  t.equal(yaml.federationId, 'nctl-fed');
});

t.test('sync and reconcile', async (t) => {
  // Reconcile runs with the controllers connected at that moment: ask until both are (a loaded
  // machine can drop a connection for a moment).
  const both = (out: string) => JSON.parse(out).peers.length === 2;
  const [s, r, table, bad] = await Promise.all([
    until('a', ['federation', 'sync', '--peer', 'b'], () => true),
    until('a', ['federation', 'reconcile', '-o', 'json'], both),
    until('c', ['federation', 'reconcile'], (out) => out.split('\n').length === 4),
    novactl(['federation', 'sync', '--peer', 'zz'], { socket: sock('a') }),
  ]);
  t.equal(s.code, 0, s.stderr);
  t.match(s.stdout, /^synced with b: /);
  t.same(JSON.parse(r.stdout).peers.map((p: { peer: string; ok: boolean }) => [p.peer, p.ok]), [['b', true], ['c', true]]);
  t.match(table.stdout, /^PEER\s+RESULT\s+DIFFERING\s+PULLED\s+PUSHED\s+DURATION\na\s+(in sync|repaired)\s+\d+\s+\d+\s+\d+\s+\d+(ms|\.\ds)\nb\s/);
  t.equal(bad.code, 1);
  t.match(bad.stderr, /^error: NOT_FOUND: zz is not a controller of the federation/);
});

t.test('a Manual conflict is listed, described and resolved on every controller', async (t) => {
  const key = 'ProxyRoute/default/api';
  const base = await novactl(['apply', '-f', '-'], { socket: sock('a'), input: YAML.stringify(route('api', { backend: 'v1' })) });
  t.equal(base.code, 0, base.stderr);
  await waitFor('base everywhere', async () => (await Promise.all(NAMES.map((n) => node(n).get(key)))).every((v) => v !== undefined), WAIT);
  // Cut a off from both others, write on each side, heal.
  for (const other of ['b', 'c']) { await node('a').cutLink(other); await node(other).cutLink('a'); }
  await waitFor('a isolated', () => node('a').replicator.status().every((s) => !s.connected), WAIT);
  const [onA, onB] = await Promise.all([
    novactl(['apply', '-f', '-'], { socket: sock('a'), input: YAML.stringify(route('api', { backend: 'from-a' })) }),
    novactl(['apply', '-f', '-'], { socket: sock('b'), input: YAML.stringify(route('api', { backend: 'from-b' })) }),
  ]);
  t.equal(onA.code, 0, onA.stderr);
  t.equal(onB.code, 0, onB.stderr);
  for (const other of ['b', 'c']) { node('a').restoreLink(other); node(other).restoreLink('a'); }
  await waitFor('conflict on every controller', async () => (await Promise.all(NAMES.map((n) => node(n).conflicts()))).every((c) => c.length === 1), WAIT);

  const [listed, onC, described, describedJson, blocked] = await Promise.all([
    novactl(['federation', 'conflicts'], { socket: sock('a') }),
    novactl(['conflicts', '-o', 'json'], { socket: sock('c') }),
    novactl(['federation', 'conflicts', 'describe', key], { socket: sock('b') }),
    novactl(['conflicts', 'describe', key, '-o', 'json'], { socket: sock('b') }),
    novactl(['apply', '-f', '-'], { socket: sock('c'), input: YAML.stringify(route('api', { backend: 'from-c' })) }),
  ]);
  t.equal(listed.code, 0, listed.stderr);
  const [head, row, ...rest] = listed.stdout.trimEnd().split('\n');
  t.match(head, /^RESOURCE\s+LOCAL VERSION\s+REMOTE VERSION\s+DETECTED$/);
  t.match(row, /^ProxyRoute\/default\/api\s+v\d+ \(local\)\s+v\d+ \(b\)\s+\d+s ago$/);
  t.same(rest, []);
  t.same(JSON.parse(onC.stdout).conflicts.map((c: { key: string }) => c.key), [key], 'top-level conflicts, listed on c too');

  t.equal(described.code, 0, described.stderr);
  t.match(described.stdout, /Resource: ProxyRoute\/default\/api\nStrategy: Manual\n/);
  t.match(described.stdout, /Local version \(served here\): v\d+ \(local\), written by b/);
  t.match(described.stdout, /Remote version: v\d+ \(a\), written by a/);
  t.match(described.stdout, /backend: from-a/);
  t.match(described.stdout, /backend: from-b/);
  const dj = JSON.parse(describedJson.stdout);
  t.equal(dj.local.origin, 'b');
  t.same(dj.remote.map((v: { origin: string }) => v.origin), ['a']);

  t.equal(blocked.code, 1, 'writing over an unresolved conflict fails');
  t.match(blocked.stderr, /^error: CONFLICT: stdin: .*unresolved conflict/);

  const resolved = await novactl(['federation', 'conflicts', 'resolve', key, '--keep', 'remote'], { socket: sock('b') });
  t.equal(resolved.code, 0, resolved.stderr);
  t.match(resolved.stdout, /^ProxyRoute\/default\/api resolved: kept the remote version \(seq \d+\)\n$/);
  await waitFor('resolved everywhere', async () => {
    const views = await Promise.all(NAMES.map((n) => node(n).get(key)));
    const conflicts = await Promise.all(NAMES.map((n) => node(n).conflicts()));
    return conflicts.every((c) => c.length === 0) && views.every((v) => (v?.value?.spec as { backend?: string })?.backend === 'from-a');
  }, WAIT);
  const [none, gone, after] = await Promise.all([
    novactl(['federation', 'conflicts'], { socket: sock('c') }),
    novactl(['conflicts', 'describe', key], { socket: sock('c') }),
    novactl(['get', 'ProxyRoute', 'api', '-o', 'json'], { socket: sock('c') }),
  ]);
  t.equal(none.stdout, 'No pending conflicts.\n');
  t.equal(gone.code, 1);
  t.match(gone.stderr, /^error: NOT_FOUND: no conflict held for ProxyRoute\/default\/api/);
  t.same(JSON.parse(after.stdout).spec, { backend: 'from-a' }, 'the kept version is served on c');
});

t.test('agents list', async (t) => {
  const m = plan.find((p) => p.name === 'edge-1')!;
  const agent = await startMembershipNode(memberConfig(fed, m, plan.filter((p) => p.role === 'controller').map((p) => p.addr), { region: 'edge-region' }), { profile: FAST_PROFILE });
  t.teardown(() => agent.stop());
  await waitFor('agent heard by a', () => node('a').membership.peer('edge-1')?.state === 'Healthy', WAIT);
  const [r, j] = await Promise.all([novactl(['agents', 'list'], { socket: sock('a') }), novactl(['agents', '-o', 'json'], { socket: sock('a') })]);
  t.equal(r.code, 0, r.stderr);
  const [head, row] = r.stdout.trimEnd().split('\n');
  t.match(head, /^NAME\s+REGION\s+STATUS\s+CONNECTED\s+REACHABLE CONTROLLERS\s+LAST SEEN\s+RTT$/);
  t.match(row, /^edge-1\s+edge-region\s+Healthy\s+Yes\s+.*\s-$/, 'RTT "-": this bare membership node reports none');
  const json = JSON.parse(j.stdout);
  t.equal(json.agents[0].name, 'edge-1');
  t.equal(json.agents[0].connected, true);
  t.equal(json.agents[0].rttMs, undefined);
});

t.test('delete', async (t) => {
  const d = await novactl(['delete', 'proxyroute', 'from-stdin'], { socket: sock('c') });
  t.equal(d.code, 0, d.stderr);
  t.equal(d.stdout, 'ProxyRoute/default/from-stdin deleted\n');
  await waitFor('deleted on a', async () => (await node('a').get('ProxyRoute/default/from-stdin')) === undefined, WAIT);
  const again = await novactl(['delete', 'ProxyRoute', 'from-stdin'], { socket: sock('a') });
  t.equal(again.code, 1);
  t.match(again.stderr, /^error: NOT_FOUND: ProxyRoute\/default\/from-stdin not found/);
  const ignored = await novactl(['delete', 'ProxyRoute', 'from-stdin', '--ignore-not-found'], { socket: sock('a') });
  t.equal(ignored.code, 0, ignored.stderr);
  const file = join(dir, 'backend.yaml');
  writeFileSync(file, YAML.stringify({ apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyBackend', metadata: { name: 'test-backend' } }));
  const byFile = await novactl(['delete', '-f', file], { socket: sock('b') });
  t.equal(byFile.code, 0, byFile.stderr);
  t.equal(byFile.stdout, 'ProxyBackend/default/test-backend deleted\n');
});

t.test('errors exit non-zero with the code on stderr', async (t) => {
  const badYaml = join(dir, 'bad.yaml');
  writeFileSync(badYaml, 'kind: [unclosed\n');
  const mixed = join(dir, 'mixed.yaml');
  writeFileSync(mixed, `${YAML.stringify(route('good-one', {}))}---\n${YAML.stringify(route('Bad_Name', {}))}---\n${YAML.stringify(route('never-tried', {}))}`);
  // Independent runs, in parallel.
  const [missing, unknownKind, noFile, parse, invalid, noSocket, usage, unknown, badOutput] = await Promise.all([
    novactl(['get', 'ProxyRoute', 'nope'], { socket: sock('a') }),
    novactl(['get', 'widget', 'x'], { socket: sock('a') }),
    novactl(['apply', '-f', join(dir, 'nope.yaml')], { socket: sock('a') }),
    novactl(['apply', '-f', badYaml], { socket: sock('a') }),
    novactl(['apply', '-f', mixed], { socket: sock('a') }),
    novactl(['federation', 'status'], { socket: join(dir, 'nobody.sock') }),
    novactl(['federation', 'conflicts', 'resolve', 'ProxyRoute/default/x'], { socket: sock('a') }),
    novactl(['frobnicate'], { socket: sock('a') }),
    novactl(['federation', 'status', '-o', 'xml'], { socket: sock('a') }),
  ]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /^error: NOT_FOUND: ProxyRoute\/default\/nope not found/);
  t.equal(unknownKind.code, 1);
  t.match(unknownKind.stderr, /^error: NOT_FOUND: /);
  t.equal(noFile.code, 1);
  t.match(noFile.stderr, /^error: INVALID_ARGUMENT: .*nope\.yaml: cannot be read \(ENOENT\)/);
  t.equal(parse.code, 1);
  t.match(parse.stderr, /^error: INVALID_ARGUMENT: .*bad\.yaml:\d+:\d+: /);
  t.equal(invalid.code, 1);
  t.equal(invalid.stdout, 'ProxyRoute/default/good-one applied\n', 'resources before the bad one are applied and reported');
  t.match(invalid.stderr, /^error: INVALID_ARGUMENT: .*mixed\.yaml document 2: \(ProxyRoute\/default\/Bad_Name\): metadata\.name/);
  t.equal(await node('a').get('ProxyRoute/default/never-tried'), undefined, 'resources after it are not tried');
  t.equal(noSocket.code, 3);
  t.match(noSocket.stderr, /no node listening at .*nobody\.sock; is novaedge running\?/);
  t.equal(usage.code, 2);
  t.match(usage.stderr, /--keep/);
  t.equal(unknown.code, 2);
  t.equal(badOutput.code, 2);
});
