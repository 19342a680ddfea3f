// Validators for admin method parameters. Each names the offending field as a path from `params`
// (e.g. `params.resources[3]`) and throws InvalidParamsError, which clients see as -32602.
import { InvalidParamsError } from './admin-errors.ts';

/** Longest string accepted by `str` unless told otherwise. */
export const PARAM_STRING_LENGTH_MAX = 1024;

/** `params` as an object with only the `allowed` fields (absent params are an empty object). */
export function paramsObject(raw: unknown, allowed: readonly string[]): Record<string, unknown> {
  if (raw === undefined || raw === null) return {};
  if (typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidParamsError('params', 'must be an object with named fields');
  const o = raw as Record<string, unknown>;
  const extra = Object.keys(o).find((k) => !allowed.includes(k));
  if (extra !== undefined) {
    const known = allowed.length === 0 ? 'this method takes no parameters' : `known fields: ${allowed.join(', ')}`;
    throw new InvalidParamsError(`params.${extra.slice(0, 64)}`, `unknown field (${known})`);
  }
  return o;
}

/** A required non-empty string field. */
export function str(o: Record<string, unknown>, field: string, lengthMax = PARAM_STRING_LENGTH_MAX): string {
  const v = o[field];
  if (v === undefined) throw new InvalidParamsError(`params.${field}`, 'is required');
  if (typeof v !== 'string' || v.length === 0) throw new InvalidParamsError(`params.${field}`, 'must be a non-empty string');
  if (v.length > lengthMax) throw new InvalidParamsError(`params.${field}`, `is longer than ${lengthMax} characters`);
  return v;
}

/** An optional non-empty string field. */
export function optStr(o: Record<string, unknown>, field: string, lengthMax = PARAM_STRING_LENGTH_MAX): string | undefined {
  return o[field] === undefined ? undefined : str(o, field, lengthMax);
}

/** An optional boolean field. */
export function optBool(o: Record<string, unknown>, field: string): boolean | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw new InvalidParamsError(`params.${field}`, 'must be true or false');
  return v;
}

/** A required field that must be one of `values`. */
export function oneOf<T extends string>(o: Record<string, unknown>, field: string, values: readonly T[]): T {
  const v = o[field];
  if (v === undefined) throw new InvalidParamsError(`params.${field}`, `is required (one of ${values.join(', ')})`);
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new InvalidParamsError(`params.${field}`, `must be one of ${values.join(', ')}`);
  }
  return v as T;
}

/** An optional field that must be one of `values`. */
export function optOneOf<T extends string>(o: Record<string, unknown>, field: string, values: readonly T[]): T | undefined {
  return o[field] === undefined ? undefined : oneOf(o, field, values);
}

/** An optional integer field within [min, max]. */
export function optInt(o: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const v = o[field];
  if (v === undefined) return undefined;
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
    throw new InvalidParamsError(`params.${field}`, `must be an integer from ${min} to ${max}`);
  }
  return v as number;
}

/** A required array field of 1..lengthMax items (items are checked by the caller). */
export function arr(o: Record<string, unknown>, field: string, lengthMax: number): unknown[] {
  const v = o[field];
  if (v === undefined) throw new InvalidParamsError(`params.${field}`, 'is required');
  if (!Array.isArray(v)) throw new InvalidParamsError(`params.${field}`, 'must be an array');
  if (v.length === 0) throw new InvalidParamsError(`params.${field}`, 'must not be empty');
  if (v.length > lengthMax) throw new InvalidParamsError(`params.${field}`, `has ${v.length} items, more than ${lengthMax}`);
  return v;
}
