// Assertions for broken invariants: these are bugs in the caller or here, never bad input
// (bad input gets a returned refusal instead).

/** Throws when `condition` is false: an invariant this module relies on was broken. */
export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`quorum invariant broken: ${message}`);
}

/** Asserts that `nowMs` is a finite number not before `lastMs`: every clock passed in must be monotonic. */
export function assertMonotonic(nowMs: number, lastMs: number, what: string): void {
  invariant(Number.isFinite(nowMs), `${what}: nowMs must be a finite number, got ${nowMs}`);
  invariant(nowMs >= lastMs, `${what}: clock went backwards (${nowMs} < ${lastMs}); pass a monotonic clock`);
}
