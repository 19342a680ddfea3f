// The words of a command line: tokens, key=value pairs, durations, percentages, field assignments.
import type { Json } from '../../../storage/logic/canonical.ts';

/** A command the interpreter cannot run as written; stable code SCRIPT. */
export class ScriptError extends Error {
  readonly code = 'SCRIPT';
  override readonly name = 'ScriptError';
}

/** Split a command line on whitespace; double quotes group (and are kept, so a value stays JSON). */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (quoted) {
      cur += ch;
      if (ch === '\\' && i + 1 < line.length) cur += line[++i]!;
      else if (ch === '"') quoted = false;
    } else if (ch === '"') {
      cur += ch;
      quoted = true;
    } else if (/\s/.test(ch)) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (quoted) throw new ScriptError(`unclosed quote in: ${line}`);
  if (cur !== '') out.push(cur);
  return out;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** `3s`, `500ms`, `1.5s`, `2m`, `+8s`, `-2s`, `0` -> milliseconds (rounded to whole ms). */
export function parseDuration(text: string, what = 'duration'): number {
  const m = /^([+-]?)(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (m === null || (m[3] === undefined && Number(m[2]) !== 0)) {
    throw new ScriptError(`${what} "${text}" is not a duration like 3s, 500ms, +8s or 0`);
  }
  const ms = Math.round(Number(m[2]) * UNIT_MS[m[3] ?? 'ms']!);
  return m[1] === '-' ? -ms : ms;
}

/** `5%` or `0.05` -> 0.05, within 0..1. */
export function parseRate(text: string, what = 'rate'): number {
  const m = /^(\d+(?:\.\d+)?)(%?)$/.exec(text);
  const v = m === null ? NaN : Number(m[1]) / (m[2] === '%' ? 100 : 1);
  if (!(v >= 0 && v <= 1)) throw new ScriptError(`${what} "${text}" is not a rate like 5% or 0.05`);
  return v;
}

/** `a=1` -> ['a', '1']; undefined when the token has no `=`. */
export function splitKv(token: string): [string, string] | undefined {
  const i = token.indexOf('=');
  return i <= 0 ? undefined : [token.slice(0, i), token.slice(i + 1)];
}

/** A value as written: JSON when it parses (1, true, "x y", [1], {"a":1}), else the text itself. */
export function parseValue(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

/** Set `path` (dotted: spec.rules.0 sets key "0") in `target` to `value`, creating objects on the way. */
export function assignPath(target: { [k: string]: Json }, path: string, value: Json): void {
  const parts = path.split('.');
  if (parts.some((p) => p === '')) throw new ScriptError(`bad field path "${path}"`);
  let obj = target;
  for (const p of parts.slice(0, -1)) {
    const next = Object.hasOwn(obj, p) ? obj[p] : undefined;
    if (next === undefined) {
      const created: { [k: string]: Json } = {};
      Object.defineProperty(obj, p, { value: created, enumerable: true, writable: true, configurable: true });
      obj = created;
    } else if (typeof next === 'object' && next !== null && !Array.isArray(next)) {
      obj = next;
    } else {
      throw new ScriptError(`field path "${path}" goes through a value that is not an object`);
    }
  }
  Object.defineProperty(obj, parts[parts.length - 1]!, { value, enumerable: true, writable: true, configurable: true });
}

/** The positional words and key=value options of a token list (options may come anywhere). */
export function splitArgs(tokens: readonly string[]): { words: string[]; opts: Map<string, string> } {
  const words: string[] = [];
  const opts = new Map<string, string>();
  for (const t of tokens) {
    const kv = splitKv(t);
    if (kv === undefined) words.push(t);
    else opts.set(kv[0], kv[1]);
  }
  return { words, opts };
}
