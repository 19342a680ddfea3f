// States of a member in the peer table.
//
//   (first heartbeat) ──> Healthy if successThreshold = 1, else Unhealthy (not yet proven)
//   Healthy   ──1..failureThreshold-1 missed checks──> Suspect
//   Healthy / Suspect ──failureThreshold missed checks──> Unhealthy
//   Suspect   ──a heartbeat──> Healthy   (suspicion never crossed the threshold)
//   Unhealthy ──successThreshold passed checks in a row──> Healthy
//   any       ──leave notice──> Left ──a newer heartbeat──> rejoin as on the first heartbeat

/** Health of a member as seen by the local failure detector. */
export type MemberState = 'Healthy' | 'Suspect' | 'Unhealthy' | 'Left';

/** Every state, in a stable order (for metrics and tables). */
export const MEMBER_STATES: readonly MemberState[] = ['Healthy', 'Suspect', 'Unhealthy', 'Left'];
