// `federation sync` and `federation reconcile`: what each anti-entropy session did.
import type { ReconcileResult, SyncResult } from '../../node/admin/controller-api.ts';
import type { AntiEntropyReport } from '../../node/replication/anti-entropy-client.ts';
import { formatTable } from './format-table.ts';
import { formatDuration } from './format-time.ts';

function summary(r: AntiEntropyReport): string {
  if (r.inSync) return `already in sync (${formatDuration(r.durationMs)})`;
  return `${r.differingKeys} differing keys: pulled ${r.pulled}, pushed ${r.pushed}` +
    `${r.rejected === 0 ? '' : `, refused ${r.rejected}`} in ${r.roundTrips} round trips, ${r.bytesSent + r.bytesReceived} bytes, ${formatDuration(r.durationMs)}`;
}

/** One sync. */
export function formatSync(r: SyncResult): string {
  return `synced with ${r.peer}: ${summary(r.report)}`;
}

/** Every peer of a reconcile. */
export function formatReconcile(r: ReconcileResult): string {
  if (r.peers.length === 0) return 'No controller connected: nothing to reconcile.';
  const rows = r.peers.map((p) => p.ok
    ? [p.peer, p.report.inSync ? 'in sync' : 'repaired', String(p.report.differingKeys), String(p.report.pulled), String(p.report.pushed), formatDuration(p.report.durationMs)]
    : [p.peer, `failed: ${p.error.code}: ${p.error.message}`, '-', '-', '-', '-']);
  return formatTable(['PEER', 'RESULT', 'DIFFERING', 'PULLED', 'PUSHED', 'DURATION'], rows);
}
