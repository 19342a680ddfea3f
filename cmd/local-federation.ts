// `npm start`: a live local federation of three controllers on 127.0.0.1 (ports 7101-7103, or
// NOVAEDGE_PORTS=a,b,c), data and keys under data/local (or NOVAEDGE_DATA). Writes a ProxyRoute on
// us-west, shows it replicated, prints the federation status, and runs until Ctrl-C.
import { resolve } from 'node:path';
import { startLocalFederation } from '../node/local/local-federation.ts';
import type { ControllerNode } from '../node/index.ts';

const dir = resolve(process.env.NOVAEDGE_DATA ?? 'data/local');
const ports = (process.env.NOVAEDGE_PORTS ?? '7101,7102,7103').split(',').map(Number);
if (ports.length !== 3 || !ports.every((p) => Number.isInteger(p) && p > 0 && p < 65536)) {
  console.error('NOVAEDGE_PORTS must be three TCP ports, e.g. 7101,7102,7103');
  process.exit(2);
}

function statusTable(node: ControllerNode): string {
  const s = node.status();
  const ago = (ms: number | undefined): string => (ms === undefined ? '-' : ms === 0 ? 'never' : `${((Date.now() - ms) / 1000).toFixed(1)}s ago`);
  const rows = s.members.map((m) => [m.name, m.region, m.status, m.syncLagMs === undefined ? '-' : `${(m.syncLagMs / 1000).toFixed(3)}s`, ago(m.lastSyncMs), String(m.agents)]);
  const head = ['NAME', 'REGION', 'STATUS', 'SYNC LAG', 'LAST SYNC', 'AGENTS'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)) + 3);
  const line = (r: string[]): string => `  ${r.map((c, i) => c.padEnd(widths[i]!)).join('').trimEnd()}`;
  return [`Federation: ${s.federationId}`, `Local Member: ${s.localMember}`, '', 'Members:', line(head), ...rows.map(line)].join('\n');
}

const nodes = await startLocalFederation({ dir, ports });
const [usWest, euWest, apEast] = nodes as [ControllerNode, ControllerNode, ControllerNode];
console.log(`local federation up: ${nodes.map((n) => `${n.membership.memberName} ${n.membership.multiaddrs()[0]}`).join(', ')}`);
console.log(`data and keys under ${dir} (resources held by us-west: ${(await usWest.list()).length})`);

const route = { apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name: 'test-route', namespace: 'default' },
  spec: { hostnames: ['test.example.com'], rules: [{ matches: [{ path: { type: 'PathPrefix', value: '/' } }], backendRef: { name: 'test-backend' } }], appliedAt: new Date().toISOString() } };
const t0 = performance.now();
const w = await usWest.apply(route, { durability: 'quorum' });
while ((await euWest.get(w.view.key))?.digest !== w.view.digest || (await apEast.get(w.view.key))?.digest !== w.view.digest) {
  await new Promise((r) => setTimeout(r, 1));
}
console.log(`applied ${w.view.key} on us-west; identical on eu-west and ap-east after ${(performance.now() - t0).toFixed(1)} ms\n`);
console.log(statusTable(usWest));
console.log('\nfederation ready; Ctrl-C stops every node cleanly');

let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  for (const n of nodes) await n.stop();
  console.log('stopped');
  process.exit(0);
};
process.on('SIGINT', () => void stop());
process.on('SIGTERM', () => void stop());
