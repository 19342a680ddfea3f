// Config files: the guide's shapes read into node configuration, every problem reported at once
// under the path the operator wrote, the owners' validators (membership, replication, quorum, agent)
// reached through the file, and files named in `node:` checked at load.
import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { parseDuration, formatDuration } from '../../node/config/duration.ts';
import { endpointToMultiaddr } from '../../node/config/endpoint.ts';
import { controllerStartIssues } from '../../node/config/field-paths.ts';
import { loadConfigFile, parseConfigText, type AgentFileConfig, type ControllerFileConfig } from '../../node/config/file-config.ts';
import { parseMetricsAddress, type FileChecks } from '../../node/config/node-settings.ts';
import { ConfigError, type ConfigIssue } from '../../node/errors.ts';

const PEER_EU = '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA';
const PEER_AP = '12D3KooWGBvRsi848qa7k7dmmhXVPwGur2thoZ1cP2i4gA2HGG7K';
const ALL_FILES_EXIST: FileChecks = { file: () => undefined };

/** The guide's Step 4 file for us-west (tls blocks replaced by peer IDs), plus node settings and the optional sections. */
function guide(): any {
  return {
    apiVersion: 'novaedge.io/v1alpha1',
    kind: 'NovaEdgeFederation',
    metadata: { name: 'global-federation', namespace: 'novaedge-system' },
    node: { identityKeyFile: 'pki/us-west.key', certificateFile: 'pki/us-west.cert', controllerCaFiles: ['pki/controllers-ca.pub'], dataDir: 'data' },
    spec: {
      federationID: 'prod-global',
      localMember: { name: 'us-west-controller', region: 'us-west', zone: 'us-west-2a', endpoint: 'controller.us-west.example.com:9090', priority: 0 },
      members: [
        { name: 'eu-west-controller', region: 'eu-west', zone: 'eu-west-1a', endpoint: 'controller.eu-west.example.com:9090', peerId: PEER_EU, priority: 100 },
        { name: 'ap-east-controller', region: 'ap-east', zone: 'ap-east-1a', endpoint: 'controller.ap-east.example.com:9090', peerId: PEER_AP, priority: 200 },
      ],
      sync: { interval: '5s', timeout: '30s', batchSize: 100, compression: true },
      conflictResolution: { strategy: 'LastWriterWins', vectorClocks: true },
      healthCheck: { interval: '10s', timeout: '5s', failureThreshold: 3, successThreshold: 1 },
      splitBrain: { enabled: true, mode: 'Controllers', quorumSize: 2, detectionDelay: '30s', fenceWrites: true },
      antiEntropy: { enabled: true, interval: '5m', batchSize: 100, repairMode: 'bidirectional' },
    },
  };
}

function parse(doc: unknown, files: FileChecks = ALL_FILES_EXIST): ControllerFileConfig | AgentFileConfig {
  return parseConfigText(typeof doc === 'string' ? doc : stringify(doc), { baseDir: '/etc/novaedge', files });
}

function issuesOf(doc: unknown, files?: FileChecks): ConfigIssue[] {
  try {
    parse(doc, files);
  } catch (e) {
    if (e instanceof ConfigError) return [...e.issues];
    throw e;
  }
  throw new Error('expected a ConfigError');
}

function variant(edit: (d: any) => void): any {
  const d = guide();
  edit(d);
  return d;
}

t.test('the guide\'s controller file', async (t) => {
  const c = parse(guide()) as ControllerFileConfig;
  t.equal(c.role, 'controller');
  t.equal(c.name, 'global-federation');
  const m = c.controller.membership;
  t.same([m.federationId, m.memberName, m.role, m.region, m.zone], ['prod-global', 'us-west-controller', 'controller', 'us-west', 'us-west-2a']);
  t.same(m.bootstrap, [
    `/dns/controller.eu-west.example.com/tcp/9090/p2p/${PEER_EU}`,
    `/dns/controller.ap-east.example.com/tcp/9090/p2p/${PEER_AP}`,
  ], 'host:port + peerId become multiaddrs');
  t.same(m.listen, ['/ip4/0.0.0.0/tcp/9090'], 'default listen port from localMember.endpoint');
  t.same(m.healthCheck, { intervalMs: 10_000, timeoutMs: 5_000, failureThreshold: 3, successThreshold: 1 });
  t.equal(m.keyFile, '/etc/novaedge/pki/us-west.key', 'relative paths from the config file\'s directory');
  t.same(m.controllerCaFiles, ['/etc/novaedge/pki/controllers-ca.pub']);
  const r = c.controller.replication;
  t.equal(r.dataDir, '/etc/novaedge/data');
  t.same(r.controllers, ['us-west-controller', 'eu-west-controller', 'ap-east-controller'], 'localMember + members');
  t.same(r.sync, { timeoutMs: 30_000, batchSize: 100, compression: true });
  t.same(r.antiEntropy, { enabled: true, intervalMs: 300_000, batchSize: 100, repairMode: 'bidirectional' });
  t.equal(r.strategy, 'LastWriterWins');
  t.same(c.controller.splitBrain, { mode: 'Controllers', quorumSize: 2, detectionDelayMs: 30_000, fenceWrites: true });
  t.same(c.node.metricsAddress, { host: '127.0.0.1', port: 9464 }, 'metrics on loopback by default');
  t.equal(c.node.adminSocket, '/run/novaedge/admin.sock', 'where novactl looks by default');
  t.same(c.node.log, { level: 'info', format: 'json' });
  t.same(c.members.map((x) => x.priority), [100, 200]);
});

t.test('optional sections take their defaults; multiaddr endpoints; IPv6', async (t) => {
  const c = parse(variant((d) => {
    for (const k of ['sync', 'conflictResolution', 'healthCheck', 'splitBrain', 'antiEntropy']) delete d.spec[k];
    delete d.spec.localMember.endpoint;
    d.spec.members[0].endpoint = `/ip4/10.0.0.2/tcp/7000/p2p/${PEER_EU}`;
    delete d.spec.members[0].peerId;
    d.spec.members[1].endpoint = '[fd00::3]:9090';
    d.node.listen = ['/ip4/10.0.0.1/tcp/7000'];
    d.node.metricsAddress = '[::1]:0';
  })) as ControllerFileConfig;
  t.same(c.controller.membership.bootstrap, [`/ip4/10.0.0.2/tcp/7000/p2p/${PEER_EU}`, `/ip6/fd00::3/tcp/9090/p2p/${PEER_AP}`]);
  t.same(c.controller.membership.listen, ['/ip4/10.0.0.1/tcp/7000']);
  t.same(c.controller.membership.healthCheck, {});
  t.same(c.controller.splitBrain, {});
  t.same(c.node.metricsAddress, { host: '::1', port: 0 });
});

t.test('durations are Go-style strings', async (t) => {
  for (const [text, ms] of [['500ms', 500], ['5s', 5_000], ['5m', 300_000], ['1h', 3_600_000], ['1m30s', 90_000], ['1.5s', 1_500], ['0', 0], ['2h45m', 9_900_000]] as const) {
    t.same(parseDuration(text), { ms }, text);
  }
  for (const bad of ['5', '', 's', '5 s', '5sec', '-5s', '1d', '1.5ms1', '100us', 5, null, '9000h']) {
    t.ok('problem' in parseDuration(bad), `refuses ${JSON.stringify(bad)}`);
  }
  t.equal(formatDuration(90_500), '1m30s500ms');
  const issues = issuesOf(variant((d) => { d.spec.sync.timeout = 30; d.spec.antiEntropy.interval = 'five minutes'; }));
  t.same(issues.map((i) => i.field), ['spec.sync.timeout', 'spec.antiEntropy.interval']);
  t.match(issues[0]!.problem, /add a unit/);
});

t.test('every problem at once, each under its path', async (t) => {
  const issues = issuesOf(variant((d) => {
    d.spec.sync.intervall = '5s';            // typo
    d.spec.sync.batchSize = '100';          // wrong type
    d.spec.sync.compression = 'yes';        // YAML 1.2: a string
    d.spec.splitBrain.quorumSize = 5;       // more than the 3 members
    d.spec.healthCheck.timeout = '10s';     // timeout ≥ interval
    d.spec.members[1].endpoint = 'no-port'; // malformed
    d.node.certificatFile = 'x';            // typo at node level
    d.extra = 1;                            // unknown top-level field
  }));
  t.same(issues, [
    { field: 'node.certificatFile', problem: 'unknown field (did you mean node.certificateFile?)' },
    { field: 'spec.members[1].endpoint', problem: 'must be host:port (e.g. "controller.eu-west.example.com:9090", "[::1]:9090") or a multiaddr, got "no-port"' },
    { field: 'spec.sync.batchSize', problem: 'must be an integer, got "100"' },
    { field: 'spec.sync.compression', problem: 'must be true or false, got "yes"' },
    { field: 'spec.sync.intervall', problem: 'unknown field (did you mean spec.sync.interval?)' },
    { field: 'spec.healthCheck.timeout', problem: 'must be less than spec.healthCheck.interval (10s)' },
    { field: 'spec.splitBrain.quorumSize', problem: '5 is larger than the 3 configured controllers: quorum could never be reached' },
    { field: 'extra', problem: 'unknown field' },
  ]);
});

t.test('relations owned by other validators come back with file paths', async (t) => {
  const f = (edit: (d: any) => void) => issuesOf(variant(edit)).map((i) => `${i.field}: ${i.problem}`);
  t.match(f((d) => { d.spec.splitBrain.quorumSize = 1; }), [/^spec\.splitBrain\.quorumSize: 1 of 3 is not a strict majority/]);
  t.match(f((d) => { d.spec.splitBrain.mode = 'AgentAssisted'; }), [/^spec\.splitBrain\.quorumSize: applies to mode Controllers only/]);
  t.match(f((d) => { d.spec.sync.batchSize = 5000; }), [/^spec\.sync\.batchSize: must be an integer in 1\.\.1000/]);
  t.match(f((d) => { d.spec.sync.timeout = '50ms'; }), [/^spec\.sync\.timeout: must be an integer in 100ms\.\.1h/]);
  t.match(f((d) => { d.spec.antiEntropy.interval = '6h'; }), [/^spec\.tombstoneGracePeriod: must be at least 10 anti-entropy intervals/]);
  t.match(f((d) => { d.spec.healthCheck.failureThreshold = 0; }), [/^spec\.healthCheck\.failureThreshold: must be an integer in 1\.\.100/]);
  t.match(f((d) => { d.spec.federationID = 'Prod_Global'; }), [/^spec\.federationID: must be a DNS-1123 label/]);
  t.match(f((d) => { d.spec.splitBrain.leaseDuration = '2s'; d.spec.splitBrain.leaseDriftMargin = '3s'; }), [/^spec\.splitBrain\.leaseDriftMargin: 3000 must be less than spec\.splitBrain\.leaseDuration \(2s\)/]);
  t.match(f((d) => { d.node.listen = ['/ip4/1.2.3.4/udp/1']; }), [/^node\.listen\[0\]: must be a TCP multiaddr/]);
});

t.test('contradictions and the member list', async (t) => {
  const f = (edit: (d: any) => void) => issuesOf(variant(edit)).map((i) => `${i.field}: ${i.problem}`);
  t.match(f((d) => { d.spec.members[1].name = 'eu-west-controller'; }), [/^spec\.members\[1\]\.name: duplicate of spec\.members\[0\]\.name/]);
  t.match(f((d) => { d.spec.members[0].name = 'us-west-controller'; }), [/^spec\.members\[0\]\.name: is the local member/]);
  t.match(f((d) => { d.spec.members[0].name = 'EU West'; }), [/^spec\.members\[0\]\.name: must be a DNS-1123 label/]);
  t.match(f((d) => { delete d.spec.members[0].peerId; }), [/^spec\.members\[0\]\.peerId: is required with a host:port endpoint/]);
  t.match(f((d) => { d.spec.members[0].peerId = 'not-a-peer'; }), [/^spec\.members\[0\]\.peerId: not a peer ID/]);
  t.match(f((d) => { d.spec.members[0].endpoint = `/ip4/10.0.0.2/tcp/1/p2p/${PEER_AP}`; }), [/^spec\.members\[0\]\.peerId: differs from the \/p2p\/ part/]);
  t.match(f((d) => { d.spec.splitBrain.enabled = false; }), [/^spec\.splitBrain\.fenceWrites: contradicts enabled: false/]);
  t.match(f((d) => { d.spec.conflictResolution.vectorClocks = false; }), [/^spec\.conflictResolution\.vectorClocks: cannot be turned off/]);
  t.match(f((d) => { d.spec.conflictResolution.strategy = 'Newest'; }), [/^spec\.conflictResolution\.strategy: must be one of LastWriterWins, Merge, Manual/]);
  t.match(f((d) => { d.spec.members[0].tls = { enabled: true, serverName: 'eu-west-controller' }; }), [/^spec\.members\[0\]\.tls: is not used: .*node\.certificateFile/]);
  t.match(f((d) => { d.node.adminSocket = `/tmp/${'x'.repeat(120)}.sock`; }), [/^node\.adminSocket: .* longer than 107 bytes/]);
  t.match(f((d) => { d.node.metricsAddress = '9464'; }), [/^node\.metricsAddress: must be host:port/]);
  t.match(f((d) => { d.node.log = { level: 'verbose', format: 'text' }; }), [/^node\.log\.level: must be one of/, /^node\.log\.format: must be one of json, pretty/]);
  t.match(f((d) => { delete d.node.controllerCaFiles; }), [/^node\.controllerCaFiles: is required/]);
  const off = parse(variant((d) => { d.spec.splitBrain = { enabled: false }; })) as ControllerFileConfig;
  t.same(off.controller.splitBrain, { fenceWrites: false }, 'protection off: writes accepted without quorum');
});

t.test('document-level mistakes', async (t) => {
  const f = (text: string) => issuesOf(text).map((i) => `${i.field}: ${i.problem}`);
  t.match(f('a: [1,\n'), [/^\(yaml line \d+, column \d+\): /]);
  t.match(f('a: 1\na: 2\n'), [/^\(yaml line 2, column 1\): Map keys must be unique/]);
  t.match(f('- 1\n'), [/^\(root\): must be a mapping/]);
  t.match(f(stringify(variant((d) => { d.apiVersion = 'v1'; }))), [/^apiVersion: must be novaedge\.io\/v1alpha1/]);
  t.match(f(stringify(variant((d) => { d.kind = 'NovaEdgeCluster'; }))), [/^kind: must be NovaEdgeFederation \(a controller\) or NovaEdgeAgent \(an agent\)/]);
  t.same(f(stringify(variant((d) => { delete d.spec; delete d.node; }))), ['node: is required', 'spec: is required'], 'missing sections, and nothing else');
  t.match(f('a: &a [1,2]\nb: [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n'), [/^\(yaml\): .*alias/i], 'alias bomb refused');
});

t.test('files named in node: are checked at load', async (t) => {
  const dir = t.testdir();
  const pki = join(dir, 'pki');
  mkdirSync(pki);
  for (const f of ['us-west.key', 'controllers-ca.pub']) writeFileSync(join(pki, f), 'x');
  mkdirSync(join(pki, 'agents-ca.pub'));
  const path = join(dir, 'us-west.yaml');
  writeFileSync(path, stringify(variant((d) => { d.node.agentCaFiles = ['pki/agents-ca.pub', 'pki/other.pub']; })));
  const err = await loadConfigFile(path).catch((e: unknown) => e);
  t.ok(err instanceof ConfigError);
  t.same((err as ConfigError).issues, [
    { field: 'node.certificateFile', problem: `${join(pki, 'us-west.cert')} does not exist` },
    { field: 'node.agentCaFiles[0]', problem: `${join(pki, 'agents-ca.pub')} is not a regular file` },
    { field: 'node.agentCaFiles[1]', problem: `${join(pki, 'other.pub')} does not exist` },
  ]);
  writeFileSync(join(pki, 'us-west.cert'), 'x');
  writeFileSync(path, stringify(guide()));
  const ok = await loadConfigFile(path) as ControllerFileConfig;
  t.equal(ok.node.certificateFile, join(pki, 'us-west.cert'));
  t.match(await loadConfigFile(join(dir, 'missing.yaml')).catch((e: ConfigError) => e.issues[0]), { field: '(file)', problem: /cannot read .*ENOENT/ });
});

t.test('an agent file (the guide\'s Step 5 agent spec)', async (t) => {
  const agentDoc = (): any => ({
    apiVersion: 'novaedge.io/v1alpha1',
    kind: 'NovaEdgeAgent',
    metadata: { name: 'novaedge' },
    node: { identityKeyFile: 'edge-1.key', certificateFile: 'edge-1.cert', controllerCaFiles: ['controllers-ca.pub'], agentCaFiles: ['agents-ca.pub'], dataDir: '/var/lib/novaedge' },
    spec: {
      federationID: 'prod-global',
      localMember: { name: 'edge-1', region: 'us-west' },
      agent: {
        controllers: {
          primary: { endpoint: 'controller.us-west.example.com:9090', peerId: PEER_EU },
          secondary: [{ endpoint: `/ip4/10.0.0.3/tcp/9090/p2p/${PEER_AP}`, priority: 200 }],
          failover: { timeout: '30s', healthCheckInterval: '10s', failureThreshold: 3, recoveryDelay: '60s', latencyAware: true },
        },
        autonomousMode: { enabled: true, configPath: 'config.json' },
        reachabilityProbe: { enabled: true, interval: '10s', timeout: '5s' },
      },
    },
  });
  const a = parse(agentDoc()) as AgentFileConfig;
  t.equal(a.role, 'agent');
  t.same([a.agent.membership.role, a.agent.membership.memberName, a.agent.membership.federationId], ['agent', 'edge-1', 'prod-global']);
  t.same(a.agent.controllers, {
    primary: { endpoint: `/dns/controller.us-west.example.com/tcp/9090/p2p/${PEER_EU}` },
    secondary: [{ endpoint: `/ip4/10.0.0.3/tcp/9090/p2p/${PEER_AP}`, priority: 200 }],
  });
  t.same(a.agent.failover, { timeoutMs: 30_000, healthCheckIntervalMs: 10_000, failureThreshold: 3, recoveryDelayMs: 60_000, latencyAware: true });
  t.same(a.agent.reachabilityProbe, { enabled: true, intervalMs: 10_000, timeoutMs: 5_000 });
  t.same(a.agent.autonomousMode, { enabled: true, configPath: '/etc/novaedge/config.json' });
  t.same(a.node.listen, ['/ip4/127.0.0.1/tcp/0'], 'agents listen on loopback by default');

  const bad = agentDoc();
  bad.spec.agent.reachabilityProbe.timeout = '15s';
  bad.spec.agent.controllers.failover.timeout = '5s';
  bad.spec.agent.controllers.secondary.unshift({ endpoint: 'x:1' });
  bad.spec.localMember.endpoint = 'a:1';
  // The last two come from resolveAgentConfig, which owns those relations.
  t.match(issuesOf(bad).map((i) => `${i.field}: ${i.problem}`).sort(), [
    /^spec\.agent\.controllers\.failover\.timeout: must be at least spec\.agent\.controllers\.failover\.healthCheckInterval \(10s\)/,
    /^spec\.agent\.controllers\.secondary\[0\]\.peerId: is required with a host:port endpoint/,
    /^spec\.agent\.reachabilityProbe\.timeout: must be at most .*\(10s\)/,
    /^spec\.localMember\.endpoint: unknown field/,
  ]);
});

t.test('problems found while starting map to file paths', async (t) => {
  t.same(controllerStartIssues([
    { field: 'certificateFile', problem: 'this node\'s own certificate would be refused' },
    { field: 'controllerCaFiles[1]', problem: 'cannot use x' },
    { field: 'memberName', problem: 'is "a" but the certificate is for "b"' },
    { field: 'splitBrain.mode', problem: 'AgentAssisted needs agent vote leases' },
    { field: 'bootstrap[1]', problem: 'x' },
  ]).map((i) => i.field), ['node.certificateFile', 'node.controllerCaFiles[1]', 'spec.localMember.name', 'spec.splitBrain.mode', 'spec.members[1].endpoint']);
  t.same(parseMetricsAddress('0.0.0.0:9464'), { host: '0.0.0.0', port: 9464 });
  t.equal(parseMetricsAddress('host:99999'), undefined);
  t.same(endpointToMultiaddr('[::1]:1', PEER_EU), { addr: `/ip6/::1/tcp/1/p2p/${PEER_EU}` });
  t.match(endpointToMultiaddr('/ip4/1.2.3.4/udp/1', PEER_EU), { field: 'endpoint', problem: /TCP multiaddr/ });
});

t.test('node.remoteAdmin: off by default, on for controllers with its CA files and bound, refused for agents', async (t) => {
  const off = parse(guide()) as ControllerFileConfig;
  t.equal(off.controller.membership.remoteClients, undefined, 'off unless enabled: client certificates are refused');
  const on = guide();
  on.node.remoteAdmin = { enabled: true, clientCaFiles: ['pki/operators-ca.pub'], connectionsMax: 8 };
  const c = parse(on) as ControllerFileConfig;
  t.same(c.controller.membership.remoteClients, { caFiles: ['/etc/novaedge/pki/operators-ca.pub'], connectionsMax: 8 }, 'paths resolved from the file\'s directory');
  const bad = guide();
  bad.node.remoteAdmin = { enabled: true, connectionsMax: 0, clientCAFiles: [] };
  const issues = issuesOf(bad).map((i) => i.field);
  t.ok(issues.includes('node.remoteAdmin.connectionsMax'), `connectionsMax out of range is named (${issues.join(', ')})`);
  t.ok(issues.includes('node.remoteAdmin.clientCAFiles'), 'an unknown field is named');
  const agent = {
    apiVersion: 'novaedge.io/v1alpha1', kind: 'NovaEdgeAgent', metadata: { name: 'edge-1' },
    node: { identityKeyFile: 'edge-1.key', certificateFile: 'edge-1.cert', controllerCaFiles: ['ca.pub'], remoteAdmin: { enabled: true } },
    spec: { federationID: 'prod-global', localMember: { name: 'edge-1', region: 'us-west' }, agent: { controllers: { primary: { endpoint: 'c.example.com:9090', peerId: PEER_EU } } } },
  };
  t.match(issuesOf(agent), [{ field: 'node.remoteAdmin.enabled', problem: /only controllers serve remote clients/ }]);
});
