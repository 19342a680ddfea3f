// novactl's formatting and input parsing, without a node: durations and ages, tables, the status
// text, kind matching and manifest files.
import t from 'tap';
import { formatTable } from '../../cmd/novactl/format-table.ts';
import { formatAgo, formatDuration, parseDurationMs } from '../../cmd/novactl/format-time.ts';
import { matchKind } from '../../cmd/novactl/kind-match.ts';
import { parseManifests } from '../../cmd/novactl/manifests.ts';
import { caPublicPath } from '../../cmd/novactl/pki-commands.ts';
import { formatStatus } from '../../cmd/novactl/status-view.ts';
import type { StatusResult } from '../../node/admin/controller-api.ts';

t.test('durations and ages', async (t) => {
  t.same([12, 999.6, 1200, 59_949, 61_000, 3_600_000, 90_061_000].map(formatDuration), ['12ms', '1000ms', '1.2s', '59.9s', '1m1s', '1h', '1d1h']);
  t.equal(formatAgo(10_000, 13_500), '3s ago');
  t.equal(formatAgo(0, 150_000), '2m ago');
  t.equal(formatAgo(20_000, 10_000), '0s ago', 'a clock a little ahead is not negative');
  t.same(['500ms', '30s', '2m', '1h', '5', '1.5s', 'x', '0s', '-1'].map(parseDurationMs), [500, 30_000, 120_000, 3_600_000, 5000, 1500, undefined, undefined, undefined]);
});

t.test('tables pad to the widest cell plus three spaces', async (t) => {
  t.equal(formatTable(['NAME', 'STATUS'], [['us-west-controller', 'Local'], ['eu', 'Healthy']], '  '),
    `  ${'NAME'.padEnd(21)}STATUS\n  us-west-controller   Local\n  ${'eu'.padEnd(21)}Healthy`);
});

t.test('the status text has the guide\'s lines', async (t) => {
  const s: StatusResult = {
    federationId: 'prod-global', localMember: 'us-west-controller',
    members: [
      { name: 'us-west-controller', region: 'us-west', status: 'Local', syncLagMs: undefined, lastSyncMs: undefined, agents: 5 },
      { name: 'eu-west-controller', region: 'eu-west', status: 'Healthy', syncLagMs: 1200, lastSyncMs: 97_000, agents: 3 },
      { name: 'ap-east-controller', region: '', status: 'Unknown', syncLagMs: 0, lastSyncMs: 0, agents: 0 },
    ],
    quorum: { phase: 'Partitioned', partitionState: 'Confirmed', reachablePeers: '0/2', writesFenced: true, fenceReason: 'NO_QUORUM', clockSkewedPeers: [], readsAllowed: true,
      quorumMode: 'Controllers', ourVotes: 1, totalVotes: 3, threshold: 2, haveQuorum: false, reachableAgents: 0 },
    node: { member: 'us-west-controller', role: 'controller', region: 'us-west', zone: '', peerId: 'p', multiaddrs: [], strategy: 'Manual', storeSize: 0, seq: 0 },
  };
  t.equal(formatStatus(s, false, 100_000), [
    'Federation: prod-global',
    'Local Member: us-west-controller',
    'Phase: Partitioned',
    '',
    'Members:',
    '  NAME                 REGION    STATUS    SYNC LAG   LAST SYNC   AGENTS',
    '  us-west-controller   us-west   Local     -          -           5',
    '  eu-west-controller   eu-west   Healthy   1.2s       3s ago      3',
    '  ap-east-controller   -         Unknown   0ms        never       0',
  ].join('\n'));
  const verbose = formatStatus(s, true, 100_000).split('\n');
  t.same(verbose.slice(2, 12), ['Phase: Partitioned', 'Partition State: Confirmed', 'Reachable Peers: 0/2', 'Writes Fenced: Yes', 'Reads Allowed: Yes',
    'Quorum Mode: Controllers', 'Our Votes: 1 / 3 total', 'Quorum Threshold: 2', 'Have Quorum: No', 'Reachable Agents: 0']);
  t.equal(verbose[12], 'Fence Reason: NO_QUORUM', 'why writes are refused follows the guide\'s lines');
  const skewed = formatStatus({ ...s, quorum: { ...s.quorum, reachablePeers: '2/2', fenceReason: 'CLOCK_SKEW', clockSkewedPeers: ['a', 'b'] } }, true, 100_000).split('\n');
  t.same(skewed.slice(12, 14), ['Fence Reason: CLOCK_SKEW', 'Clock Skewed Peers: a/b']);
});

t.test('kind names match kubectl-style', async (t) => {
  const kinds = ['Backend', 'Gateway', 'Policy', 'ProxyRoute'];
  t.same(['ProxyRoute', 'proxyroute', 'PROXYROUTES', 'policies', 'gateways', 'backend', 'Widget'].map((k) => matchKind(k, kinds)),
    ['ProxyRoute', 'ProxyRoute', 'ProxyRoute', 'Policy', 'Gateway', 'Backend', undefined]);
  t.equal(matchKind('route', ['Route', 'ROUTE']), undefined, 'ambiguous: no guess');
});

t.test('manifests: several documents, lists, errors with places', async (t) => {
  const items = parseManifests('kind: A\nmetadata: {name: a}\n---\n---\n- kind: B\n  metadata: {name: b}\n- kind: C\n  metadata: {name: c}\n---\nkind: List\nitems:\n  - kind: D\n    metadata: {name: d}\n', 'f.yaml');
  t.same(items.map((i) => [i.resource.kind, i.source]), [
    ['A', 'f.yaml document 1'], ['B', 'f.yaml document 3 item 1'], ['C', 'f.yaml document 3 item 2'], ['D', 'f.yaml document 4 item 1'],
  ]);
  t.same(parseManifests('{"kind": "A", "metadata": {"name": "a"}}', 'f.json').map((i) => i.source), ['f.json'], 'JSON is YAML');
  t.throws(() => parseManifests('a: 1\na: 2\n', 'dup.yaml'), { code: 'INVALID_ARGUMENT', message: /dup\.yaml:\d+:\d+: .*unique/i });
  t.throws(() => parseManifests('just a string\n', 's.yaml'), { message: /s\.yaml: not a resource/ });
  t.throws(() => parseManifests(`a: &a [${'x,'.repeat(10)}x]\nb: [${'*a,'.repeat(200)}*a]\n`, 'bomb.yaml'), { message: /alias/i }, 'alias expansion is bounded');
  t.same(parseManifests('', 'empty.yaml'), []);
});

t.test('CA public file next to the key', async (t) => {
  t.equal(caPublicPath('/pki/controllers-ca.key'), '/pki/controllers-ca.pub');
  t.equal(caPublicPath('ca'), 'ca.pub');
});
