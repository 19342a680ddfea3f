// Heartbeats on the wire: gossipsub message data is the UTF-8 JSON
//   {"v": 1, "certificate": <sender's member certificate>, "heartbeat": <Heartbeat>}
// The certificate travels with every heartbeat so that a heartbeat relayed through another member
// (gossip forwarding, or a member this node has no direct connection to) is still verifiable:
// gossipsub's signature proves which peer ID wrote it, the certificate proves which member and role
// that peer ID is.

import type { Heartbeat } from '../../membership/heartbeat.ts';
import { certificateToJson, type MemberCertificate } from '../identity/certificate.ts';

/** A decoded (not yet validated) heartbeat message. */
export interface HeartbeatEnvelope {
  /** The sender's certificate, as received (unvalidated JSON). */
  certificate: unknown;
  /** The heartbeat, as received (unvalidated JSON). */
  heartbeat: unknown;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** Encode our heartbeat with our certificate. */
export function encodeHeartbeatMessage(certificate: MemberCertificate, heartbeat: Heartbeat): Uint8Array {
  return encoder.encode(JSON.stringify({ v: 1, certificate: certificateToJson(certificate), heartbeat }));
}

/** Decode message data of at most `bytesMax` bytes; a string (the reason) when it is not an envelope. */
export function decodeHeartbeatMessage(data: Uint8Array, bytesMax: number): HeartbeatEnvelope | string {
  if (data.byteLength > bytesMax) return `message of ${data.byteLength} bytes exceeds ${bytesMax}`;
  let doc: unknown;
  try {
    doc = JSON.parse(decoder.decode(data));
  } catch {
    return 'not UTF-8 JSON';
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return 'not a JSON object';
  const o = doc as Record<string, unknown>;
  if (o.v !== 1) return `unsupported version ${String(o.v)}`;
  const extra = Object.keys(o).find((k) => k !== 'v' && k !== 'certificate' && k !== 'heartbeat');
  if (extra !== undefined) return `unknown field "${extra}"`;
  return { certificate: o.certificate, heartbeat: o.heartbeat };
}
