// Serving one anti-entropy session: answers the client's descent from this store's Merkle tree and
// hands out or takes in records. Bounded in requests and time; any protocol violation ends it.
import { encodeRecord, type Store } from '../../storage/index.ts';
import type { MessageStream } from '../wire/message-stream.ts';
import { ProtocolError } from '../wire/protocol-error.ts';
import {
  ANTI_ENTROPY_VERSION, NODE_HASH_BYTES, parseClientMessage,
  type AntiEntropyLimits, type ServerMessage,
} from './anti-entropy-messages.ts';

/** What a session may do. */
export interface ServeOptions {
  limits: AntiEntropyLimits;
  /** False for peers that may only read (agents): their put requests are refused. */
  allowPut: boolean;
  /** Most requests in one session. */
  requestsMax: number;
  /** Member the session is with: the source of the changes its puts make (relaying skips it). */
  source?: string;
}

/** Outcome of a served session, for counters. */
export interface ServeReport {
  requests: number;
  applied: number;
  rejected: number;
}

/** Serve requests until the client says bye; throws on protocol violations (caller closes the stream). */
export async function serveAntiEntropy(stream: MessageStream, store: Store, opts: ServeOptions): Promise<ServeReport> {
  const report: ServeReport = { requests: 0, applied: 0, rejected: 0 };
  let greeted = false;
  while (true) {
    const msg = parseClientMessage(await stream.read(), opts.limits);
    if (++report.requests > opts.requestsMax) throw new ProtocolError(`more than ${opts.requestsMax} requests in one session`);
    if (msg.t === 'bye') return report;
    if (!greeted && msg.t !== 'hello') throw new ProtocolError('anti-entropy session must start with hello');
    let reply: ServerMessage;
    switch (msg.t) {
      case 'hello':
        if (msg.v !== ANTI_ENTROPY_VERSION) {
          reply = { t: 'error', code: 'VERSION', message: `protocol version ${msg.v} not supported (${ANTI_ENTROPY_VERSION})` };
        } else if (msg.depth !== store.merkle.depth) {
          reply = { t: 'error', code: 'SHAPE', message: `Merkle depth ${msg.depth} differs from ${store.merkle.depth}` };
        } else {
          greeted = true;
          reply = { t: 'hello', v: ANTI_ENTROPY_VERSION, root: store.merkle.root(), size: store.size };
        }
        break;
      case 'children': {
        if (msg.level >= store.merkle.depth) throw new ProtocolError(`children of level ${msg.level}: leaves have none`);
        const parts: Buffer[] = [];
        for (const n of msg.nodes) {
          if (n >= store.merkle.width(msg.level)) throw new ProtocolError(`no node ${n} at level ${msg.level}`);
          for (const h of store.merkle.children(msg.level, n)) parts.push(Buffer.from(h, 'hex').subarray(0, NODE_HASH_BYTES));
        }
        reply = { t: 'children', hashes: Buffer.concat(parts).toString('base64') };
        break;
      }
      case 'leaves': {
        const width = store.merkle.width(store.merkle.depth);
        reply = { t: 'leaves', leaves: msg.nodes.map((n) => {
          if (n >= width) throw new ProtocolError(`no leaf ${n}`);
          return store.merkle.leafEntries(n);
        }) };
        break;
      }
      case 'get': {
        const records = await store.getRecords(msg.keys);
        const out: unknown[] = [];
        const missing: string[] = [];
        let bytes = 0;
        for (let i = 0; i < records.length; i++) {
          const r = records[i];
          if (r === undefined) { missing.push(msg.keys[i]!); continue; }
          const size = encodeRecord(r).length;
          // Always at least one record per response, so progress is guaranteed.
          if (out.length > 0 && bytes + size > opts.limits.responseBytesMax) continue;
          bytes += size;
          out.push(r);
        }
        reply = { t: 'records', records: out, missing, next: null };
        break;
      }
      case 'scan': {
        const records = await store.scanRecords(msg.after, msg.limit);
        const out: unknown[] = [];
        let bytes = 0;
        let next: string | null = null;
        for (const r of records) {
          const size = encodeRecord(r).length;
          if (out.length > 0 && bytes + size > opts.limits.responseBytesMax) break;
          bytes += size;
          out.push(r);
          next = r.key;
        }
        if (records.length < msg.limit && out.length === records.length) next = null;
        reply = { t: 'records', records: out, missing: [], next };
        break;
      }
      case 'put': {
        if (!opts.allowPut) throw new ProtocolError('this peer may not push records');
        let applied = 0;
        let unchanged = 0;
        let rejected = 0;
        // Together, so the records share synced batches (group commit).
        const source = opts.source === undefined ? {} : { source: opts.source };
        const results = await Promise.allSettled(msg.records.map((r) => store.applyRemote(r, source)));
        for (const res of results) {
          if (res.status === 'fulfilled') {
            if (res.value.changed) applied++; else unchanged++;
            continue;
          }
          const code = (res.reason as { code?: string }).code;
          if (code === 'INVALID_RECORD' || code === 'INVALID_ARGUMENT') throw new ProtocolError(`bad record: ${(res.reason as Error).message}`);
          if (code !== 'CLOCK_SKEW') throw res.reason;
          rejected++; // refused, counted, the session goes on
        }
        report.applied += applied;
        report.rejected += rejected;
        reply = { t: 'put', applied, unchanged, rejected };
        break;
      }
    }
    await stream.write(reply);
  }
}
