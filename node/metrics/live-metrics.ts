// prom-client metrics whose values are read from a node's live state at scrape time, rather than
// updated as things happen: the node already keeps its counters and status, so the exporter only
// looks at them. Counters stay monotonic even if a source goes backwards (a restarted component):
// a drop is taken as a reset, and what the source counts after it is added on top.
import { Counter, Gauge, type Registry } from 'prom-client';

/** One sample: label values (for the metric's label names) and a value. */
export interface Sample<L extends string> {
  /** Label values; every label name of the metric. */
  labels: Record<L, string>;
  /** The value. */
  value: number;
}

/** Definition shared by live counters and gauges. */
export interface LiveMetricOptions<L extends string> {
  /** Metric name (counters end in _total). */
  name: string;
  /** HELP text. */
  help: string;
  /** Label names ([] for none). */
  labelNames: readonly L[];
  /** Registry it belongs to (never the global one). */
  registry: Registry;
  /** Samples at this moment (async allowed: prom-client awaits collect). */
  read: () => Array<Sample<L>> | Promise<Array<Sample<L>>>;
}

const keyOf = (labels: Record<string, string>): string => JSON.stringify(Object.entries(labels).sort());

/** A counter that follows monotonic totals kept by the node. */
export function liveCounter<L extends string>(o: LiveMetricOptions<L>): Counter<L> {
  const last = new Map<string, number>();
  return new Counter<L>({
    name: o.name,
    help: o.help,
    labelNames: o.labelNames,
    registers: [o.registry],
    async collect() {
      for (const s of await o.read()) {
        if (!Number.isFinite(s.value) || s.value < 0) continue;
        const k = keyOf(s.labels);
        const before = last.get(k);
        last.set(k, s.value);
        // First sight: the whole total. A drop: the source restarted; count what it has counted since.
        const delta = before === undefined || s.value < before ? s.value : s.value - before;
        if (o.labelNames.length === 0) this.inc(delta);
        else this.inc(s.labels as Partial<Record<L, string | number>>, delta);
      }
    },
  });
}

/** A gauge set from the node's state on every scrape; label sets that disappeared are dropped. */
export function liveGauge<L extends string>(o: LiveMetricOptions<L>): Gauge<L> {
  return new Gauge<L>({
    name: o.name,
    help: o.help,
    labelNames: o.labelNames,
    registers: [o.registry],
    async collect() {
      const samples = await o.read();
      this.reset();
      for (const s of samples) {
        if (o.labelNames.length === 0) this.set(s.value);
        else this.set(s.labels as Partial<Record<L, string | number>>, s.value);
      }
    },
  });
}

/** A single unlabelled sample. */
export function one(value: number): Array<Sample<never>> {
  return [{ labels: {} as Record<never, string>, value }];
}
