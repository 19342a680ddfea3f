// Where an agent takes its configuration from, as a pure state machine: which controller it follows
// (the ControllerSelector: failover, latency-aware choice, delayed failback) and what state that puts
// it in. node/agent/agent-node.ts feeds it events — a health check's verdict, a session with the
// followed controller caught up or ended — with the time, and carries out the decision it returns:
// end the session in progress and start following another controller, run the session again after a
// pause, report a state change.
//
//   Autonomous   no controller followed, or one followed but never caught up with since the agent
//                started or lost every controller: serving its own replica (the file copy at start)
//   Connected    caught up with the followed controller and applying its live changes
//   FailingOver  left a controller (failover, failback) or lost its session with it, and not yet
//                caught up with the one followed now
//
//   any          ──switch to no controller (every one failed)──────────────> Autonomous
//   Connected    ──switch to another controller──────────────────────────────> FailingOver
//   any          ──switch from a controller to another─────────────────────> FailingOver
//   Autonomous   ──first switch to a controller (none followed before)─────> Autonomous (until caught up)
//   any          ──the session of the followed controller caught up───────> Connected
//   Connected    ──that session ended (failed, or the stream closed)──────> FailingOver (retried after retryMs)
//
// A session that fails is evidence against its controller: it counts as a failed check, so it may
// make the selector switch at once. Each switch starts a new "following" (a number the decision
// carries); events about an earlier following are stale (the session was already ended) and ignored.
//
// The candidates change live (the agent learns the controller set from the membership record):
// addCandidate makes a controller a candidate (chosen by the next tick if it is the best healthy one),
// removeCandidate forgets one, and when it is the controller followed the agent fails over at once as
// if it had failed (or goes Autonomous when no other is healthy). Checks of a controller that is no
// candidate (any more) are ignored.

import { ControllerSelector, type Candidate, type CandidateView, type SelectorOptions, type Switch } from './controller-selector.ts';

/**
 * Where the agent's configuration comes from: Connected (caught up with a controller and following
 * it), FailingOver (its controller failed; catching up with another), Autonomous (no controller
 * answers, or none has yet: serving its own replica, loaded from the file copy at start).
 */
export type AgentState = 'Connected' | 'FailingOver' | 'Autonomous';

/** Every agent state, in a stable order (for metrics). */
export const AGENT_STATES: readonly AgentState[] = ['Connected', 'FailingOver', 'Autonomous'];

/** A change of state. */
export interface AgentStateChange {
  from: AgentState;
  to: AgentState;
}

/** Options of the machine: the selector's, and the pause before a session is run again. */
export interface AgentFollowOptions extends SelectorOptions {
  /** After the session with the followed controller ends, wait this long before the next one (ms). */
  retryMs: number;
}

/** One period of following one controller: from a switch to it until the next switch. */
export interface Following {
  /** Increases with every switch; events carry it back. */
  id: number;
  /** The controller followed (the selector's id: its peer ID). */
  controller: string;
}

/** What the shell does after an event. Every field undefined: nothing to do. */
export interface FollowDecision {
  /** The controller followed changed: end the session in progress (of the previous following). */
  switch: Switch | undefined;
  /** Start following this controller now (a new session), after a switch to one. */
  follow: Following | undefined;
  /** The state changed. */
  state: AgentStateChange | undefined;
  /** The session of the current following ended and its controller is still followed: run another after this long, ms. */
  retryInMs: number | undefined;
}

const NOTHING: FollowDecision = Object.freeze({ switch: undefined, follow: undefined, state: undefined, retryInMs: undefined });

/** The agent's Connected/FailingOver/Autonomous machine around its controller selector. */
export class AgentFollow {
  readonly #selector: ControllerSelector;
  readonly #retryMs: number;
  #state: AgentState = 'Autonomous';
  #following: Following | undefined;
  #nextId = 1;

  constructor(candidates: readonly Candidate[], options: AgentFollowOptions, nowMs: number) {
    if (!(Number.isFinite(options.retryMs) && options.retryMs >= 0)) throw new Error('assertion: retryMs must be a finite number ≥ 0');
    const { retryMs, ...selector } = options;
    this.#retryMs = retryMs;
    this.#selector = new ControllerSelector(candidates, selector, nowMs);
  }

  /** Current state. */
  get state(): AgentState {
    return this.#state;
  }

  /** The controller followed now, if any. */
  get current(): string | undefined {
    return this.#following?.controller;
  }

  /** The current following, if any. */
  get following(): Following | undefined {
    return this.#following;
  }

  /** Times the agent left a controller because it failed. */
  get failovers(): number {
    return this.#selector.failovers;
  }

  /** Times it went back to a recovered better-priority controller. */
  get failbacks(): number {
    return this.#selector.failbacks;
  }

  /** What the selector knows of every candidate, configured ones first. */
  view(nowMs: number): CandidateView[] {
    return this.#selector.view(nowMs);
  }

  /** Whether `id` is a candidate now. */
  isCandidate(id: string): boolean {
    return this.#selector.has(id);
  }

  /** Make `c` a candidate (learned); false when it is one already. Whether to switch to it is the next tick's. */
  addCandidate(c: Candidate): boolean {
    return this.#selector.add(c);
  }

  /**
   * Forget candidate `id` (denied, or no longer a member). When it is the controller followed, the
   * agent fails over now as if it had failed: the decision says where to (or Autonomous).
   */
  removeCandidate(id: string, nowMs: number): FollowDecision {
    if (!this.#selector.remove(id)) return NOTHING;
    return this.tick(nowMs);
  }

  /** A health check of `id` succeeded in `rttMs`; the selector re-evaluates (nothing when `id` is no candidate). */
  checkOk(id: string, rttMs: number, nowMs: number): FollowDecision {
    if (!this.#selector.has(id)) return NOTHING;
    this.#selector.checkOk(id, rttMs, nowMs);
    return this.tick(nowMs);
  }

  /** A health check of `id` failed; the selector re-evaluates (nothing when `id` is no candidate). */
  checkFailed(id: string, nowMs: number): FollowDecision {
    if (!this.#selector.has(id)) return NOTHING;
    this.#selector.checkFailed(id, nowMs);
    return this.tick(nowMs);
  }

  /** Re-evaluates the choice of controller at `nowMs`. */
  tick(nowMs: number): FollowDecision {
    const sw = this.#selector.tick(nowMs);
    if (sw === undefined) return NOTHING;
    const from = this.#state;
    let to: AgentState = from;
    if (sw.to === undefined) to = 'Autonomous';
    else if (sw.from !== undefined || from === 'Connected') to = 'FailingOver';
    this.#following = sw.to === undefined ? undefined : { id: this.#nextId++, controller: sw.to };
    return { ...NOTHING, switch: sw, follow: this.#following, state: this.#move(to) };
  }

  /** The session of following `followingId` caught up with its controller. */
  caughtUp(followingId: number): FollowDecision {
    if (!this.#isCurrent(followingId)) return NOTHING;
    return { ...NOTHING, state: this.#move('Connected') };
  }

  /**
   * The session of following `followingId` ended: `failed` when it broke (an error, not the stream's
   * orderly end). A failure counts as a failed check of its controller and may switch at once;
   * otherwise the same controller is tried again after retryMs.
   */
  sessionEnded(followingId: number, failed: boolean, nowMs: number): FollowDecision {
    const f = this.#following;
    if (f === undefined || !this.#isCurrent(followingId)) return NOTHING;
    if (failed) {
      const d = this.checkFailed(f.controller, nowMs);
      if (d.switch !== undefined) return d;
    }
    return { ...NOTHING, state: this.#state === 'Connected' ? this.#move('FailingOver') : undefined, retryInMs: this.#retryMs };
  }

  #isCurrent(followingId: number): boolean {
    return this.#following !== undefined && this.#following.id === followingId;
  }

  #move(to: AgentState): AgentStateChange | undefined {
    const from = this.#state;
    if (from === to) return undefined;
    this.#state = to;
    return { from, to };
  }
}
