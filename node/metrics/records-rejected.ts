// novaedge_federation_records_rejected_total{peer,reason}: records refused from peers (push,
// anti-entropy, an agent's config stream), read from the node's RecordRejections. Controllers and
// agents both apply peers' records, so both register it.
import type { Registry } from 'prom-client';
import type { RejectionCount } from '../replication/record-rejections.ts';
import { liveCounter } from './live-metrics.ts';

/** Register the counter, reading the totals from `counts` at each scrape. */
export function registerRecordsRejected(registry: Registry, counts: () => RejectionCount[]): void {
  liveCounter({
    name: 'novaedge_federation_records_rejected_total', registry, labelNames: ['peer', 'reason'],
    help: 'Records refused from each peer, by reason (clock_skew, too_large, invalid_resource, key_mismatch, invalid_version_vector, invalid_system_record, unknown_kind, malformed, ...): never stored nor relayed.',
    read: () => counts().map((c) => ({ labels: { peer: c.peer, reason: c.reason }, value: c.count })),
  });
}
