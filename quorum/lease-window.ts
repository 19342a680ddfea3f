// AgentAssisted: the controller contact window must fit inside a counted vote lease.
//
// Safety ("two controllers that cannot exchange data never both hold quorum beyond one lease
// interval") needs each side of a cut to stop counting the other side's controllers no later than it
// stops counting a lease: the contact window (controller-contacts.ts) must be at most
// leaseMs − driftMarginMs, the part of a lease a controller counts. The window itself is the shell's
// (node/ uses the failure detector's bound); this file decides whether a lease fits it, and which lease
// to take when the operator gave none. A lease that does not fit is refused, never stretched.

import { minDriftMarginMs } from './clock-drift.ts';
import { contactWindowMs } from './controller-contacts.ts';
import { MAX_LEASE_MS } from './limits.ts';
import { QUORUM_DEFAULTS, type QuorumConfig } from './quorum-config.ts';

/** Default leases are whole multiples of this. */
export const LEASE_STEP_MS = 1_000;

/** Why a lease does not fit a contact window: the figures for the refusal. */
export interface LeaseWindowMismatch {
  /** The controller contact window, ms. */
  contactWindowMs: number;
  /** leaseMs − driftMarginMs: the longest contact window the lease allows, ms. */
  leaseWindowMs: number;
  /** Shortest leaseMs that fits with the same driftMarginMs, ms. */
  minLeaseMs: number;
}

/**
 * Whether a contact window of `windowMs` fits the leases of `config`: undefined when it does (and
 * always in Controllers mode, which counts no lease), else the figures of the mismatch.
 */
export function leaseWindowMismatch(config: Pick<QuorumConfig, 'mode' | 'leaseMs' | 'driftMarginMs'>, windowMs: number): LeaseWindowMismatch | undefined {
  if (config.mode !== 'AgentAssisted') return undefined;
  const leaseWindowMs = contactWindowMs(config);
  if (windowMs <= leaseWindowMs) return undefined;
  return { contactWindowMs: windowMs, leaseWindowMs, minLeaseMs: windowMs + config.driftMarginMs };
}

/** A lease and its drift margin. */
export interface LeaseTiming {
  leaseMs: number;
  driftMarginMs: number;
}

/**
 * The AgentAssisted lease to take when the operator gave none: the shortest whole-second lease, never
 * below the default, whose counted part covers `windowMs`. The margin is `driftMarginMs` when given,
 * else the larger of the default and minDriftMarginMs(lease) (it grows with the lease, hence the
 * search). Stops past MAX_LEASE_MS (the configuration check then refuses the result).
 */
export function defaultLeaseForWindow(windowMs: number, driftMarginMs?: number): LeaseTiming {
  const marginOf = (leaseMs: number): number => driftMarginMs ?? Math.max(QUORUM_DEFAULTS.driftMarginMs, minDriftMarginMs(leaseMs));
  let leaseMs = Math.max(QUORUM_DEFAULTS.leaseMs, Math.ceil((windowMs + marginOf(windowMs)) / LEASE_STEP_MS) * LEASE_STEP_MS);
  while (windowMs > leaseMs - marginOf(leaseMs) && leaseMs <= MAX_LEASE_MS) leaseMs += LEASE_STEP_MS;
  return { leaseMs, driftMarginMs: marginOf(leaseMs) };
}
