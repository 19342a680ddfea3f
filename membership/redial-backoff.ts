// When to dial a configured member again: exponential backoff with +-20 % jitter, never above a cap.
//
// Controllers are few and a controller that cannot reach its peers fences its writes, so between
// controllers the cap is short (controllerMaxDelayMs, default 1 s): a minority is redialed, and
// un-fenced, within about one cap of a heal whatever the cut's length. Agents are many and only dial
// controllers; they keep the long cap (maxDelayMs), so a controller coming back is not met by every
// agent at once every second.

import type { MemberRole } from './member-name.ts';

/** Backoff of the redials to one target. */
export interface RedialBackoff {
  /** First retry delay after a failed dial or a lost connection, milliseconds. */
  initialDelayMs: number;
  /** Ceiling of the retry delay, milliseconds; jitter never goes above it. */
  maxDelayMs: number;
  /** Growth of the delay per failed attempt. */
  factor: number;
  /** Deadline of a dial's TCP connect, milliseconds, within the dial's own deadline (unset: none). */
  connectTimeoutMs?: number;
}

/** The configured backoff: the general ceiling and the one between controllers. */
export interface RedialSettings extends RedialBackoff {
  /** Ceiling of the retry delay when a controller dials a controller, milliseconds. */
  controllerMaxDelayMs: number;
}

/**
 * Deadline of the TCP connect when a controller dials a controller. Linux sends an unanswered SYN
 * again after 1 s, 3 s, 7 s: a dial into a network that drops packets would otherwise notice a heal
 * up to 4 s late (a dial deadline of 5 s), and the link would heal that much later than it could.
 * One second is more than a TCP handshake takes over any WAN; the upgrade that follows keeps the
 * whole dial deadline.
 */
export const CONTROLLER_CONNECT_TIMEOUT_MS = 1_000;

/** Spread of the jitter: each delay is its base times a uniform factor in [1 - J, 1 + J], then capped. */
export const REDIAL_JITTER_FRACTION = 0.2;

// Exponent bound: factor ** 64 is past any cap already, and keeps the power finite.
const EXPONENT_MAX = 64;

/**
 * The backoff a node of `role` uses for its configured members: a controller's members are the other
 * controllers (capped at controllerMaxDelayMs), an agent's are its controllers (capped at maxDelayMs).
 */
export function redialBackoffFor(role: MemberRole, s: RedialSettings): RedialBackoff {
  if (role !== 'controller') return { initialDelayMs: s.initialDelayMs, maxDelayMs: s.maxDelayMs, factor: s.factor };
  const maxDelayMs = Math.min(s.maxDelayMs, s.controllerMaxDelayMs);
  return { initialDelayMs: Math.min(s.initialDelayMs, maxDelayMs), maxDelayMs, factor: s.factor, connectTimeoutMs: CONTROLLER_CONNECT_TIMEOUT_MS };
}

/** Delay before the next dial after `failures` failed ones (0: after a lost connection), before jitter. */
export function redialBaseDelayMs(failures: number, b: RedialBackoff): number {
  const n = Math.min(Math.max(0, failures), EXPONENT_MAX);
  return Math.min(b.maxDelayMs, b.initialDelayMs * b.factor ** n);
}

/**
 * The wait before the next dial, given the jittered delay and how long the failed dial took: delays
 * run from the start of one dial to the start of the next, so a dial that waited out its connect
 * deadline in silence is followed by the next one without a further wait beyond the delay.
 */
export function redialWaitMs(delayMs: number, attemptMs: number): number {
  return Math.max(0, delayMs - Math.max(0, attemptMs));
}

/** `baseMs` with jitter from `random` (uniform in [0, 1)), rounded, never above `b.maxDelayMs`. */
export function redialJitteredDelayMs(baseMs: number, b: RedialBackoff, random: number): number {
  const spread = 1 - REDIAL_JITTER_FRACTION + 2 * REDIAL_JITTER_FRACTION * random;
  return Math.min(b.maxDelayMs, Math.round(baseMs * spread));
}
