// Checks for decoded messages. Every field of every message is checked before use; a violation is a
// ProtocolError, which closes the stream and is counted, and never reaches the store.
import { NovaEdgeError } from '../errors.ts';

/** A message that breaks its protocol (wrong type, missing field, bound exceeded, unknown version). */
export class ProtocolError extends NovaEdgeError {
  readonly code = 'PROTOCOL';
}

/** The value as a plain object, or ProtocolError. */
export function obj(v: unknown, what: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new ProtocolError(`${what}: not an object`);
  return v as Record<string, unknown>;
}

/** An integer within [min, max], or ProtocolError. */
export function int(v: unknown, min: number, max: number, what: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max) {
    throw new ProtocolError(`${what}: not an integer in ${min}..${max}`);
  }
  return v as number;
}

/** A string of at most `lengthMax` characters, or ProtocolError. */
export function str(v: unknown, lengthMax: number, what: string): string {
  if (typeof v !== 'string' || v.length > lengthMax) throw new ProtocolError(`${what}: not a string of at most ${lengthMax}`);
  return v;
}

/** An array of at most `lengthMax` items, each checked by `item`, or ProtocolError. */
export function arr<T>(v: unknown, lengthMax: number, what: string, item: (x: unknown, what: string) => T): T[] {
  if (!Array.isArray(v) || v.length > lengthMax) throw new ProtocolError(`${what}: not an array of at most ${lengthMax}`);
  return v.map((x, i) => item(x, `${what}[${i}]`));
}

/** The message's `t` (type) field, which must be one of `types`. */
export function messageType<T extends string>(m: Record<string, unknown>, types: readonly T[], what: string): T {
  if (typeof m.t !== 'string' || !(types as readonly string[]).includes(m.t)) {
    throw new ProtocolError(`${what}: unexpected message type ${JSON.stringify(m.t)?.slice(0, 40)}`);
  }
  return m.t as T;
}
