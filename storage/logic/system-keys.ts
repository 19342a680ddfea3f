// System keys: records the federation itself keeps in the replicated store (today the agent registry),
// under reserved kinds in the `novaedge-system` namespace. They replicate like every other record, but
//  - they are always joined with LastWriterWins, whatever conflictResolution.strategy says: a Manual
//    sibling or a Merge field conflict on them would need an operator to resolve it and would block
//    the federation's own writes; the federation writes them whole, so "newest wins" is what it wants;
//  - users may not write them (the store refuses unless the write says it is the federation's own);
//  - they are left out of user-facing listings unless asked for by kind.
// Every member, agents included, runs this same rule table, so every replica joins them identically
// and computes the same digests. Their values are checked by their own schemas (systemRecordProblem).
import type { Resource } from './resource.ts';

/** Namespace of the federation's own records. */
export const SYSTEM_NAMESPACE = 'novaedge-system';

/** Kinds reserved for the federation in SYSTEM_NAMESPACE. */
export const SYSTEM_KINDS: readonly string[] = Object.freeze(['FederationAgentRegistry']);

/** True when `key` (Kind/namespace/name) is a record the federation keeps for itself. */
export function isSystemKey(key: string): boolean {
  const slash = key.indexOf('/');
  if (slash < 0) return false;
  const kind = key.slice(0, slash);
  return SYSTEM_KINDS.includes(kind) && key.startsWith(`${kind}/${SYSTEM_NAMESPACE}/`);
}

/** True when `kind` is reserved (a listing that names it asks for system records). */
export function isSystemKind(kind: string | undefined): boolean {
  return kind !== undefined && SYSTEM_KINDS.includes(kind);
}

/**
 * The schema of one system kind: checks a stored value of it (already a valid resource under its
 * key) and throws an Error naming the problem. The formats belong to the code that writes the
 * records (node/), so stores are given them (StoreOptions.systemRecords) rather than knowing them.
 */
export type SystemRecordSchema = (value: Resource) => void;

/** Schemas by system kind. */
export type SystemRecordSchemas = Readonly<Record<string, SystemRecordSchema>>;

/**
 * What is wrong with `value` as the system record `key` (a system key), or undefined when nothing
 * is: a system kind without a schema holds nothing, so a store that was given none refuses them all.
 */
export function systemRecordProblem(key: string, value: Resource, schemas: SystemRecordSchemas): string | undefined {
  const kind = key.slice(0, key.indexOf('/'));
  if (!Object.hasOwn(schemas, kind)) return `no schema for the system kind ${kind}`;
  try {
    schemas[kind]!(value);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
