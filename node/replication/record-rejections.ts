// Records refused from peers: counted per (peer, reason) for novaedge_federation_records_rejected_total,
// and logged at warn at most once per peer per reason per minute (a hostile or skewed peer can send
// thousands a second; the log says that it happens, the counter says how often).
import type { Logger } from '../util/logger.ts';
import type { RefusalReason } from './apply-batch.ts';

/** Options of the rejection accounting. */
export interface RecordRejectionsOptions {
  /** Where the warn lines go. */
  log: Pick<Logger, 'warn'>;
  /** Clock of the log rate limit, ms (monotonic is fine). */
  nowMs: () => number;
  /** At most one warn line per peer and reason in this window (default 60 s). */
  logIntervalMs?: number;
  /** Most distinct peers counted (default 1,024); later ones count under peer "other". */
  peersMax?: number;
}

/** One counter of the metric. */
export interface RejectionCount {
  peer: string;
  reason: RefusalReason;
  count: number;
}

const LOG_INTERVAL_MS = 60_000;
const PEERS_MAX = 1_024;
/** The peer label once peersMax distinct peers are counted: the label set stays bounded. */
export const OTHER_PEER = 'other';

export class RecordRejections {
  readonly #log: Pick<Logger, 'warn'>;
  readonly #nowMs: () => number;
  readonly #logIntervalMs: number;
  readonly #peersMax: number;
  // peer -> reason -> { count, when the last warn line went out, refusals since then }
  readonly #byPeer = new Map<string, Map<RefusalReason, { count: number; loggedMs: number | undefined; unlogged: number }>>();

  constructor(opts: RecordRejectionsOptions) {
    this.#log = opts.log;
    this.#nowMs = opts.nowMs;
    this.#logIntervalMs = opts.logIntervalMs ?? LOG_INTERVAL_MS;
    this.#peersMax = opts.peersMax ?? PEERS_MAX;
  }

  /** Count one record refused from `peer`; `key` and `detail` go into the (rate-limited) warn line. */
  refused(peer: string, reason: RefusalReason, key: string, detail: string): void {
    let reasons = this.#byPeer.get(peer);
    if (reasons === undefined) {
      if (this.#byPeer.size >= this.#peersMax) peer = OTHER_PEER;
      reasons = this.#byPeer.get(peer) ?? new Map();
      this.#byPeer.set(peer, reasons);
    }
    let c = reasons.get(reason);
    if (c === undefined) {
      c = { count: 0, loggedMs: undefined, unlogged: 0 };
      reasons.set(reason, c);
    }
    c.count++;
    c.unlogged++;
    const now = this.#nowMs();
    if (c.loggedMs !== undefined && now - c.loggedMs < this.#logIntervalMs) return;
    this.#log.warn({ peer, reason, key: key.slice(0, 200), refused: c.unlogged, total: c.count },
      `refused a record from ${peer} (${reason}): ${detail.slice(0, 300)}`);
    c.loggedMs = now;
    c.unlogged = 0;
  }

  /** Every counter, for the metric. */
  counts(): RejectionCount[] {
    const out: RejectionCount[] = [];
    for (const [peer, reasons] of this.#byPeer) for (const [reason, c] of reasons) out.push({ peer, reason, count: c.count });
    return out;
  }

  /** Records refused from `peer` for `reason` (all reasons when omitted). */
  count(peer: string, reason?: RefusalReason): number {
    const reasons = this.#byPeer.get(peer);
    if (reasons === undefined) return 0;
    if (reason !== undefined) return reasons.get(reason)?.count ?? 0;
    let n = 0;
    for (const c of reasons.values()) n += c.count;
    return n;
  }
}
