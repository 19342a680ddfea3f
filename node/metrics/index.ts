// Public surface of the Prometheus exporter.
export { registerAgentMetrics, type AgentMetricsSource } from './agent-metrics.ts';
export { CONFLICT_COUNT_TTL_MS, PARTITION_STATES, partitionStateLabel, registerControllerMetrics, type ControllerMetricsOptions, type PartitionStateLabel } from './controller-metrics.ts';
export { liveCounter, liveGauge, type LiveMetricOptions, type Sample } from './live-metrics.ts';
export { startMetricsServer, type MetricsServer, type MetricsServerOptions } from './metrics-server.ts';
export { createNodeRegistry, type NodeInfoLabels, type NodeRegistryOptions } from './node-registry.ts';
