// What a checker reports: one violated property, named by checker, node, key and virtual time.
import { fmtMs } from './history.ts';

/** One violation. A checker returns none when the history satisfies its property. */
export interface Violation {
  /** The checker's name, e.g. 'quorum-writes'. */
  checker: string;
  /** Virtual time the violation is about (ms). */
  atMs: number;
  /** The node it is about, when one is. */
  node?: string;
  /** The key it is about, when one is. */
  key?: string;
  /** What is wrong, in a sentence that names node, key and time. */
  message: string;
}

/** One line: `[checker] 12.345s node key: message`. */
export function formatViolation(v: Violation): string {
  const where = [fmtMs(v.atMs), v.node, v.key].filter((x) => x !== undefined).join(' ');
  return `[${v.checker}] ${where}: ${v.message}`;
}

/** Violations in a stable order: time, then checker, node, key, message. */
export function sortViolations(vs: readonly Violation[]): Violation[] {
  const s = (x: string | undefined): string => x ?? '';
  return [...vs].sort((a, b) => a.atMs - b.atMs || cmp(a.checker, b.checker) || cmp(s(a.node), s(b.node)) ||
    cmp(s(a.key), s(b.key)) || cmp(a.message, b.message));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
