// Names that appear in heartbeats, certificates and protocol identifiers.
//
// Member names are DNS-1123 labels (what Kubernetes uses for most object names): lowercase letters,
// digits and '-', 1..63 characters, starting and ending with a letter or digit. The short fixed bound
// keeps every heartbeat (which lists the members a node reaches) small, and the alphabet makes the
// names safe in log lines, metric labels and file names.

/** Longest member name, in characters. */
export const MEMBER_NAME_CHARS_MAX = 63;

/** Longest region or zone label, in characters. */
export const LOCATION_CHARS_MAX = 63;

const MEMBER_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
// Regions and zones come from cloud providers ("eu-west-1a", "europe-west4-b", "West Europe" is not
// allowed): letters of either case, digits, '.', '_' and '-'.
const LOCATION = /^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$/;

/** True when `s` is a valid member name (a DNS-1123 label). */
export function isMemberName(s: unknown): s is string {
  return typeof s === 'string' && s.length <= MEMBER_NAME_CHARS_MAX && MEMBER_NAME.test(s);
}

/** True when `s` is a valid region or zone label; the empty string means "not set". */
export function isLocationLabel(s: unknown): s is string {
  return typeof s === 'string' && (s === '' || (s.length <= LOCATION_CHARS_MAX && LOCATION.test(s)));
}

/** Role of a member: controllers hold the configuration store, agents keep a replica. */
export type MemberRole = 'controller' | 'agent';

/** Every role, in a stable order. */
export const MEMBER_ROLES: readonly MemberRole[] = ['controller', 'agent'];

/** True when `s` is a member role. */
export function isMemberRole(s: unknown): s is MemberRole {
  return s === 'controller' || s === 'agent';
}
