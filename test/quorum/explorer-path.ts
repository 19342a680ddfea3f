// How the exhaustive explorers (contact-explorer.ts, lease-explorer.ts) remember the steps that led
// to a state, to print the path to a counterexample.

/** The steps to a state, newest first (shared tails). */
export interface Path { step: string; prev: Path | undefined }

/** The steps from the start, in order. */
export const pathText = (p: Path | undefined): string => {
  const steps: string[] = [];
  for (let x = p; x !== undefined; x = x.prev) steps.push(x.step);
  return steps.reverse().join(', ');
};
