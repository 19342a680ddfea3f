// Frames refused from peers, counted against the peer that sent them: a frame over its bound (size,
// inflation ratio) or one that does not decode ends its stream, and this count, per peer, protocol
// and code (novaedge_federation_frames_refused_total), is what tells an operator who sends them.
import { FrameError, type FrameCode } from '../errors.ts';

/** Codes of frames that are the sender's doing (a timeout or a cut stream may be the network's). */
export const REFUSED_FRAME_CODES: readonly FrameCode[] = Object.freeze(['FRAME_TOO_LARGE', 'FRAME_MALFORMED']);

/** Most distinct peers counted; later ones count under OTHER_PEER, so the label set stays bounded. */
export const REFUSAL_PEERS_MAX = 1_024;
/** The peer label once REFUSAL_PEERS_MAX peers are counted. */
export const OTHER_PEER = 'other';

/** One counter. */
export interface FrameRefusalCount {
  peer: string;
  protocol: string;
  code: FrameCode;
  count: number;
}

export class FrameRefusals {
  // peer -> "protocol code" -> counter
  readonly #byPeer = new Map<string, Map<string, FrameRefusalCount>>();

  /** Count `err` against `peer` on `protocol` when it is a refused frame; true if it was counted. */
  count(peer: string, protocol: string, err: unknown): boolean {
    if (!(err instanceof FrameError) || !REFUSED_FRAME_CODES.includes(err.code)) return false;
    if (!this.#byPeer.has(peer) && this.#byPeer.size >= REFUSAL_PEERS_MAX) peer = OTHER_PEER;
    let counters = this.#byPeer.get(peer);
    if (counters === undefined) {
      counters = new Map();
      this.#byPeer.set(peer, counters);
    }
    const key = `${protocol} ${err.code}`;
    const c = counters.get(key);
    if (c === undefined) counters.set(key, { peer, protocol, code: err.code, count: 1 });
    else c.count++;
    return true;
  }

  /** Every counter, for the metric. */
  counts(): FrameRefusalCount[] {
    return [...this.#byPeer.values()].flatMap((m) => [...m.values()].map((c) => ({ ...c })));
  }

  /** Frames refused from `peer`, all protocols and codes. */
  total(peer: string): number {
    let n = 0;
    for (const c of this.#byPeer.get(peer)?.values() ?? []) n += c.count;
    return n;
  }
}
