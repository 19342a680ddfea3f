// Named bounds of the quorum module. Every input is checked against one of these, so a bad
// configuration or a flood of agents cannot make a tally unbounded in time or memory.

/** Most controllers one federation may configure. Heartbeats list the reachable ones, so keep it small. */
export const MAX_CONTROLLERS = 32;

/** Most agents the registry may hold (each one adds its weight to the total). */
export const MAX_AGENTS = 10_000;

/** Largest controller or agent weight; with the other bounds the total stays far below 2^53. */
export const MAX_WEIGHT = 1_000;

/** Longest vote lease: one day. Longer leases only delay failover. */
export const MAX_LEASE_MS = 86_400_000;

/** Longest detection delay or healing hold: one day. */
export const MAX_DELAY_MS = 86_400_000;

/** Longest agent absence before removal may be proposed: one year. */
export const MAX_AGENT_ABSENCE_MS = 365 * 86_400_000;

/** Vote requests a controller remembers per agent while waiting for answers (older ones are dropped). */
export const MAX_OUTSTANDING_REQUESTS_PER_AGENT = 4;
