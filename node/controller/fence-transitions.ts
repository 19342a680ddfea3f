// Says what happened to a controller's write fence: entering or leaving a fence, losing or regaining
// quorum, and each partition phase change is ONE log line (warn when it gets worse, info when it gets
// better), one event on the embedded API (ControllerNode.on('fence' | 'quorum' | 'phase')) and one
// counter (docs/metrics.md). The write fence computes its state where it decides (every write, its
// timers, membership changes) and hands each state here; only changes come out.
import type { FenceReason, Phase, PhaseTransition } from '../../quorum/index.ts';
import { FENCE_REASONS, PHASES } from '../../quorum/index.ts';
import { Emitter } from '../util/emitter.ts';
import type { Logger } from '../util/logger.ts';

/** The fence state of one moment, as the write fence computed it. */
export interface FenceState {
  /** True while writes are refused. */
  fenced: boolean;
  /** Why writes are refused (undefined while they are accepted). */
  reason: FenceReason | undefined;
  /** True while quorum for writes is held (clock agreement included). */
  haveQuorum: boolean;
  /** Votes held (of the controllers reached, those whose clocks agree), total and threshold. */
  votes: number;
  total: number;
  threshold: number;
  /** Controllers reached, itself included. */
  reachable: string[];
  /** Reached controllers whose clocks differ from this one's by more than maxClockOffset. */
  clockSkewedPeers: string[];
  /** The decision's message (the FENCED error message while fenced). */
  message: string;
}

/** `fence`: writes became refused (fenced: true, with the reason) or accepted again (fenced: false). */
export interface FenceEvent extends FenceState {
  /** The reason of the fence left, when fenced is false. */
  previousReason: FenceReason | undefined;
  /** When, monotonic ms (near Unix time). */
  atMs: number;
}

/** `quorum`: quorum for writes was lost or regained. */
export interface QuorumEvent extends Pick<FenceState, 'haveQuorum' | 'votes' | 'total' | 'threshold' | 'reachable' | 'clockSkewedPeers'> {
  /** When, monotonic ms (near Unix time). */
  atMs: number;
}

/** `phase`: the partition phase changed. */
export type PhaseEvent = PhaseTransition;

/** Listeners of fence events. */
export interface FenceListeners {
  fence: (e: FenceEvent) => void;
  quorum: (e: QuorumEvent) => void;
  phase: (e: PhaseEvent) => void;
}

/** Counters of transitions. */
export interface FenceTransitionCounters {
  /** Times writes became fenced, by reason (a change of reason while fenced counts for the new one). */
  fenced: Record<FenceReason, number>;
  /** Times writes were accepted again, by the reason of the fence left. */
  unfenced: Record<FenceReason, number>;
  /** Times quorum was lost. */
  quorumLost: number;
  /** Times quorum was regained (or first reached after start). */
  quorumHeld: number;
  /** Times each phase was entered. */
  phases: Record<Phase, number>;
}

const WORSE: ReadonlySet<Phase> = new Set(['Suspected', 'Partitioned']);

/** Turns a stream of fence states into transitions. */
export class FenceTransitions {
  readonly counters: FenceTransitionCounters = {
    fenced: Object.fromEntries(FENCE_REASONS.map((r) => [r, 0])) as Record<FenceReason, number>,
    unfenced: Object.fromEntries(FENCE_REASONS.map((r) => [r, 0])) as Record<FenceReason, number>,
    quorumLost: 0, quorumHeld: 0,
    phases: Object.fromEntries(PHASES.map((p) => [p, 0])) as Record<Phase, number>,
  };
  readonly #log: Logger;
  readonly #events: Emitter<FenceListeners>;
  #last: FenceState | undefined;

  constructor(log: Logger) {
    this.#log = log;
    this.#events = new Emitter((err, event) => log.error({ err, event }, 'fence event listener threw'));
  }

  /** Subscribe; returns the unsubscribe function. */
  on<K extends keyof FenceListeners>(event: K, listener: FenceListeners[K]): () => void {
    return this.#events.on(event, listener);
  }

  /**
   * The state of `atMs` and the phase transitions the phase machine took to reach it. The first state
   * is the baseline: logged once at info, no event.
   */
  observe(s: FenceState, phases: readonly PhaseTransition[], atMs: number): void {
    const last = this.#last;
    this.#last = s;
    for (const p of phases) this.#phase(p);
    if (last === undefined) {
      this.#log.info(fields(s), s.fenced ? 'writes fenced at start until quorum is reached' : 'writes accepted at start');
      return;
    }
    if (s.haveQuorum !== last.haveQuorum) {
      if (s.haveQuorum) this.counters.quorumHeld++;
      else this.counters.quorumLost++;
      const f = { haveQuorum: s.haveQuorum, votes: s.votes, total: s.total, threshold: s.threshold, reachable: s.reachable, clockSkewedPeers: s.clockSkewedPeers };
      if (s.haveQuorum) this.#log.info(f, 'quorum regained');
      else this.#log.warn(f, 'quorum lost');
      this.#events.emit('quorum', { ...f, atMs });
    }
    if (s.fenced !== last.fenced || (s.fenced && s.reason !== last.reason)) {
      const previousReason = last.fenced ? last.reason : undefined;
      if (s.fenced) {
        this.counters.fenced[s.reason ?? 'NO_QUORUM']++;
        this.#log.warn({ ...fields(s), ...(previousReason === undefined ? {} : { previousReason }) }, 'writes fenced');
      } else {
        this.counters.unfenced[previousReason ?? 'NO_QUORUM']++;
        this.#log.info({ ...fields(s), previousReason }, 'writes unfenced');
      }
      this.#events.emit('fence', { ...s, previousReason, atMs });
    }
  }

  /** Drop every listener. */
  clear(): void {
    this.#events.clear();
  }

  #phase(p: PhaseTransition): void {
    this.counters.phases[p.to]++;
    const f = { from: p.from, to: p.to };
    if (WORSE.has(p.to)) this.#log.warn(f, 'partition phase changed');
    else this.#log.info(f, 'partition phase changed');
    this.#events.emit('phase', p);
  }
}

// The log fields of a fence state: reason, votes held/needed, reachable peers, clock-skewed peers.
function fields(s: FenceState): Record<string, unknown> {
  return {
    reason: s.reason, votes: s.votes, threshold: s.threshold, total: s.total, reachable: s.reachable,
    ...(s.clockSkewedPeers.length === 0 ? {} : { clockSkewedPeers: s.clockSkewedPeers }), detail: s.message,
  };
}
