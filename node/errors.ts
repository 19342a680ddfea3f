// Error classes of the node. Each carries a stable `code` that callers, logs, metrics and the admin
// API can match on; messages are for humans and may change.

/** Base class: every node error has a stable code. */
export abstract class NovaEdgeError extends Error {
  abstract readonly code: string;
}

/** A node error whose code is one of a family of codes, given at construction. */
export abstract class CodedError<C extends string> extends NovaEdgeError {
  readonly code: C;
  constructor(code: C, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }
}

/** Problems with one configuration field. */
export interface ConfigIssue {
  /** Dotted path of the field, e.g. `healthCheck.timeoutMs`. */
  field: string;
  /** What is wrong with it. */
  problem: string;
}

/** Configuration refused at start; lists every problem found. */
export class ConfigError extends NovaEdgeError {
  readonly code = 'CONFIG_INVALID';
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[]) {
    super(`invalid configuration: ${issues.map((i) => `${i.field}: ${i.problem}`).join('; ')}`);
    this.issues = issues;
  }
}

/** Stable codes of key-file errors. */
export type KeyFileCode =
  /** The file is readable or writable by group or others. */
  | 'KEY_FILE_INSECURE'
  /** The file is not a well-formed key file of the expected kind. */
  | 'KEY_FILE_MALFORMED'
  /** The file holds another kind of key (an identity key where a CA key is expected, or the reverse). */
  | 'KEY_FILE_WRONG_KIND'
  /** The file exists but is not a regular file, or cannot be read or created. */
  | 'KEY_FILE_UNUSABLE';

/** A key file that the node refuses to use. */
export class KeyFileError extends NovaEdgeError {
  readonly code: KeyFileCode;
  readonly path: string;
  constructor(code: KeyFileCode, path: string, message: string, options?: ErrorOptions) {
    super(`${path}: ${message}`, options);
    this.code = code;
    this.path = path;
  }
}

/** Stable codes of certificate errors (also sent on the wire in auth refusals). */
export type CertificateCode =
  /** No certificate was presented. */
  | 'CERT_MISSING'
  /** Not a well-formed certificate (or CA file). */
  | 'CERT_MALFORMED'
  /** notAfter has passed. */
  | 'CERT_EXPIRED'
  /** notBefore has not come yet. */
  | 'CERT_NOT_YET_VALID'
  /** Issued for another federation. */
  | 'CERT_WRONG_FEDERATION'
  /** The issuer is not trusted for the certificate's role. */
  | 'CERT_UNTRUSTED_ISSUER'
  /** The signature does not verify with the issuer's key. */
  | 'CERT_BAD_SIGNATURE'
  /** Issued for another peer ID than the one that presented it. */
  | 'CERT_WRONG_PEER';

/** Every certificate code, for counters. */
export const CERTIFICATE_CODES: readonly CertificateCode[] = [
  'CERT_MISSING', 'CERT_MALFORMED', 'CERT_EXPIRED', 'CERT_NOT_YET_VALID', 'CERT_WRONG_FEDERATION',
  'CERT_UNTRUSTED_ISSUER', 'CERT_BAD_SIGNATURE', 'CERT_WRONG_PEER',
];

/** A certificate that is refused. */
export class CertificateError extends CodedError<CertificateCode> {}

/** Stable codes of the auth protocol and of the guard in front of other protocols. */
export type AuthCode =
  /** The peer did not complete authentication within authTimeoutMs. */
  | 'AUTH_TIMEOUT'
  /** The remote refused our certificate (its reason is in the message). */
  | 'AUTH_REFUSED_BY_PEER'
  /** A malformed, oversized, truncated or unexpected auth message. */
  | 'AUTH_PROTOCOL'
  /** A stream of another NovaEdge protocol from a peer that is not authenticated. */
  | 'AUTH_REQUIRED'
  /**
   * A valid certificate that contradicts a pinned identity: it names a configured member but was
   * issued for another peer ID, names a configured peer ID's member otherwise, or names this node.
   */
  | 'AUTH_MEMBER_PINNED'
  /** A controller certificate for a member this node is not configured with. */
  | 'AUTH_MEMBER_UNKNOWN'
  /** Another peer ID is authenticated under the same member name right now. */
  | 'AUTH_MEMBER_IN_USE'
  /** Too many inbound connections are waiting to authenticate, or too many remote clients are connected. */
  | 'AUTH_BUSY'
  /**
   * A client certificate (operator, viewer) where it has no place: this node serves no remote
   * clients, or a node this one dialed answered as a client.
   */
  | 'AUTH_CLIENT_REFUSED'
  /** An identity on the federation's deny list (a removed member, a withdrawn operator certificate). */
  | 'AUTH_REVOKED';

/** An authentication failure. */
export class AuthError extends CodedError<AuthCode> {}

/** Stable codes of framing errors on length-prefixed streams. */
export type FrameCode =
  /** The frame announced more bytes than the protocol allows. */
  | 'FRAME_TOO_LARGE'
  /** The stream ended before a whole frame arrived. */
  | 'FRAME_TRUNCATED'
  /** The length prefix itself is invalid. */
  | 'FRAME_MALFORMED'
  /** No frame arrived (or could be sent) within the stream's deadline. */
  | 'FRAME_TIMEOUT';

/** A length-prefixed frame that could not be read or written. */
export class FrameError extends CodedError<FrameCode> {}

/** The node is used in a state that does not allow the call (not started, already stopped). */
export class NodeStateError extends NovaEdgeError {
  readonly code = 'NODE_STATE';
}

/** A write sent to a node that only reads (an agent: its configuration comes from the controllers). */
export class ReadOnlyError extends NovaEdgeError {
  readonly code = 'READ_ONLY';
}
