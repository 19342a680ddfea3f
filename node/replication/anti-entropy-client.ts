// Running one anti-entropy session against a peer: compare roots, descend level by level into the
// differing subtrees only (one round trip per level), compare (key, digest) lists at the leaves, then
// pull and/or push only the differing records, in batches. Cost grows with the number of
// differences, not the store size. A peer that is empty gets (or gives) a plain scan instead.
import { MERKLE_FANOUT, type Store, type StoredRecord } from '../../storage/index.ts';
import type { TimerComponents } from '../components.ts';
import type { MessageStream } from '../wire/message-stream.ts';
import { ProtocolError } from '../wire/protocol-error.ts';
import {
  ANTI_ENTROPY_VERSION, NODE_HASH_BYTES, parseServerMessage, VERSIONS_FEATURE,
  type AntiEntropyLimits, type ClientMessage, type ServerMessage,
} from './anti-entropy-messages.ts';
import { applyRecordBatch } from './apply-batch.ts';
import type { RecordRejections } from './record-rejections.ts';

/** Which way differences are repaired. */
export type RepairMode = 'pull' | 'push' | 'bidirectional';

/** Options of one session. */
export interface AntiEntropyOptions {
  repairMode: RepairMode;
  /** Records per get/put request (antiEntropy.batchSize). */
  batchSize: number;
  limits: AntiEntropyLimits;
  /** Member the session is with: the source of the changes pulled records make (relaying skips it). */
  source?: string;
  /** Where pulled records refused here are counted (and logged). */
  rejections?: RecordRejections;
  /** The node's monotonic clock (the report's duration). */
  timers: TimerComponents;
  /** Awaited once the peer answered hello, before the roots are compared (the session gate, session-gate.ts). */
  afterHello?: () => Promise<void>;
  /**
   * Longest the answer to hello may take, ms (default: the stream's I/O timeout): a server waits for
   * its session gate before it answers, as long as another session lasts (session-gate.ts).
   */
  helloTimeoutMs?: number;
}

/** What a session did. */
export interface AntiEntropyReport {
  /** Roots were equal at the start: nothing to do. */
  inSync: boolean;
  roundTrips: number;
  bytesSent: number;
  bytesReceived: number;
  /** Keys whose digests differed. */
  differingKeys: number;
  /** Pulled records that changed the local store. */
  pulled: number;
  /** Records pushed to the peer. */
  pushed: number;
  /** Pulled records refused locally (clock skew, validation): not stored. */
  rejected: number;
  /** Keys both sides held whose direction the server was asked (versions). */
  versionsAsked: number;
  durationMs: number;
}

export async function runAntiEntropy(stream: MessageStream, store: Store, opts: AntiEntropyOptions): Promise<AntiEntropyReport> {
  const started = opts.timers.nowMs();
  const report: AntiEntropyReport = {
    inSync: false, roundTrips: 0, bytesSent: 0, bytesReceived: 0, differingKeys: 0, pulled: 0, pushed: 0, rejected: 0, versionsAsked: 0, durationMs: 0,
  };
  const bytesAtStart = { out: stream.stats.bytesOut, in: stream.stats.bytesIn };
  const ask = async <T extends ServerMessage['t']>(msg: ClientMessage, want: T): Promise<Extract<ServerMessage, { t: T }>> => {
    await stream.write(msg);
    report.roundTrips++;
    const reply = await (msg.t === 'hello' && opts.helloTimeoutMs !== undefined ? stream.read(undefined, opts.helloTimeoutMs) : stream.read());
    return parseServerMessage(reply, want, opts.limits);
  };
  const pull = opts.repairMode !== 'push';
  const push = opts.repairMode !== 'pull';
  const batch = Math.min(opts.batchSize, opts.limits.keysPerRequestMax);
  try {
    const hello = await ask({ t: 'hello', v: ANTI_ENTROPY_VERSION, depth: store.merkle.depth }, 'hello');
    await opts.afterHello?.();
    if (hello.root === store.merkle.root()) {
      report.inSync = true;
      return report;
    }
    // Records of one response go to the store together, so they share synced batches (group commit).
    // A refused record is counted and skipped; the session goes on.
    const apply = async (records: unknown[]): Promise<void> => {
      const res = await applyRecordBatch(store, records, 'an anti-entropy pull', opts.source, opts.rejections);
      report.pulled += res.applied;
      report.rejected += res.rejected;
    };
    const pushRecords = async (records: StoredRecord[]): Promise<void> => {
      for (let i = 0; i < records.length; i += batch) {
        await ask({ t: 'put', records: records.slice(i, i + batch) }, 'put');
        report.pushed += Math.min(batch, records.length - i);
      }
    };

    if (hello.size === 0 || store.size === 0) {
      // One side is empty: the differences are everything, so a scan moves exactly them.
      if (hello.size === 0 && push) await scanLocal(store, batch, pushRecords, report);
      if (store.size === 0 && pull) {
        let after: string | null = null;
        do {
          const page: Extract<ServerMessage, { t: 'records' }> = await ask({ t: 'scan', after, limit: batch }, 'records');
          report.differingKeys += page.records.length;
          await apply(page.records);
          after = page.next;
        } while (after !== null);
      }
      return report;
    }

    const depth = store.merkle.depth;
    let differing = [0];
    for (let level = 0; level < depth && differing.length > 0; level++) {
      const next: number[] = [];
      for (let i = 0; i < differing.length; i += opts.limits.nodesPerRequestMax) {
        const nodes = differing.slice(i, i + opts.limits.nodesPerRequestMax);
        const res = await ask({ t: 'children', level, nodes }, 'children');
        const remote = Buffer.from(res.hashes, 'base64');
        if (remote.length !== nodes.length * MERKLE_FANOUT * NODE_HASH_BYTES) throw new ProtocolError('children: wrong number of hashes');
        nodes.forEach((n, k) => {
          const local = store.merkle.children(level, n);
          for (let c = 0; c < MERKLE_FANOUT; c++) {
            const at = (k * MERKLE_FANOUT + c) * NODE_HASH_BYTES;
            const theirs = remote.subarray(at, at + NODE_HASH_BYTES).toString('hex');
            if (local[c]!.slice(0, NODE_HASH_BYTES * 2) !== theirs) next.push(n * MERKLE_FANOUT + c);
          }
        });
      }
      differing = next;
    }

    let toPull: string[] = [];
    let toPush: string[] = [];
    const remoteDigest = new Map<string, string>();
    for (let i = 0; i < differing.length; i += opts.limits.nodesPerRequestMax) {
      const nodes = differing.slice(i, i + opts.limits.nodesPerRequestMax);
      const res = await ask({ t: 'leaves', nodes }, 'leaves');
      if (res.leaves.length !== nodes.length) throw new ProtocolError('leaves: wrong number of leaves');
      nodes.forEach((n, k) => {
        const local = new Map(store.merkle.leafEntries(n));
        const remote = new Map(res.leaves[k]!);
        for (const [key, digest] of remote) {
          if (local.get(key) !== digest) {
            toPull.push(key);
            remoteDigest.set(key, digest);
          }
        }
        for (const [key, digest] of local) {
          if (remote.get(key) !== digest) toPush.push(key);
        }
      });
    }
    report.differingKeys = new Set([...toPull, ...toPush]).size;

    // Keys both sides hold: ask the server which way each must go, when it can say.
    if (pull && push && hello.features?.includes(VERSIONS_FEATURE) === true) {
      const local = new Set(toPush);
      const both = toPull.filter((k) => local.has(k));
      const drop = { pull: new Set<string>(), push: new Set<string>() };
      for (let i = 0; i < both.length; i += batch) {
        const records = (await store.getRecords(both.slice(i, i + batch))).filter((r): r is StoredRecord => r !== undefined);
        if (records.length === 0) continue;
        const res = await ask({ t: 'versions', entries: records.map((r) => [r.key, r.vv]) }, 'versions');
        const pullIdx = new Set(res.pull);
        const pushIdx = new Set(res.push);
        records.forEach((r, k) => {
          if (!pullIdx.has(k)) drop.pull.add(r.key);
          if (!pushIdx.has(k)) drop.push.add(r.key);
        });
        report.versionsAsked += records.length;
      }
      // Reassigned, not spliced in place: spreading a repair's keys (hundreds of thousands after a long
      // outage) as call arguments would overflow the stack.
      toPull = toPull.filter((k) => !drop.pull.has(k));
      toPush = toPush.filter((k) => !drop.push.has(k));
    }

    if (pull) {
      let pending = toPull;
      while (pending.length > 0) {
        const keys = pending.slice(0, batch);
        const res = await ask({ t: 'get', keys }, 'records');
        await apply(res.records);
        // Keys left out for the response's size budget are asked for again; missing ones are gone.
        const answered = new Set([...res.missing, ...res.records.map((r) => (r as { key?: unknown }).key)]);
        const left = keys.filter((k) => !answered.has(k));
        if (left.length === keys.length) throw new ProtocolError('get: peer answered none of the keys');
        pending = [...left, ...pending.slice(batch)];
      }
    }
    if (push) {
      // A pulled record was joined with ours: push the result only where it now differs from what the
      // peer holds (concurrent versions), so both sides end equal without echoing what it sent.
      const keys = [...new Set(toPush)].filter((k) => store.merkle.digestOf(k) !== remoteDigest.get(k));
      for (let i = 0; i < keys.length; i += batch) {
        const records = (await store.getRecords(keys.slice(i, i + batch))).filter((r): r is StoredRecord => r !== undefined);
        await pushRecords(records);
      }
    }
    return report;
  } finally {
    try {
      await stream.write({ t: 'bye' });
    } catch {
      // The session is over either way.
    }
    report.bytesSent = stream.stats.bytesOut - bytesAtStart.out;
    report.bytesReceived = stream.stats.bytesIn - bytesAtStart.in;
    report.durationMs = opts.timers.nowMs() - started;
  }
}

async function scanLocal(store: Store, batch: number, each: (records: StoredRecord[]) => Promise<void>, report: AntiEntropyReport): Promise<void> {
  for await (const page of store.scanPages(batch)) {
    report.differingKeys += page.length;
    await each(page);
  }
}

/** Size of a full copy of a store, in encoded record bytes (for reports). */
export async function fullCopyBytes(store: Store): Promise<number> {
  let bytes = 0;
  for await (const page of store.scanTextPages(1000)) for (const e of page) bytes += e.text.length;
  return bytes;
}
