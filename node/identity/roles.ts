// The roles a certificate can name. Members of the federation (controllers, agents) hold a copy of
// the configuration and speak the peer protocols; clients (operators, viewers) are people and
// programs that drive a controller remotely through the admin protocol and nothing else. A client
// certificate never makes its holder a member: the auth service keeps clients apart from members
// (node/auth/auth-service.ts), and only the remote admin protocol serves them.

import { isMemberRole, MEMBER_ROLES, type MemberRole } from '../../membership/member-name.ts';

/** A remote client of the admin API: `operator` reads and writes, `viewer` only reads. */
export type ClientRole = 'operator' | 'viewer';

/** Every client role, in a stable order. */
export const CLIENT_ROLES: readonly ClientRole[] = ['operator', 'viewer'];

/** The role a certificate names. */
export type CertificateRole = MemberRole | ClientRole;

/** Every certificate role, in a stable order. */
export const CERTIFICATE_ROLES: readonly CertificateRole[] = [...MEMBER_ROLES, ...CLIENT_ROLES];

/** True when `s` is a client role. */
export function isClientRole(s: unknown): s is ClientRole {
  return s === 'operator' || s === 'viewer';
}

/** True when `s` is a role a certificate may name. */
export function isCertificateRole(s: unknown): s is CertificateRole {
  return isMemberRole(s) || isClientRole(s);
}

/** The error text for a role that is not one of CERTIFICATE_ROLES. */
export const CERTIFICATE_ROLE_PROBLEM = `role must be one of ${CERTIFICATE_ROLES.map((r) => `"${r}"`).join(', ')}`;
