// Partition phases, for status, metrics and alerts (NOT for fencing: see fencing.ts).
//
// A partition, here, is this controller having LOST QUORUM: that is what fences its writes and what
// the FederationPartitioned alert (partition_state{state="confirmed"}) pages for. A controller that
// holds quorum while some configured controller is not reached is Degraded: it is on the healthy side
// (or a member is down), the missing member has its own alert (member_healthy == 0), and nothing
// critical is wrong here.
//
//   Healthy     ──quorum held, a controller not reached───────────────────> Degraded
//   Degraded    ──every controller reached again──────────────────────────> Healthy
//   Healthy, Degraded ──quorum lost──────────────────────────────────────> Suspected (timer starts)
//   Suspected   ──quorum back───────────────────────────────────────────> Healthy or Degraded (a blip,
//                                                                          never confirmed)
//   Suspected   ──still no quorum detectionDelayMs after it began─────────> Partitioned (Confirmed)
//   Partitioned ──quorum back───────────────────────────────────────────> Healing
//   Healing     ──quorum lost again───────────────────────────────────────> Partitioned (no new delay:
//                                                                          the partition never ended)
//   Healing     ──caughtUp and at least healingHoldMs in Healing────────> Healthy or Degraded
//
// A flapping link that recovers within detectionDelayMs keeps going Healthy ⇄ Suspected and is never
// Confirmed: each Suspected starts a new timer. Several transitions may happen in one tick (with
// detectionDelayMs = 0, Healthy → Suspected → Partitioned at once). Time must never go backwards.

import { assertMonotonic, invariant } from './invariant.ts';
import { MAX_DELAY_MS } from './limits.ts';
import type { TallyResult } from './tally.ts';

/** Phase of this controller's view of the federation. */
export type Phase = 'Healthy' | 'Degraded' | 'Suspected' | 'Partitioned' | 'Healing';

/** Every phase, in a stable order (for metrics). */
export const PHASES: readonly Phase[] = ['Healthy', 'Degraded', 'Suspected', 'Partitioned', 'Healing'];

/** The guide's "Partition State". */
export type PartitionState = 'None' | 'Suspected' | 'Confirmed';

/** Partition state of a phase: Degraded and Healing report None (this controller holds quorum). */
export function partitionStateOf(phase: Phase): PartitionState {
  return phase === 'Suspected' ? 'Suspected' : phase === 'Partitioned' ? 'Confirmed' : 'None';
}

/** Timings of the phase machine. */
export interface PhaseOptions {
  /** Time in Suspected before Partitioned (Confirmed). */
  detectionDelayMs: number;
  /** Least time in Healing before Healthy. */
  healingHoldMs: number;
}

/** The state of the phase machine. */
export interface PhaseState {
  /** Current phase. */
  readonly phase: Phase;
  /** When the current phase began. */
  readonly sinceMs: number;
  /** When the last tick was (time never goes backwards). */
  readonly lastTickMs: number;
}

/** The part of a tally the phase machine looks at. */
export type PhaseTally = Pick<TallyResult, 'haveQuorum' | 'reachableControllers' | 'configuredControllers'>;

/** One tick's input. */
export interface PhaseInput {
  /** Now, on this controller's monotonic clock. */
  nowMs: number;
  /** The tally of this moment. */
  tally: PhaseTally;
  /** True when this controller has caught up with its peers (Merkle roots equal / sync lag zero). */
  caughtUp: boolean;
}

/** One transition. */
export interface PhaseTransition {
  /** Phase left. */
  from: Phase;
  /** Phase entered. */
  to: Phase;
  /** When. */
  atMs: number;
}

/** Initial state: Healthy at `startMs` (the first tick moves on at once if it is not). */
export function initialPhaseState(startMs: number): PhaseState {
  invariant(Number.isFinite(startMs), 'startMs is a finite number');
  return { phase: 'Healthy', sinceMs: startMs, lastTickMs: startMs };
}

/** True when this controller has lost quorum (what Suspected and Partitioned report). */
export function quorumLost(t: PhaseTally): boolean {
  return !t.haveQuorum;
}

/** The phase of a controller that holds quorum: Healthy when it reaches every configured controller, else Degraded. */
export function withQuorum(t: PhaseTally): 'Healthy' | 'Degraded' {
  return t.reachableControllers < t.configuredControllers ? 'Degraded' : 'Healthy';
}

/** Advances the phase machine to `input.nowMs`. Pure: returns the new state and the transitions taken. */
export function stepPhase(state: PhaseState, input: PhaseInput, options: PhaseOptions): { state: PhaseState; transitions: PhaseTransition[] } {
  assertMonotonic(input.nowMs, state.lastTickMs, 'stepPhase');
  invariant(options.detectionDelayMs >= 0 && options.detectionDelayMs <= MAX_DELAY_MS, 'detectionDelayMs in range');
  invariant(options.healingHoldMs >= 0 && options.healingHoldMs <= MAX_DELAY_MS, 'healingHoldMs in range');
  const now = input.nowMs;
  const lost = quorumLost(input.tally);
  const held = withQuorum(input.tally);
  const transitions: PhaseTransition[] = [];
  let phase = state.phase;
  let since = state.sinceMs;
  const go = (to: Phase): void => { transitions.push({ from: phase, to, atMs: now }); phase = to; since = now; };
  // At most two transitions per tick (Healthy → Suspected → Partitioned, or Partitioned → Healing →
  // Healthy); the bound makes a rule mistake an assertion, not an endless loop.
  for (let step = 0; step < 4; step++) {
    const before = phase;
    switch (phase) {
      case 'Healthy':
      case 'Degraded':
        if (lost) go('Suspected');
        else if (phase !== held) go(held);
        break;
      case 'Suspected':
        if (!lost) go(held);
        else if (now - since >= options.detectionDelayMs) go('Partitioned');
        break;
      case 'Partitioned':
        if (!lost) go('Healing');
        break;
      case 'Healing':
        if (lost) go('Partitioned');
        else if (input.caughtUp && now - since >= options.healingHoldMs) go(held);
        break;
    }
    if (phase === before) return { state: { phase, sinceMs: since, lastTickMs: now }, transitions };
    invariant(step < 3, 'phase machine settles within three transitions per tick');
  }
  invariant(false, 'unreachable');
}

/** The phase machine as an object: keeps its state and the transitions since it was created. */
export class PartitionPhaseMachine {
  /** Timings. */
  readonly options: PhaseOptions;
  #state: PhaseState;

  constructor(options: PhaseOptions, startMs: number) {
    this.options = { detectionDelayMs: options.detectionDelayMs, healingHoldMs: options.healingHoldMs };
    this.#state = initialPhaseState(startMs);
  }

  /** Advances to `nowMs` with the tally of that moment; returns the transitions taken (often none). */
  tick(nowMs: number, tally: PhaseTally, caughtUp = true): PhaseTransition[] {
    const r = stepPhase(this.#state, { nowMs, tally, caughtUp }, this.options);
    this.#state = r.state;
    return r.transitions;
  }

  /** Current state. */
  get state(): PhaseState {
    return this.#state;
  }

  /** Current phase. */
  get phase(): Phase {
    return this.#state.phase;
  }

  /** Current partition state. */
  get partitionState(): PartitionState {
    return partitionStateOf(this.#state.phase);
  }
}
