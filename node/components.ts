// What a node takes from its environment, injected the way js-libp2p services get `components`:
// clocks, timers, randomness, the network host and the store's database. Production passes the real
// ones (`nodeComponents()` with nothing overridden: performance/Date, Node's timers, node:crypto,
// libp2p over TCP, classic-level on disk); the whole-cluster simulation (test/sim/) passes virtual
// time, seeded randomness, a simulated network and memory-level, and then runs the very same node
// code. Nothing in node/ reads a global clock, timer or Math.random: it asks its components.

import { randomBytes } from 'node:crypto';
import { REAL_TIMERS, type TimerComponents, type TimerHandle } from './host/timer-components.ts';
import { systemWallClock, type WallClock } from './util/clock.ts';
import type { Host, HostOptions } from './host/create-host.ts';
import type { StoreDb } from '../storage/store/store-db.ts';
import type { Logger } from './util/logger.ts';

export type { TimerComponents, TimerHandle } from './host/timer-components.ts';
export type { WallClock } from './util/clock.ts';

/** Randomness of a node: jitter, nonces, request ids. */
export interface RandomSource {
  /** Uniform in [0, 1). */
  float(): number;
  /** `n` random bytes. */
  bytes(n: number): Uint8Array;
}

/** The real randomness: Math.random-quality floats, node:crypto bytes. */
export const REAL_RANDOM: RandomSource = Object.freeze({
  float: (): number => Math.random(),
  bytes: (n: number): Uint8Array => randomBytes(n),
});

/** The store's key-value database: any abstract-level database of utf8 strings (storage/store/store-db.ts). */
export type { StoreDb } from '../storage/store/store-db.ts';

/**
 * Opens (does not yet `open()`) the store database of a data directory. The default makes the
 * directory private first (node/util/data-dir.ts: 0700, a widened one restricted and logged on `logger`).
 */
export type StoreDbFactory = (dataDir: string, options: { writeBufferBytes: number; logger: Logger }) => Promise<StoreDb>;

/** Builds the network host of a node (not started). */
export type HostFactory = (options: HostOptions) => Promise<Host>;

/** Everything a node takes from its environment. */
export interface NodeComponents {
  /** Monotonic clock and timers (failure detection, deadlines, backoff, periodic work). */
  timers: TimerComponents;
  /** Physical clock: HLC stamps, certificate validity, clock-offset probes. It may step. */
  wallClock: WallClock;
  /** Randomness. */
  random: RandomSource;
  /** The network host (default libp2p: TCP, Noise, Yamux, gossipsub). */
  createHost: HostFactory;
  /** The store's database (default classic-level in `<dataDir>/store`, the directory made private first). */
  openStoreDb: StoreDbFactory;
}

/** Components with `partial` over the real ones. The real host and database are loaded on first use. */
export function nodeComponents(partial: Partial<NodeComponents> = {}): NodeComponents {
  return {
    timers: partial.timers ?? REAL_TIMERS,
    wallClock: partial.wallClock ?? systemWallClock,
    random: partial.random ?? REAL_RANDOM,
    createHost: partial.createHost ?? (async (o) => (await import('./host/create-host.ts')).createHost(o)),
    openStoreDb: partial.openStoreDb ?? (async (dataDir, o) => {
      await (await import('./util/data-dir.ts')).prepareDataDir(dataDir, o.logger);
      return (await import('../storage/store/disk-db.ts')).openDiskDb(dataDir, { writeBufferBytes: o.writeBufferBytes });
    }),
  };
}

/**
 * A signal that aborts `ms` after now on `timers` (AbortSignal.timeout on the node's own clock). The
 * timer is left to fire: use `withDeadline` (wire/deadline.ts) where operations are frequent.
 */
export function timeoutSignal(timers: TimerComponents, ms: number): AbortSignal {
  const ac = new AbortController();
  timers.setTimeout(() => ac.abort(new DOMException('The operation was aborted due to timeout', 'TimeoutError')), ms);
  return ac.signal;
}

/** Run `fn` every `intervalMs` on `timers` (first run after one interval); returns the cancel function. */
export function every(timers: TimerComponents, intervalMs: number, fn: () => void): () => void {
  let handle: TimerHandle | undefined;
  let stopped = false;
  const arm = (): void => {
    handle = timers.setTimeout(() => {
      if (stopped) return;
      arm();
      fn();
    }, intervalMs);
  };
  arm();
  return () => {
    stopped = true;
    timers.clearTimeout(handle);
  };
}

/** Resolves after `ms` on `timers`. */
export function sleep(timers: TimerComponents, ms: number): Promise<void> {
  return new Promise((resolve) => { timers.setTimeout(resolve, ms); });
}
