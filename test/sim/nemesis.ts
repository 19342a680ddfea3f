// The faults of a random run, drawn from the seed: partitions of any split (symmetric or one way,
// packets dropped or refused), connection resets, silenced and half-open connections, paused
// (SIGSTOP) and crashed nodes (kill -9, restarted later from their disks), clock steps within and
// beyond maxClockOffset, and degraded links (delay, gossip loss, duplication, reordering). Each fault
// lasts a random while and is then undone; at most `concurrentMax` are active at once. `healAll()`
// undoes everything before the run's quiet period.
import type { SimRandom } from './random.ts';
import type { SimDriver } from './script/driver.ts';

/** Kinds of fault. */
export const FAULT_KINDS = [
  'partition', 'one-way', 'reset', 'silence', 'half-open', 'pause', 'crash', 'clock-step', 'slow-link', 'lossy-gossip',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** How the nemesis behaves. */
export interface NemesisOptions {
  /** Mean time between two faults, virtual ms. */
  meanIntervalMs: number;
  /** Mean duration of a lasting fault, virtual ms. */
  meanDurationMs: number;
  /** Most lasting faults at once. */
  concurrentMax: number;
  /** Kinds allowed (default all). */
  kinds: readonly FaultKind[];
  /** The run's maxClockOffset: clock steps are drawn around it. */
  maxClockOffsetMs: number;
}

export const NEMESIS_DEFAULTS: Readonly<Omit<NemesisOptions, 'maxClockOffsetMs'>> = Object.freeze({
  meanIntervalMs: 2_000, meanDurationMs: 3_000, concurrentMax: 2, kinds: FAULT_KINDS,
});

interface Active {
  kind: FaultKind;
  untilMs: number;
  undo: () => Promise<void>;
}

/** Injects and undoes faults on a driver. */
export class Nemesis {
  readonly counts: Record<FaultKind, number> = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  readonly #rand: SimRandom;
  readonly #o: NemesisOptions;
  #active: Active[] = [];

  constructor(rand: SimRandom, o: Partial<NemesisOptions> & Pick<NemesisOptions, 'maxClockOffsetMs'>) {
    this.#rand = rand;
    this.#o = { ...NEMESIS_DEFAULTS, ...o };
  }

  /** Virtual ms until the next fault. */
  nextDelayMs(): number {
    return Math.max(1, Math.round(this.#rand.exponential(this.#o.meanIntervalMs)));
  }

  /** Undo the faults whose time is up, then maybe inject one. */
  async act(d: SimDriver): Promise<void> {
    await this.#expire(d, d.nowMs());
    if (this.#active.length >= this.#o.concurrentMax) return;
    const kind = this.#rand.pick(this.#o.kinds);
    const undo = await this.#inject(d, kind);
    if (undo === undefined) return;
    this.counts[kind]++;
    this.#active.push({ kind, untilMs: d.nowMs() + Math.round(this.#rand.exponential(this.#o.meanDurationMs)), undo });
  }

  /** Undo the faults due by `nowMs` (call often: before every fault and at the end). */
  async #expire(d: SimDriver, nowMs: number): Promise<void> {
    const due = this.#active.filter((a) => a.untilMs <= nowMs);
    this.#active = this.#active.filter((a) => a.untilMs > nowMs);
    for (const a of due) await a.undo();
  }

  /** Undo every fault now. */
  async healAll(d: SimDriver): Promise<void> {
    const all = this.#active;
    this.#active = [];
    for (const a of all) await a.undo();
    await d.heal();
  }

  /** The time the next active fault ends, if any. */
  nextExpiryMs(): number | undefined {
    return this.#active.length === 0 ? undefined : Math.min(...this.#active.map((a) => a.untilMs));
  }

  async #inject(d: SimDriver, kind: FaultKind): Promise<(() => Promise<void>) | undefined> {
    const r = this.#rand;
    const { controllers, agents } = d.nodes();
    const all = [...controllers, ...agents];
    const running = all.filter((n) => d.status(n).running);
    const pair = (): [string, string] | undefined => {
      if (running.length < 2) return undefined;
      const [a, b] = r.shuffled(running);
      return [a!, b!];
    };
    const mode = (): 'drop' | 'reject' => (r.chance(0.6) ? 'drop' : 'reject');
    switch (kind) {
      case 'partition': {
        // A random split of every node into two non-empty sides.
        const shuffled = r.shuffled(all);
        const k = 1 + r.int(all.length - 1);
        const left = shuffled.slice(0, k);
        const right = shuffled.slice(k);
        const m = mode();
        for (const a of left) for (const b of right) { await d.cut(a, b, m); await d.cut(b, a, m); }
        const pairs = left.flatMap((a) => right.map((b) => [a, b] as [string, string]));
        return () => d.heal(pairs);
      }
      case 'one-way': {
        const p = pair();
        if (p === undefined) return undefined;
        await d.cut(p[0], p[1], mode());
        return () => d.heal([p]);
      }
      case 'reset':
      case 'silence':
      case 'half-open': {
        // Connection faults: done at once, nothing to undo (new connections work).
        const p = pair();
        if (p === undefined) return undefined;
        const fault = { reset: d.reset, silence: d.silence, 'half-open': d.halfOpen }[kind];
        await fault.call(d, p[0], p[1]);
        return async () => undefined;
      }
      case 'pause':
      case 'crash': {
        const free = running.filter((n) => !(d.status(n) as { paused?: boolean }).paused);
        if (free.length === 0) return undefined;
        const n = r.pick(free);
        if (kind === 'pause') {
          await d.pause(n);
          return () => d.resume(n);
        }
        await d.crash(n);
        return () => d.restart(n);
      }
      case 'clock-step': {
        const n = r.pick(controllers);
        const before = d.skewOf(n);
        // Half within the allowed offset, half beyond it (ahead or behind).
        const bound = this.#o.maxClockOffsetMs;
        const size = r.chance(0.5) ? r.between(0, bound * 0.8) : r.between(bound * 1.5, bound * 20);
        await d.setSkew(n, Math.round(r.chance(0.5) ? size : -size));
        return () => d.setSkew(n, before);
      }
      case 'slow-link': {
        const p = pair();
        if (p === undefined) return undefined;
        const min = r.between(5, 200);
        await d.setLink(p[0], p[1], { delayMinMs: min, delayMaxMs: min * (1 + r.float()) });
        return () => d.setLink(p[0], p[1], { delayMinMs: 0.2, delayMaxMs: 0.8 });
      }
      case 'lossy-gossip': {
        await d.setLink(undefined, undefined, { dropRate: r.between(0, 0.3), duplicateRate: r.between(0, 0.2), reorderRate: r.between(0, 0.3) });
        return () => d.setLink(undefined, undefined, { dropRate: 0, duplicateRate: 0, reorderRate: 0 });
      }
    }
  }
}
