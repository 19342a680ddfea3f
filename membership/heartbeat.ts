// The heartbeat: what every member publishes once per health-check interval, and how a received one
// is validated before anything else looks at it.
//
// Validation is strict (unknown fields are refused) and bounded (every string, list and number has a
// limit), and it returns a fresh object built from the known fields only, so nothing the sender
// controls — prototypes, extra keys, shared arrays — reaches the peer table.

import { isHlcStamp, type HlcStamp } from '../storage/logic/hlc.ts';
import { isLocationLabel, isMemberName, isMemberRole, type MemberRole } from './member-name.ts';

/** What a member believes about quorum; opaque to membership, produced by the quorum module. */
export interface QuorumView {
  /** Whether the sender currently holds quorum. */
  haveQuorum: boolean;
  /** Votes (weights) the sender currently counts, itself included. */
  votes: number;
  /** Votes needed for quorum. */
  threshold: number;
}

/** One heartbeat, as published by `member` once per health-check interval. */
export interface Heartbeat {
  /** Member name of the sender (a DNS-1123 label). */
  member: string;
  /** libp2p peer ID of the sender (base58btc); must match the certificate that vouches for it. */
  peerId: string;
  /** Role of the sender. */
  role: MemberRole;
  /** Region label of the sender. */
  region: string;
  /** Zone label of the sender, '' when not set. */
  zone: string;
  /** HLC stamp taken when the heartbeat was built; orders heartbeats of one member. */
  hlc: HlcStamp;
  /** Root of the sender's Merkle tree (lowercase hex), '' when it has no store. */
  merkleRoot: string;
  /** Member names the sender currently holds an authenticated connection to; unique (senders sort them). */
  reachable: string[];
  /** Agents currently attached to the sender (0 for agents). */
  agentCount: number;
  /**
   * Smoothed round-trip times the sender measured itself, milliseconds by member name (agents: to
   * the controllers they probe). Absent when it reports none. Receivers get a null-prototype object,
   * so a member named like an Object.prototype property ("constructor") cannot read as a value.
   */
  rttMs?: Record<string, number>;
  /** The sender's quorum view, when it has one. */
  quorum?: QuorumView;
  /** True in the last heartbeat of a member that is leaving the federation on purpose. */
  leaving?: boolean;
}

/** Bounds applied to every received heartbeat. */
export interface HeartbeatLimits {
  /** Most entries in `reachable`. */
  reachableMax: number;
  /** Longest `merkleRoot`, in hex characters (SHA-512 would be 128). */
  merkleRootCharsMax: number;
  /** Largest `agentCount`. */
  agentCountMax: number;
  /** Largest `votes` or `threshold` in a quorum view. */
  votesMax: number;
  /** Largest value in `rttMs`, milliseconds (entries are bounded by `reachableMax` too). */
  rttMsMax: number;
}

/** Default heartbeat bounds. */
export const DEFAULT_HEARTBEAT_LIMITS: Readonly<HeartbeatLimits> = Object.freeze({
  reachableMax: 256,
  merkleRootCharsMax: 128,
  agentCountMax: 1_000_000,
  votesMax: 1_000_000_000,
  rttMsMax: 3_600_000,
});

/** Result of validating a heartbeat: the clean copy, or the first offending field. */
export type HeartbeatCheck =
  | { ok: true; heartbeat: Heartbeat }
  | { ok: false; field: string; detail: string };

const FIELDS = new Set([
  'member', 'peerId', 'role', 'region', 'zone', 'hlc', 'merkleRoot', 'reachable', 'agentCount',
  'rttMs', 'quorum', 'leaving',
]);
const QUORUM_FIELDS = new Set(['haveQuorum', 'votes', 'threshold']);
const HLC_FIELDS = new Set(['wallMs', 'logical', 'member']);
// base58btc, the textual form of libp2p peer IDs ("12D3KooW…" for Ed25519, "Qm…" for RSA).
const PEER_ID = /^[1-9A-HJ-NP-Za-km-z]{1,128}$/;
const HEX = /^[0-9a-f]*$/;

function fail(field: string, detail: string): HeartbeatCheck {
  return { ok: false, field, detail };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

function unknownKey(o: Record<string, unknown>, allowed: Set<string>): string | undefined {
  for (const k of Object.keys(o)) if (!allowed.has(k)) return k;
  return undefined;
}

function isCount(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max;
}

function isAmount(v: unknown, max: number): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= max;
}

// The `rttMs` report: a plain object of at most reachableMax member names to amounts, copied into a
// null-prototype object (member names may equal Object.prototype keys such as "constructor").
function checkRttReport(
  v: unknown,
  limits: Readonly<HeartbeatLimits>,
): { ok: true; report: Record<string, number> } | Extract<HeartbeatCheck, { ok: false }> {
  const bad = (detail: string) => ({ ok: false as const, field: 'rttMs', detail });
  if (!isPlainObject(v)) return bad('not an object');
  const names = Object.keys(v);
  if (names.length > limits.reachableMax) return bad(`more than ${limits.reachableMax} entries`);
  const out = Object.create(null) as Record<string, number>;
  for (const name of names) {
    if (!isMemberName(name)) return bad('key is not a member name');
    const ms = v[name];
    if (!isAmount(ms, limits.rttMsMax)) return bad(`value for ${name} is not a number in 0..${limits.rttMsMax}`);
    out[name] = ms;
  }
  return { ok: true, report: out };
}

/** True when `s` looks like a textual libp2p peer ID (syntax only, not a decode). */
export function isPeerIdText(s: unknown): s is string {
  return typeof s === 'string' && PEER_ID.test(s);
}

/** Validate an untrusted value as a heartbeat; never throws. */
export function validateHeartbeat(
  value: unknown,
  limits: Readonly<HeartbeatLimits> = DEFAULT_HEARTBEAT_LIMITS,
): HeartbeatCheck {
  if (!isPlainObject(value)) return fail('', 'heartbeat is not a JSON object');
  const extra = unknownKey(value, FIELDS);
  if (extra !== undefined) return fail(extra, 'unknown field');

  const { member, peerId, role, region, zone, hlc, merkleRoot, reachable, agentCount, rttMs, quorum, leaving } = value;
  if (!isMemberName(member)) return fail('member', 'not a member name (DNS-1123 label, 1..63 chars)');
  if (!isPeerIdText(peerId)) return fail('peerId', 'not a base58btc peer ID');
  if (!isMemberRole(role)) return fail('role', 'must be "controller" or "agent"');
  if (!isLocationLabel(region) || region === '') return fail('region', 'not a region label (1..63 chars)');
  if (!isLocationLabel(zone)) return fail('zone', 'not a zone label (0..63 chars)');

  if (!isPlainObject(hlc) || unknownKey(hlc, HLC_FIELDS) !== undefined || !isHlcStamp(hlc)) {
    return fail('hlc', 'not an HLC stamp');
  }
  if (hlc.member !== member) return fail('hlc', 'stamp was issued by another member');

  if (typeof merkleRoot !== 'string' || merkleRoot.length > limits.merkleRootCharsMax || !HEX.test(merkleRoot)) {
    return fail('merkleRoot', `not lowercase hex of at most ${limits.merkleRootCharsMax} chars`);
  }

  if (!Array.isArray(reachable)) return fail('reachable', 'not a list');
  if (reachable.length > limits.reachableMax) return fail('reachable', `more than ${limits.reachableMax} entries`);
  const seen = new Set<string>();
  for (const name of reachable as unknown[]) {
    if (!isMemberName(name)) return fail('reachable', 'entry is not a member name');
    if (seen.has(name)) return fail('reachable', `duplicate entry ${name}`);
    seen.add(name);
  }

  if (!isCount(agentCount, limits.agentCountMax)) {
    return fail('agentCount', `not an integer in 0..${limits.agentCountMax}`);
  }

  let rttReport: Record<string, number> | undefined;
  if (rttMs !== undefined) {
    const r = checkRttReport(rttMs, limits);
    if (!r.ok) return r;
    rttReport = r.report;
  }

  let quorumView: QuorumView | undefined;
  if (quorum !== undefined) {
    if (!isPlainObject(quorum)) return fail('quorum', 'not an object');
    const extraQ = unknownKey(quorum, QUORUM_FIELDS);
    if (extraQ !== undefined) return fail(`quorum.${extraQ}`, 'unknown field');
    if (typeof quorum.haveQuorum !== 'boolean') return fail('quorum.haveQuorum', 'not a boolean');
    if (!isAmount(quorum.votes, limits.votesMax)) return fail('quorum.votes', `not a number in 0..${limits.votesMax}`);
    if (!isAmount(quorum.threshold, limits.votesMax)) {
      return fail('quorum.threshold', `not a number in 0..${limits.votesMax}`);
    }
    quorumView = { haveQuorum: quorum.haveQuorum, votes: quorum.votes, threshold: quorum.threshold };
  }
  if (leaving !== undefined && typeof leaving !== 'boolean') return fail('leaving', 'not a boolean');

  const heartbeat: Heartbeat = {
    member,
    peerId,
    role,
    region,
    zone,
    hlc: { wallMs: hlc.wallMs, logical: hlc.logical, member: hlc.member },
    merkleRoot,
    reachable: [...seen],
    agentCount,
  };
  if (rttReport !== undefined) heartbeat.rttMs = rttReport;
  if (quorumView !== undefined) heartbeat.quorum = quorumView;
  if (leaving === true) heartbeat.leaving = true;
  return { ok: true, heartbeat };
}
