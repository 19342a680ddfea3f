// Smoke mode of the benchmarks: BENCH_SMOKE=1 runs every part of a bench at small sizes, short
// durations and few rounds, so that it finishes in a few seconds. The figures it prints then mean
// nothing; what it shows is that every code path of the bench still runs and still yields its
// figures. CI runs every bench this way (test/bench/smoke.test.ts), so a bench cannot rot unnoticed.
//
//   BENCH_SMOKE=1 npm run bench:membership
//
// A size a bench reads from its own environment variable (BENCH_ROUNDS, BENCH_AE_N, ...) keeps
// precedence when set: smoke mode only changes the defaults.

/** Whether this run is a smoke run (BENCH_SMOKE=1). */
export const smoke: boolean = process.env.BENCH_SMOKE === '1';

/** `normal` in a real run, `small` in a smoke run. */
export function sized<T>(normal: T, small: T): T {
  return smoke ? small : normal;
}

/** A number from environment variable `name` when set, else sized(normal, small). */
export function envNumber(name: string, normal: number, small: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return sized(normal, small);
  const n = Number(raw);
  if (!Number.isFinite(n)) throw new Error(`${name}=${raw} is not a number`);
  return n;
}

/** A string from environment variable `name` when set, else sized(normal, small). */
export function envString(name: string, normal: string, small: string): string {
  const raw = process.env[name];
  return raw === undefined || raw === '' ? sized(normal, small) : raw;
}

/**
 * A measurement came out short (a timeout swallowed to print partial figures, a missing sample).
 * A real run prints what it has and says so; a smoke run fails, so CI sees the bench broken.
 */
export function shortfall(ok: boolean, what: string): void {
  if (!ok && smoke) throw new Error(`smoke run failed: ${what}`);
}
