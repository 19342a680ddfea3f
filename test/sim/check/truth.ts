// The true network over virtual time, as the history recorded it: who can exchange data with whom,
// which controllers form a side, when the network was last healed. Shared by the checkers.
import type { ClockChange, History, NetworkState } from './history.ts';

/** A stretch of time [fromMs, toMs) with one network state. */
export interface Segment {
  fromMs: number;
  toMs: number;
  state: NetworkState;
}

/** The state before anything was recorded: every node up, nothing cut. */
export function initialState(atMs: number): NetworkState {
  return { atMs, cause: 'start', down: [], paused: [], cuts: [] };
}

/** The network states as segments covering [history.startMs, history.endMs), in time order. */
export function segments(h: Pick<History, 'network' | 'startMs' | 'endMs'>): Segment[] {
  const states = h.network.length > 0 && h.network[0]!.atMs <= h.startMs ? h.network : [initialState(h.startMs), ...h.network];
  const out: Segment[] = [];
  for (let i = 0; i < states.length; i++) {
    const from = Math.max(states[i]!.atMs, h.startMs);
    const to = Math.min(i + 1 < states.length ? states[i + 1]!.atMs : h.endMs, h.endMs);
    if (to > from) out.push({ fromMs: from, toMs: to, state: states[i]! });
  }
  return out;
}

/** The state at `atMs` (the last entry at or before it). */
export function stateAt(h: Pick<History, 'network' | 'startMs'>, atMs: number): NetworkState {
  let s = initialState(h.startMs);
  for (const n of h.network) {
    if (n.atMs > atMs) break;
    s = n;
  }
  return s;
}

/** True when `node` runs and is not paused. */
export function isLive(s: NetworkState, node: string): boolean {
  return !s.down.includes(node) && !s.paused.includes(node);
}

/** True when data sent by `from` reaches `to` (both live, that direction not cut). */
export function canSend(s: NetworkState, from: string, to: string): boolean {
  if (from === to) return isLive(s, from);
  return isLive(s, from) && isLive(s, to) && !s.cuts.some(([f, t]) => f === from && t === to);
}

/**
 * True when bytes already written by `from` can reach `to`'s machine: neither is down and that
 * direction is not cut. A paused process's kernel still sends what it wrote and receives what comes
 * (it is read on resume), so pausing does not stop this.
 */
export function canCarry(s: NetworkState, from: string, to: string): boolean {
  if (s.down.includes(from) || s.down.includes(to)) return false;
  return from === to || !s.cuts.some(([f, t]) => f === from && t === to);
}

/**
 * The longest a round trip between `a` and `b` can take in state `s`, ms: the largest delays of the
 * slowed directions (one not slowed counts 0: the LAN default is under a millisecond).
 */
export function roundTripMaxMs(s: NetworkState, a: string, b: string): number {
  return roundTripMs(s, a, b, 2);
}

/** The shortest a round trip between `a` and `b` can take in state `s`, ms (the smallest delays of the slowed directions). */
export function roundTripMinMs(s: NetworkState, a: string, b: string): number {
  return roundTripMs(s, a, b, 3);
}

function roundTripMs(s: NetworkState, a: string, b: string, at: 2 | 3): number {
  // A direction set on its own wins over the default for all ('*' to '*').
  const link = (from: string, to: string): readonly unknown[] | undefined =>
    s.slow?.find(([f, t]) => f === from && t === to) ?? s.slow?.find(([f, t]) => f === '*' && t === '*');
  const delay = (from: string, to: string): number => (link(from, to)?.[at] as number | undefined) ?? 0;
  return delay(a, b) + delay(b, a);
}

/**
 * When a round trip that `x` starts to `z` at `sentMs` can be complete at the earliest (its answer
 * read by `x`), by the true network: undefined when it cannot complete before the history ends. It
 * follows what a connection does (net/network.ts): bytes wait, in order, while their direction is cut
 * and are delivered once it heals (TCP retransmission); a paused node reads what waits for it when it
 * resumes; a crash of either end drops the connection and everything it held. Latency is taken as 0
 * (the checker is lenient by a link delay). `x` must be live at `sentMs` to send. Unlike
 * canExchange, the two directions need not be open at one instant: an answer written during a
 * one-way cut reaches `x` when the cut heals, even if `z` was paused or cut off again meanwhile.
 */
export function roundTripDoneMs(segs: readonly Segment[], x: string, z: string, sentMs: number): number | undefined {
  const cut = (s: NetworkState, from: string, to: string): boolean => s.cuts.some(([f, t]) => f === from && t === to);
  // 0: x's bytes on their way to z; 1: waiting for z to run; 2: z's answer on its way back; 3: waiting for x to run.
  let phase = 0;
  for (const seg of segs) {
    if (seg.toMs <= sentMs) continue;
    const s = seg.state;
    const atMs = Math.max(seg.fromMs, sentMs);
    if (s.down.includes(x) || s.down.includes(z)) return undefined;
    if (phase === 0 && atMs === sentMs && s.paused.includes(x)) return undefined; // x does not run: it sends nothing
    if (phase === 0 && (x === z || !cut(s, x, z))) phase = 1;
    if (phase === 1 && !s.paused.includes(z)) phase = 2;
    if (phase === 2 && (x === z || !cut(s, z, x))) phase = 3;
    if (phase === 3 && !s.paused.includes(x)) return atMs;
  }
  return undefined;
}

/** True when `a` and `b` can exchange data: each reaches the other. */
export function canExchange(s: NetworkState, a: string, b: string): boolean {
  return canSend(s, a, b) && canSend(s, b, a);
}

/**
 * The sides of `nodes` in state `s`: classes of the nodes linked by chains of pairs that can exchange
 * data (replication relays, so a chain is enough). A node that is down or paused is a side alone.
 * Sides are sorted, each side sorted.
 */
export function sides(s: NetworkState, nodes: readonly string[]): string[][] {
  const seen = new Set<string>();
  const out: string[][] = [];
  for (const start of [...nodes].sort()) {
    if (seen.has(start)) continue;
    const side = [start];
    seen.add(start);
    for (let i = 0; i < side.length; i++) {
      const x = side[i]!;
      for (const y of nodes) {
        if (!seen.has(y) && canExchange(s, x, y)) {
          seen.add(y);
          side.push(y);
        }
      }
    }
    out.push(side.sort());
  }
  return out;
}

/** The side of `node` among `nodes` in state `s`. */
export function sideOf(s: NetworkState, nodes: readonly string[], node: string): string[] {
  return sides(s, nodes).find((side) => side.includes(node)) ?? [node];
}

/** A node's wall-clock offset from true time at `atMs`. */
export function clockOffsetAt(clocks: readonly ClockChange[], node: string, atMs: number): number {
  let at = -Infinity;
  let off = 0;
  for (const c of clocks) {
    if (c.node === node && c.atMs <= atMs && c.atMs >= at) {
      at = c.atMs;
      off = c.offsetMs;
    }
  }
  return off;
}

/**
 * How far the stamps `node` issues at `atMs` are from true time: the wall part of its hybrid logical
 * clock, which never runs backward while the node runs: its own clock, or the height its stamps
 * reached, whichever is later (docs/configuration.md "Clock skew": it is the stamps that are
 * compared). The height is recorded (h.starts at each start, restored from its disk; h.stamps each
 * time it rose above the node's own clock): after a clock is set back the stamps stand at that height
 * until real time passes it, and stamps received from others can pull it ahead too.
 */
export function stampOffsetAt(h: Pick<History, 'clocks' | 'starts' | 'stamps'>, node: string, atMs: number): number {
  let latest: { atMs: number; hlcOffsetMs: number } | undefined;
  for (const list of [h.starts, h.stamps]) {
    for (const s of list) if (s.node === node && s.atMs <= atMs && (latest === undefined || s.atMs >= latest.atMs)) latest = s;
  }
  const heightMs = latest === undefined ? -Infinity : latest.atMs + latest.hlcOffsetMs;
  return Math.max(clockOffsetAt(h.clocks, node, atMs), heightMs - atMs);
}

/**
 * True when nothing is wrong with the network among the nodes that run: nobody paused, no cut
 * between running nodes. (A node still down is out of the run, not a fault that can heal.)
 */
export function isHealed(s: NetworkState): boolean {
  return s.paused.length === 0 && s.cuts.every(([f, t]) => s.down.includes(f) || s.down.includes(t));
}

/** True when every pair of running nodes' clocks differ by at most `maxOffsetMs` at `atMs`. */
export function clocksAgree(h: Pick<History, 'clocks' | 'controllers' | 'agents'>, s: NetworkState, atMs: number, maxOffsetMs: number): boolean {
  const offsets = [...h.controllers, ...h.agents].filter((n) => !s.down.includes(n)).map((n) => clockOffsetAt(h.clocks, n, atMs));
  return offsets.length === 0 || Math.max(...offsets) - Math.min(...offsets) <= maxOffsetMs;
}

/**
 * The instant the last fault healed: the start of the final stretch in which the network is healed
 * and the clocks agree within maxClockOffset. Undefined when the run ends with a fault in place.
 */
export function healedAtMs(h: History): number | undefined {
  const segs = segments(h);
  const changes = [...new Set([...segs.map((s) => s.fromMs), ...h.clocks.map((c) => c.atMs)])].filter((t) => t <= h.endMs).sort((a, b) => a - b);
  let healed: number | undefined;
  for (const t of changes) {
    const s = stateAt(h, t);
    const ok = isHealed(s) && clocksAgree(h, s, t, h.config.maxClockOffsetMs);
    if (!ok) healed = undefined;
    else healed ??= t;
  }
  if (changes.length === 0) return h.startMs;
  return healed;
}

/**
 * Runs of time where `bad(t)` holds, merged across segment boundaries: `bad` is evaluated once per
 * piece between consecutive `breaks` (which must include every instant its answer may change).
 */
export function badRuns(fromMs: number, toMs: number, breaks: readonly number[], bad: (atMs: number) => boolean): Array<{ fromMs: number; toMs: number }> {
  const points = [...new Set([fromMs, ...breaks.filter((b) => b > fromMs && b < toMs), toMs])].sort((a, b) => a - b);
  const runs: Array<{ fromMs: number; toMs: number }> = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const a = points[i]!;
    const b = points[i + 1]!;
    if (!bad(a)) continue;
    const last = runs[runs.length - 1];
    if (last !== undefined && last.toMs === a) last.toMs = b;
    else runs.push({ fromMs: a, toMs: b });
  }
  return runs;
}

/** The entry in force at `atMs` of entries in time order (the last one at or before it), if any. */
export function entryAt<T extends { atMs: number }>(entries: readonly T[], atMs: number): T | undefined {
  let f: T | undefined;
  for (const e of entries) {
    if (e.atMs > atMs) break;
    f = e;
  }
  return f;
}
