// Clock agreement in the fencing decision (DESIGN.md: a controller whose clock differs from a quorum
// of its peers by more than maxClockOffset fences its own writes, reason CLOCK_SKEW, until it agrees
// again).
//
// The rule: a controller counts the vote of a reached controller only while their clocks agree, and
// fences when the controllers it reaches AND agrees with (itself included) do not carry the threshold.
// So one controller 8 s off among three agrees with itself only and is outvoted, while each of the
// other two agrees with the other and keeps quorum. The check is symmetric: a clock behind loses
// last-writer-wins to earlier writes just as one ahead wins over later ones. With two controllers and
// no third clock nobody can tell which one is off: both count only themselves (Controllers mode:
// both fenced; AgentAssisted: decided by the agents' leases, as in a cut).
//
// "Agree" is decided per peer in membership/clock-offset.ts (an interval from a clock probe's answer
// and its round trip; only an interval entirely beyond maxClockOffset disagrees). A peer whose clock
// this controller has not measured yet (since it started) does not count either: an unknown clock may
// be the one that is off, and counting it let a controller just restarted next to a skewed peer
// accept writes for as long as the link kept failing before the first probe was answered (simulation
// seed 100106). Peers are probed as soon as they authenticate, so this costs one round trip at start.

import type { TallyResult } from './tally.ts';

/** What the clock check adds to a fencing decision. */
export interface ClockAgreement {
  /** The tally over the reached controllers whose clocks agree with this one's (clockAgreeingControllers). */
  tally: TallyResult;
  /** Reached controllers whose clocks disagree with this one's, sorted. */
  skewedPeers: readonly string[];
  /** Reached controllers whose clocks are not measured yet (not counted either), sorted. */
  unmeasuredPeers: readonly string[];
  /** The bound, for messages. */
  maxClockOffsetMs: number;
}

/**
 * The reached controllers whose votes count under the clock rule: `reachable` without those in
 * `skewed` (this controller always agrees with itself). Order kept, duplicates dropped.
 */
export function clockAgreeingControllers(self: string, reachable: Iterable<string>, skewed: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const c of reachable) if (c === self || !skewed.has(c)) out.add(c);
  return [...out];
}

/** The reached controllers whose clocks disagree, sorted (self never). */
export function skewedReachable(self: string, reachable: Iterable<string>, skewed: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const c of reachable) if (c !== self && skewed.has(c)) out.add(c);
  return [...out].sort();
}

/** The reached controllers (self never) with no clock measurement yet, sorted. */
export function unmeasuredReachable(self: string, reachable: Iterable<string>, measured: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const c of reachable) if (c !== self && !measured.has(c)) out.add(c);
  return [...out].sort();
}
