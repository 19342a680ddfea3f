// Exhaustive exploration of the contact rule between TWO controllers, x and z, driving the real
// ControllerContacts of each (no model of it). The rule is per pair, so this covers every pair of
// any federation. Every interleaving of these events is explored:
//   - while the network path is up: a fresh connection's handshake runs, and the message that completes
//     its authentication at each end is in flight (told later, linkOpened, even after the path
//     dropped: a slow path, or the peer paused right after sending it); a ping or clock probe over
//     the link is answered (its proof time, its sending, is recorded, to be fed to the table later);
//   - at any time: an authentication in flight completes at one end (linkOpened); a recorded proof is
//     fed to the table (proven, with the time it was recorded — the
//     write fence polls membership's linkProvenAtMs before deciding), one end closes or is reset
//     (linkClosed at that end only: a reset may reach one end only), the path drops silently
//     (nothing is told to anyone: the link still looks open), the path heals (the old connection
//     resumes: nothing is told either);
//   - one real tick passes, each clock advancing by any of `ratesMs` (bounded rate drift).
// Invariants, in every state:
//   - a reset fences at once: an end told linkClosed, and no linkOpened since, does not reach its peer;
//   - a silent drop fences within the window: once the path has been down for `windowTicks` whole
//     ticks (⌈windowMs / slowest rate⌉), neither end reaches the other. Together with the tally's
//     argument (tally.ts) this is "two disjoint sides never both hold quorum beyond one window".
// Weakened shells must be caught: `relayCounts` feeds a heartbeat relayed by a third member as contact
// while the direct path is down; `stampAtFeed` feeds a proof with the time it was fed instead of the
// time the ping was sent; `openIsContact` counts an authentication as contact when it completes.

import { ControllerContacts } from '../../quorum/controller-contacts.ts';
import { pathText, type Path } from './explorer-path.ts';

/** Exploration parameters. */
export interface ContactExploreOptions {
  /** Contact window on each controller's clock. */
  windowMs: number;
  /** Possible clock advances per real tick, e.g. [2, 3, 4]. */
  ratesMs: readonly number[];
  /** Stop after this many states (a safety net; a complete run reports complete: true). */
  maxStates: number;
  /** Weakened shell: count heartbeats relayed by a third member as contact. */
  relayCounts?: boolean;
  /** Weakened shell: stamp a fed proof with the time it is fed. */
  stampAtFeed?: boolean;
  /** Weakened shell: count an authentication as contact at the moment it completes. */
  openIsContact?: boolean;
}

/** Outcome of an exploration. */
export interface ContactExploreResult {
  states: number;
  complete: boolean;
  /** Real ticks after which a silent drop must have fenced: ⌈windowMs / min(ratesMs)⌉. */
  windowTicks: number;
  /** First violations, with the event path that reached them. */
  violations: string[];
  /** Some state had a peer reached with the path down (the window was exercised, not vacuous). */
  sawStaleReach: boolean;
  /** Some state had both ends reaching each other. */
  sawBothReach: boolean;
}

const NAMES = ['x', 'z'] as const;

interface Side {
  table: ControllerContacts;
  nowMs: number;
  /** A ping answered at this time, not yet fed to the table. */
  pendingMs: number | undefined;
  /** An authentication is in flight to this end (linkOpened not told yet). */
  authPending: boolean;
  /** Told linkClosed, and no linkOpened since. */
  closed: boolean;
}

interface State {
  up: boolean;
  /** Whole ticks since the path was last up (capped at windowTicks). */
  downTicks: number;
  sides: [Side, Side];
  path: Path | undefined;
}


const peerOf = (i: number): string => NAMES[1 - i]!;

function clone(s: State, step: string): State {
  const side = (x: Side): Side => ({ table: x.table.clone(), nowMs: x.nowMs, pendingMs: x.pendingMs, authPending: x.authPending, closed: x.closed });
  return { up: s.up, downTicks: s.downTicks, sides: [side(s.sides[0]), side(s.sides[1])], path: { step, prev: s.path } };
}

function key(s: State, o: ContactExploreOptions): string {
  const cap = (ms: number): number => Math.min(ms, o.windowMs);
  return [s.up ? 'U' : 'D', s.downTicks, ...s.sides.map((x, i) => {
    const last = x.table.lastContactMs(peerOf(i));
    return `${x.table.linkOpen(peerOf(i)) ? 'o' : 'c'}${last === undefined ? '-' : cap(x.nowMs - last)}` +
      `p${x.pendingMs === undefined ? '-' : cap(x.nowMs - x.pendingMs)}${x.authPending ? 'A' : ''}${x.closed ? 'R' : ''}`;
  })].join(' ');
}

function check(s: State, o: ContactExploreOptions, windowTicks: number): string | undefined {
  for (let i = 0; i < 2; i++) {
    const x = s.sides[i]!;
    const reached = x.table.reaches(peerOf(i), x.nowMs);
    if (reached && x.closed) return `${NAMES[i]} reaches ${peerOf(i)} after its link was closed`;
    if (reached && s.downTicks >= windowTicks) return `${NAMES[i]} reaches ${peerOf(i)} though the path has been down ${s.downTicks} ticks (window ${windowTicks})`;
  }
  return undefined;
}

function successors(s: State, o: ContactExploreOptions): State[] {
  const out: State[] = [];
  if (s.up && !s.sides.every((x) => x.authPending)) {
    const open = clone(s, 'a connection handshakes');
    for (const x of open.sides) x.authPending = true;
    out.push(open);
  }
  for (let i = 0; i < 2; i++) {
    const me = NAMES[i]!;
    if (s.sides[i]!.authPending) {
      const done = clone(s, `${me}'s authentication of ${peerOf(i)} completes`);
      const x = done.sides[i]!;
      x.table.linkOpened(peerOf(i), x.nowMs);
      if (o.openIsContact === true) x.table.proven(peerOf(i), x.nowMs, x.nowMs);
      x.authPending = false;
      x.closed = false;
      out.push(done);
    }
    if (s.up) {
      const ping = clone(s, `${me}'s ping answered`);
      ping.sides[i]!.pendingMs = ping.sides[i]!.nowMs;
      out.push(ping);
    } else if (o.relayCounts === true) {
      const relayed = clone(s, `${me} hears ${peerOf(i)} through a third member`);
      relayed.sides[i]!.table.proven(peerOf(i), relayed.sides[i]!.nowMs, relayed.sides[i]!.nowMs);
      out.push(relayed);
    }
    if (s.sides[i]!.pendingMs !== undefined) {
      const fed = clone(s, `${me} feeds its proof`);
      const x = fed.sides[i]!;
      x.table.proven(peerOf(i), o.stampAtFeed === true ? x.nowMs : x.pendingMs!, x.nowMs);
      x.pendingMs = undefined;
      out.push(fed);
    }
    const close = clone(s, `${me}'s link closes`);
    close.sides[i]!.table.linkClosed(peerOf(i), close.sides[i]!.nowMs);
    close.sides[i]!.closed = true;
    out.push(close);
  }
  const flip = clone(s, s.up ? 'the path drops silently' : 'the path heals');
  flip.up = !s.up;
  flip.downTicks = 0; // up at some moment of this tick
  out.push(flip);
  for (const rx of o.ratesMs) {
    for (const rz of o.ratesMs) {
      const x = clone(s, `tick +${rx}/${rz}`);
      x.sides[0].nowMs += rx;
      x.sides[1].nowMs += rz;
      x.downTicks = x.up ? 0 : x.downTicks + 1;
      out.push(x);
    }
  }
  return out;
}

/** Explores every reachable state breadth-first, checking both invariants in each. */
export function exploreContacts(o: ContactExploreOptions): ContactExploreResult {
  const windowTicks = Math.ceil(o.windowMs / Math.min(...o.ratesMs));
  const side = (i: number, nowMs: number): Side => ({
    table: new ControllerContacts({ self: NAMES[i]!, controllers: NAMES, windowMs: o.windowMs }), nowMs, pendingMs: undefined, authPending: false, closed: false,
  });
  const start: State = { up: true, downTicks: 0, sides: [side(0, 1000), side(1, 37)], path: undefined };
  const norm = (s: State): State => ({ ...s, downTicks: Math.min(s.downTicks, windowTicks) });
  const seen = new Set<string>([key(start, o)]);
  const result: ContactExploreResult = { states: 1, complete: false, windowTicks, violations: [], sawStaleReach: false, sawBothReach: false };
  let frontier = [start];
  while (frontier.length > 0) {
    const next: State[] = [];
    for (const s of frontier) {
      for (const raw of successors(s, o)) {
        const x = norm(raw);
        const v = check(x, o, windowTicks);
        if (v !== undefined) {
          if (result.violations.length < 3) result.violations.push(`${v} after: ${pathText(x.path)}`);
          continue;
        }
        const reach = x.sides.map((y, i) => y.table.reaches(peerOf(i), y.nowMs));
        if (!x.up && reach.some(Boolean)) result.sawStaleReach = true;
        if (reach.every(Boolean)) result.sawBothReach = true;
        const k = key(x, o);
        if (seen.has(k)) continue;
        seen.add(k);
        next.push(x);
        if (seen.size >= o.maxStates) return { ...result, states: seen.size };
      }
    }
    frontier = next;
  }
  return { ...result, states: seen.size, complete: true };
}
