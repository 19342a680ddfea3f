// The clients of a random run: writes (local and quorum durability, same keys on every controller so
// that concurrent versions meet), deletes, conflict resolutions (Manual) and reads on controllers and
// agents, at exponentially distributed intervals, all drawn from the run's seed.
import type { Resource } from '../../storage/logic/resource.ts';
import type { StrategyName } from '../../storage/logic/rules/conflict-rule.ts';
import type { SimRandom } from './random.ts';
import type { SimDriver } from './script/driver.ts';

/** How the clients behave. */
export interface WorkloadOptions {
  /** Mean time between two client operations, virtual ms. */
  meanIntervalMs: number;
  /** Distinct keys written (few: concurrent writes to one key are the interesting case). */
  keys: number;
  /** Fraction of writes asking quorum durability. */
  quorumFraction: number;
  /** Fraction of operations that are deletes. */
  deleteFraction: number;
  /** Fraction of operations that are reads. */
  readFraction: number;
}

export const WORKLOAD_DEFAULTS: Readonly<WorkloadOptions> = Object.freeze({
  meanIntervalMs: 40, keys: 6, quorumFraction: 0.4, deleteFraction: 0.08, readFraction: 0.15,
});

/** Counters of what the clients issued. */
export interface WorkloadCounts {
  writes: number;
  deletes: number;
  resolves: number;
  reads: number;
}

/** Issues random client operations on a driver; `next()` gives the delay until the next one. */
export class Workload {
  readonly counts: WorkloadCounts = { writes: 0, deletes: 0, resolves: 0, reads: 0 };
  readonly #rand: SimRandom;
  readonly #o: WorkloadOptions;
  readonly #strategy: StrategyName;
  #n = 0;

  constructor(rand: SimRandom, strategy: StrategyName, o: Partial<WorkloadOptions> = {}) {
    this.#rand = rand;
    this.#strategy = strategy;
    this.#o = { ...WORKLOAD_DEFAULTS, ...o };
  }

  /** Virtual ms until the next operation. */
  nextDelayMs(): number {
    return Math.max(1, Math.round(this.#rand.exponential(this.#o.meanIntervalMs)));
  }

  /** Issue one operation now (it settles later, recorded in the driver's history). */
  issue(d: SimDriver): void {
    const r = this.#rand;
    const { controllers, agents } = d.nodes();
    const name = `k${r.int(this.#o.keys)}`;
    const key = `ProxyRoute/default/${name}`;
    const durability = r.chance(this.#o.quorumFraction) ? 'quorum' : 'local';
    const p = r.float();
    if (p < this.#o.readFraction) {
      this.counts.reads++;
      d.read(r.pick([...controllers, ...agents]), key);
      return;
    }
    const node = r.pick(controllers);
    if (p < this.#o.readFraction + this.#o.deleteFraction) {
      this.counts.deletes++;
      d.delete(node, key, durability);
      return;
    }
    if (this.#strategy === 'Manual' && r.chance(0.15)) {
      this.counts.resolves++;
      d.resolve(node, key, r.chance(0.5) ? 'local' : 'remote', durability);
      return;
    }
    this.counts.writes++;
    const resource: Resource = {
      apiVersion: 'novaedge.io/v1alpha1', kind: 'ProxyRoute', metadata: { name, namespace: 'default' },
      // Merge needs fields that differ between writers to have something to merge.
      spec: { [`f${r.int(3)}`]: ++this.#n, by: node },
    } as Resource;
    d.apply(node, resource, durability);
  }
}
