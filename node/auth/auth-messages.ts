// Messages of the auth protocol, one frame each way:
//   request  (dialer -> listener): {"v": 1, "certificate"?: <member certificate>}
//   response (listener -> dialer): {"v": 1, "ok": true, "certificate"?: <...>}
//                                | {"v": 1, "ok": false, "code": "<stable code>", "message": "<text>"}
// A missing certificate is representable on purpose: it is refused with CERT_MISSING, a reason the
// other side can log, rather than as an undecodable frame.

import { AuthError, CERTIFICATE_CODES, type CertificateCode } from '../errors.ts';
import { certificateFromJson, certificateToJson, type MemberCertificate } from '../identity/certificate.ts';

/** Longest refusal message kept, in characters. */
export const AUTH_MESSAGE_CHARS_MAX = 256;

/** Codes a refusal may carry. */
export type AuthRefusalCode = CertificateCode | 'AUTH_PROTOCOL' | 'AUTH_MEMBER_PINNED' | 'AUTH_MEMBER_UNKNOWN' | 'AUTH_MEMBER_IN_USE'
  | 'AUTH_BUSY' | 'AUTH_CLIENT_REFUSED' | 'AUTH_REVOKED';

const AUTH_REFUSAL_CODES: readonly string[] = [
  ...CERTIFICATE_CODES, 'AUTH_PROTOCOL', 'AUTH_MEMBER_PINNED', 'AUTH_MEMBER_UNKNOWN', 'AUTH_MEMBER_IN_USE', 'AUTH_BUSY', 'AUTH_CLIENT_REFUSED', 'AUTH_REVOKED',
];

/** What the dialer sends. */
export interface AuthRequest {
  /** The dialer's certificate, if it has one. */
  certificate?: MemberCertificate;
}

/** What the listener answers. */
export type AuthResponse =
  | { ok: true; certificate?: MemberCertificate }
  | { ok: false; code: AuthRefusalCode; message: string };

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

function parseObject(bytes: Uint8Array, what: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(decoder.decode(bytes));
  } catch (e) {
    throw new AuthError('AUTH_PROTOCOL', `${what} is not UTF-8 JSON`, { cause: e });
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new AuthError('AUTH_PROTOCOL', `${what} is not a JSON object`);
  const o = doc as Record<string, unknown>;
  if (o.v !== 1) throw new AuthError('AUTH_PROTOCOL', `${what} has unsupported version ${String(o.v)}`);
  return o;
}

function onlyKeys(o: Record<string, unknown>, keys: string[], what: string): void {
  const extra = Object.keys(o).find((k) => !keys.includes(k));
  if (extra !== undefined) throw new AuthError('AUTH_PROTOCOL', `${what} has unknown field "${extra}"`);
}

/** Encode a request. */
export function encodeAuthRequest(r: AuthRequest): Uint8Array {
  const doc: Record<string, unknown> = { v: 1 };
  if (r.certificate !== undefined) doc.certificate = certificateToJson(r.certificate);
  return encoder.encode(JSON.stringify(doc));
}

/**
 * Decode a request. Throws AuthError AUTH_PROTOCOL when the frame is not a request at all, and
 * CertificateError CERT_MALFORMED when it is one but its certificate is malformed.
 */
export function decodeAuthRequest(bytes: Uint8Array): AuthRequest {
  const o = parseObject(bytes, 'auth request');
  onlyKeys(o, ['v', 'certificate'], 'auth request');
  return o.certificate === undefined ? {} : { certificate: certificateFromJson(o.certificate) };
}

/** Encode a response. */
export function encodeAuthResponse(r: AuthResponse): Uint8Array {
  if (!r.ok) {
    return encoder.encode(JSON.stringify({ v: 1, ok: false, code: r.code, message: r.message.slice(0, AUTH_MESSAGE_CHARS_MAX) }));
  }
  const doc: Record<string, unknown> = { v: 1, ok: true };
  if (r.certificate !== undefined) doc.certificate = certificateToJson(r.certificate);
  return encoder.encode(JSON.stringify(doc));
}

/** Decode a response; same errors as decodeAuthRequest. */
export function decodeAuthResponse(bytes: Uint8Array): AuthResponse {
  const o = parseObject(bytes, 'auth response');
  if (o.ok === true) {
    onlyKeys(o, ['v', 'ok', 'certificate'], 'auth response');
    return o.certificate === undefined ? { ok: true } : { ok: true, certificate: certificateFromJson(o.certificate) };
  }
  if (o.ok !== false) throw new AuthError('AUTH_PROTOCOL', 'auth response has no boolean "ok"');
  onlyKeys(o, ['v', 'ok', 'code', 'message'], 'auth response');
  const code = o.code;
  if (typeof code !== 'string' || !AUTH_REFUSAL_CODES.includes(code)) {
    throw new AuthError('AUTH_PROTOCOL', 'auth refusal has an unknown code');
  }
  if (typeof o.message !== 'string' || o.message.length > AUTH_MESSAGE_CHARS_MAX) {
    throw new AuthError('AUTH_PROTOCOL', 'auth refusal message is not a short string');
  }
  return { ok: false, code: code as AuthRefusalCode, message: o.message };
}
