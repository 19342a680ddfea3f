// Runs a fast-check property with a printed seed: FC_SEED replays a failure, FC_RUNS scales the runs.

import fc from 'fast-check';

/** Seed of this process's properties: FC_SEED, else the current time (printed on failure). */
export const seed = process.env.FC_SEED === undefined ? Date.now() : Number(process.env.FC_SEED);

/** Runs of each property: FC_RUNS, else `dflt`. */
export function runs(dflt: number): number {
  return Number(process.env.FC_RUNS ?? dflt);
}

/** The part of a tap test this helper uses. */
export interface Reporter {
  comment(message: string): unknown;
  pass(message: string): unknown;
}

/** Asserts `property`, printing how to replay it when it fails. */
export function check<T>(t: Reporter, property: fc.IProperty<T>, numRuns: number): void {
  try {
    fc.assert(property, { seed, numRuns });
  } catch (err) {
    t.comment(`replay with FC_SEED=${seed}`);
    throw err;
  }
  t.pass(`${numRuns} runs, seed ${seed}`);
}

/** Asserts an async `property` (fc.asyncProperty), printing how to replay it when it fails. */
export async function checkAsync<T>(t: Reporter, property: fc.IAsyncProperty<T>, numRuns: number): Promise<void> {
  try {
    await fc.assert(property, { seed, numRuns });
  } catch (err) {
    t.comment(`replay with FC_SEED=${seed}`);
    throw err;
  }
  t.pass(`${numRuns} runs, seed ${seed}`);
}
