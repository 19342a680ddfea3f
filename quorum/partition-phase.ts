// Partition phases, for status, metrics and alerts (NOT for fencing: see fencing.ts).
//
//   Healthy     ──degraded──────────────────────────────────────────────> Suspected (timer starts)
//   Suspected   ──recovered──────────────────────────────────────────────> Healthy   (a blip, never confirmed)
//   Suspected   ──still degraded detectionDelayMs after it began─────────> Partitioned (Confirmed)
//   Partitioned ──recovered──────────────────────────────────────────────> Healing
//   Healing     ──degraded again─────────────────────────────────────────> Partitioned (no new delay:
//                                                                          the partition never ended)
//   Healing     ──caughtUp and at least healingHoldMs in Healing────────> Healthy
//
// "degraded" = no quorum, or some configured controller is not reached. Either is worth reporting:
// the first fences writes here, the second means some other controller may be fenced, or may be on
// the other side of a split. "recovered" is the opposite: quorum held and every controller reached.
// A flapping link that recovers within detectionDelayMs keeps going Healthy ⇄ Suspected and is never
// Confirmed: each Suspected starts a new timer. Several transitions may happen in one tick (with
// detectionDelayMs = 0, Healthy → Suspected → Partitioned at once). Time must never go backwards.

import { assertMonotonic, invariant } from './invariant.ts';
import { MAX_DELAY_MS } from './limits.ts';
import type { TallyResult } from './tally.ts';

/** Phase of this controller's view of the federation. */
export type Phase = 'Healthy' | 'Suspected' | 'Partitioned' | 'Healing';

/** Every phase, in a stable order (for metrics). */
export const PHASES: readonly Phase[] = ['Healthy', 'Suspected', 'Partitioned', 'Healing'];

/** The guide's "Partition State". */
export type PartitionState = 'None' | 'Suspected' | 'Confirmed';

/** Partition state of a phase: Healing reports None (connectivity and quorum are back). */
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

/** True when the tally calls for Suspected: no quorum, or a configured controller not reached. */
export function isDegraded(t: PhaseTally): boolean {
  return !t.haveQuorum || t.reachableControllers < t.configuredControllers;
}

/** Advances the phase machine to `input.nowMs`. Pure: returns the new state and the transitions taken. */
export function stepPhase(state: PhaseState, input: PhaseInput, options: PhaseOptions): { state: PhaseState; transitions: PhaseTransition[] } {
  assertMonotonic(input.nowMs, state.lastTickMs, 'stepPhase');
  invariant(options.detectionDelayMs >= 0 && options.detectionDelayMs <= MAX_DELAY_MS, 'detectionDelayMs in range');
  invariant(options.healingHoldMs >= 0 && options.healingHoldMs <= MAX_DELAY_MS, 'healingHoldMs in range');
  const now = input.nowMs;
  const degraded = isDegraded(input.tally);
  const transitions: PhaseTransition[] = [];
  let phase = state.phase;
  let since = state.sinceMs;
  const go = (to: Phase): void => { transitions.push({ from: phase, to, atMs: now }); phase = to; since = now; };
  // At most three transitions per tick (Healthy → Suspected → Partitioned, or Partitioned → Healing →
  // Healthy); the bound makes a rule mistake an assertion, not an endless loop.
  for (let step = 0; step < 4; step++) {
    const before = phase;
    switch (phase) {
      case 'Healthy':
        if (degraded) go('Suspected');
        break;
      case 'Suspected':
        if (!degraded) go('Healthy');
        else if (now - since >= options.detectionDelayMs) go('Partitioned');
        break;
      case 'Partitioned':
        if (!degraded) go('Healing');
        break;
      case 'Healing':
        if (degraded) go('Partitioned');
        else if (input.caughtUp && now - since >= options.healingHoldMs) go('Healthy');
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
