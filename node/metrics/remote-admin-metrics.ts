// Metrics of the remote admin protocol (node/admin/remote-admin.ts), on a controller that serves
// remote clients: calls by role and method, and client connections now. Label values are bounded:
// two roles, and the method table's names (unknown methods count as "?").
import type { Registry } from 'prom-client';
import type { AdminServerCounters } from '../admin/admin-service.ts';
import { liveCounter, liveGauge, one } from './live-metrics.ts';

/** What the metrics read. */
export interface RemoteAdminMetricsSource {
  /** The remote admin's counters. */
  counters(): AdminServerCounters;
  /** Client connections authenticated now. */
  clients(): number;
}

/** Register the remote admin metrics on `registry`. */
export function registerRemoteAdminMetrics(registry: Registry, src: RemoteAdminMetricsSource): void {
  liveCounter({
    name: 'novaedge_admin_remote_calls_total',
    help: 'Admin calls from remote clients, by certificate role and method ("?" for an unknown method).',
    labelNames: ['role', 'method'],
    registry,
    read: () => Object.entries(src.counters().remoteCalls).map(([key, value]) => {
      const [role = '', method = ''] = key.split(' ');
      return { labels: { role, method }, value };
    }),
  });
  liveCounter({
    name: 'novaedge_admin_remote_forbidden_total',
    help: 'Remote calls refused with FORBIDDEN (a viewer calling a method that changes the federation).',
    labelNames: [],
    registry,
    read: () => one(src.counters().errors.FORBIDDEN ?? 0),
  });
  liveGauge({
    name: 'novaedge_admin_remote_clients',
    help: 'Remote client connections (operators and viewers) authenticated now.',
    labelNames: [],
    registry,
    read: () => one(src.clients()),
  });
}
