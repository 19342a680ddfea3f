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
//
// Agents are clock witnesses (AgentAssisted). An agent's vote lease counts only while the agent's
// clock agrees with this controller's too: each grant carries the agent's clocks, a clock-offset
// sample like a probe's answer. Without it, two controllers whose clocks disagree each count only
// themselves, and the one whose clock is off could still reach the threshold with the leases of the
// agents following it and accept writes stamped seconds behind (simulation seed 300260, lost
// last-writer-wins updates). With it, that controller is fenced (CLOCK_SKEW) unless its agents'
// clocks are off by the same amount. A lease whose agent sent no clock (a version-1 agent) is not
// measured, so not counted.

//
// Stamps standing still. A controller's stamps are the larger of its physical clock and the highest
// stamp it has issued or accepted (its HLC). Accepted stamps are at most maxClockOffset ahead of its
// clock, so while its clock runs true its stamps stand at most that far above it. Further above means
// its own clock was set back: its stamps then stand still (the HLC holds the height it reached) until
// real time passes them, and a write it accepts meanwhile loses last-writer-wins to any earlier write
// stamped higher, however long before it was made. Two controllers set back alike agree with each
// other, height to height, while neither's stamps move (simulation seed 500969: a and b, both set
// back from about 6 s ahead, stamps 0.46 s apart; a delete on b 1.46 s after a write on a lost to it).
// So such a controller fences its own writes, reason CLOCK_SKEW, until its clock passes its stamps
// (docs/configuration.md "Clock skew": a clock set right stays fenced until real time passes the
// stamps it already issued), whatever its peers' clocks say.

import type { TallyResult } from './tally.ts';

/**
 * How far this controller's stamp height (`heightMs`, its HLC's wall part) stands above its physical
 * clock (`physicalMs`) when that is more than `maxClockOffsetMs` (its clock was set back: its stamps
 * stand still); undefined otherwise.
 */
export function stampsStandingStillMs(heightMs: number, physicalMs: number, maxClockOffsetMs: number): number | undefined {
  const aheadMs = heightMs - physicalMs;
  return aheadMs > maxClockOffsetMs ? aheadMs : undefined;
}

/** What the clock check adds to a fencing decision. */
export interface ClockAgreement {
  /** The tally over the reached controllers whose clocks agree with this one's (clockAgreeingControllers). */
  tally: TallyResult;
  /** Reached controllers and leased agents whose clocks disagree with this one's, sorted. */
  skewedPeers: readonly string[];
  /** Reached controllers and leased agents whose clocks are not measured yet (not counted either), sorted. */
  unmeasuredPeers: readonly string[];
  /** The bound, for messages. */
  maxClockOffsetMs: number;
  /** How far this controller's stamps stand above its own clock, when beyond the bound (stampsStandingStillMs). */
  stampsAheadMs?: number;
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

/** Who votes under the clock rule. */
export interface ClockVoters {
  /** Reached controllers whose clocks are measured and agree (this one always), order kept. */
  controllers: string[];
  /** Leased agents whose clocks are measured and agree, order kept. */
  agents: string[];
  /** Reached controllers and leased agents whose clocks disagree, sorted. */
  skewedPeers: string[];
  /** Reached controllers and leased agents not measured yet, sorted. */
  unmeasuredPeers: string[];
}

/**
 * The votes that count under the clock rule: of the `reachable` controllers and the `leasedAgents`,
 * those whose clocks are `measured` and not `skewed` (this controller always counts itself).
 */
export function clockVoters(
  self: string, reachable: readonly string[], leasedAgents: readonly string[], skewed: ReadonlySet<string>, measured: ReadonlySet<string>,
): ClockVoters {
  const peers = [...reachable, ...leasedAgents];
  const skewedPeers = skewedReachable(self, peers, skewed);
  const unmeasuredPeers = unmeasuredReachable(self, peers, measured);
  const left = new Set([...skewedPeers, ...unmeasuredPeers]);
  return {
    controllers: clockAgreeingControllers(self, reachable, left),
    agents: [...new Set(leasedAgents)].filter((a) => !left.has(a)),
    skewedPeers,
    unmeasuredPeers,
  };
}
