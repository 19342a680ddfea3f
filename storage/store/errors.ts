// Store errors, one class per failure, each with a stable `code`.

/** The key holds no resource (never written, or deleted). */
export class NotFoundError extends Error {
  readonly code = 'NOT_FOUND';
  constructor(key: string) {
    super(`${key} not found`);
  }
}

/** The store is closed. */
export class StoreClosedError extends Error {
  readonly code = 'CLOSED';
  constructor() {
    super('store is closed');
  }
}

/** A durable write failed; the store stops accepting writes rather than guess what is on disk. */
export class StoreFailedError extends Error {
  readonly code = 'STORE_FAILED';
  constructor(cause: unknown) {
    super(`store failed: ${(cause as Error)?.message ?? String(cause)}`, { cause });
  }
}

/** A watch asked to resume from before changes that were since collected; list again, then watch. */
export class WatchCompactedError extends Error {
  readonly code = 'COMPACTED';
  constructor(fromSeq: number, compactedSeq: number) {
    super(`watch from ${fromSeq} is older than collected tombstones (up to ${compactedSeq}): list, then watch again`);
  }
}

/** A watcher fell behind by more than its queue bound and was dropped; resume from its last seq. */
export class WatchOverflowError extends Error {
  readonly code = 'WATCH_OVERFLOW';
  constructor(queueMax: number) {
    super(`watcher fell more than ${queueMax} changes behind`);
  }
}

/** A user write to a key the federation keeps for itself (see system-keys.ts). */
export class ReservedKeyError extends Error {
  readonly code = 'RESERVED_KEY';
  constructor(key: string) {
    super(`${key} is reserved: keys under ${key.slice(0, key.lastIndexOf('/') + 1)} are the federation's own records and cannot be written or deleted by users`);
  }
}
