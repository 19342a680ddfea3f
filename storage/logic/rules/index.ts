// Strategy lookup by its configured name.
import type { ConflictRule, StrategyName } from './conflict-rule.ts';
import { lastWriterWins } from './last-writer-wins.ts';
import { manual } from './manual.ts';
import { merge } from './merge.ts';

const RULES: Record<StrategyName, ConflictRule> = { LastWriterWins: lastWriterWins, Merge: merge, Manual: manual };

/** The rule for a strategy name. */
export function conflictRule(name: StrategyName): ConflictRule {
  if (!Object.hasOwn(RULES, name)) throw new TypeError(`unknown conflict strategy ${JSON.stringify(String(name)).slice(0, 60)}`);
  return RULES[name];
}

export type { ConflictInfo, ConflictRule, ConflictVersion, StrategyName } from './conflict-rule.ts';
export { STRATEGY_NAMES } from './conflict-rule.ts';
export { ConflictPendingError } from './manual.ts';
