// Exhaustive exploration of ONE agent's vote lease with n controllers, driving the real
// AgentVoteState and LeaseTable (no model of them). Every interleaving of these events is explored:
//   - a controller sends a vote request (at most one in flight per controller),
//   - the agent answers a request (at most one answer in flight per controller),
//   - an answer is delivered, or a request or answer is lost (the controller then ends the request, as
//     its timeout would; a refused request is ended when the refusal arrives),
//   - the agent's primary changes to any controller or to none (failover, fail-back, no primary),
//   - the agent restarts (forgets its lease), a controller restarts (forgets its table; messages in
//     flight to it still arrive at the new process),
//   - one real tick passes, every clock advancing by any of `ratesMs` (independently per node and per
//     tick: bounded clock-rate drift, any offsets).
// Messages are delivered whenever the explorer chooses, so every agent→controller reachability
// pattern, constant or changing, is covered. States are identified by their relative timings
// (what remains of each lease and pending request on each node's own clock), which is all the code's
// behaviour depends on; the search runs until no new state appears.

import { AgentVoteState } from '../../quorum/agent-vote-state.ts';
import { LeaseTable } from '../../quorum/lease-table.ts';
import { pathText, type Path } from './explorer-path.ts';

/** Exploration parameters. */
export interface ExploreOptions {
  /** Controllers. */
  n: number;
  /** Possible clock advances per real tick (e.g. [2, 3, 4]: rates 1 ± 1/3 around 3). */
  ratesMs: readonly number[];
  leaseMs: number;
  driftMarginMs: number;
  /** Stop after this many states (a safety net; a complete run reports complete: true). */
  maxStates: number;
  /** Give a restarted controller's table the incarnation of its previous life (the bug it guards against). */
  reuseIncarnation?: boolean;
  /** Return at the first violation (for the runs that are expected to find one). */
  stopAtFirstViolation?: boolean;
  /** 'holder' (default): whoever counts the agent is its lease holder (implies exclusivity);
   *  'exclusive': only that no two controllers count it at once. */
  invariant?: 'holder' | 'exclusive';
  /** Keep the last controller that counted the agent in the state, to see handovers (default true;
   *  the runs that only look for a counterexample turn it off: about half the states). */
  trackHandover?: boolean;
  /** Leave out restarts (runs looking for a counterexample that needs none). */
  noRestarts?: boolean;
}

/** Outcome of an exploration. */
export interface ExploreResult {
  states: number;
  complete: boolean;
  /** Violations found (first few), with the event path that reached them. */
  violations: string[];
  /** Who counted the agent, over all states: 'none' or a controller index. */
  countedBy: Set<string>;
  /** A state was reached where controller j counted the agent after controller i had (i ≠ j): failover happened. */
  sawHandover: boolean;
  /** Longest event path to a new state. */
  depth: number;
}

// A message carries the id on the wire; the explorer also remembers when (controller clock) the request
// it belongs to was sent, so that the state key can tell an answer to THIS pending request from an
// answer that merely carries the same id (an id reused by a restarted controller).
interface Request { id: string; sentAtMs: number }
interface Answer { id: string; sentAtMs: number; granted: boolean; durationMs: number }

interface State {
  tA: number;
  tC: number[];
  vote: AgentVoteState;
  primary: number; // -1: none
  tables: LeaseTable[];
  issued: number[]; // requests each table has issued (ids are `${incarnation}/${1..issued}`)
  req: Array<Request | undefined>;
  resp: Array<Answer | undefined>;
  lastCounter: number; // last controller seen counting (-1: none yet): part of the state, so a handover is seen
  path: Path | undefined;
}


let incarnations = 0;
const table = (o: ExploreOptions, incarnation = `i${++incarnations}`): LeaseTable =>
  new LeaseTable({ leaseMs: o.leaseMs, driftMarginMs: o.driftMarginMs, maxAgents: 1, incarnation });

const name = (c: number): string => `c${c}`;

function clone(s: State, step: string): State {
  return {
    tA: s.tA, tC: [...s.tC], vote: s.vote.clone(), primary: s.primary, tables: s.tables.map((t) => t.clone()), issued: [...s.issued],
    req: s.req.map((r) => (r === undefined ? undefined : { ...r })), resp: s.resp.map((r) => (r === undefined ? undefined : { ...r })), lastCounter: s.lastCounter,
    path: { step, prev: s.path },
  };
}

function key(s: State, o: ExploreOptions): string {
  const held = s.vote.held(s.tA);
  const parts = [
    `p${s.primary}`,
    `q${Math.max(0, s.vote.startedAtMs + o.leaseMs - s.tA)}`,
    held === undefined ? 'h-' : `h${held.controller}:${held.expiresAtMs - s.tA}`,
    o.trackHandover === false ? '' : `l${s.lastCounter}`,
  ];
  for (let c = 0; c < o.n; c++) {
    const t = s.tables[c]!;
    const now = s.tC[c]!;
    const until = t.validUntilMs('a');
    const mark = (p: { requestId: string; sentAtMs: number }, m: Request | undefined, same: string, other: string): string =>
      (m === undefined || m.id !== p.requestId ? '' : m.sentAtMs === p.sentAtMs ? same : other);
    const pend = t.pendingRequests('a').map((p) => `${now - p.sentAtMs}${mark(p, s.req[c], 'q', 'Y')}${mark(p, s.resp[c], 'r', 'X')}`);
    const r = s.resp[c];
    // Only with a reused incarnation: how many requests from now this table will issue a message's id.
    const future = (m: Request | undefined): string => {
      if (m === undefined) return '';
      const slash = m.id.lastIndexOf('/');
      const num = Number(m.id.slice(slash + 1));
      return m.id.slice(0, slash) === t.incarnation && num > s.issued[c]! ? `F${num - s.issued[c]!}` : '';
    };
    parts.push(`|v${until === undefined ? 0 : Math.max(0, until - now)}` +
      `[${pend.join(',')}]${s.req[c] === undefined ? '' : `Q${future(s.req[c])}`}${r === undefined ? '' : `${r.granted ? `G${r.durationMs}` : 'R'}${future(r)}`}`);
  }
  return parts.join(' ');
}

function check(s: State, o: ExploreOptions): string | undefined {
  const by: number[] = [];
  for (let c = 0; c < o.n; c++) if (s.tables[c]!.counts('a', s.tC[c]!)) by.push(c);
  if (by.length > 1) return `counted by ${by.map(name).join(' and ')}`;
  const c = by[0];
  if (c !== undefined && o.invariant !== 'exclusive') {
    const quiet = s.tA < s.vote.startedAtMs + o.leaseMs;
    if (!quiet && s.vote.held(s.tA)?.controller !== name(c)) return `counted by ${name(c)} while the agent's lease is ${s.vote.held(s.tA)?.controller ?? 'free'}`;
  }
  return undefined;
}

function successors(s: State, o: ExploreOptions): State[] {
  const out: State[] = [];
  for (let c = 0; c < o.n; c++) {
    if (s.req[c] === undefined) {
      const x = clone(s, `send ${name(c)}`);
      x.req[c] = { id: x.tables[c]!.requestSent('a', x.tC[c]!)!, sentAtMs: x.tC[c]! };
      x.issued[c]!++;
      out.push(x);
    } else {
      if (s.resp[c] === undefined) {
        const x = clone(s, `agent answers ${name(c)}`);
        const r = x.vote.request(name(c), x.primary < 0 ? undefined : name(x.primary), x.tA);
        x.resp[c] = { ...x.req[c]!, granted: r.granted, durationMs: r.granted ? r.durationMs : 0 };
        x.req[c] = undefined;
        out.push(x);
      }
      const lost = clone(s, `request of ${name(c)} lost`);
      lost.tables[c]!.requestEnded('a', lost.req[c]!.id); // the controller's timeout
      lost.req[c] = undefined;
      out.push(lost);
    }
    const r = s.resp[c];
    if (r !== undefined) {
      const x = clone(s, `answer reaches ${name(c)}`);
      if (r.granted) x.tables[c]!.grantReceived('a', r.id, r.durationMs, x.tC[c]!);
      else x.tables[c]!.requestEnded('a', r.id);
      x.resp[c] = undefined;
      out.push(x);
      const lost = clone(s, `answer to ${name(c)} lost`);
      lost.tables[c]!.requestEnded('a', r.id); // the controller's timeout
      lost.resp[c] = undefined;
      out.push(lost);
    }
    if (o.noRestarts !== true) {
      const restart = clone(s, `${name(c)} restarts`);
      restart.tables[c] = table(o, o.reuseIncarnation === true ? s.tables[c]!.incarnation : undefined);
      restart.issued[c] = 0;
      out.push(restart);
    }
  }
  for (let p = -1; p < o.n; p++) {
    if (p === s.primary) continue;
    const x = clone(s, `primary → ${p < 0 ? 'none' : name(p)}`);
    x.primary = p;
    out.push(x);
  }
  if (o.noRestarts !== true) {
    const restartAgent = clone(s, 'agent restarts');
    restartAgent.vote = new AgentVoteState({ leaseMs: o.leaseMs, startedAtMs: restartAgent.tA });
    out.push(restartAgent);
  }
  // One real tick: every combination of clock advances.
  const nodes = o.n + 1;
  const combos = o.ratesMs.length ** nodes;
  for (let k = 0; k < combos; k++) {
    const adv: number[] = [];
    for (let i = 0, r = k; i < nodes; i++, r = Math.floor(r / o.ratesMs.length)) adv.push(o.ratesMs[r % o.ratesMs.length]!);
    const x = clone(s, `tick +${adv.join('/')}`);
    x.tA += adv[0]!;
    for (let c = 0; c < o.n; c++) {
      x.tC[c]! += adv[c + 1]!;
      x.tables[c]!.prune(x.tC[c]!);
    }
    out.push(x);
  }
  return out;
}

/** Explores every reachable state breadth-first; checks exclusivity in each. */
export function exploreLease(o: ExploreOptions): ExploreResult {
  const start: State = {
    tA: 1000, tC: Array.from({ length: o.n }, (_, c) => 50 + 17 * c), primary: 0,
    vote: new AgentVoteState({ leaseMs: o.leaseMs, startedAtMs: 1000 - o.leaseMs }), // warm: may grant at once
    tables: Array.from({ length: o.n }, () => table(o)), issued: Array.from({ length: o.n }, () => 0),
    req: Array.from({ length: o.n }, () => undefined), resp: Array.from({ length: o.n }, () => undefined),
    lastCounter: -1, path: undefined,
  };
  const seen = new Set<string>([key(start, o)]);
  let frontier = [start];
  const result: ExploreResult = { states: 1, complete: false, violations: [], countedBy: new Set(['none']), sawHandover: false, depth: 0 };
  while (frontier.length > 0) {
    const next: State[] = [];
    for (const s of frontier) {
      for (const x of successors(s, o)) {
        const v = check(x, o);
        let counter = -1;
        for (let c = 0; c < o.n; c++) if (x.tables[c]!.counts('a', x.tC[c]!)) counter = c;
        if (counter >= 0) {
          result.countedBy.add(name(counter));
          if (x.lastCounter >= 0 && x.lastCounter !== counter) result.sawHandover = true;
          x.lastCounter = counter;
        }
        if (v !== undefined) {
          if (result.violations.length < 3) result.violations.push(`${v} after: ${pathText(x.path)}`);
          if (o.stopAtFirstViolation === true) return { ...result, states: seen.size };
          continue;
        }
        const k = key(x, o);
        if (seen.has(k)) continue;
        seen.add(k);
        next.push(x);
        if (seen.size >= o.maxStates) return { ...result, states: seen.size };
      }
    }
    if (next.length > 0) result.depth++;
    frontier = next;
  }
  return { ...result, states: seen.size, complete: true };
}
