// Serving one anti-entropy session: answers the client's descent from this store's Merkle tree and
// hands out or takes in records. Bounded in requests and time; any protocol violation ends it.
import { compareVv, type Store, type VersionVector } from '../../storage/index.ts';
import type { MessageStream } from '../wire/message-stream.ts';
import { ProtocolError } from '../wire/protocol-error.ts';
import {
  ANTI_ENTROPY_VERSION, NODE_HASH_BYTES, parseClientMessage, VERSIONS_FEATURE,
  type AntiEntropyLimits, type ServerMessage,
} from './anti-entropy-messages.ts';
import { applyRecordBatch } from './apply-batch.ts';
import type { RecordRejections } from './record-rejections.ts';

/** What a session may do. */
export interface ServeOptions {
  limits: AntiEntropyLimits;
  /** False for peers that may only read (agents): their put requests are refused. */
  allowPut: boolean;
  /** Most requests in one session. */
  requestsMax: number;
  /** Member the session is with: the source of the changes its puts make (relaying skips it). */
  source?: string;
  /** Where put records refused here are counted (and logged). */
  rejections?: RecordRejections;
  /** Awaited on hello before answering it (the session gate, session-gate.ts); what it returns is called when the session ends. */
  enter?: () => Promise<() => void>;
  /**
   * Longest the client may take to send hello, and its request after the hello answer, ms (default:
   * the stream's I/O timeout): it may be waiting for its own gate before either (session-gate.ts).
   */
  gateWaitMs?: number;
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
  let release: (() => void) | undefined;
  try {
    while (true) {
      const clientMayWait = opts.gateWaitMs !== undefined && (report.requests === 0 || (report.requests === 1 && greeted));
      const msg = parseClientMessage(await (clientMayWait ? stream.read(undefined, opts.gateWaitMs) : stream.read()), opts.limits);
      if (++report.requests > opts.requestsMax) throw new ProtocolError(`more than ${opts.requestsMax} requests in one session`);
      if (msg.t === 'bye') return report;
      if (!greeted && msg.t !== 'hello') throw new ProtocolError('anti-entropy session must start with hello');
      let reply: ServerMessage | undefined;
      // Replies assembled from stored record texts (get, scan) are written as they are.
      let replyText: string | undefined;
      switch (msg.t) {
        case 'hello':
          if (msg.v !== ANTI_ENTROPY_VERSION) {
            reply = { t: 'error', code: 'VERSION', message: `protocol version ${msg.v} not supported (${ANTI_ENTROPY_VERSION})` };
          } else if (msg.depth !== store.merkle.depth) {
            reply = { t: 'error', code: 'SHAPE', message: `Merkle depth ${msg.depth} differs from ${store.merkle.depth}` };
          } else {
            release ??= await opts.enter?.();
            greeted = true;
            reply = { t: 'hello', v: ANTI_ENTROPY_VERSION, root: store.merkle.root(), size: store.size, ...(opts.allowPut ? { features: [VERSIONS_FEATURE] } : {}) };
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
          // Records go out as the store holds them (their canonical encoding): no decoding, validating
          // and re-encoding of what this store wrote itself. The client validates every one.
          const texts = await store.getRecordTexts(msg.keys);
          const out: string[] = [];
          const missing: string[] = [];
          let bytes = 0;
          for (let i = 0; i < texts.length; i++) {
            const text = texts[i];
            if (text === undefined) { missing.push(msg.keys[i]!); continue; }
            // Always at least one record per response, so progress is guaranteed.
            if (out.length > 0 && bytes + text.length > opts.limits.responseBytesMax) continue;
            bytes += text.length;
            out.push(text);
          }
          replyText = recordsReply(out, missing, null);
          break;
        }
        case 'scan': {
          const entries = await store.scanRecordTexts(msg.after, msg.limit);
          const out: string[] = [];
          let bytes = 0;
          let next: string | null = null;
          for (const e of entries) {
            if (out.length > 0 && bytes + e.text.length > opts.limits.responseBytesMax) break;
            bytes += e.text.length;
            out.push(e.text);
            next = e.key;
          }
          if (entries.length < msg.limit && out.length === entries.length) next = null;
          replyText = recordsReply(out, [], next);
          break;
        }
        case 'versions': {
          if (!opts.allowPut) throw new ProtocolError('this peer may not push records: it has no use for versions');
          reply = await whichWay(store, msg.entries);
          break;
        }
        case 'put': {
          if (!opts.allowPut) throw new ProtocolError('this peer may not push records');
          // Together, so the records share synced batches (group commit). A refused record is counted
          // and skipped; the session goes on.
          const { applied, unchanged, rejected } = await applyRecordBatch(store, msg.records, 'an anti-entropy put', opts.source, opts.rejections);
          report.applied += applied;
          report.rejected += rejected;
          reply = { t: 'put', applied, unchanged, rejected };
          break;
        }
      }
      if (replyText !== undefined) await stream.writeJsonText(replyText);
      else if (reply !== undefined) await stream.write(reply);
      else throw new Error(`assertion: no reply to ${msg.t}`);
    }
  } finally {
    release?.();
  }
}

// A `records` reply (see anti-entropy-messages.ts) around records already encoded as JSON text.
function recordsReply(texts: string[], missing: string[], next: string | null): string {
  return `{"t":"records","records":[${texts.join(',')}],"missing":${JSON.stringify(missing)},"next":${JSON.stringify(next)}}`;
}

// Which way each record of a versions request must go (anti-entropy-messages.ts): by its version
// vector against this store's. A record this store no longer holds is pushed.
async function whichWay(store: Store, entries: ReadonlyArray<readonly [string, VersionVector]>): Promise<ServerMessage> {
  const records = await store.getRecords(entries.map(([key]) => key));
  const pull: number[] = [];
  const push: number[] = [];
  entries.forEach(([, theirs], i) => {
    const ours = records[i];
    const order = ours === undefined ? 'before' : compareVv(ours.vv, theirs);
    if (order !== 'before') pull.push(i);
    if (order !== 'after') push.push(i);
  });
  return { t: 'versions', pull, push };
}
