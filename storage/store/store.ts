// The durable, versioned store of one member over an abstract-level database (store-db.ts: LevelDB
// via classic-level in production). Every accepted write is one atomic batch (record, change log,
// tombstone index, HLC and seq high-water marks) and is acknowledged only once durable; concurrent
// writes share one synced batch (group commit). In memory it keeps only what must be fast: the
// Merkle tree and each key's latest seq. It reads no global clock or timer: they come with its
// options (StoreEnv): required with an injected database, defaulted to the real ones in one place
// (Store.open) for a store opened by path.
import type { Json } from '../logic/canonical.ts';
import { HybridClock, isHlcStamp, type HlcStamp } from '../logic/hlc.ts';
import { DotReservation } from '../logic/dot-reservation.ts';
import { localOp, remoteJoin, type LocalOp } from '../logic/replica-ops.ts';
import { MerkleTree, DEFAULT_MERKLE_SHAPE, type MerkleShape } from '../logic/merkle.ts';
import { MerkleHasher } from './merkle-hasher.ts';
import {
  decodeRecord, encodeRecord, newestEntry, validateRecord, InvalidRecordError, DEFAULT_RECORD_LIMITS,
  type RecordLimits, type StoredRecord,
} from '../logic/record.ts';
import { checkReplicatedRecord } from '../logic/replicated-record.ts';
import type { ResourceKinds } from '../logic/resource-kinds.ts';
import { InvalidResourceError, parseKey, parseResource, DEFAULT_RESOURCE_LIMITS, type Resource, type ResourceLimits } from '../logic/resource.ts';
import { conflictRule, STRATEGY_NAMES, type ConflictInfo, type ConflictRule, type StrategyName } from '../logic/rules/index.ts';
import { lastWriterWins } from '../logic/rules/last-writer-wins.ts';
import { isSystemKey, isSystemKind, systemRecordProblem, type SystemRecordSchemas } from '../logic/system-keys.ts';
import { isMemberName } from '../../membership/member-name.ts';
import { vvCount, type VersionVector } from '../logic/version-vector.ts';
import { NotFoundError, ReservedKeyError, StoreClosedError, StoreFailedError, WatchCompactedError } from './errors.ts';
import { GroupCommit } from './group-commit.ts';
import { KeyLock } from './key-lock.ts';
import {
  changeKey, changeValue, parseChangeKey, parseChangeValue, prefixEnd, tombstoneKey,
  CHANGE, META_COMPACTED, META_DOT_RESERVED, META_HLC, META_SEQ, META_STRATEGY, RECORD, TOMBSTONE,
} from './layout.ts';
import { migrateLayout, type MigrationReport } from './layout-migration.ts';
import { WatchHub, WatchQueue } from './watch-hub.ts';
import { SYNC_WRITE, type StoreDb } from './store-db.ts';

/** Settings of a store, however its database is given; everything but member and strategy has a default. */
export interface StoreSettings {
  /** This member's name: the writer of local versions. */
  member: string;
  /** Conflict strategy; every member of a federation must use the same. */
  strategy: StrategyName;
  /** Remote stamps further ahead of local time are refused (default 5000). */
  maxClockOffsetMs?: number;
  /** Bounds on resources (default 1 MiB values). */
  resourceLimits?: ResourceLimits;
  /** Bounds on decoded records. */
  recordLimits?: RecordLimits;
  /**
   * Schemas of the system kinds (system-keys.ts) by kind: the federation's own record formats. A
   * system record of a kind without one is refused, from peers and from local system writes alike
   * (default: none).
   */
  systemRecords?: SystemRecordSchemas;
  /**
   * The kinds stored (resource-kinds.ts): a write or a peer's record of another kind is refused
   * (UnknownKindError; a peer's record as `unknown_kind`). Default: every kind (a store on its own;
   * nodes give theirs).
   */
  resourceKinds?: ResourceKinds;
  /** Merkle tree shape (default depth 4, 16-ary). */
  merkle?: MerkleShape;
  /** Deleted records are collected this long after the delete (default 24 h). */
  tombstoneGraceMs?: number;
  /** Most operations in one synced batch (default 4096). */
  batchOpsMax?: number;
  /** Most writes waiting for disk before writes fail with BUSY (default 10,000). */
  commitQueueMax?: number;
  /** Most undelivered events per watcher before it is dropped (default 10,000). */
  watchQueueMax?: number;
  /** Most resources one list call returns (default 10,000). */
  listMax?: number;
}

/** What a store takes from its environment (injected, so a simulation runs it on virtual time). */
export interface StoreEnv {
  /** Physical clock, milliseconds since the epoch: stamps of local writes, tombstone ages. It may step. */
  nowMs: () => number;
  /** Monotonic clock, milliseconds: how long synced batches take (batchMs). */
  monoMs: () => number;
  /**
   * Runs `fn` soon, after the I/O at hand: the background Merkle hashing slices (default
   * setImmediate). When slices run changes no answer (the tree hashes what is left on read).
   */
  defer?: (fn: () => void) => void;
}

/** The real environment: Date.now, performance.now, setImmediate. */
export const REAL_STORE_ENV: Required<StoreEnv> = Object.freeze({
  nowMs: (): number => Date.now(),
  monoMs: (): number => performance.now(),
  defer: (fn: () => void): void => { setImmediate(fn); },
});

/**
 * A store in the LevelDB directory `path` (tools, benches, tests), on the real environment unless
 * some of it is given.
 */
export interface StoreOptions extends StoreSettings, Partial<StoreEnv> {
  /** Directory of the LevelDB database (exactly this directory: disk-db.ts openLevelDb). */
  path: string;
  /** LevelDB memtable size (default DISK_WRITE_BUFFER_BYTES, 16 MiB). */
  writeBufferBytes?: number;
}

/**
 * A store over a database the caller supplies (a node: its components' openStoreDb; the simulation:
 * SimLevel), with its clocks injected: a node that forgets one is a type error, not a store on the
 * host's clock. The store opens the database (if not yet open) and closes it on close().
 */
export interface StoreDbOptions extends StoreSettings, StoreEnv {
  db: StoreDb;
}

/** A resource as this member serves it, with its version metadata. */
export interface ResourceView {
  key: string;
  /** The resource, or null when deleted. */
  value: Resource | null;
  /** Stamp of the newest version held. */
  hlc: HlcStamp;
  /** Member that wrote the newest version. */
  origin: string;
  vv: VersionVector;
  digest: string;
  /** Store sequence number of the last change to this key (like etcd's mod revision). */
  seq: number;
  /** True while the record holds concurrent versions (Merge fields or Manual siblings). */
  conflict: boolean;
}

/** One change, as watchers receive it. */
export interface ChangeEvent {
  type: 'PUT' | 'DELETE';
  seq: number;
  view: ResourceView;
  record: StoredRecord;
  /** The peer a replicated change came from, on live events (replication relays by it). */
  source?: string;
}

/** Outcome of a write. */
export interface WriteResult {
  /** False when the write changed nothing (same value re-applied, duplicate record). */
  changed: boolean;
  view: ResourceView;
  record: StoredRecord;
}

/** Outcome of applying a replicated record: what changed, or nothing. */
export type RemoteResult =
  | (WriteResult & { changed: true; /** The incoming versions were concurrent with the held ones. */ concurrent: boolean })
  | { changed: false };

/** Counters for metrics. */
export interface StoreStats {
  localWrites: number;
  /** Local writes handed to onSendable listeners before they were durable here. */
  sentEarly: number;
  remoteApplied: number;
  remoteUnchanged: number;
  concurrentDetected: number;
  tombstonesCollected: number;
}

const DEFAULTS = {
  maxClockOffsetMs: 5_000,
  tombstoneGraceMs: 24 * 3600 * 1000,
  batchOpsMax: 4096,
  commitQueueMax: 10_000,
  watchQueueMax: 10_000,
  listMax: 10_000,
};

type Op = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

/** Options of a local write. */
export interface WriteOptions {
  /** The federation's own write of a system key (system-keys.ts); user writes to them are refused. */
  system?: boolean;
  /**
   * Called with the write's record once it is built and before it is queued for disk (not for a
   * write that changes nothing): a quorum wait starts here, as peers may acknowledge the record
   * before it is durable here (onSendable).
   */
  onRecord?: (record: StoredRecord) => void;
}

/** A local write peers may receive before it is durable here (its counter is reserved on disk). */
export type SendableListener = (record: StoredRecord) => void;

export class Store {
  readonly member: string;
  /** The configured strategy: the rule of every key but the system keys (see ruleFor). */
  readonly rule: ConflictRule;
  readonly clock: HybridClock;
  readonly merkle: MerkleTree;
  readonly #hasher: MerkleHasher;
  readonly stats: StoreStats = { localWrites: 0, sentEarly: 0, remoteApplied: 0, remoteUnchanged: 0, concurrentDetected: 0, tombstonesCollected: 0 };
  readonly #db: StoreDb;
  readonly #nowMs: () => number;
  readonly #resourceLimits: ResourceLimits;
  readonly #recordLimits: RecordLimits;
  readonly #systemRecords: SystemRecordSchemas;
  readonly #kinds: ResourceKinds | undefined;
  readonly #graceMs: number;
  readonly #watchQueueMax: number;
  readonly #listMax: number;
  readonly #commit: GroupCommit;
  readonly #locks = new KeyLock();
  readonly #hub = new WatchHub<ChangeEvent>();
  // Latest committed seq of each key (cold open reads it from the change log).
  readonly #seqOf = new Map<string, number>();
  // Written but not yet durable: what the next write to the key must build on, and when it lands.
  readonly #pending = new Map<string, { record: StoredRecord; seq: number; durable: Promise<void> }>();
  // Counters of local writes: the floor and what may go to peers early (dot-reservation.ts); set at open.
  #dots = new DotReservation(0);
  // The reservation stored by the batch being written.
  #dotsInFlight = 0;
  readonly #sendable = new Set<SendableListener>();
  #seq = 0;
  #committedSeq = 0;
  #compactedSeq = 0;
  #closed = false;
  #migration: MigrationReport | undefined;

  private constructor(db: StoreDb, opts: StoreSettings, env: Required<StoreEnv>) {
    this.#db = db;
    this.member = opts.member;
    this.rule = conflictRule(opts.strategy);
    this.#nowMs = env.nowMs;
    this.clock = new HybridClock(opts.member, { maxClockOffsetMs: opts.maxClockOffsetMs ?? DEFAULTS.maxClockOffsetMs });
    this.merkle = new MerkleTree(opts.merkle ?? DEFAULT_MERKLE_SHAPE);
    this.#hasher = new MerkleHasher(this.merkle, env.defer);
    this.#resourceLimits = opts.resourceLimits ?? DEFAULT_RESOURCE_LIMITS;
    this.#recordLimits = opts.recordLimits ?? DEFAULT_RECORD_LIMITS;
    this.#systemRecords = opts.systemRecords ?? {};
    this.#kinds = opts.resourceKinds;
    this.#graceMs = opts.tombstoneGraceMs ?? DEFAULTS.tombstoneGraceMs;
    this.#watchQueueMax = opts.watchQueueMax ?? DEFAULTS.watchQueueMax;
    this.#listMax = opts.listMax ?? DEFAULTS.listMax;
    this.#commit = new GroupCommit(db, {
      batchOpsMax: opts.batchOpsMax ?? DEFAULTS.batchOpsMax,
      queueMax: opts.commitQueueMax ?? DEFAULTS.commitQueueMax,
      monoMs: env.monoMs,
      // Every write in a batch is below these marks when the batch is cut: seqs and stamps are
      // assigned before a write is queued.
      trailer: () => {
        this.#dotsInFlight = this.#dots.cut();
        return [
          { type: 'put', key: META_SEQ, value: String(this.#seq) },
          { type: 'put', key: META_HLC, value: JSON.stringify(this.clock.highWater()) },
          { type: 'put', key: META_DOT_RESERVED, value: String(this.#dotsInFlight) },
        ];
      },
      landed: () => this.#dots.landed(this.#dotsInFlight),
    });
  }

  /**
   * Open (or create) a store and rebuild its in-memory state: over `db` with the environment given,
   * or in the LevelDB directory `path` on the real environment (what is not given of it).
   */
  static async open(opts: StoreOptions | StoreDbOptions): Promise<Store> {
    // Peers refuse records whose writers are not member names (replicated-record.ts).
    if (!isMemberName(opts.member)) {
      throw new Error(`store: member name "${opts.member}" must be a DNS-1123 label (a member name)`);
    }
    if (!STRATEGY_NAMES.includes(opts.strategy)) throw new Error(`store: unknown strategy "${opts.strategy}"`);
    // The one place the real environment is the default.
    const env: Required<StoreEnv> = {
      nowMs: opts.nowMs ?? REAL_STORE_ENV.nowMs,
      monoMs: opts.monoMs ?? REAL_STORE_ENV.monoMs,
      defer: opts.defer ?? REAL_STORE_ENV.defer,
    };
    const db = 'db' in opts
      ? opts.db
      : (await import('./disk-db.ts')).openLevelDb(opts.path, opts.writeBufferBytes === undefined ? {} : { writeBufferBytes: opts.writeBufferBytes });
    await db.open();
    const store = new Store(db, opts, env);
    try {
      store.#migration = await migrateLayout(db);
      await store.#load();
      if ((await db.get(META_STRATEGY)) !== opts.strategy) await db.put(META_STRATEGY, opts.strategy, SYNC_WRITE);
    } catch (err) {
      await db.close();
      throw err;
    }
    return store;
  }

  /** The strategy a store over `db` was last opened under (undefined: never opened, or before this was kept). */
  static async storedStrategy(db: StoreDb): Promise<StrategyName | undefined> {
    await db.open();
    const s = await db.get(META_STRATEGY);
    return s !== undefined && (STRATEGY_NAMES as readonly string[]).includes(s) ? s as StrategyName : undefined;
  }

  async #load(): Promise<void> {
    const [hlc, seq, compacted, dots] = await this.#db.getMany([META_HLC, META_SEQ, META_COMPACTED, META_DOT_RESERVED]);
    const floor = dots === undefined ? 0 : Number(dots);
    if (!Number.isSafeInteger(floor) || floor < 0) throw new Error('store: corrupt counter reservation');
    this.#dots = new DotReservation(floor);
    if (hlc !== undefined) {
      const mark: unknown = JSON.parse(hlc);
      if (!isHlcStamp(mark)) throw new Error('store: corrupt HLC high-water mark');
      this.clock.restore(mark);
    }
    this.#seq = this.#committedSeq = seq === undefined ? 0 : Number(seq);
    this.#compactedSeq = compacted === undefined ? 0 : Number(compacted);
    // The change log holds one entry per key held (its latest change): the index to load.
    const digests: Array<[string, string]> = [];
    const it = this.#db.iterator({ gte: CHANGE, lt: prefixEnd(CHANGE) });
    try {
      while (true) {
        const chunk = await it.nextv(4096);
        if (chunk.length === 0) break;
        for (const [k, v] of chunk) {
          const s = parseChangeKey(k);
          const { key, digest } = parseChangeValue(v);
          if (s > this.#seq) throw new Error(`store: change ${s} of ${key} is past the seq high-water mark ${this.#seq}`);
          if (this.#seqOf.has(key)) throw new Error(`store: ${key} has two change-log entries (${this.#seqOf.get(key)} and ${s})`);
          this.#seqOf.set(key, s);
          digests.push([key, digest]);
        }
      }
    } finally {
      await it.close();
    }
    this.merkle.bulkLoad(digests);
    // Hashed in the background from here (about 0.3 s of slices at 100,000 keys), not before the
    // store opens: a controller accepts writes without its root; the first read of it (a heartbeat,
    // an anti-entropy session) hashes what is left at once.
    this.#hasher.touched();
  }

  /** The key-layout conversion done when the store was opened (fromVersion = toVersion when none was needed). */
  get migration(): MigrationReport {
    if (this.#migration === undefined) throw new Error('assertion: store used before it was opened');
    return this.#migration;
  }

  /** Last committed sequence number: a watch resume position. */
  get seq(): number {
    return this.#committedSeq;
  }

  /** Number of keys held, tombstones included. */
  get size(): number {
    return this.merkle.size;
  }

  /** Synced batches written (group commit effectiveness). */
  get batches(): number {
    return this.#commit.batches;
  }

  /** Milliseconds spent waiting for synced batches to land. */
  get batchMs(): number {
    return this.#commit.batchMs;
  }

  // ---- writes ---------------------------------------------------------------------------------

  /** Create or update a resource (validated first). Resolves once durable. */
  async apply(input: unknown, opts: WriteOptions = {}): Promise<WriteResult> {
    this.#checkOpen();
    const { key, resource } = parseResource(input, this.#resourceLimits);
    this.#kinds?.check(resource.kind);
    checkWritable(key, opts);
    if (isSystemKey(key)) {
      const problem = systemRecordProblem(key, resource, this.#systemRecords);
      if (problem !== undefined) throw new InvalidResourceError('resource', problem);
    }
    return this.#localWrite(key, { op: 'put', value: resource as unknown as { [key: string]: Json } }, opts);
  }

  /** Delete a resource (a replicated tombstone). NOT_FOUND when it is not there. */
  async delete(key: string, opts: WriteOptions = {}): Promise<WriteResult> {
    this.#checkOpen();
    const { kind } = parseKey(key);
    this.#kinds?.check(kind, 'key.kind');
    checkWritable(key, opts);
    return this.#localWrite(key, { op: 'delete' }, opts, (current) => {
      if (current === undefined || this.ruleFor(key).view(current, this.member) === null) throw new NotFoundError(key);
    });
  }

  /** Resolve the conflict held for `key`, keeping this member's side or the other. */
  async resolve(key: string, keep: 'local' | 'remote', opts: WriteOptions = {}): Promise<WriteResult> {
    this.#checkOpen();
    parseKey(key);
    return this.#localWrite(key, { op: 'resolve', keep }, opts, (current) => {
      if (current === undefined || this.ruleFor(key).conflict(current, this.member) === undefined) {
        throw new NotFoundError(`conflict on ${key}`);
      }
    });
  }

  async #localWrite(key: string, op: LocalOp, opts: WriteOptions, check?: (current: StoredRecord | undefined) => void): Promise<WriteResult> {
    return this.#locks.run(key, async () => {
      const current = await this.#current(key);
      check?.(current);
      const { record } = localOp(this.ruleFor(key), this.clock, this.#nowMs(), key, current, op, this.#dots.floor);
      if (record === undefined) {
        await this.#pending.get(key)?.durable;
        return { changed: false, record: current!, view: this.#view(current!, this.#latestSeq(key)) };
      }
      const counter = vvCount(record.vv, this.member);
      this.#dots.assigned(counter);
      this.stats.localWrites++;
      opts.onRecord?.(record);
      const seq = await this.#persist(current, record, undefined, this.#dots.mayShareEarly(counter));
      return { changed: true, record, view: this.#view(record, seq) };
    });
  }

  /**
   * The rule that joins and serves `key`: LastWriterWins for system keys (the federation's own
   * records must never become operator-visible conflicts nor block its writes), else the configured
   * strategy. A function of the key alone, so every replica picks the same rule for a record.
   */
  ruleFor(key: string): ConflictRule {
    return isSystemKey(key) ? lastWriterWins : this.rule;
  }

  /** True when the committed record of `key` has exactly `digest` (and no write to it is pending). */
  holds(key: string, digest: string): boolean {
    return !this.#pending.has(key) && this.merkle.digestOf(key) === digest;
  }

  /**
   * Join a record received from a peer. Validates it as a local write would have made it (shape,
   * bounds and digest; values, key, version vector and system records: replicated-record.ts) and
   * checks its clock; returns changed=false when this store durably holds that state or a newer one
   * (waiting for a pending write of the key to land first). Throws InvalidRecordError (its `problem`
   * says why) or ClockSkewError on bad input, leaving the store unchanged.
   */
  async applyRemote(input: unknown, opts: { source?: string } = {}): Promise<RemoteResult> {
    this.#checkOpen();
    // Fast path for a record this store already holds exactly (relayed copies, repeated batches):
    // same digest, nothing to join. Safe without validating: its contents are not used.
    const claimed = input as { key?: unknown; digest?: unknown } | null;
    if (typeof claimed?.key === 'string' && typeof claimed.digest === 'string' && this.holds(claimed.key, claimed.digest)) {
      this.stats.remoteUnchanged++;
      return { changed: false };
    }
    const incoming = this.#validateRemote(input);
    return this.#locks.run(incoming.key, async () => {
      const current = await this.#current(incoming.key);
      const { record, changed, concurrent } = remoteJoin(this.ruleFor(incoming.key), this.clock, this.#nowMs(), current, incoming);
      if (concurrent) this.stats.concurrentDetected++;
      if (!changed) {
        // "Unchanged" tells the sender this replica holds the state: only once it is durable.
        await this.#pending.get(incoming.key)?.durable;
        this.stats.remoteUnchanged++;
        return { changed: false };
      }
      this.stats.remoteApplied++;
      // The source only matters when it already holds the result: a join that differs from what it
      // sent (concurrent versions) must go back to it too.
      const seq = await this.#persist(current, record, record.digest === incoming.digest ? opts.source : undefined);
      return { changed: true, concurrent, record, view: this.#view(record, seq) };
    });
  }

  #validateRemote(input: unknown): StoredRecord {
    try {
      const incoming = validateRecord(input, this.#recordLimits);
      checkReplicatedRecord(incoming, {
        rule: this.ruleFor(incoming.key), resourceLimits: this.#resourceLimits, recordLimits: this.#recordLimits, systemRecords: this.#systemRecords, kinds: this.#kinds,
      });
      return incoming;
    } catch (err) {
      if (err instanceof InvalidRecordError) throw err;
      // Whatever else a hostile record trips over (a stack overflow on deep nesting) is its fault too.
      throw new InvalidRecordError(`bad record: ${(err as Error).message}`);
    }
  }

  async #current(key: string): Promise<StoredRecord | undefined> {
    const pending = this.#pending.get(key);
    if (pending !== undefined) return pending.record;
    // Every key on disk is in #seqOf (loaded at open), so a new key needs no disk read.
    if (!this.#seqOf.has(key)) return undefined;
    return this.#read(key);
  }

  #latestSeq(key: string): number {
    return this.#pending.get(key)?.seq ?? this.#seqOf.get(key) ?? 0;
  }

  /**
   * Listen for local writes that peers may receive before they are durable here: called when the
   * write is queued for disk (its change event still comes once it is durable). Returns the
   * function that stops listening.
   */
  onSendable(listener: SendableListener): () => void {
    this.#sendable.add(listener);
    return () => this.#sendable.delete(listener);
  }

  async #persist(before: StoredRecord | undefined, record: StoredRecord, source?: string, sendable = false): Promise<number> {
    const key = record.key;
    const oldSeq = this.#latestSeq(key);
    const seq = ++this.#seq;
    const ops: Op[] = [
      { type: 'put', key: RECORD + key, value: encodeRecord(record) },
      { type: 'put', key: changeKey(seq), value: changeValue(key, record.digest) },
    ];
    if (oldSeq > 0) ops.push({ type: 'del', key: changeKey(oldSeq) });
    const rule = this.ruleFor(key);
    if (before !== undefined && rule.deleted(before)) {
      ops.push({ type: 'del', key: tombstoneKey(newestEntry(before).hlc.wallMs, key) });
    }
    if (rule.deleted(record)) ops.push({ type: 'put', key: tombstoneKey(newestEntry(record).hlc.wallMs, key), value: '' });
    // Refuse before touching in-memory state, so a full queue never loses an earlier pending write.
    this.#commit.checkCapacity();
    const durable = this.#commit.submit(ops, () => {
      this.#committedSeq = seq;
      this.#seqOf.set(key, seq);
      this.#setDigest(key, record.digest);
      if (this.#pending.get(key)?.seq === seq) this.#pending.delete(key);
      if (this.#hub.size > 0) this.#hub.publish(this.#event(record, seq, source));
    }).catch((err: unknown) => {
      // A failed synced batch leaves the disk state unknown to us: stop accepting writes. The key
      // stays pending, so nothing may answer that it holds this state.
      const failure = err instanceof StoreFailedError ? err : new StoreFailedError(err);
      this.#commit.fail(failure);
      throw failure;
    });
    this.#pending.set(key, { record, seq, durable });
    if (sendable && this.#sendable.size > 0) {
      this.stats.sentEarly++;
      for (const l of this.#sendable) l(record);
    }
    await durable;
    return seq;
  }

  // ---- reads ----------------------------------------------------------------------------------

  async #read(key: string): Promise<StoredRecord | undefined> {
    const text = await this.#db.get(RECORD + key);
    return text === undefined ? undefined : decodeRecord(text, this.#recordLimits);
  }

  /** The stored record of a key (tombstones included), as replicated. */
  async getRecord(key: string): Promise<StoredRecord | undefined> {
    this.#checkOpen();
    return this.#read(key);
  }

  /** Many stored records at once (anti-entropy transfers). Missing keys give undefined. */
  async getRecords(keys: string[]): Promise<Array<StoredRecord | undefined>> {
    return (await this.getRecordTexts(keys)).map((t) => (t === undefined ? undefined : decodeRecord(t, this.#recordLimits)));
  }

  /** Like getRecords, each record as its stored encoding (encodeRecord's text), for sending as it is. */
  async getRecordTexts(keys: string[]): Promise<Array<string | undefined>> {
    this.#checkOpen();
    return this.#db.getMany(keys.map((k) => RECORD + k));
  }

  /** Stored records (tombstones included) in key order after `after`, at most `limit`. */
  async scanRecords(after: string | null, limit: number): Promise<StoredRecord[]> {
    return (await this.scanRecordTexts(after, limit)).map((e) => decodeRecord(e.text, this.#recordLimits));
  }

  /**
   * Like scanRecords, with each record as its stored encoding (encodeRecord's text): for copies
   * that write records out as they are (the agent's file copy), with no decoding and re-encoding.
   */
  async scanRecordTexts(after: string | null, limit: number): Promise<Array<{ key: string; text: string }>> {
    this.#checkOpen();
    const out: Array<{ key: string; text: string }> = [];
    const it = this.#db.iterator(after === null ? { gte: RECORD, lt: prefixEnd(RECORD), limit } : { gt: RECORD + after, lt: prefixEnd(RECORD), limit });
    try {
      for await (const [k, text] of it) out.push({ key: k.slice(RECORD.length), text });
    } finally {
      await it.close();
    }
    return out;
  }

  /** Every stored record (tombstones included), in key order, a page of at most `pageMax` at a time. */
  async *scanPages(pageMax: number): AsyncGenerator<StoredRecord[]> {
    for await (const page of this.scanTextPages(pageMax)) yield page.map((e) => decodeRecord(e.text, this.#recordLimits));
  }

  /** Like scanPages, with each record as its stored encoding (see scanRecordTexts). */
  async *scanTextPages(pageMax: number): AsyncGenerator<Array<{ key: string; text: string }>> {
    let after: string | null = null;
    while (true) {
      const page = await this.scanRecordTexts(after, pageMax);
      if (page.length === 0) return;
      yield page;
      after = page[page.length - 1]!.key;
    }
  }

  /** The resource as this member serves it; undefined when never written or deleted. */
  async get(key: string): Promise<ResourceView | undefined> {
    this.#checkOpen();
    parseKey(key);
    const record = await this.#read(key);
    if (record === undefined) return undefined;
    const view = this.#view(record, this.#seqOf.get(key) ?? 0);
    return view.value === null ? undefined : view;
  }

  /**
   * Resources of a kind (and namespace), sorted by key, at most `limit` (bounded by listMax), after
   * the key `after` when given (the next page of a list). System records are left out unless the
   * filter names their kind or sets includeSystem.
   */
  async list(filter: { kind?: string; namespace?: string; limit?: number; includeDeleted?: boolean; includeSystem?: boolean; after?: string } = {}): Promise<ResourceView[]> {
    this.#checkOpen();
    const showSystem = filter.includeSystem === true || isSystemKind(filter.kind);
    // Keys are Kind/namespace/name: with a kind the namespace narrows the range; without one it is
    // a filter on the scan.
    const prefix = RECORD + (filter.kind === undefined ? '' : filter.kind + '/' +
      (filter.namespace === undefined ? '' : filter.namespace + '/'));
    const limit = Math.min(filter.limit ?? this.#listMax, this.#listMax);
    const out: ResourceView[] = [];
    // `after` (a continued list) starts the scan past that key, within the same range.
    const from = filter.after === undefined || RECORD + filter.after < prefix ? { gte: prefix } : { gt: RECORD + filter.after };
    const it = this.#db.iterator({ ...from, lt: prefixEnd(prefix) });
    try {
      while (out.length < limit) {
        const chunk = await it.nextv(Math.min(1024, limit));
        if (chunk.length === 0) break;
        for (const [k, text] of chunk) {
          const key = k.slice(RECORD.length);
          if (filter.namespace !== undefined && key.split('/')[1] !== filter.namespace) continue;
          if (!showSystem && isSystemKey(key)) continue;
          const view = this.#view(decodeRecord(text, this.#recordLimits), this.#seqOf.get(key) ?? 0);
          if (view.value === null && filter.includeDeleted !== true) continue;
          out.push(view);
          if (out.length >= limit) break;
        }
      }
    } finally {
      await it.close();
    }
    return out;
  }

  /** Records held with concurrent versions (Merge fields or Manual siblings), seen from this member. */
  async conflicts(limit = this.#listMax): Promise<ConflictInfo[]> {
    this.#checkOpen();
    const out: ConflictInfo[] = [];
    const it = this.#db.iterator({ gte: RECORD, lt: prefixEnd(RECORD) });
    try {
      for await (const [, text] of it) {
        const record = decodeRecord(text, this.#recordLimits);
        const c = this.ruleFor(record.key).conflict(record, this.member);
        if (c !== undefined) out.push(c);
        if (out.length >= limit) break;
      }
    } finally {
      await it.close();
    }
    return out;
  }

  #view(record: StoredRecord, seq: number): ResourceView {
    const rule = this.ruleFor(record.key);
    // The version whose writer and stamp the view names: the one served (Manual), else the newest.
    const shown = rule.served?.(record, this.member) ?? newestEntry(record);
    return {
      key: record.key,
      value: rule.view(record, this.member) as Resource | null,
      hlc: shown.hlc,
      origin: shown.hlc.member,
      vv: record.vv,
      digest: record.digest,
      seq,
      conflict: rule.conflict(record, this.member) !== undefined,
    };
  }

  // The view (and the type, which follows from it) is built when first read: the replicator's relay
  // and the agents' broadcast follow every change and read only the record.
  #event(record: StoredRecord, seq: number, source?: string): ChangeEvent {
    let view: ResourceView | undefined;
    const viewOf = (): ResourceView => (view ??= this.#view(record, seq));
    const e: ChangeEvent = {
      get type(): ChangeEvent['type'] { return viewOf().value === null ? 'DELETE' : 'PUT'; },
      seq,
      get view(): ResourceView { return viewOf(); },
      record,
    };
    if (source !== undefined) e.source = source;
    return e;
  }

  // ---- watch ----------------------------------------------------------------------------------

  /**
   * Changes after `fromSeq` (0: from the beginning), then live ones, each key's latest state once,
   * in seq order; `hideSystem` leaves out system records (user-facing watches). Ends with
   * WatchCompactedError when `fromSeq` predates collected tombstones, and
   * with WatchOverflowError when the consumer falls more than watchQueueMax behind.
   */
  watch(opts: { fromSeq?: number; signal?: AbortSignal; hideSystem?: boolean } = {}): AsyncIterable<ChangeEvent> {
    this.#checkOpen();
    // Replication watches everything; user-facing watches (hideSystem) skip the federation's records.
    if (opts.hideSystem === true) return withoutSystemKeys(this.watch({ ...opts, hideSystem: false }));
    const fromSeq = opts.fromSeq ?? this.#committedSeq;
    const queue = new WatchQueue<ChangeEvent>(this.#watchQueueMax);
    if (fromSeq < this.#compactedSeq) {
      queue.end(new WatchCompactedError(fromSeq, this.#compactedSeq));
      return queue;
    }
    // Live events are held back until the catch-up scan is done, then those it already covered
    // (seq at or below the last one scanned) are skipped: batches land in seq order, so the scan's
    // snapshot contains every change up to its highest seq.
    const held: ChangeEvent[] = [];
    let catchingUp = fromSeq < this.#committedSeq;
    let scannedMax = fromSeq;
    const remove = this.#hub.add({
      push: (e) => {
        if (catchingUp) held.push(e);
        else if (e.seq > scannedMax) queue.push(e);
      },
      end: (err) => queue.end(err),
    });
    queue.onClose = remove;
    opts.signal?.addEventListener('abort', () => queue.end(), { once: true });
    if (catchingUp) {
      void this.#catchUp(fromSeq, queue).then((max) => {
        scannedMax = Math.max(scannedMax, max);
        catchingUp = false;
        for (const e of held.splice(0)) if (e.seq > scannedMax) queue.push(e);
      }, (err: unknown) => queue.end(err as Error));
    }
    return queue;
  }

  async #catchUp(fromSeq: number, queue: WatchQueue<ChangeEvent>): Promise<number> {
    const snapshot = this.#db.snapshot();
    let max = fromSeq;
    try {
      const it = this.#db.iterator({ gt: changeKey(fromSeq), lt: prefixEnd(CHANGE), snapshot });
      try {
        while (true) {
          const chunk = await it.nextv(256);
          if (chunk.length === 0) break;
          const texts = await this.#db.getMany(chunk.map(([, v]) => RECORD + parseChangeValue(v).key), { snapshot });
          chunk.forEach(([ck], i) => {
            const seq = parseChangeKey(ck);
            const text = texts[i];
            if (text === undefined) throw new Error(`assertion: change ${seq} without a record`);
            queue.push(this.#event(decodeRecord(text, this.#recordLimits), seq));
            max = seq;
          });
        }
      } finally {
        await it.close();
      }
    } finally {
      await snapshot.close();
    }
    return max;
  }

  // ---- tombstones -----------------------------------------------------------------------------

  /** Remove tombstones older than the grace period; returns how many were collected. */
  async collectTombstones(batchMax = 1000): Promise<number> {
    this.#checkOpen();
    const horizonMs = this.#nowMs() - this.#graceMs;
    const candidates: string[] = [];
    const it = this.#db.iterator({ gte: TOMBSTONE, lt: tombstoneKey(Math.max(0, horizonMs), ''), limit: batchMax });
    try {
      for await (const [k] of it) candidates.push(k.slice(k.indexOf(':', TOMBSTONE.length) + 1));
    } finally {
      await it.close();
    }
    let collected = 0;
    for (const key of candidates) {
      await this.#locks.run(key, async () => {
        const record = await this.#current(key);
        if (record === undefined || !this.ruleFor(key).deleted(record)) return;
        const newest = newestEntry(record);
        if (newest.hlc.wallMs >= horizonMs) return;
        const seq = this.#latestSeq(key);
        const compacted = Math.max(this.#compactedSeq, seq);
        const ops: Op[] = [
          { type: 'del', key: RECORD + key },
          { type: 'del', key: changeKey(seq) },
          { type: 'del', key: tombstoneKey(newest.hlc.wallMs, key) },
          { type: 'put', key: META_COMPACTED, value: String(compacted) },
        ];
        await this.#commit.submit(ops, () => {
          this.#compactedSeq = compacted;
          this.#seqOf.delete(key);
          this.#setDigest(key, undefined);
        });
        collected++;
      });
    }
    this.stats.tombstonesCollected += collected;
    return collected;
  }

  // ---- lifecycle ------------------------------------------------------------------------------

  /** Wait for in-flight writes, end watchers, close the database. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#commit.idle();
    // Every write handed out is durable here now: only the floor from an earlier crash still stands.
    if (this.#dotsInFlight !== 0 && !this.#commit.failed) await this.#db.put(META_DOT_RESERVED, String(this.#dots.cleanClose()), SYNC_WRITE).catch(() => undefined);
    this.#hasher.stop();
    this.#hub.endAll();
    await this.#db.close();
  }

  // Every change of a key's digest goes through here: the tree records it, the hasher hashes it soon.
  #setDigest(key: string, digest: string | undefined): void {
    this.merkle.update(key, digest);
    this.#hasher.touched();
  }

  #checkOpen(): void {
    if (this.#closed) throw new StoreClosedError();
  }
}

function checkWritable(key: string, opts: WriteOptions): void {
  if (isSystemKey(key) && opts.system !== true) throw new ReservedKeyError(key);
}

async function* withoutSystemKeys(events: AsyncIterable<ChangeEvent>): AsyncGenerator<ChangeEvent> {
  for await (const e of events) if (!isSystemKey(e.view.key)) yield e;
}
