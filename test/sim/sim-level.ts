// A crashable in-memory store database for the simulation: an abstract-level database (the store's
// StoreDb) whose writes become visible and durable only when a simulated fsync completes. The fsync
// takes as long as the injected `delay` says (virtual time: the simulation's scheduler), one at a
// time, so writes land in submission order; every write submitted before an fsync starts lands with
// it, atomically per write (a batch is all or nothing). `crash()` drops what was not yet durable and
// hands back a new database over the durable data for the restarted node to open.
//
// The durable data lives in one memory-level database (the "disk"), shared by a node's successive
// incarnations and written only by completed fsyncs, so reading it is reading what survived. A
// crashed incarnation is dead like a killed process: every operation on it, pending or new, never
// settles (no error reaches the dead node's code to act upon), and it cannot be opened again.
// Nothing here uses a real timer or the host's event-loop order: a run is as deterministic as its
// scheduler.
import { AbstractIterator, AbstractLevel } from 'abstract-level';
import type { AbstractSnapshot } from 'abstract-level';
import { MemoryLevel } from 'memory-level';

/** Schedules `fn` to run when a simulated fsync completes (on the simulation's virtual clock). */
export type FsyncDelay = (fn: () => void) => void;

/** Options of a simulated database. */
export interface SimLevelOptions {
  /** Called once per fsync with its completion; e.g. `(fn) => timers.setTimeout(fn, fsyncMs)`. */
  delay: FsyncDelay;
}

/** Opening a crashed incarnation (the restarted node must open the one `crash()` returned); code SIM_CRASHED. */
export class SimCrashedError extends Error {
  readonly code = 'SIM_CRASHED';
  constructor() {
    super('SimLevel: this database crashed; open the one its crash() returned');
  }
}

type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };
type Durable = MemoryLevel<string, string>;

interface Write {
  ops: Op[];
  resolve: () => void;
  reject: (err: unknown) => void;
}

/** A promise that never settles: what a dead process observes. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

// One node's disk: its durable data and its fsync queue, outliving its incarnations.
class SimDisk {
  readonly durable: Durable = new MemoryLevel<string, string>({ keyEncoding: 'utf8', valueEncoding: 'utf8', storeEncoding: 'utf8' });
  readonly delay: FsyncDelay;
  // Submitted, waiting for the next fsync.
  #queued: Write[] = [];
  // In the fsync in flight (undefined: none in flight).
  #syncing: Write[] | undefined;
  // Bumped by a crash: an fsync started before it completes nothing.
  #epoch = 0;
  fsyncs = 0;
  lostWrites = 0;

  constructor(delay: FsyncDelay) {
    this.delay = delay;
  }

  get unsynced(): number {
    return this.#queued.length + (this.#syncing?.length ?? 0);
  }

  submit(ops: Op[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#queued.push({ ops, resolve, reject });
      this.#startFsync();
    });
  }

  // Everything not yet durable is gone; its writers are never answered.
  crash(): void {
    this.lostWrites += this.unsynced;
    this.#queued = [];
    this.#syncing = undefined;
    this.#epoch++;
  }

  #startFsync(): void {
    if (this.#syncing !== undefined || this.#queued.length === 0) return;
    const group = this.#queued.splice(0);
    const epoch = this.#epoch;
    this.#syncing = group;
    this.delay(() => {
      if (epoch !== this.#epoch) return;
      if (this.durable.status !== 'open') throw new Error('assertion: SimLevel fsync completed on a disk that is not open');
      this.fsyncs++;
      // One batch for the group: a crash comes before all of it or after all of it. memory-level
      // applies it as the call is made; the writers hear of it once it resolves.
      this.durable.batch(group.flatMap((w) => w.ops)).then(() => {
        if (epoch !== this.#epoch) return; // durable, but the process died before it could answer
        this.#syncing = undefined;
        for (const w of group) w.resolve();
        this.#startFsync();
      }, (err: unknown) => {
        for (const w of group) w.reject(err);
      });
    });
  }
}

const kDisk: unique symbol = Symbol('SimLevel.disk');

// Options of the private API (what abstract-level passes after encoding: utf8 strings here).
interface ReadOptions {
  snapshot?: AbstractSnapshot;
}
interface IteratorOptions extends ReadOptions {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  reverse?: boolean;
  limit?: number;
  keys?: boolean;
  values?: boolean;
}

/** The simulated store database of one node (see the top of this file). */
export class SimLevel extends AbstractLevel<string | Uint8Array | Buffer, string, string> {
  readonly #disk: SimDisk;
  #crashed = false;
  // Iterators of the disk this incarnation has open: released when it crashes.
  readonly #held = new Set<{ close(): Promise<void> }>();

  /** A node's database on a new, empty disk (`kDisk`, private to this module, is how crash() reuses one). */
  constructor(options: SimLevelOptions & { [kDisk]?: SimDisk }) {
    super({ explicitSnapshots: true, permanence: true, encodings: { utf8: true } }, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    this.#disk = options[kDisk] ?? new SimDisk(options.delay);
  }

  /** True once crash() was called: this incarnation is dead. */
  get crashed(): boolean {
    return this.#crashed;
  }

  /** Writes submitted to this disk and not yet durable (what a crash now would drop). */
  get unsyncedWrites(): number {
    return this.#disk.unsynced;
  }

  /** Simulated fsyncs completed on this disk, over all incarnations. */
  get fsyncs(): number {
    return this.#disk.fsyncs;
  }

  /** Writes dropped by crashes of this disk, over all incarnations. */
  get lostWrites(): number {
    return this.#disk.lostWrites;
  }

  /**
   * Crash this incarnation: drop every write whose fsync had not completed (their promises never
   * settle), kill this instance (nothing on it settles again), and return a new database over the
   * durable data, for the restarted node to open.
   */
  crash(): SimLevel {
    if (this.#crashed) throw new SimCrashedError();
    this.#crashed = true;
    this.#disk.crash();
    for (const r of this.#held) void r.close().catch(() => {});
    this.#held.clear();
    return new SimLevel({ delay: this.#disk.delay, [kDisk]: this.#disk });
  }

  // ---- abstract-level's private API ------------------------------------------------------------

  async _open(): Promise<void> {
    if (this.#crashed) throw new SimCrashedError();
    await this.#disk.durable.open();
  }

  // Closing an incarnation leaves the disk as it is: a later open (the same node's or a restarted
  // one's) sees the same data.
  async _close(): Promise<void> {}

  async _get(key: string, options: ReadOptions): Promise<string | undefined> {
    return this.#read(() => this.#disk.durable.get(key, snapshotOf(options)));
  }

  async _getMany(keys: string[], options: ReadOptions): Promise<Array<string | undefined>> {
    return this.#read(() => this.#disk.durable.getMany(keys, snapshotOf(options)));
  }

  async _put(key: string, value: string): Promise<void> {
    return this.#write([{ type: 'put', key, value }]);
  }

  async _del(key: string): Promise<void> {
    return this.#write([{ type: 'del', key }]);
  }

  async _batch(operations: Array<{ type: 'put' | 'del'; key: string; value?: string }>): Promise<void> {
    return this.#write(operations.map((o): Op => (o.type === 'put' ? { type: 'put', key: o.key, value: o.value! } : { type: 'del', key: o.key })));
  }

  async _clear(): Promise<void> {
    throw new Error('SimLevel: clear() is not simulated');
  }

  // A snapshot of the disk, owned by this incarnation (closed with it, dropped with it).
  _snapshot(options: { owner: SimLevel }): AbstractSnapshot {
    if (this.#crashed) throw new SimCrashedError();
    return this.#disk.durable.snapshot(options);
  }

  _iterator(options: IteratorOptions): SimIterator {
    const inner: IteratorOptions = { keys: options.keys !== false, values: options.values !== false };
    for (const k of ['gt', 'gte', 'lt', 'lte'] as const) if (options[k] !== undefined) inner[k] = options[k];
    if (options.reverse === true) inner.reverse = true;
    if (options.limit !== undefined && options.limit >= 0) inner.limit = options.limit;
    if (options.snapshot !== undefined) inner.snapshot = options.snapshot;
    const it = this.#disk.durable.iterator(inner);
    this.#held.add(it);
    return new SimIterator(this, options, it, (op) => this.#read(op), () => this.#held.delete(it));
  }

  // ---------------------------------------------------------------------------------------------

  async #read<T>(op: () => Promise<T>): Promise<T> {
    if (this.#crashed) return never();
    const result = await op();
    if (this.#crashed) return never();
    return result;
  }

  async #write(ops: Op[]): Promise<void> {
    if (this.#crashed) return never();
    return this.#disk.submit(ops);
  }
}

function snapshotOf(options: ReadOptions): ReadOptions {
  return options.snapshot === undefined ? {} : { snapshot: options.snapshot };
}

// An iterator of a SimLevel: reads the disk's iterator, and goes dead with its incarnation.
class SimIterator extends AbstractIterator<SimLevel, string, string> {
  readonly #inner: AbstractIterator<Durable, string, string>;
  readonly #read: <T>(op: () => Promise<T>) => Promise<T>;
  readonly #release: () => void;

  constructor(db: SimLevel, options: IteratorOptions, inner: AbstractIterator<Durable, string, string>,
    read: <T>(op: () => Promise<T>) => Promise<T>, release: () => void) {
    super(db, options);
    this.#inner = inner;
    this.#read = read;
    this.#release = release;
  }

  async _next(): Promise<[string, string] | undefined> {
    return this.#read(() => this.#inner.next());
  }

  async _nextv(size: number): Promise<Array<[string, string]>> {
    return this.#read(() => this.#inner.nextv(size));
  }

  async _all(): Promise<Array<[string, string]>> {
    return this.#read(() => this.#inner.all());
  }

  async _close(): Promise<void> {
    this.#release();
    await this.#inner.close();
  }
}
