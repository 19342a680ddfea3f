// When a member sends its heartbeats, as pure functions of the clock readings the caller makes
// (node/membership/membership-service.ts runs them on its timers).
//
// Regular heartbeats sit on a fixed grid (start + k × interval), so timer lateness does not
// accumulate, each sent a random moment after its grid point (heartbeatJitterMs): members started
// together (25 agents in one process, a fleet restarting after an outage) would otherwise all build,
// sign and send at the same instant every interval, and every receiver would take them in one burst.
// A sender that fell more than one interval behind (a pause) re-anchors the grid on now.
//
// An early heartbeat greets a peer that has just become authenticated and subscribed, rather than
// making it wait up to one interval: due one gossip heartbeat after it authenticated (when
// gossipsub's cached score for it, which gates publishing, has been refreshed), sent only when the
// previous publish is at least interval - timeout/2 back, and it re-anchors the grid one interval
// later. Receivers count one passed check per interval - timeout, so every heartbeat they get counts
// (with timeout/2 to spare for jitter) and recovery takes successThreshold heartbeats at most one
// interval apart.

import type { HealthCheckOptions } from './health-check.ts';

/** The health-check fields the schedule depends on. */
export type HeartbeatCadence = Pick<HealthCheckOptions, 'intervalMs' | 'timeoutMs'>;

/**
 * Most a heartbeat is sent after its grid point. A quarter of the timeout keeps two heartbeats at
 * least interval - timeout/4 apart (receivers count one per interval - timeout) and every one well
 * inside its deadline; a tenth of the interval keeps the grid recognisable at long timeouts.
 */
export function heartbeatJitterMs(intervalMs: number, timeoutMs: number): number {
  return Math.min(timeoutMs / 4, intervalMs / 10);
}

/** The next regular heartbeat. */
export interface NextHeartbeat {
  /** Its grid point (the grid re-anchored on now when it had fallen more than one interval behind). */
  gridMs: number;
  /** How long from now to send it: until the grid point, plus jitter. */
  delayMs: number;
}

/**
 * The next regular heartbeat after the grid point `gridMs`, at time `nowMs`; `random` is uniform in
 * [0, 1) (the jitter). After sending it, the following grid point is `gridMs + intervalMs`.
 */
export function nextHeartbeat(gridMs: number, nowMs: number, cadence: HeartbeatCadence, random: number): NextHeartbeat {
  const { intervalMs, timeoutMs } = cadence;
  const grid = gridMs < nowMs - intervalMs ? nowMs : gridMs; // fell far behind (a pause): re-anchor
  return { gridMs: grid, delayMs: Math.max(0, grid - nowMs) + random * heartbeatJitterMs(intervalMs, timeoutMs) };
}

/** Least time between a publish and an early heartbeat after it: interval - timeout/2. */
export function earlyHeartbeatGapMs(cadence: HeartbeatCadence): number {
  return cadence.intervalMs - cadence.timeoutMs / 2;
}

/**
 * When an early heartbeat for a peer that authenticated at `authenticatedAtMs` is due: one gossip
 * heartbeat (plus 1 ms) later, and not in the past.
 */
export function earlyHeartbeatDueMs(authenticatedAtMs: number, gossipHeartbeatMs: number, nowMs: number): number {
  return Math.max(nowMs, authenticatedAtMs + gossipHeartbeatMs + 1);
}

/** What to do when the early-heartbeat timer set for `dueMs` fires at `nowMs`. */
export interface EarlyHeartbeatStep {
  /** Publish now, and re-anchor the grid so the next regular heartbeat is a full interval later. */
  send: boolean;
  /** The grid point of the next regular heartbeat when `send` (now + interval). */
  gridMs?: number;
}

/**
 * Whether the early heartbeat due at `dueMs` goes out at `nowMs`: only when nothing was published
 * since it was asked for, and the previous publish (`lastPublishedMs`) is far enough back. The gap
 * is compared as earlyHeartbeatRetryMs computes it, so a timer set for the retry time always finds
 * it allowed (no zero-delay retry loop on a rounding error, which virtual time would never leave).
 */
export function earlyHeartbeatStep(dueMs: number, nowMs: number, lastPublishedMs: number, cadence: HeartbeatCadence): EarlyHeartbeatStep {
  if (lastPublishedMs < dueMs && nowMs >= lastPublishedMs + earlyHeartbeatGapMs(cadence)) return { send: true, gridMs: nowMs + cadence.intervalMs };
  return { send: false };
}

/**
 * When to try again for early heartbeats still owed after a timer fired: undefined when none is
 * (the latest request, `owedDueMs`, is not after the last publish), else the later of the latest
 * request and the first moment the gap allows. Requests are merged: one that waited for the gap may
 * so wait for a request made meanwhile, at most one gossip heartbeat longer.
 */
export function earlyHeartbeatRetryMs(owedDueMs: number, lastPublishedMs: number, cadence: HeartbeatCadence): number | undefined {
  if (owedDueMs <= lastPublishedMs) return undefined;
  return Math.max(owedDueMs, lastPublishedMs + earlyHeartbeatGapMs(cadence));
}
