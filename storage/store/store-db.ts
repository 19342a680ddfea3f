// The store's key-value database, as the store uses it: any abstract-level database of utf8 string
// keys and values. Production opens classic-level on disk (disk-db.ts); the whole-cluster simulation
// passes an in-memory one whose unsynced writes a crash drops (test/sim/sim-level.ts). The store
// calls open() and close() itself.
import type { AbstractBatchOptions, AbstractLevel, AbstractPutOptions } from 'abstract-level';

/** An abstract-level database of utf8 strings (classic-level, memory-level, the simulation's SimLevel). */
export type StoreDb = AbstractLevel<string | Uint8Array | Buffer, string, string>;

/**
 * Options of a write that must be durable before it resolves: classic-level's `sync` (fsync), which
 * abstract-level's types do not name; an in-memory database ignores it (the simulation's SimLevel
 * makes every write wait for its simulated fsync).
 */
export const SYNC_WRITE: AbstractBatchOptions<string, string> & AbstractPutOptions<string, string> & { sync: true } = Object.freeze({ sync: true });
