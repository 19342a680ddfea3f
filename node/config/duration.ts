// Durations as the guide writes them: Go-style strings ("500ms", "5s", "1m30s", "1h") turned into
// whole milliseconds. Plain numbers are refused: "interval: 5" could mean seconds or milliseconds,
// and a configuration that guesses wrong is worse than one that asks.

/** Longest duration accepted anywhere in a config file: 365 days. */
export const DURATION_MS_MAX = 365 * 24 * 3600 * 1000;

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
const PART = /(\d+(?:\.\d+)?|\.\d+)(ns|us|µs|ms|s|m|h)/y;

/** Parse a duration; returns milliseconds or a problem in words. */
export function parseDuration(text: unknown): { ms: number } | { problem: string } {
  const example = 'a duration such as "500ms", "5s", "1m30s" or "1h"';
  if (typeof text !== 'string') return { problem: `must be ${example}, got ${typeof text === 'number' ? `the number ${text} (add a unit)` : JSON.stringify(text) ?? typeof text}` };
  if (text === '0') return { ms: 0 };
  if (text.length === 0 || text.length > 64) return { problem: `must be ${example}` };
  let ms = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const at = PART.lastIndex;
    const m = PART.exec(text);
    if (m === null) return { problem: `must be ${example}; cannot read ${JSON.stringify(text.slice(at))}` };
    ms += Number(m[1]) * UNIT_MS[m[2]!]!;
  }
  // Floating point: "0.1s" sums to 100.00000000000001; round away noise below a microsecond.
  const rounded = Math.round(ms * 1000) / 1000;
  if (!Number.isInteger(rounded)) return { problem: `${JSON.stringify(text)} is not a whole number of milliseconds` };
  if (rounded > DURATION_MS_MAX) return { problem: `${JSON.stringify(text)} is longer than 365 days` };
  return { ms: rounded };
}

/** Format milliseconds as the shortest Go-style duration ("1m30s", "500ms"), for messages and docs. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['h', 3_600_000], ['m', 60_000], ['s', 1_000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) { out += `${n}${unit}`; rest -= n * size; }
  }
  return out;
}
