// Virtual time for the whole-cluster simulation: one event queue ordered by (time, sequence), the
// clocks and timers of every node, and a run loop that lets each event's promise continuations
// settle before time moves on. The anchors are TigerBeetle's simulator (src/testing/time.zig: the
// replica's clock is a function of ticks plus a per-replica offset; cluster.zig: one loop drives
// every replica and the network) and FoundationDB's simulation.
//
// Nodes. `boot(name)` starts an incarnation of a node and gives it its components: TimerComponents
// (nowMs = virtual time + a per-incarnation offset, like a fresh process's monotonic clock;
// setTimeout/clearTimeout into the queue), a wall clock (virtual time + the node's skew, which a test
// may set, jump or let drift at any instant; the skew belongs to the machine and survives restarts)
// and a RandomSource forked from the seed by name and incarnation. `crash(name)` ends the incarnation:
// its timers never fire and the events addressed to it with its incarnation are dropped; the next
// `boot(name)` gets fresh components (the old ones stay inert, so code of the dead incarnation that
// still holds them cannot wake up). `pause(name)` is SIGSTOP: events addressed to the node (its
// timers, deliveries to it) are held and run, in their order, at `resume(name)`.
//
// The loop. `step()` pops the next event, advances time to it, runs it, then settles: it waits for
// every microtask, process.nextTick and setImmediate the event caused (and any I/O request it
// started, though node code in a simulation should do none) before the next event. Settling is an
// `await` on a real setImmediate, repeated while the process still has immediates or new I/O
// requests pending (process.getActiveResourcesInfo). Real timers are not waited for: node code that
// uses them is what the guard (real-time-guard.ts) reports. The same seed and the same code give
// the same sequence of events; `traceHash()` is a SHA-256 over every event run (time, sequence,
// node, incarnation, label) to prove it.

import { createHash, type Hash } from 'node:crypto';
import type { RandomSource, TimerComponents, TimerHandle, WallClock } from '../../node/components.ts';
import { SimRandom } from './random.ts';
import { RealTimeGuard, type RealTimeGuardOptions } from './real-time-guard.ts';

// Captured at load, before any guard wraps them.
const realSetImmediate = globalThis.setImmediate;
const realPerformanceNow = performance.now.bind(performance);

/** Default start of simulated wall time: 2026-01-01T00:00:00Z. */
export const SIM_EPOCH_MS_DEFAULT = Date.UTC(2026, 0, 1);
/** Node's longest timer delay; longer ones (and NaN, < 1) fire after 1 ms, as in Node. */
export const TIMER_DELAY_MAX_MS = 2_147_483_647;
/** How long settling waits in real time for I/O an event started before giving up on it. */
export const SETTLE_IO_WAIT_MS_DEFAULT = 2_000;
/** Immediates one settle may run before the run fails as a livelock (code that yields forever). */
export const SETTLE_SPINS_MAX = 200_000;
/** Trace lines kept for a failing run's report. */
export const TRACE_TAIL_LINES_DEFAULT = 200;
/** Spread of per-incarnation monotonic clock offsets, ms. */
const MONOTONIC_OFFSET_SPREAD_MS = 3_600_000;

/** Something to run at a virtual instant. */
export type EventFn = () => unknown;

/** A scheduled event; also the handle of a timer. */
export interface SimEvent {
  /** When it runs (a held event is moved to its resume time, keeping its identity as a handle). */
  at: number;
  seq: number;
  readonly label: string;
  /** The node it is addressed to (held while it is paused), if any. */
  readonly node: string | undefined;
  /** The incarnation it belongs to: dropped once that incarnation ended. Undefined: any. */
  readonly incarnation: number | undefined;
  readonly fn: EventFn;
  cancelled: boolean;
}

/** What a node gets from the simulation: the clock, timer and randomness components. */
export interface NodeRuntime {
  readonly name: string;
  /** 1 for the first boot, then one more per boot. */
  readonly incarnation: number;
  /** Monotonic clock and timers (node/components.ts TimerComponents). */
  readonly timers: TimerComponents;
  /** Wall clock: virtual time plus the node's skew, in whole ms (as Date.now). */
  readonly wallClock: WallClock;
  /** Randomness of this incarnation. */
  readonly random: RandomSource;
  /** The same stream, with the simulation's helpers (fork, int, exponential...). */
  readonly rand: SimRandom;
  /** Whether this incarnation is still the node's current one and not crashed. */
  alive(): boolean;
}

/** Options of a scheduler. */
export interface SchedulerOptions {
  /** The seed of the whole run. */
  seed: number;
  /** Simulated wall time at virtual time 0 (default SIM_EPOCH_MS_DEFAULT). */
  epochMs?: number;
  /** Keep every trace line (memory grows with the run); default only the last TRACE_TAIL_LINES_DEFAULT. */
  recordTrace?: boolean;
  /** An event that throws fails the run (default 'throw'); 'record' counts it in stats().eventErrors. */
  onEventError?: 'throw' | 'record';
  /** Count uses of the real clock, timers and randomness while the loop runs (default on; false: off). */
  guard?: RealTimeGuardOptions | false;
  /** Real time settling waits for I/O started by an event (default SETTLE_IO_WAIT_MS_DEFAULT). */
  settleIoWaitMs?: number;
}

/** Counters of a scheduler. */
export interface SchedulerStats {
  /** Virtual milliseconds since the start. */
  nowMs: number;
  eventsRun: number;
  timersSet: number;
  timersFired: number;
  timersCancelled: number;
  /** Timers set with a delay Node would clamp to 1 ms (NaN, < 1 when nonzero requested, > TIMER_DELAY_MAX_MS). */
  timersOverflowed: number;
  /** Events dropped because their incarnation had ended. */
  eventsDropped: number;
  /** Events held for a paused node, ever. */
  eventsDeferred: number;
  /** Events that threw (when onEventError is 'record'). */
  eventErrors: number;
  /** Settles that waited for I/O requests (node code doing real I/O: a determinism risk). */
  ioWaits: number;
  /** Settles that gave up on an I/O request after settleIoWaitMs (left running, unordered). */
  ioAbandoned: number;
  /** Settles that waited, by kind of I/O resource (e.g. FSReqPromise: node code touched the disk). */
  ioWaitsByType: Record<string, number>;
  /** Events waiting. */
  queued: number;
}

/** The run loop stopped on a condition deadline; stable code SIM_DEADLINE. */
export class SimDeadlineError extends Error {
  readonly code = 'SIM_DEADLINE';
  override readonly name = 'SimDeadlineError';
}

/** An event threw; stable code SIM_EVENT_FAILED. */
export class SimEventError extends Error {
  readonly code = 'SIM_EVENT_FAILED';
  override readonly name = 'SimEventError';
}

interface NodeSlot {
  name: string;
  incarnation: number;
  state: 'never' | 'up' | 'down';
  paused: boolean;
  deferred: SimEvent[];
  monotonicOffsetMs: number;
  /** Wall clock minus true time at `driftSinceMs`, ms. */
  skewMs: number;
  /** Drift, parts per million (positive: runs fast). */
  driftPpm: number;
  driftSinceMs: number;
  /** Components of the current incarnation. */
  runtime: NodeRuntime | undefined;
}

/** A binary min-heap of events by (at, seq). */
class EventHeap {
  readonly #items: SimEvent[] = [];

  get size(): number {
    return this.#items.length;
  }

  push(e: SimEvent): void {
    const a = this.#items;
    a.push(e);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i]!, a[p]!)) break;
      [a[i], a[p]] = [a[p]!, a[i]!];
      i = p;
    }
  }

  peek(): SimEvent | undefined {
    return this.#items[0];
  }

  pop(): SimEvent | undefined {
    const a = this.#items;
    const top = a[0];
    const last = a.pop();
    if (a.length === 0 || last === undefined) return top;
    a[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && before(a[l]!, a[m]!)) m = l;
      if (r < a.length && before(a[r]!, a[m]!)) m = r;
      if (m === i) break;
      [a[i], a[m]] = [a[m]!, a[i]!];
      i = m;
    }
    return top;
  }
}

function before(x: SimEvent, y: SimEvent): boolean {
  return x.at < y.at || (x.at === y.at && x.seq < y.seq);
}

/** Node's delay rule for setTimeout: whole milliseconds; NaN, < 1 or > TIMER_DELAY_MAX_MS become 1. */
function nodeTimerDelay(ms: number): { delay: number; overflowed: boolean } {
  const n = Number(ms);
  if (!(n >= 1 && n <= TIMER_DELAY_MAX_MS)) return { delay: 1, overflowed: !(n >= 0 && n < 1) };
  return { delay: Math.trunc(n), overflowed: false };
}

/** Virtual time, node clocks and the run loop. */
export class Scheduler {
  /** The root random stream of the run (fork it: `random.fork('net')`). */
  readonly random: SimRandom;
  readonly seed: number;
  readonly epochMs: number;
  /** Counts uses of the real clock, timers and randomness while the loop runs; undefined when off. */
  readonly guard: RealTimeGuard | undefined;
  readonly #heap = new EventHeap();
  readonly #nodes = new Map<string, NodeSlot>();
  readonly #hash: Hash = createHash('sha256');
  readonly #tail: string[] = [];
  readonly #trace: string[] | undefined;
  readonly #onEventError: 'throw' | 'record';
  readonly #settleIoWaitMs: number;
  #now = 0;
  #seq = 0;
  #running = false;
  #firstError: unknown;
  #hasError = false;
  #ioBaseline = new Map<string, number>();
  readonly #ioTypes = new Map<string, number>();
  readonly #stats = {
    eventsRun: 0, timersSet: 0, timersFired: 0, timersCancelled: 0, timersOverflowed: 0, eventsDropped: 0,
    eventsDeferred: 0, eventErrors: 0, ioWaits: 0, ioAbandoned: 0,
  };

  constructor(options: SchedulerOptions) {
    this.seed = options.seed;
    this.random = new SimRandom(options.seed);
    this.epochMs = options.epochMs ?? SIM_EPOCH_MS_DEFAULT;
    this.#trace = options.recordTrace === true ? [] : undefined;
    this.#onEventError = options.onEventError ?? 'throw';
    this.#settleIoWaitMs = options.settleIoWaitMs ?? SETTLE_IO_WAIT_MS_DEFAULT;
    this.guard = options.guard === false ? undefined : new RealTimeGuard(options.guard ?? {});
  }

  /** Virtual milliseconds since the start of the run. */
  nowMs(): number {
    return this.#now;
  }

  /** True simulated wall time (no node's skew), ms since the epoch. */
  trueWallMs(): number {
    return this.epochMs + this.#now;
  }

  // ---- nodes ------------------------------------------------------------------------------------

  #slot(name: string): NodeSlot {
    let s = this.#nodes.get(name);
    if (s === undefined) {
      s = {
        name, incarnation: 0, state: 'never', paused: false, deferred: [], monotonicOffsetMs: 0,
        skewMs: 0, driftPpm: 0, driftSinceMs: 0, runtime: undefined,
      };
      this.#nodes.set(name, s);
    }
    return s;
  }

  /**
   * Start a new incarnation of `name` (ending the current one, if running, as a process exit would)
   * and return its components.
   */
  boot(name: string): NodeRuntime {
    const s = this.#slot(name);
    if (s.state === 'up') this.#end(s);
    s.incarnation += 1;
    s.state = 'up';
    s.paused = false;
    const rand = this.random.fork(`node:${name}#${s.incarnation}`);
    s.monotonicOffsetMs = Math.floor(rand.fork('monotonic').float() * MONOTONIC_OFFSET_SPREAD_MS);
    this.note(`boot ${name}#${s.incarnation}`);
    s.runtime = this.#runtime(s, s.incarnation, rand);
    return s.runtime;
  }

  /** The components of the current incarnation of `name` (throws if it is not running). */
  runtime(name: string): NodeRuntime {
    const s = this.#nodes.get(name);
    if (s === undefined || s.state !== 'up' || s.runtime === undefined) throw new Error(`node ${name} is not running`);
    return s.runtime;
  }

  #runtime(s: NodeSlot, incarnation: number, rand: SimRandom): NodeRuntime {
    const alive = (): boolean => s.incarnation === incarnation && s.state === 'up';
    const timers: TimerComponents = {
      nowMs: () => this.epochMs + s.monotonicOffsetMs + this.#now,
      setTimeout: (fn: () => void, ms: number): TimerHandle => {
        const { delay, overflowed } = nodeTimerDelay(ms);
        this.#stats.timersSet += 1;
        if (overflowed) this.#stats.timersOverflowed += 1;
        if (!alive()) return this.#inert(s.name);
        return this.#push(this.#now + delay, 'timer', s.name, incarnation, () => {
          this.#stats.timersFired += 1;
          fn();
        });
      },
      clearTimeout: (handle: TimerHandle): void => {
        if (handle === undefined || handle === null) return;
        const e = handle as SimEvent;
        if (typeof e !== 'object' || !('cancelled' in e) || e.node !== s.name) return;
        if (!e.cancelled) this.#stats.timersCancelled += 1;
        e.cancelled = true;
      },
      // The next turn: an event at this virtual instant, after those already due at it.
      setImmediate: (fn: () => void): void => {
        if (alive()) this.#push(this.#now, 'immediate', s.name, incarnation, fn);
      },
    };
    const wallClock: WallClock = () => this.#wallOf(s);
    return { name: s.name, incarnation, timers, wallClock, random: rand.source(), rand, alive };
  }

  #inert(name: string): SimEvent {
    return { at: Infinity, seq: -1, label: 'inert', node: name, incarnation: -1, fn: () => undefined, cancelled: true };
  }

  /** Whether `name` runs now (booted, not crashed); paused nodes run. */
  isUp(name: string): boolean {
    return this.#nodes.get(name)?.state === 'up';
  }

  /** The current incarnation of `name` (0 if never booted). */
  incarnation(name: string): number {
    return this.#nodes.get(name)?.incarnation ?? 0;
  }

  /** End the current incarnation of `name` at once: no timer or event of it runs again. */
  crash(name: string): void {
    const s = this.#slot(name);
    if (s.state !== 'up') return;
    this.#end(s);
    s.state = 'down';
    this.note(`crash ${name}#${s.incarnation}`);
  }

  #end(s: NodeSlot): void {
    s.paused = false;
    // Events of other kinds addressed to it (network deliveries) are re-queued; its own are dropped.
    const held = s.deferred.splice(0);
    for (const e of held) if (e.incarnation === undefined && !e.cancelled) this.#requeue(e);
    // Queued timers of the ended incarnation are dropped when popped (incarnation check).
  }

  /** Stop running `name`'s events (SIGSTOP): they are held until `resume`. Its clocks keep going. */
  pause(name: string): void {
    const s = this.#slot(name);
    if (s.state !== 'up' || s.paused) return;
    s.paused = true;
    this.note(`pause ${name}`);
  }

  /** Run the events held for `name`, in their order, from now on (SIGCONT). */
  resume(name: string): void {
    const s = this.#slot(name);
    if (!s.paused) return;
    s.paused = false;
    this.note(`resume ${name} (${s.deferred.length} held)`);
    for (const e of s.deferred.splice(0)) this.#requeue(e);
  }

  /** Whether `name` is paused. */
  isPaused(name: string): boolean {
    return this.#nodes.get(name)?.paused === true;
  }

  #requeue(e: SimEvent): void {
    e.at = this.#now;
    e.seq = this.#seq++;
    this.#heap.push(e);
  }

  // ---- clocks -----------------------------------------------------------------------------------

  // Whole milliseconds, as Date.now() (virtual time itself has fractions: link latencies).
  #wallOf(s: NodeSlot): number {
    return Math.floor(this.epochMs + this.#now + s.skewMs + (s.driftPpm * (this.#now - s.driftSinceMs)) / 1e6);
  }

  /** `name`'s wall clock now (whether running or not). */
  wallMsOf(name: string): number {
    return this.#wallOf(this.#slot(name));
  }

  /** `name`'s wall clock minus true time, ms. */
  skewOf(name: string): number {
    return this.wallMsOf(name) - this.trueWallMs();
  }

  #settleDrift(s: NodeSlot): void {
    s.skewMs += (s.driftPpm * (this.#now - s.driftSinceMs)) / 1e6;
    s.driftSinceMs = this.#now;
  }

  /** Set `name`'s wall clock to true time + `skewMs` now (a step if it differed). */
  setSkew(name: string, skewMs: number): void {
    const s = this.#slot(name);
    this.#settleDrift(s);
    s.skewMs = skewMs;
    this.note(`skew ${name} ${skewMs}`);
  }

  /** Step `name`'s wall clock by `deltaMs` (negative: backwards), as `date -s` or NTP would. */
  jumpClock(name: string, deltaMs: number): void {
    const s = this.#slot(name);
    this.#settleDrift(s);
    s.skewMs += deltaMs;
    this.note(`jump ${name} ${deltaMs}`);
  }

  /** Let `name`'s wall clock drift by `ppm` parts per million from now on (positive: fast). */
  setDrift(name: string, ppm: number): void {
    const s = this.#slot(name);
    this.#settleDrift(s);
    s.driftPpm = ppm;
    this.note(`drift ${name} ${ppm}`);
  }

  // ---- events -----------------------------------------------------------------------------------

  #push(at: number, label: string, node: string | undefined, incarnation: number | undefined, fn: EventFn): SimEvent {
    const e: SimEvent = { at, seq: this.#seq++, label, node, incarnation, fn, cancelled: false };
    this.#heap.push(e);
    return e;
  }

  /**
   * Run `fn` `delayMs` virtual ms from now (≥ 0, fractions allowed). With `node`, the event is
   * addressed to that node: held while it is paused; with `incarnation` too, dropped once that
   * incarnation ended. Returns the event (cancel with `cancel`).
   */
  schedule(delayMs: number, label: string, fn: EventFn, target?: { node?: string; incarnation?: number }): SimEvent {
    if (!(delayMs >= 0) || !Number.isFinite(delayMs)) throw new RangeError(`schedule: delay must be finite and ≥ 0, not ${delayMs}`);
    return this.#push(this.#now + delayMs, label, target?.node, target?.incarnation, fn);
  }

  /** Run `fn` at virtual time `atMs` (not before now). */
  at(atMs: number, label: string, fn: EventFn, target?: { node?: string; incarnation?: number }): SimEvent {
    return this.schedule(Math.max(0, atMs - this.#now), label, fn, target);
  }

  /** Cancel a scheduled event (no-op if it ran or was cancelled). */
  cancel(e: SimEvent | undefined): void {
    if (e !== undefined) e.cancelled = true;
  }

  /** Add a line to the trace (and its hash) without an event: faults, decisions of the world. */
  note(line: string): void {
    this.#record(`${fmt(this.#now)} ! ${line}`);
  }

  #record(line: string): void {
    this.#hash.update(line);
    this.#hash.update('\n');
    this.#trace?.push(line);
    this.#tail.push(line);
    if (this.#tail.length > TRACE_TAIL_LINES_DEFAULT) this.#tail.shift();
  }

  /** SHA-256 (hex) of the trace so far: equal for equal runs. */
  traceHash(): string {
    return this.#hash.copy().digest('hex');
  }

  /** The last trace lines (for a failing seed's report). */
  traceTail(n = TRACE_TAIL_LINES_DEFAULT): string[] {
    return this.#tail.slice(-n);
  }

  /** Every trace line (only with recordTrace). */
  trace(): readonly string[] {
    if (this.#trace === undefined) throw new Error('trace() needs SchedulerOptions.recordTrace');
    return this.#trace;
  }

  /** Counters. */
  stats(): SchedulerStats {
    return { nowMs: this.#now, ...this.#stats, ioWaitsByType: Object.fromEntries(this.#ioTypes), queued: this.#heap.size };
  }

  /** Time of the next event that would run, or undefined when none is queued. */
  nextEventAt(): number | undefined {
    this.#dropDead();
    return this.#heap.peek()?.at;
  }

  // Pops cancelled, stale and held events off the top so that the top is runnable.
  #dropDead(): void {
    for (;;) {
      const e = this.#heap.peek();
      if (e === undefined) return;
      if (e.cancelled) {
        this.#heap.pop();
        continue;
      }
      const s = e.node === undefined ? undefined : this.#nodes.get(e.node);
      if (s !== undefined && e.incarnation !== undefined && (e.incarnation !== s.incarnation || s.state !== 'up')) {
        this.#heap.pop();
        this.#stats.eventsDropped += 1;
        continue;
      }
      if (s !== undefined && s.paused) {
        this.#heap.pop();
        s.deferred.push(e);
        this.#stats.eventsDeferred += 1;
        continue;
      }
      return;
    }
  }

  // ---- the loop ---------------------------------------------------------------------------------

  /** Run the next event (and settle); false when none is queued. */
  async step(): Promise<boolean> {
    return (await this.#loop(() => true, Infinity)) > 0;
  }

  /** Run every event up to virtual time `atMs`, then set the time to `atMs`. */
  async runUntil(atMs: number): Promise<void> {
    await this.#loop(() => false, atMs);
    if (this.#now < atMs) this.#now = atMs;
  }

  /** Run for `ms` virtual milliseconds. */
  async runFor(ms: number): Promise<void> {
    await this.runUntil(this.#now + ms);
  }

  /**
   * Run until `done()` holds (checked before the first event and after each), at most `withinMs`
   * virtual ms; throws SimDeadlineError (with `what`) when it does not hold by then. Returns the
   * virtual time it took.
   */
  async runUntilTrue(what: string, done: () => boolean, withinMs: number): Promise<number> {
    const start = this.#now;
    const deadline = this.#now + withinMs;
    await this.#loop(done, deadline, true);
    if (!done()) {
      if (this.#now < deadline) this.#now = deadline;
      throw new SimDeadlineError(`${what}: not true within ${withinMs} virtual ms (now ${fmt(this.#now)} ms)`);
    }
    return this.#now - start;
  }

  /** Run until no event is queued (beware periodic timers), at most `withinMs` virtual ms. */
  async runUntilIdle(withinMs: number): Promise<void> {
    await this.runUntilTrue('queue empty', () => this.nextEventAt() === undefined, withinMs);
  }

  // Runs events up to `untilMs` until `stop()` (checked after each event, and before the first
  // when `checkFirst`); returns how many ran.
  async #loop(stop: () => boolean, untilMs: number, checkFirst = false): Promise<number> {
    if (this.#running) throw new Error('the simulation loop is already running');
    this.#running = true;
    this.guard?.install();
    this.#ioBaseline = ioResourceCounts();
    let n = 0;
    try {
      await this.#settle();
      if (checkFirst && stop()) return 0;
      for (;;) {
        this.#dropDead();
        const e = this.#heap.peek();
        if (e === undefined || e.at > untilMs) break;
        this.#heap.pop();
        if (e.at > this.#now) this.#now = e.at;
        this.#stats.eventsRun += 1;
        this.#record(`${fmt(e.at)} ${e.seq} ${e.node ?? '-'}${e.incarnation === undefined ? '' : `#${e.incarnation}`} ${e.label}`);
        try {
          const r = e.fn();
          if (isThenable(r)) r.then(undefined, (err: unknown) => this.#eventFailed(e, err));
        } catch (err) {
          this.#eventFailed(e, err);
        }
        await this.#settle();
        n += 1;
        if (this.#hasError) {
          const err = this.#firstError;
          this.#hasError = false;
          this.#firstError = undefined;
          throw new SimEventError(`event "${e.label}" at ${fmt(e.at)} ms failed: ${String(err)}`, { cause: err });
        }
        if (stop()) break;
      }
      return n;
    } finally {
      this.guard?.uninstall();
      this.#running = false;
    }
  }

  #eventFailed(e: SimEvent, err: unknown): void {
    this.#stats.eventErrors += 1;
    if (this.#onEventError === 'record') {
      this.note(`error in ${e.label}: ${String(err)}`);
      return;
    }
    if (!this.#hasError) {
      this.#hasError = true;
      this.#firstError = err;
    }
  }

  // Wait until the event's continuations are done: microtasks and nextTicks drain before each
  // immediate; repeat while immediates or new I/O requests are pending.
  async #settle(): Promise<void> {
    let started: number | undefined;
    for (let spins = 0; ; spins++) {
      if (spins === SETTLE_SPINS_MAX) {
        throw new SimEventError(`settling did not finish after ${SETTLE_SPINS_MAX} immediates at ${fmt(this.#now)} ms: code that yields forever (a setImmediate loop)`);
      }
      await new Promise<void>((r) => realSetImmediate(r));
      const { immediates, io, ioTypes } = pendingWork(this.#ioBaseline);
      if (immediates === 0 && io === 0) return;
      if (io > 0) {
        if (started === undefined) {
          started = realPerformanceNow();
          this.#stats.ioWaits += 1;
          for (const k of ioTypes) this.#ioTypes.set(k, (this.#ioTypes.get(k) ?? 0) + 1);
        } else if (realPerformanceNow() - started > this.#settleIoWaitMs) {
          this.#stats.ioAbandoned += 1;
          this.#ioBaseline = ioResourceCounts();
          this.note(`settle gave up on I/O after ${this.#settleIoWaitMs} real ms`);
          return;
        }
      }
    }
  }
}

function isThenable(x: unknown): x is PromiseLike<unknown> {
  return typeof x === 'object' && x !== null && typeof (x as { then?: unknown }).then === 'function';
}

/** Virtual time in trace lines: ms with microsecond precision. */
function fmt(ms: number): string {
  return ms.toFixed(3);
}

// Resources that are not timers or immediates, by type (sockets, pipes, fs requests...).
function ioResourceCounts(): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) if (r !== 'Timeout' && r !== 'Immediate') m.set(r, (m.get(r) ?? 0) + 1);
  return m;
}

function pendingWork(baseline: Map<string, number>): { immediates: number; io: number; ioTypes: string[] } {
  let immediates = 0;
  const now = new Map<string, number>();
  for (const r of process.getActiveResourcesInfo()) {
    if (r === 'Timeout') continue;
    if (r === 'Immediate') immediates += 1;
    else now.set(r, (now.get(r) ?? 0) + 1);
  }
  let io = 0;
  const ioTypes: string[] = [];
  for (const [k, v] of now) {
    const extra = v - (baseline.get(k) ?? 0);
    if (extra > 0) {
      io += extra;
      ioTypes.push(k);
    }
  }
  return { immediates, io, ioTypes };
}
