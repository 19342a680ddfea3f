// `npm start`: a live local federation — three controllers and two agents on 127.0.0.1 (ports
// 7101-7105, or NOVAEDGE_PORTS=a,b,c,d,e), each with an admin socket (<data>/<name>/admin.sock) and a
// Prometheus exporter (ports 9101-9105, or NOVAEDGE_METRICS_PORTS), data and keys under data/local
// (or NOVAEDGE_DATA). Writes a ProxyRoute on us-west, shows it on the other controllers and on both
// agents, prints the status as novactl does, and runs until Ctrl-C.
//
// It also prepares a fourth controller, sa-east, to add live (`novactl federation members add`): its
// key and certificate under <data>/pki, and <data>/sa-east.yaml, a daemon config naming us-west in
// spec.bootstrap and no spec.members, listening on a sixth port (the sixth of NOVAEDGE_PORTS, default
// the next after the fifth: 7106; metrics likewise, 9106). It prints how to start it and add it.
//
// Exit codes: 0 stopped by Ctrl-C; 2 a bad NOVAEDGE_PORTS or NOVAEDGE_METRICS_PORTS; 3 a port in use
// or the data directory open in another process (one line: `CODE: VARIABLE = value: fix`).
import { writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { callAdmin } from '../node/admin/admin-client.ts';
import type { StatusResult } from '../node/admin/controller-api.ts';
import { FAST_PROFILE } from '../node/config/membership-config.ts';
import { localMemberIdentity, startLocalFederation, type LocalFederation } from '../node/local/local-federation.ts';
import { findStartProblem, type StartFinding } from '../node/util/start-errors.ts';
import { formatStatus } from './novactl/status-view.ts';

const dir = resolve(process.env.NOVAEDGE_DATA ?? 'data/local');
/** The controller `npm start` prepares for adding live (it does not run it). */
const JOINER = 'sa-east';

// Five ports (three controllers, two agents), then the fourth controller's: the sixth given, else the
// first port after the fifth that is not one of the five (0 after a fifth of 0 for metrics: the
// system picks one).
function portList(name: string, dflt: string): { ports: number[]; joiner: number } {
  const all = (process.env[name] ?? dflt).split(',').map(Number);
  const valid = (p: number): boolean => Number.isInteger(p) && p >= 0 && p < 65536;
  const usage = `${name} must be five TCP ports (three controllers, two agents) and optionally a sixth (${JOINER}, the controller you may add; default the next after the fifth), e.g. ${dflt}`;
  if ((all.length !== 5 && all.length !== 6) || !all.every(valid)) {
    console.error(usage);
    process.exit(2);
  }
  const ports = all.slice(0, 5);
  let joiner = all[5];
  if (joiner === undefined && name === 'NOVAEDGE_METRICS_PORTS' && ports[4] === 0) joiner = 0;
  for (let p = (ports[4] === 0 ? Math.max(...ports) : ports[4]!) + 1; joiner === undefined && p < 65536; p++) if (!ports.includes(p)) joiner = p;
  if (joiner === undefined) {
    console.error(usage);
    process.exit(2);
  }
  return { ports, joiner };
}
const { ports, joiner: joinerPort } = portList('NOVAEDGE_PORTS', '7101,7102,7103,7104,7105');
const { ports: metricsPorts, joiner: joinerMetricsPort } = portList('NOVAEDGE_METRICS_PORTS', '9101,9102,9103,9104,9105');

/** Exit code when a port or the data directory is held by another process (as novaedge's). */
const EXIT_UNAVAILABLE = 3;

// A start failure the user can act on, as one line naming the variable that sets it.
function startFailureLine(f: StartFinding): string | undefined {
  if (f.problem === 'DATA_DIR_LOCKED') {
    return `DATA_DIR_LOCKED: NOVAEDGE_DATA = ${dir}: another process has this directory open (is \`npm start\` already running?); stop it, or set NOVAEDGE_DATA to another directory`;
  }
  const [variable, list] = f.port !== undefined && metricsPorts.includes(f.port) && !ports.includes(f.port)
    ? ['NOVAEDGE_METRICS_PORTS', metricsPorts] as const
    : f.port !== undefined && ports.includes(f.port) ? ['NOVAEDGE_PORTS', ports] as const : [undefined, undefined];
  if (variable === undefined) return undefined;
  const kind = variable === 'NOVAEDGE_PORTS' ? 'LISTEN' : 'METRICS';
  const why = f.problem === 'ADDRESS_IN_USE' ? `port ${f.port} is in use by another process; stop it, or`
    : f.problem === 'ADDRESS_DENIED' ? `port ${f.port} needs privileges;` : `127.0.0.1:${f.port} cannot be listened on;`;
  const suffix = f.problem === 'ADDRESS_IN_USE' ? 'IN_USE' : f.problem === 'ADDRESS_DENIED' ? 'DENIED' : 'UNAVAILABLE';
  return `${kind}_ADDRESS_${suffix}: ${variable} = ${list.join(',')}: ${why} set ${variable} to five free ports${kind === 'METRICS' ? ' (0 picks a free one)' : ''}`;
}

/**
 * The fourth controller's identity (startLocalFederation's, localMemberIdentity) and its daemon
 * config: spec.bootstrap only, so that started it waits until a member adds it.
 */
async function prepareJoiner(federationId: string, bootstrap: string): Promise<{ peerId: string; config: string }> {
  const { peerId } = await localMemberIdentity(dir, federationId, JOINER, 'controller', joinerPort, Date.now());
  // The health checks of npm start's controllers (FAST_PROFILE): the others expect its heartbeats at their pace.
  const hc = FAST_PROFILE.healthCheck!;
  const config = join(dir, `${JOINER}.yaml`);
  await writeFile(config, `# ${JOINER}: a fourth controller for npm start's local federation (written by npm start). It lists no
# spec.members: started, it waits until a member adds it (novactl federation members add, printed by
# npm start), learns the membership from us-west (spec.bootstrap), catches up as a learner and votes
# once promoted. Paths are relative to this file.
apiVersion: novaedge.io/v1alpha1
kind: NovaEdgeFederation
metadata: { name: local }
node:
  identityKeyFile: pki/${JOINER}.key
  certificateFile: pki/${JOINER}.cert
  controllerCaFiles: [pki/controllers-ca.pub]
  agentCaFiles: [pki/agents-ca.pub]
  dataDir: ${JOINER}
  adminSocket: ${JOINER}/admin.sock
  metricsAddress: "127.0.0.1:${joinerMetricsPort}"
spec:
  federationID: ${federationId}
  localMember: { name: ${JOINER}, region: ${JOINER}, endpoint: "127.0.0.1:${joinerPort}" }
  bootstrap: ["${bootstrap}"]
  healthCheck: { interval: ${hc.intervalMs}ms, timeout: ${hc.timeoutMs}ms, failureThreshold: ${hc.failureThreshold}, successThreshold: ${hc.successThreshold} }
`);
  return { peerId, config };
}

let fed: LocalFederation;
try {
  fed = await startLocalFederation({ dir, ports, metricsPorts });
} catch (err) {
  const found = findStartProblem(err);
  const line = found === undefined ? undefined : startFailureLine(found);
  if (line === undefined) throw err;
  console.error(`npm start: ${line}`);
  process.exit(EXIT_UNAVAILABLE);
}
const [usWest, euWest, apEast] = fed.controllers.map((c) => c.node);
const nodes = [...fed.controllers, ...fed.agents];
console.log('local federation up:');
for (const n of nodes) {
  const m = n.node.membership;
  console.log(`  ${m.memberName.padEnd(8)} ${m.config.role.padEnd(10)} ${m.multiaddrs()[0]}  metrics ${n.services.metricsUrl}`);
}
console.log(`data and keys under ${dir} (resources held by us-west: ${(await usWest!.list()).length})`);
const joiner = await prepareJoiner(usWest!.membership.config.federationId, usWest!.membership.multiaddrs()[0]!.toString());

const route = { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: 'test-route', namespace: 'default' },
  spec: { hostnames: ['test.example.com'], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRef: { name: 'test-backend' } }], appliedAt: new Date().toISOString() } };
const t0 = performance.now();
const w = await usWest!.apply(route, { durability: 'quorum' });
const readers = [euWest!, apEast!, ...fed.agents.map((a) => a.node)];
while (!(await Promise.all(readers.map(async (r) => (await r.get(w.view.key))?.digest === w.view.digest))).every(Boolean)) {
  await new Promise((r) => setTimeout(r, 1));
}
console.log(`applied ${w.view.key} on us-west; identical on eu-west, ap-east, edge-1 and edge-2 after ${(performance.now() - t0).toFixed(1)} ms\n`);

// The status as an operator sees it: through us-west's own admin socket.
const status = await callAdmin<StatusResult>(fed.controllers[0]!.services.adminSocket, 'federation.status', {}, { timeoutMs: 5_000 });
console.log(formatStatus(status, false, Date.now()));

// Paths under the working directory are shown relative to it (shorter to paste), others as they are.
const rel = (p: string): string => (relative(process.cwd(), p).startsWith('..') ? p : relative(process.cwd(), p));
console.log('\ntry novactl against any node:');
console.log(`  npm run -s novactl -- --socket ${rel(fed.controllers[0]!.services.adminSocket)} federation status --verbose`);
console.log(`  npm run -s novactl -- --socket ${rel(fed.controllers[1]!.services.adminSocket)} get proxyroute test-route -o yaml`);
console.log(`  npm run -s novactl -- --socket ${rel(fed.controllers[0]!.services.adminSocket)} agents list`);
console.log(`  npm run -s novactl -- --socket ${rel(fed.agents[0]!.services.adminSocket)} agent status`);
console.log(`  (or export NOVACTL_SOCKET=${rel(fed.controllers[0]!.services.adminSocket)})`);

// The fourth controller: how to start it and, unless the federation's record has it already, add it.
const usWestCtl = `npm run -s novactl -- --socket ${rel(fed.controllers[0]!.services.adminSocket)}`;
const startJoiner = `  npm run -s daemon -- --config ${rel(joiner.config)} --log-format pretty`;
const record = usWest!.members?.committed;
const listed = record?.controllers.find((c) => c.name === JOINER && c.peerId === joiner.peerId);
const removed = record?.denied.find((d) => d.peerId === joiner.peerId);
if (listed !== undefined) {
  console.log(`\n${JOINER}, the fourth controller, is a member (${record!.voters.includes(JOINER) ? 'voter' : 'learner'} at membership epoch ${record!.epoch}); start it with:`);
  console.log(startJoiner);
} else if (removed !== undefined) {
  console.log(`\n${JOINER}, the fourth controller, was removed at membership epoch ${removed.sinceEpoch} and its peer ID is refused; to add one again,`);
  console.log(`stop npm start, delete ${rel(join(dir, 'pki', `${JOINER}.key`))} and ${rel(join(dir, JOINER))}/, and start it again (a new key, a new peer ID)`);
} else {
  console.log(`\nadd a fourth controller, ${JOINER} (its key, certificate and ${rel(joiner.config)} are ready; it joins through us-west):`);
  console.log('start it in another terminal (it waits until a member adds it), then add it: it catches up as a learner, then votes');
  console.log(startJoiner);
  console.log(`  ${usWestCtl} federation members add ${JOINER} --peer-id ${joiner.peerId} --endpoint /ip4/127.0.0.1/tcp/${joinerPort}`);
  console.log(`  ${usWestCtl} federation members list`);
}
console.log('\nfederation ready; Ctrl-C stops every node cleanly');

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await fed.stop();
  console.log('stopped');
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
