// `npm start`: a live local federation — three controllers and two agents on 127.0.0.1 (ports
// 7101-7105, or NOVAEDGE_PORTS=a,b,c,d,e), each with an admin socket (<data>/<name>/admin.sock) and a
// Prometheus exporter (ports 9101-9105, or NOVAEDGE_METRICS_PORTS), data and keys under data/local
// (or NOVAEDGE_DATA). Writes a ProxyRoute on us-west, shows it on the other controllers and on both
// agents, prints the status as novactl does, and runs until Ctrl-C.
//
// Exit codes: 0 stopped by Ctrl-C; 2 a bad NOVAEDGE_PORTS or NOVAEDGE_METRICS_PORTS; 3 a port in use
// or the data directory open in another process (one line: `CODE: VARIABLE = value: fix`).
import { relative, resolve } from 'node:path';
import { callAdmin } from '../node/admin/admin-client.ts';
import type { StatusResult } from '../node/admin/controller-api.ts';
import { startLocalFederation, type LocalFederation } from '../node/local/local-federation.ts';
import { findStartProblem, type StartFinding } from '../node/util/start-errors.ts';
import { formatStatus } from './novactl/status-view.ts';

const dir = resolve(process.env.NOVAEDGE_DATA ?? 'data/local');
function portList(name: string, dflt: string): number[] {
  const ports = (process.env[name] ?? dflt).split(',').map(Number);
  if (ports.length !== 5 || !ports.every((p) => Number.isInteger(p) && p >= 0 && p < 65536)) {
    console.error(`${name} must be five TCP ports (three controllers, two agents), e.g. ${dflt}`);
    process.exit(2);
  }
  return ports;
}
const ports = portList('NOVAEDGE_PORTS', '7101,7102,7103,7104,7105');
const metricsPorts = portList('NOVAEDGE_METRICS_PORTS', '9101,9102,9103,9104,9105');

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
