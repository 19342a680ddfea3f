// The clock assumption behind vote leases.
//
// Agents and controllers measure leases on their own monotonic clocks (never wall clocks, which NTP
// may step). Those clocks may be offset by any amount — which is why leases travel as durations, never
// as timestamps — but their RATES are assumed to differ from real time by at most ρ: a clock advances
// between (1 − ρ)·Δ and (1 + ρ)·Δ over a real interval Δ.
//
// A controller anchors a lease of duration D at the moment it SENT the request (before the agent
// granted it) and counts it for D − driftMarginMs of its own clock; the agent frees it D after the
// grant on its clock. In real time the controller stops at most (D − margin)/(1 − ρ) after the grant,
// and the agent frees it at least D/(1 + ρ) after the grant. The controller is always first iff
//     (D − margin)/(1 − ρ) ≤ D/(1 + ρ)   ⇔   margin ≥ D · 2ρ/(1 + ρ).

/** Assumed worst clock-rate error of any node, in parts per million (1 %: generous for quartz, allows VMs). */
export const ASSUMED_CLOCK_RATE_DRIFT_PPM = 10_000;

/** Smallest drift margin that keeps a lease of `leaseMs` exclusive when rates drift by up to `driftPpm`. */
export function minDriftMarginMs(leaseMs: number, driftPpm: number = ASSUMED_CLOCK_RATE_DRIFT_PPM): number {
  // Integer numerator and denominator (exact below 2^53), so an exact quotient is not rounded up.
  return Math.ceil((leaseMs * 2 * driftPpm) / (1_000_000 + driftPpm));
}
