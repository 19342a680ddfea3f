// Live membership in the checkers: controllers removed from the federation (`members remove`), and
// controllers that join it (`members add`: history.joiners, in no configuration but their own).
//
// A joiner is linked with a controller only while each one's record lists the other (before that,
// each refuses the other's certificate as unknown). Who votes, for the checks that count a node's
// quorum (split-brain, fence-truth, quorum-writes), is what the node's own record says at the instant
// (votersAt): a learner accepts no write, a node counts only voters. A joiner that not every
// remaining controller lists at the end of the run is out of the end-of-run checks, as a removed one.
//
// A removal changes who may exchange data, not the network: a controller refuses every identity its
// committed record denies, and a controller that knows it was removed (its record denies its own
// peer ID, or a majority of its voters refused it as revoked) refuses everyone. What each controller
// knew, and when, is in the history (`memberships`: the record each committed, at its start and at
// each change). So two nodes are linked at an instant only if neither refuses the other then; the
// checkers that count contacts (split-brain, fence-truth, agent-failover) count only linked pairs.
// That is stricter than the network alone: a controller that goes on counting a peer it has removed
// is caught.
//
// A removed controller is out of the federation for the checks on the end of the run (converged,
// status-truth, the final states of acknowledged writes): it neither converges nor keeps writes
// that follow its removal. What it must do instead is its own check, `removed-members`: once every
// other controller knows of its removal, it accepts no write beyond one contact window.
//
// Writes a removed controller did not replicate leave with it (a removal drains a connected
// controller first; one removed while away cannot be). An agent that received some of them keeps
// them: agents take records from their controller and never give them back. Such an agent differs
// from the controllers only by versions of removed controllers (orphanedAgents): it is left out of
// `converged` for that, and only for that; docs/regions.md says so.
import { fmtMs, storedAck, type FinalStatus, type History, type MembershipRecordSeen } from './history.ts';
import type { Violation } from './violation.ts';

interface Knowledge {
  // knower -> its records in time order: [atMs, the controllers it knows removed].
  byNode: Map<string, Array<[number, ReadonlySet<string>]>>;
  // knower -> its records in time order, whole.
  records: Map<string, MembershipRecordSeen[]>;
  // Every controller some record removed.
  removed: ReadonlySet<string>;
}

const cache = new WeakMap<History, { count: number; k: Knowledge }>();

function knowledge(h: History): Knowledge {
  const memberships = h.memberships ?? [];
  const hit = cache.get(h);
  if (hit !== undefined && hit.count === memberships.length) return hit.k;
  const byNode = new Map<string, Array<[number, ReadonlySet<string>]>>();
  const records = new Map<string, MembershipRecordSeen[]>();
  const removed = new Set<string>();
  for (const m of [...memberships].sort((a, b) => a.atMs - b.atMs)) {
    const list = byNode.get(m.node) ?? [];
    list.push([m.atMs, new Set(m.removed)]);
    byNode.set(m.node, list);
    records.set(m.node, [...(records.get(m.node) ?? []), m]);
    for (const r of m.removed) removed.add(r);
  }
  const k = { byNode, records, removed };
  cache.set(h, { count: memberships.length, k });
  return k;
}

/** Whether controller `knower` refuses `name` at `atMs` (its latest record then removes it). */
export function knowsRemoved(h: History, knower: string, name: string, atMs: number): boolean {
  const list = knowledge(h).byNode.get(knower);
  if (list === undefined) return false;
  let latest: ReadonlySet<string> | undefined;
  for (const [t, set] of list) {
    if (t > atMs) break;
    latest = set;
  }
  return latest?.has(name) === true;
}

/** The latest record `node` had committed at `atMs`, if any was recorded. */
export function recordAt(h: History, node: string, atMs: number): MembershipRecordSeen | undefined {
  let latest: MembershipRecordSeen | undefined;
  for (const r of knowledge(h).records.get(node) ?? []) {
    if (r.atMs > atMs) break;
    latest = r;
  }
  return latest;
}

/** The voters of `node`'s record at `atMs`; undefined when it had none with voters (no live membership). */
export function votersAt(h: History, node: string, atMs: number): readonly string[] | undefined {
  return recordAt(h, node, atMs)?.voters;
}

// Whether `knower` accepts `name` as a controller at `atMs` as far as joining goes: a controller of
// the configuration accepts the others of it; a joiner is accepted once the knower's record lists
// it, and accepts others once it has a record that lists them.
function admitsAt(h: History, knower: string, name: string, atMs: number): boolean {
  const joiners = h.joiners ?? [];
  if (knower === name || (!joiners.includes(knower) && !joiners.includes(name))) return true;
  return recordAt(h, knower, atMs)?.members?.includes(name) === true;
}

/** Whether `a` and `b` may exchange data at `atMs` as far as membership goes: neither refuses the other. */
export function linkedAt(h: History, a: string, b: string, atMs: number): boolean {
  if (knowledge(h).removed.size === 0 && (h.joiners ?? []).length === 0) return true;
  if (!admitsAt(h, a, b, atMs) || !admitsAt(h, b, a, atMs)) return false;
  return !(knowsRemoved(h, a, a, atMs) || knowsRemoved(h, b, b, atMs) || knowsRemoved(h, a, b, atMs) || knowsRemoved(h, b, a, atMs));
}

/**
 * Joiners that are not members at the end: not listed by their own last record and by the last
 * record of every other controller that ran live membership and was not removed.
 */
export function outsideJoiners(h: History): ReadonlySet<string> {
  const out = new Set<string>();
  const k = knowledge(h);
  for (const j of h.joiners ?? []) {
    const listers = h.controllers.filter((c) => !k.removed.has(c) && (c === j || !(h.joiners ?? []).includes(c)));
    const listed = listers.every((c) => {
      const last = (k.records.get(c) ?? []).at(-1);
      return last?.members?.includes(j) === true;
    });
    if (!listed) out.add(j);
  }
  return out;
}

/**
 * Whether some other controller had committed the removal of `name` by `atMs`. Agents learn denials
 * from any controller's directory and refuse a removed controller from then on, even while that one
 * does not know yet (node/agent/directory-learner.ts): none is expected to follow it.
 */
export function removedByOthersAt(h: History, name: string, atMs: number): boolean {
  return (h.memberships ?? []).some((m) => m.node !== name && m.atMs <= atMs && m.removed.includes(name));
}

/** Controllers some record removed. */
export function removedControllers(h: History): ReadonlySet<string> {
  return knowledge(h).removed;
}

/**
 * Agents whose final state differs from the remaining controllers' (all alike) only by versions of
 * removed controllers that no remaining controller holds: for every key that differs, the agent's
 * version vector equals the controllers' in every member but removed ones, and exceeds it in one.
 */
export function orphanedAgents(h: History): ReadonlySet<string> {
  const removed = knowledge(h).removed;
  const out = new Set<string>();
  const outside = outsideJoiners(h);
  const states = h.controllers.filter((c) => !removed.has(c) && !outside.has(c) && Object.hasOwn(h.final, c)).map((c) => h.final[c]!);
  const reference = states[0];
  if (removed.size === 0 || reference === undefined || states.some((s) => s.merkleRoot !== reference.merkleRoot)) return out;
  for (const agent of h.agents) {
    const mine = h.final[agent];
    if (mine === undefined || mine.merkleRoot === reference.merkleRoot) continue;
    const keys = new Set([...Object.keys(mine.records), ...Object.keys(reference.records)]);
    let explained = true;
    let differs = false;
    for (const k of keys) {
      const a = mine.records[k];
      const c = reference.records[k];
      if (a?.digest === c?.digest) continue;
      differs = true;
      if (a === undefined) { explained = false; break; }
      const members = new Set([...Object.keys(a.vv), ...Object.keys(c?.vv ?? {})]);
      const at = (vv: Record<string, number> | undefined, m: string): number => (vv !== undefined && Object.hasOwn(vv, m) ? vv[m]! : 0);
      const sameElsewhere = [...members].every((m) => removed.has(m) || at(a.vv, m) === at(c?.vv, m));
      const aheadInRemoved = [...members].some((m) => removed.has(m) && at(a.vv, m) > at(c?.vv, m));
      if (!sameElsewhere || !aheadInRemoved) { explained = false; break; }
    }
    if (differs && explained) out.add(agent);
  }
  return out;
}

/**
 * The history without the controllers removed during the run (for the checks on its end), and with
 * `orphans` without the agents that differ only by orphaned versions (for convergence).
 */
export function withoutRemoved(h: History, o: { orphans?: boolean } = {}): History {
  const removed = knowledge(h).removed;
  const outside = outsideJoiners(h);
  if (removed.size === 0 && outside.size === 0) return h;
  const gone = new Set([...removed, ...outside, ...(o.orphans === true ? orphanedAgents(h) : [])]);
  const keep = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).filter(([n]) => !gone.has(n)));
  const status = (fs: FinalStatus): FinalStatus =>
    (fs.role === 'controller' ? { ...fs, status: { ...fs.status, members: fs.status.members.filter((r) => !gone.has(r.name)) } } : fs);
  return {
    ...h,
    controllers: h.controllers.filter((c) => !gone.has(c)),
    final: keep(h.final),
    finalStatus: Object.fromEntries(Object.entries(keep(h.finalStatus)).map(([n, fs]) => [n, status(fs)])),
    rootSamples: h.rootSamples.map((s) => ({ ...s, roots: keep(s.roots) })),
  };
}

/** When every controller but `name` knew of its removal for good (undefined: some never did). */
function allOthersKnowMs(h: History, name: string): number | undefined {
  let latest = -Infinity;
  for (const c of h.controllers) {
    if (c === name) continue;
    const list = knowledge(h).byNode.get(c) ?? [];
    // Records are durable: once a record removes it, every later one does too.
    const first = list.find(([, set]) => set.has(name));
    if (first === undefined) return undefined;
    latest = Math.max(latest, first[0]);
  }
  return latest === -Infinity ? undefined : latest;
}

/** A removed controller accepts no write once every other controller has refused it for `boundMs`. */
export function checkRemovedMembers(h: History, boundMs: number): Violation[] {
  const out: Violation[] = [];
  for (const name of [...knowledge(h).removed].sort()) {
    const known = allOthersKnowMs(h, name);
    if (known === undefined) continue;
    for (const op of h.writes) {
      if (op.node !== name || op.startMs <= known + boundMs || storedAck(op) === undefined) continue;
      out.push({
        checker: 'removed-members', atMs: op.startMs, node: name, key: op.key,
        message: `${name} accepted write #${op.id} at ${fmtMs(op.startMs)}, though every other controller had refused it as removed since ${fmtMs(known)} (bound ${fmtMs(boundMs)})`,
      });
    }
  }
  return out;
}
