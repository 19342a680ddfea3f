// A field removal under the Merge strategy. Removing a field is a stamped write like any other: an
// entry for that field's path whose value is the marker below, so it competes with concurrent
// changes of the field by stamp (no add-wins bias) and is reported as a conflict with them.
//
// The marker cannot be mistaken for a value: field values are leaves (scalars, arrays and EMPTY
// objects, see json-paths.ts), never a non-empty object. Records written before removals were stamped
// simply hold no markers, so they read exactly as before.
import type { Json } from '../canonical.ts';

/**
 * Most field removals a record keeps. A removal is kept while its field stays absent, so a resource
 * whose field names churn would otherwise grow without bound (and past the record's entriesMax). A
 * write keeps the newest FIELD_REMOVALS_MAX; a removal older than those no longer beats a change of
 * its field made concurrently with it (the change then shows, as before removals were stamped).
 */
export const FIELD_REMOVALS_MAX = 1_000;

/** The value of a field-removal entry. */
export const FIELD_REMOVED: Readonly<{ $removed: true }> = Object.freeze({ $removed: true });

/** True when an entry value is the field-removal marker (exactly `{"$removed":true}`). */
export function isFieldRemoved(value: Json): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === '$removed' && value.$removed === true;
}
