// converged: once the last fault has healed and the last write is done, every running controller and
// agent holds the same Merkle root within the bound, and keeps it to the end of the run.
//
// The clock starts at the quiet point: the later of the heal (truth.ts healedAtMs: network healed,
// clocks within maxClockOffset) and the end of the last client write. Roots come from the samples
// the cluster took; the final states must agree too. A run that ends with a fault in place is not
// judged, and neither is one that ends before the bound has passed without converging.
import { fmtMs, type History } from './history.ts';
import { healedAtMs } from './truth.ts';
import type { Violation } from './violation.ts';

/** Where a run stands on convergence. */
export type ConvergenceInfo =
  /** The run ends with a fault in place. */
  | { kind: 'unhealed' }
  /** Healed and quiet from quietMs; roots equal from convergedMs to the end. */
  | { kind: 'converged'; quietMs: number; convergedMs: number; nodes: number }
  /** Healed and quiet from quietMs, but roots still differ at the end. */
  | { kind: 'diverged'; quietMs: number; roots: Record<string, string> };

/** The quiet point: the later of the last heal and the end of the last client write (undefined: unhealed). */
export function quietAtMs(h: History): number | undefined {
  const healed = healedAtMs(h);
  if (healed === undefined) return undefined;
  let quiet = healed;
  for (const op of h.writes) quiet = Math.max(quiet, op.endMs ?? op.startMs);
  return quiet;
}

function allEqual(roots: Record<string, string>): boolean {
  return new Set(Object.values(roots)).size <= 1;
}

/** When roots became (and stayed) equal after the quiet point, from the samples and final states. */
export function convergence(h: History): ConvergenceInfo {
  const quiet = quietAtMs(h);
  if (quiet === undefined) return { kind: 'unhealed' };
  const finalRoots: Record<string, string> = {};
  for (const [node, s] of Object.entries(h.final)) finalRoots[node] = s.merkleRoot;
  // The recorder keeps a sample only when the roots change: the roots in force at the quiet point
  // are those of the last sample before it.
  const before = h.rootSamples.filter((s) => s.atMs < quiet).at(-1);
  const samples = [...(before === undefined ? [] : [{ atMs: quiet, roots: before.roots }]), ...h.rootSamples.filter((s) => s.atMs >= quiet)];
  if (Object.keys(finalRoots).length > 0) samples.push({ atMs: h.endMs, roots: finalRoots });
  const last = samples[samples.length - 1];
  if (last === undefined) return { kind: 'diverged', quietMs: quiet, roots: {} };
  if (!allEqual(last.roots)) return { kind: 'diverged', quietMs: quiet, roots: last.roots };
  let convergedMs = last.atMs;
  for (let i = samples.length - 1; i >= 0 && allEqual(samples[i]!.roots); i--) convergedMs = samples[i]!.atMs;
  return { kind: 'converged', quietMs: quiet, convergedMs, nodes: Object.keys(last.roots).length };
}

/** Every running node converges within `boundMs` of the quiet point. */
export function checkConvergence(h: History, boundMs: number): Violation[] {
  const c = convergence(h);
  if (c.kind === 'unhealed') return [];
  if (c.kind === 'converged') {
    if (c.convergedMs - c.quietMs <= boundMs) return [];
    return [{ checker: 'converged', atMs: c.convergedMs, message: `roots became equal ${fmtMs(c.convergedMs - c.quietMs)} after the quiet point ${fmtMs(c.quietMs)}, more than the bound ${fmtMs(boundMs)}` }];
  }
  if (h.endMs - c.quietMs < boundMs) return [];
  const groups = new Map<string, string[]>();
  for (const [node, root] of Object.entries(c.roots).sort(([a], [b]) => (a < b ? -1 : 1))) groups.set(root, [...(groups.get(root) ?? []), node]);
  const shown = [...groups].map(([root, nodes]) => `${nodes.join(',')}=${root.slice(0, 8)}`).join(' ');
  return [{ checker: 'converged', atMs: h.endMs, message: `roots still differ ${fmtMs(h.endMs - c.quietMs)} after the quiet point ${fmtMs(c.quietMs)} (bound ${fmtMs(boundMs)}): ${shown}` }];
}
