// Majorities and thresholds. Everything that decides "enough votes" goes through these few lines, so
// the one property that matters — two disjoint vote sets can never both reach the threshold — is
// checked in one place: threshold t of total W is safe iff 2t > W.

/** Smallest strict majority of `n` members: ⌊n/2⌋+1. */
export function controllerMajority(n: number): number {
  return Math.floor(n / 2) + 1;
}

/** Weighted threshold of total weight `totalWeight`: ⌊W/2⌋+1, the least weight more than half of W. */
export function weightedThreshold(totalWeight: number): number {
  return Math.floor(totalWeight / 2) + 1;
}

/** True when `part` is more than half of `whole` (two disjoint parts can never both be). */
export function isStrictMajority(part: number, whole: number): boolean {
  return 2 * part > whole;
}

/** AgentAssisted total W = controllerWeight × controllers + agentWeight × registered agents. */
export function totalWeight(controllerWeight: number, controllers: number, agentWeight: number, agents: number): number {
  return controllerWeight * controllers + agentWeight * agents;
}
