// Issue 17 item 5: a user write to a key the federation keeps for itself (FederationAgentRegistry in
// novaedge-system) was answered INTERNAL and logged as an error, as if the node had failed. It is
// the client's mistake: INVALID_ARGUMENT (-32602, cause RESERVED_KEY) with a message naming the
// reserved prefix, nothing logged as an error, nothing stored; through the admin socket and novactl.
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import YAML from 'yaml';
import { callAdmin, type AdminCallError } from '../../node/admin/admin-client.ts';
import { startAdminServer } from '../../node/admin/admin-server.ts';
import { REAL_TIMERS } from '../../node/host/timer-components.ts';
import { controllerMethods } from '../../node/admin/controller-methods.ts';
import { FAST_PROFILE } from '../../node/config/membership-config.ts';
import { FAST_REPLICATION } from '../../node/config/replication-config.ts';
import { ControllerNode } from '../../node/controller/controller-node.ts';
import { SYSTEM_NAMESPACE } from '../../storage/logic/system-keys.ts';
import { makeFederation } from '../helpers/cert-fixtures.ts';
import { memberConfig, planMembers } from '../helpers/cluster.ts';
import { novactl } from '../helpers/novactl-run.ts';
import { tempDir } from '../helpers/temp-dir.ts';

t.setTimeout(120_000);

const fed = await makeFederation('rsv-fed');
const [m] = await planMembers(fed, [{ name: 'a', role: 'controller' }]);
const dir = await tempDir(t, 'nvrsv-');
const node = await ControllerNode.start({
  membership: memberConfig(fed, m!, []),
  replication: { dataDir: join(dir, 'a'), controllers: ['a'] },
}, { membershipProfile: FAST_PROFILE, replicationProfile: FAST_REPLICATION });
t.teardown(() => node.stop());
const logs: Array<{ level: number; msg: string }> = [];
const logger = pino({ level: 'debug' }, { write: (line: string) => { logs.push(JSON.parse(line) as { level: number; msg: string }); } });
const socket = join(dir, 'admin.sock');
const admin = await startAdminServer({ timers: REAL_TIMERS, socketPath: socket, methods: controllerMethods(node), logger });
t.teardown(() => admin.close());

const PREFIX = `FederationAgentRegistry/${SYSTEM_NAMESPACE}/`;
const reserved = { apiVersion: 'novaedge.io/v1alpha1', kind: 'FederationAgentRegistry', metadata: { name: 'edge-1', namespace: SYSTEM_NAMESPACE }, spec: { agents: ['rogue'] } };
const route = { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: 'fine', namespace: 'default' }, spec: { hostnames: ['a.example.com'] } };
const errorLogs = (): unknown[] => logs.filter((l) => l.level >= 50);

t.test('through the admin socket: apply and delete of a reserved key are client errors', async (t) => {
  const err = await callAdmin(socket, 'resources.apply', { resources: [route, reserved] }).then(() => undefined, (e: unknown) => e) as AdminCallError;
  t.ok(err !== undefined, 'refused');
  t.equal(err.code, 'INVALID_ARGUMENT', 'a client error, not INTERNAL');
  t.equal(err.rpcCode, -32602);
  t.equal(err.data?.cause, 'RESERVED_KEY', 'the store\'s own code kept as the cause');
  t.equal(err.data?.index, 1, 'names the resource that failed');
  t.match(err.message, PREFIX, 'the message names the reserved prefix');
  t.match(err.message, /reserved/);
  const del = await callAdmin(socket, 'resources.delete', { key: `${PREFIX}edge-1` }).then(() => undefined, (e: unknown) => e) as AdminCallError;
  t.equal(del.code, 'INVALID_ARGUMENT');
  t.equal(del.data?.cause, 'RESERVED_KEY');
  t.match(del.message, PREFIX);
  t.same(errorLogs(), [], 'nothing logged as an error');
  t.equal(await node.get(`${PREFIX}edge-1`), undefined, 'nothing stored');
  t.not(await node.get('ProxyRoute/default/fine'), undefined, 'the resource before it was applied');
});

t.test('through novactl apply: exit 1 and INVALID_ARGUMENT on stderr', async (t) => {
  const file = join(dir, 'reserved.yaml');
  writeFileSync(file, YAML.stringify(reserved));
  const run = await novactl(['apply', '-f', file], { socket });
  t.equal(run.code, 1, 'the node answered with an error (exit 1)');
  t.match(run.stderr, /^error: INVALID_ARGUMENT: /m);
  t.match(run.stderr, PREFIX);
  t.notMatch(run.stderr, /INTERNAL/);
  t.same(errorLogs(), [], 'nothing logged as an error');
  t.equal(await node.get(`${PREFIX}edge-1`), undefined, 'nothing stored');
});
