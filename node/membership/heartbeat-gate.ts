// The gossipsub topic validator for heartbeats: what may enter the peer table.
//
// A message is accepted only when
//   - it is signed (gossipsub StrictSign: `from` is the proven author),
//   - the peer that forwarded it to us is authenticated (unauthenticated peers' gossip is dropped),
//   - it decodes, within heartbeatBytesMax,
//   - its certificate is valid for this federation and bound to the author's peer ID,
//   - the heartbeat validates, and claims exactly the member, role and peer ID of that certificate.
// Everything else is rejected (gossipsub then penalises the forwarder and does not propagate it)
// and counted per reason. Certificate checks are cached by exact certificate content, bounded.

import type { Message, PeerId } from '@libp2p/interface';
import { TopicValidatorResult } from '@libp2p/interface';
import { validateHeartbeat, type Heartbeat, type HeartbeatLimits } from '../../membership/heartbeat.ts';
import { CertificateError } from '../errors.ts';
import { certificateFromJson, certificateToJson } from '../identity/certificate.ts';
import type { TrustStore } from '../identity/trust-store.ts';
import { verifyCertificate, type VerifiedMember } from '../identity/verify-certificate.ts';
import type { WallClock } from '../components.ts';
import { decodeHeartbeatMessage } from './heartbeat-codec.ts';

/** Stable reasons for rejecting a heartbeat message. */
export type GateRejectReason =
  | 'unsigned'
  | 'unauthenticated_source'
  | 'malformed'
  | 'bad_certificate'
  | 'invalid_heartbeat'
  | 'identity_mismatch';

/** Every reason, in a stable order. */
export const GATE_REJECT_REASONS: readonly GateRejectReason[] = [
  'unsigned', 'unauthenticated_source', 'malformed', 'bad_certificate', 'invalid_heartbeat', 'identity_mismatch',
];

/** Result of inspecting one message. */
export type GateResult =
  | { ok: true; heartbeat: Heartbeat; sender: VerifiedMember }
  | { ok: false; reason: GateRejectReason; detail: string };

/** Counters of the gate. */
export interface GateCounters {
  /** Messages accepted. */
  accepted: number;
  /** Messages rejected, per reason. */
  rejected: Record<GateRejectReason, number>;
}

/** Options of the gate. */
export interface HeartbeatGateOptions {
  /** Whether a peer (string form) is authenticated now. */
  isAuthenticated: (peerId: string) => boolean;
  /** Trusted CAs. */
  trust: TrustStore;
  /** Federation ID. */
  federationId: string;
  /** Largest message, bytes. */
  bytesMax: number;
  /** Tolerance at certificate validity edges. */
  certificateClockSkewMs: number;
  /** Heartbeat bounds. */
  limits: HeartbeatLimits;
  /** Wall clock, Unix ms (certificate validity). */
  wallClock: WallClock;
}

/** Most verified certificates cached. */
export const GATE_CERT_CACHE_MAX = 1024;

/** Validates heartbeat messages; also usable directly (inspect) by the message handler. */
export class HeartbeatGate {
  readonly #o: HeartbeatGateOptions;
  readonly #cache = new Map<string, VerifiedMember>();
  // Verdicts of accepted messages, for the message handler that runs right after the validator.
  readonly #accepted = new WeakMap<Message, GateResult>();
  readonly #counters: GateCounters;

  constructor(options: HeartbeatGateOptions) {
    this.#o = options;
    const rejected = {} as Record<GateRejectReason, number>;
    for (const r of GATE_REJECT_REASONS) rejected[r] = 0;
    this.#counters = { accepted: 0, rejected };
  }

  /** The topic validator to install for the heartbeat topic (counts its verdicts). */
  readonly validator = async (propagationSource: PeerId, msg: Message): Promise<TopicValidatorResult> => {
    const r = await this.inspect(propagationSource, msg);
    if (r.ok) {
      this.#counters.accepted += 1;
      this.#accepted.set(msg, r);
      return TopicValidatorResult.Accept;
    }
    this.#counters.rejected[r.reason] += 1;
    return TopicValidatorResult.Reject;
  };

  /** The validator's verdict on `msg` if it accepted it, else a fresh inspection. */
  async verdict(propagationSource: PeerId, msg: Message): Promise<GateResult> {
    return this.#accepted.get(msg) ?? this.inspect(propagationSource, msg);
  }

  /** Inspect one message (never throws). */
  async inspect(propagationSource: PeerId, msg: Message): Promise<GateResult> {
    if (msg.type !== 'signed') return { ok: false, reason: 'unsigned', detail: 'heartbeats must be signed by their author' };
    if (!this.#o.isAuthenticated(propagationSource.toString())) {
      return { ok: false, reason: 'unauthenticated_source', detail: `forwarded by unauthenticated peer ${propagationSource.toString()}` };
    }
    const env = decodeHeartbeatMessage(msg.data, this.#o.bytesMax);
    if (typeof env === 'string') return { ok: false, reason: 'malformed', detail: env };
    const author = msg.from.toString();
    let sender: VerifiedMember;
    try {
      sender = await this.#verify(env.certificate, author);
    } catch (e) {
      const detail = e instanceof CertificateError ? `${e.code}: ${e.message}` : String(e);
      return { ok: false, reason: 'bad_certificate', detail };
    }
    const check = validateHeartbeat(env.heartbeat, this.#o.limits);
    if (!check.ok) return { ok: false, reason: 'invalid_heartbeat', detail: `${check.field}: ${check.detail}` };
    const hb = check.heartbeat;
    if (hb.member !== sender.member || hb.role !== sender.role || hb.peerId !== author) {
      return {
        ok: false,
        reason: 'identity_mismatch',
        detail: `heartbeat claims ${hb.member}/${hb.role}/${hb.peerId}, certificate proves ${sender.member}/${sender.role}/${author}`,
      };
    }
    return { ok: true, heartbeat: hb, sender };
  }

  /** Counters (a copy). */
  counters(): GateCounters {
    return { accepted: this.#counters.accepted, rejected: { ...this.#counters.rejected } };
  }

  async #verify(value: unknown, author: string): Promise<VerifiedMember> {
    const cert = certificateFromJson(value);
    const now = this.#o.wallClock();
    // Keyed by the full certificate and the author: a hit means this exact certificate already
    // verified for this exact peer. Validity in time is re-checked on every use.
    const key = `${author}\n${JSON.stringify(certificateToJson(cert))}`;
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      if (now - this.#o.certificateClockSkewMs >= hit.notAfterMs) {
        this.#cache.delete(key);
        throw new CertificateError('CERT_EXPIRED', `expired at ${cert.notAfter}`);
      }
      return hit;
    }
    const v = await verifyCertificate(cert, {
      trust: this.#o.trust, federationId: this.#o.federationId, peerId: author, nowMs: now, clockSkewMs: this.#o.certificateClockSkewMs,
    });
    if (this.#cache.size >= GATE_CERT_CACHE_MAX) {
      const oldest = this.#cache.keys().next().value;
      if (oldest !== undefined) this.#cache.delete(oldest);
    }
    this.#cache.set(key, v);
    return v;
  }
}
